"""Account pages. Thin: validate with a form, call a service, flash a message, redirect."""

from __future__ import annotations

from typing import Any, cast

from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from accounts import limits, pairing, services
from accounts.forms import (
    AccountDeletionForm,
    CurrentPasswordChecked,
    LoginForm,
    PasswordChangeForm,
    ProfileForm,
    ResetRequestForm,
    SignUpForm,
    refuse_without_validating,
)
from accounts.models import User
from common.ratelimit import client_ip, refused


@sensitive_post_parameters("password1", "password2")
@require_http_methods(["GET", "POST"])
def sign_up(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("dashboard")
    form = SignUpForm(request.POST or None)
    if request.method != "POST":
        return render(request, "accounts/signup.html", {"form": form})
    ip = client_ip(request)
    decision = limits.signup_allowed(ip=ip)
    if not decision.allowed:
        refuse_without_validating(form, limits.signup_refused_message(decision))
        return refused(render(request, "accounts/signup.html", {"form": form}), decision)
    if form.is_valid():
        limits.record_signup_attempt(ip=ip)
        data = form.cleaned_data
        user = services.register_user(
            email=data["email"],
            password=data["password1"],
            display_name=data["display_name"],
            time_zone=data["time_zone"],
        )
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, f"Welcome to S.M.I.L.E, {user.get_short_name()}! Your account is ready.")
        return redirect("dashboard")
    if form.has_error("email", "duplicate_email"):
        # Probing whether addresses have accounts counts like signing up.
        limits.record_signup_attempt(ip=ip)
    return render(request, "accounts/signup.html", {"form": form})


@sensitive_post_parameters("password")
@login_required
@require_http_methods(["GET", "POST"])
def profile(request: HttpRequest) -> HttpResponse:
    user = cast(User, request.user)  # login_required guarantees a real user
    form = ProfileForm(request.POST or None, user=user)
    if request.method == "POST" and form.is_valid():
        old_email = user.email
        services.update_profile(
            user=user, **form.cleaned_data, login_url=request.build_absolute_uri(reverse("accounts:login"))
        )
        if user.email != old_email:
            messages.success(
                request,
                f"Your account settings were saved. You now log in with {user.email}; a notice went to {old_email}.",
            )
        else:
            messages.success(request, "Your account settings were saved.")
        return redirect("accounts:profile")
    return _refused_if_limited(form, render(request, "accounts/profile.html", {"form": form}))


@sensitive_post_parameters("password")
@login_required
@require_http_methods(["GET", "POST"])
def delete_account(request: HttpRequest) -> HttpResponse:
    user = cast(User, request.user)
    form = AccountDeletionForm(request.POST or None, user=user)
    if request.method == "POST" and form.is_valid():
        services.delete_account(user=user)
        logout(request)
        # After logout: the flushed session would otherwise take the message with it.
        messages.success(request, "Your account and all its data were deleted.")
        return redirect("home")
    return _refused_if_limited(form, render(request, "accounts/delete.html", {"form": form}))


def _refused_if_limited(form: CurrentPasswordChecked, response: HttpResponse) -> HttpResponse:
    """A 429 (with ``Retry-After``) when the form refused to check the password: too many wrong ones."""
    return response if form.rate_limited is None else refused(response, form.rate_limited)


class LoginView(auth_views.LoginView):
    """Django's login page; a login refused by the rate limit answers 429."""

    def form_invalid(self, form: Any) -> HttpResponse:
        response = super().form_invalid(form)
        if isinstance(form, LoginForm) and form.rate_limited is not None:
            return refused(response, form.rate_limited)
        return response


class PasswordResetView(auth_views.PasswordResetView):
    """Django's reset request page, limited per network and per address.

    The limit counts requests whether or not the address has an account, so being refused
    says nothing about the address either.
    """

    def form_valid(self, form: Any) -> HttpResponse:
        decision = limits.hit_password_reset(ip=client_ip(self.request), email=form.cleaned_data["email"])
        if not decision.allowed:
            form.add_error(None, ValidationError(limits.password_reset_refused_message(decision), code="rate_limited"))
            return refused(self.form_invalid(form), decision)
        return super().form_valid(form)


class PasswordChangeView(auth_views.PasswordChangeView):
    """Django's password change (other browsers are signed out); it may unpair every device too."""

    form_class = PasswordChangeForm

    def form_invalid(self, form: Any) -> HttpResponse:
        return _refused_if_limited(form, super().form_invalid(form))

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)  # saves the password and keeps this session signed in
        if form.cleaned_data.get("unpair_devices"):
            revoked = pairing.revoke_all_devices(user=form.user)
            messages.success(self.request, _unpaired_text(revoked))
        return response


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """Django's reset form behind the e-mailed link. Recovering an account unpairs every device.

    Whoever asked may be taking the account back from someone else, who may hold a paired
    extension: its token must stop working as the old password does. Every session is signed
    out already (Django ends a session whose password hash no longer matches).
    """

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        pairing.revoke_all_devices(user=form.user)
        return response


def _unpaired_text(count: int) -> str:
    if count == 0:
        return "You had no paired devices to unpair."
    devices = "device was" if count == 1 else "devices were"
    return f"{count} {devices} unpaired. Pair each extension again to use it."


login_view = LoginView.as_view(authentication_form=LoginForm, redirect_authenticated_user=True)
# Django's LogoutView accepts only POST, so a link or an image tag cannot log anyone out.
logout_view = auth_views.LogoutView.as_view()
password_change = PasswordChangeView.as_view(success_url=reverse_lazy("accounts:password_change_done"))
password_change_done = auth_views.PasswordChangeDoneView.as_view()
password_reset = PasswordResetView.as_view(
    form_class=ResetRequestForm,
    email_template_name="registration/password_reset_email.txt",
    subject_template_name="registration/password_reset_subject.txt",
    success_url=reverse_lazy("accounts:password_reset_done"),
)
password_reset_done = auth_views.PasswordResetDoneView.as_view()
password_reset_confirm = PasswordResetConfirmView.as_view(success_url=reverse_lazy("accounts:password_reset_complete"))
password_reset_complete = auth_views.PasswordResetCompleteView.as_view()
