"""Account forms: sign-up, login, profile settings, password change, account deletion and the pairing code."""

from __future__ import annotations

import functools
import zoneinfo
from typing import Any

from django import forms
from django.contrib.auth import forms as auth_forms
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm
from django.core.exceptions import ValidationError
from django.forms.utils import ErrorDict
from django.views.decorators.debug import sensitive_variables

from accounts import limits
from accounts.models import User
from accounts.tokens import normalize_user_code
from common.ratelimit import RateDecision, client_ip

DUPLICATE_EMAIL_MESSAGE = "An account with this e-mail address already exists. Log in or reset your password instead."
MISMATCH_MESSAGE = "The two passwords do not match. Type the same password twice."
INVALID_LOGIN_MESSAGE = "That e-mail address and password do not match an account. Check both and try again."
WRONG_PASSWORD_MESSAGE = "That is not your current password."  # noqa: S105 - a message, not a secret
EMAIL_CHANGE_NEEDS_PASSWORD_MESSAGE = "Enter your current password to change your e-mail address."  # noqa: S105 - a message
TIME_ZONE_HELP = "Mood history and quiet hours are shown in this time zone."

# Regions that name a continent or ocean; every other zone (Etc/*, US/*, legacy aliases) goes under "Other".
_REGIONS = ("Africa", "America", "Antarctica", "Arctic", "Asia", "Atlantic", "Australia", "Europe", "Indian", "Pacific")

ChoiceGroups = list[tuple[str, Any]]


@functools.cache
def time_zone_choices() -> ChoiceGroups:
    """Every zone ``zoneinfo`` knows, grouped by region for the select, with UTC first."""
    groups: dict[str, list[tuple[str, str]]] = {region: [] for region in (*_REGIONS, "Other")}
    for name in sorted(zoneinfo.available_timezones()):
        if name == "UTC":
            continue
        region = name.split("/", 1)[0]
        groups[region if region in _REGIONS else "Other"].append((name, name.replace("_", " ")))
    return [("UTC", "UTC"), *((region, zones) for region, zones in groups.items() if zones)]


def time_zone_field() -> forms.ChoiceField:
    return forms.ChoiceField(
        label="Time zone",
        choices=time_zone_choices,
        initial="UTC",
        help_text=TIME_ZONE_HELP,
        error_messages={"invalid_choice": "Choose a time zone from the list."},
    )


def email_field() -> forms.EmailField:
    return forms.EmailField(
        label="E-mail address",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )


def display_name_field() -> forms.CharField:
    return forms.CharField(
        label="Display name",
        max_length=80,
        required=False,
        help_text="How S.M.I.L.E greets you.",
        widget=forms.TextInput(attrs={"autocomplete": "nickname"}),
    )


def email_is_taken(email: str, *, exclude: User | None = None) -> bool:
    users = User.objects.filter(email__iexact=email)
    if exclude is not None:
        users = users.exclude(pk=exclude.pk)
    return users.exists()


class SignUpForm(forms.Form):
    email = email_field()
    display_name = display_name_field()
    time_zone = time_zone_field()
    password1 = forms.CharField(
        label="Password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )
    password2 = forms.CharField(
        label="Confirm password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="Type the same password again.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.fields["email"].widget.attrs["autofocus"] = True

    def clean_email(self) -> str:
        email: str = self.cleaned_data["email"].strip().lower()
        if email_is_taken(email):
            raise ValidationError(DUPLICATE_EMAIL_MESSAGE, code="duplicate_email")
        return email

    @sensitive_variables("password", "confirmation")
    def clean(self) -> dict[str, Any]:
        password = self.cleaned_data.get("password1")
        confirmation = self.cleaned_data.get("password2")
        if password and confirmation and password != confirmation:
            self.add_error("password2", ValidationError(MISMATCH_MESSAGE, code="password_mismatch"))
        elif password:
            # An unsaved user lets the similarity validator compare the password with the e-mail and name.
            candidate = User(
                email=self.cleaned_data.get("email", ""), display_name=self.cleaned_data.get("display_name", "")
            )
            try:
                password_validation.validate_password(password, candidate)
            except ValidationError as error:
                self.add_error("password1", error)
        return self.cleaned_data


def refuse_without_validating(form: forms.Form, message: str) -> None:
    """Show ``message`` on a bound form that a rate limit refused, without validating it.

    Validation could query the database or say whether an address has an account, which a
    refused client must not learn. Setting the errors first means Django never runs it; the
    fields keep what was typed.
    """
    form._errors = ErrorDict()  # type: ignore[attr-defined]  # Django's internal cache of errors; the stubs omit it
    form.cleaned_data = {}
    form.add_error(None, ValidationError(message, code="rate_limited"))


class LoginForm(AuthenticationForm):
    """Django's login form, refused outright (password unchecked) after too many failed attempts."""

    rate_limited: RateDecision | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.error_messages = {**self.error_messages, "invalid_login": INVALID_LOGIN_MESSAGE}
        self.fields["username"].label = "E-mail address"
        self.fields["username"].widget = forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"})

    @sensitive_variables()
    def clean(self) -> dict[str, Any]:
        email = self.cleaned_data.get("username")
        if email is None or not self.cleaned_data.get("password"):
            return super().clean()  # a missing field: its own error says so, nothing is checked
        ip = client_ip(self.request) if self.request is not None else "unknown"
        decision = limits.login_allowed(ip=ip, email=email)
        if not decision.allowed:
            self.rate_limited = decision
            raise ValidationError(limits.login_refused_message(decision), code="rate_limited")
        try:
            cleaned_data = super().clean()
        except ValidationError as error:
            if error.code == "invalid_login":
                limits.record_failed_login(ip=ip, email=email)
            raise
        limits.record_successful_login(ip=ip, email=email)
        return cleaned_data


class ResetRequestForm(PasswordResetForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["email"].label = "E-mail address"
        self.fields["email"].widget.attrs["autofocus"] = True


class CurrentPasswordChecked:
    """A form that checks the signed-in person's current password, at most 10 wrong tries in 15 minutes.

    The password is what keeps someone at an open browser from changing the e-mail address,
    the password, or deleting the account; unlimited tries would let them guess it there.
    Past the limit the password is not even checked; the view answers 429.
    """

    rate_limited: RateDecision | None = None

    @sensitive_variables("password")
    def check_current_password(self, user: User, password: str, *, wrong_message: str = "") -> None:
        decision = limits.current_password_allowed(user_id=user.pk)
        if not decision.allowed:
            self.rate_limited = decision
            raise ValidationError(limits.current_password_refused_message(decision), code="rate_limited")
        if not user.check_password(password):
            limits.record_wrong_current_password(user_id=user.pk)
            raise ValidationError(wrong_message or WRONG_PASSWORD_MESSAGE, code="password_incorrect")


class ConditionallyRequiredCharField(forms.CharField):
    """Required in some cases only (the form's ``clean`` says which): its label shows no "(optional)"."""

    conditionally_required = True


def current_password_field(help_text: str, *, required: bool = True) -> forms.CharField:
    field_class = forms.CharField if required else ConditionallyRequiredCharField
    return field_class(
        label="Current password",
        strip=False,
        required=required,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        help_text=help_text,
    )


class ProfileForm(CurrentPasswordChecked, forms.Form):
    """The editable account settings. A plain form, so a failed submission never touches ``request.user``.

    The e-mail address is the login and where a password reset link goes: whoever changes it
    owns the account, so a change needs the current password, like a new password or deleting
    the account. The name and time zone do not.
    """

    email = email_field()
    display_name = display_name_field()
    time_zone = time_zone_field()
    password = current_password_field(
        "Needed only to change your e-mail address, so nobody can take over your account from an open browser. "
        "We also send a notice to your current address.",
        required=False,
    )
    field_order = ("email", "password", "display_name", "time_zone")

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        kwargs.setdefault(
            "initial", {"email": user.email, "display_name": user.display_name, "time_zone": user.time_zone}
        )
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_email(self) -> str:
        email: str = self.cleaned_data["email"].strip().lower()
        if email_is_taken(email, exclude=self.user):
            raise ValidationError(DUPLICATE_EMAIL_MESSAGE, code="duplicate_email")
        return email

    @sensitive_variables("password")
    def clean(self) -> dict[str, Any]:
        email = self.cleaned_data.get("email")
        if email is not None and email != self.user.email:
            password = self.cleaned_data.get("password") or ""
            if not password:
                self.add_error(
                    "password",
                    ValidationError(EMAIL_CHANGE_NEEDS_PASSWORD_MESSAGE, code="password_required"),
                )
            else:
                try:
                    self.check_current_password(self.user, password)
                except ValidationError as error:
                    self.add_error("password", error)
        # The password is checked, never stored or passed on.
        self.cleaned_data.pop("password", None)
        return self.cleaned_data


class PasswordChangeForm(CurrentPasswordChecked, auth_forms.PasswordChangeForm):
    """Django's password change, with the choice to also unpair every device.

    Other browsers are signed out whatever is chosen: Django keeps a hash of the password in
    each session and ends a session whose hash no longer matches, at its next request.
    """

    unpair_devices = forms.BooleanField(
        label="Also unpair all my devices",
        required=False,
        help_text="Every paired extension stops at once and has to be paired again. "
        "Choose this if you think someone else used your account.",
    )

    @sensitive_variables("old_password")
    def clean_old_password(self) -> str:
        old_password: str = self.cleaned_data["old_password"]
        self.check_current_password(
            self.user, old_password, wrong_message=str(self.error_messages["password_incorrect"])
        )
        return old_password


class AccountDeletionForm(CurrentPasswordChecked, forms.Form):
    password = current_password_field(
        "We ask for your password so nobody else can delete your account from an open browser."
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user

    @sensitive_variables("password")
    def clean_password(self) -> str:
        password: str = self.cleaned_data["password"]
        self.check_current_password(self.user, password)
        return password


class PairCodeForm(forms.Form):
    """The code an extension shows; case, spaces and dashes do not matter. ``cleaned_data["code"]`` is normalised."""

    code = forms.CharField(
        label="Pairing code",
        max_length=32,
        help_text="The 8 letters the extension shows, like BCDF-GHJK. Capitals, spaces and dashes do not matter.",
        widget=forms.TextInput(
            attrs={
                "class": "code-input",
                "autocomplete": "off",
                "autocapitalize": "characters",
                "spellcheck": "false",
                "autofocus": True,
            }
        ),
    )

    def clean_code(self) -> str:
        code = normalize_user_code(self.cleaned_data["code"])
        if code is None:
            raise ValidationError(
                "Enter the 8 letters the extension shows, like BCDF-GHJK. They never include vowels.",
                code="invalid_format",
            )
        return code
