"""Writes on accounts. Views, commands and tests call these; they never save users themselves."""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth import password_validation
from django.db import transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from accounts import notices
from accounts.models import Device, User, validate_time_zone
from accounts.signals import device_mode_changed


@sensitive_variables("password")
def register_user(*, email: str, password: str, display_name: str = "", time_zone: str = "UTC") -> User:
    """Create an active, unprivileged user. Raises ``ValidationError`` for a bad time zone or a weak password."""
    validate_time_zone(time_zone)
    email = User.objects.normalize_email(email).strip().lower()
    password_validation.validate_password(password, User(email=email, display_name=display_name))
    with transaction.atomic():
        return User.objects.create_user(
            email=email, password=password, display_name=display_name.strip(), time_zone=time_zone
        )


def update_profile(
    *, user: User, email: str, display_name: str, time_zone: str, login_url: str = "", now: datetime | None = None
) -> User:
    """Change the user's e-mail (their login), display name and time zone.

    A new e-mail address is announced to the old one once the change is committed (what
    changed, when, and what to do if it was not them; ``login_url`` is the login page's
    address for that mail). The caller has checked the current password. Sessions and devices
    stay as they are; a reset link sent to the old address stops working, since Django's
    reset tokens hash the address they were sent to.
    """
    validate_time_zone(time_zone)
    old_email = user.email
    user.email = User.objects.normalize_email(email).strip().lower()
    user.display_name = display_name.strip()
    user.time_zone = time_zone
    with transaction.atomic():
        user.save(update_fields=["email", "display_name", "time_zone"])
        if user.email != old_email:
            changed_at = now or timezone.now()
            transaction.on_commit(
                lambda: notices.send_email_changed(
                    user=user, old_email=old_email, changed_at=changed_at, login_url=login_url
                )
            )
    return user


def delete_account(*, user: User) -> None:
    """Delete the user and, with them, everything they own.

    The rule that makes this complete: every model that holds a user's data (mood events,
    encouragement settings and log, devices and their tokens, pairing requests, ...) points
    at the user with a ``ForeignKey``/``OneToOneField`` declared ``on_delete=models.CASCADE``.
    Never ``SET_NULL``, ``PROTECT`` or a bare user id: the database cascade is what guarantees
    that deleting an account leaves nothing of that person behind. A model that cannot follow
    this rule must be cleaned up explicitly here, inside the same transaction.
    """
    with transaction.atomic():
        user.delete()


def set_device_mode(*, device: Device, mode: str) -> Device:
    """Read the device's frames on the server or, in private mode, on the user's computer.

    Raises ``ValueError`` for a mode that is not one of ``Device.Mode``. No re-pairing: once the
    change has committed, the device's open sockets are told (``device_mode_changed``) and switch.
    """
    if mode not in Device.Mode.values:
        raise ValueError(f"mode must be one of {', '.join(Device.Mode.values)}")
    with transaction.atomic():
        changed = Device.objects.filter(pk=device.pk).exclude(mode=mode).update(mode=mode)
        if changed:
            device_id, user_id = device.pk, device.user_id
            transaction.on_commit(
                lambda: device_mode_changed.send_robust(sender=Device, user_id=user_id, device_id=device_id, mode=mode)
            )
    device.mode = mode
    return device
