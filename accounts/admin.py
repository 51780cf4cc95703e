"""Admin for the e-mail based user: Django's UserAdmin with ``username`` replaced by ``email``."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.http import HttpRequest

from accounts.forms import time_zone_choices
from accounts.models import Device, User

if TYPE_CHECKING:
    # django-stubs makes these generic; at run time Django's classes take no type arguments.
    _ModelForm = forms.ModelForm[User]
    _AdminUserCreationForm = AdminUserCreationForm[User]
    _UserChangeForm = UserChangeForm[User]
    _UserAdmin = DjangoUserAdmin[User]
    _DeviceModelAdmin = admin.ModelAdmin[Device]
else:
    _ModelForm = forms.ModelForm
    _AdminUserCreationForm = AdminUserCreationForm
    _UserChangeForm = UserChangeForm
    _UserAdmin = DjangoUserAdmin
    _DeviceModelAdmin = admin.ModelAdmin

# A callable is valid as choices (Django 5.0+), so the zone list is built on first use; the stubs lag behind.
_TIME_ZONE_SELECT = forms.Select(choices=time_zone_choices)  # type: ignore[arg-type]


class _LowerCaseEmailMixin(_ModelForm):
    def clean_email(self) -> str:
        # Addresses are stored lower-case, so the model's unique check also catches other spellings.
        email: str = self.cleaned_data["email"]
        return email.strip().lower()


class UserAdminCreationForm(_LowerCaseEmailMixin, _AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email", "display_name", "time_zone")
        widgets: ClassVar = {"time_zone": _TIME_ZONE_SELECT}


class UserAdminChangeForm(_LowerCaseEmailMixin, _UserChangeForm):
    class Meta:
        model = User
        fields = (
            "email",
            "password",
            "display_name",
            "time_zone",
            "is_active",
            "is_staff",
            "is_superuser",
            "groups",
            "user_permissions",
            "last_login",
            "date_joined",
        )
        widgets: ClassVar = {"time_zone": _TIME_ZONE_SELECT}


@admin.register(User)
class UserAdmin(_UserAdmin):
    form = UserAdminChangeForm
    add_form = UserAdminCreationForm
    list_display = ("email", "display_name", "time_zone", "is_active", "is_staff", "date_joined", "last_login")
    list_filter = ("is_active", "is_staff", "is_superuser", "groups")
    search_fields = ("email", "display_name")
    ordering = ("email",)
    readonly_fields = ("last_login", "date_joined")
    filter_horizontal = ("groups", "user_permissions")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Profile", {"fields": ("display_name", "time_zone")}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Important dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("email", "display_name", "time_zone", "usable_password", "password1", "password2"),
            },
        ),
    )


@admin.register(Device)
class DeviceAdmin(_DeviceModelAdmin):
    """Read-only: devices come from pairing; their owners revoke them on /devices/."""

    list_display = ("name", "user", "created_at", "last_seen_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("name", "user__email")
    list_select_related = ("user",)
    fields = ("user", "name", "created_at", "last_seen_at", "revoked_at")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Device | None = None) -> bool:
        return False
