"""The S.M.I.L.E user (e-mail is the login, a display name and a time zone), paired devices and pairing requests."""

from __future__ import annotations

import zoneinfo
from datetime import datetime
from typing import Any, ClassVar

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError("%(value)s is not a known time zone.", params={"value": value}, code="invalid_time_zone")


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create(self, email: str, password: str | None, **fields: Any) -> User:
        if not email:
            raise ValueError("An e-mail address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **fields: Any) -> User:
        fields.setdefault("is_staff", False)
        fields.setdefault("is_superuser", False)
        return self._create(email, password, **fields)

    def create_superuser(self, email: str, password: str | None = None, **fields: Any) -> User:
        fields.update(is_staff=True, is_superuser=True)
        return self._create(email, password, **fields)

    def get_by_natural_key(self, username: str | None) -> User:
        # Addresses are stored lower-case, so logging in ignores the case the user types.
        return self.get(email__iexact=username or "")


class User(AbstractBaseUser, PermissionsMixin):
    email = models.EmailField("e-mail address", unique=True, max_length=254)
    display_name = models.CharField(max_length=80, blank=True)
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)

    objects: ClassVar[UserManager] = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        ordering = ("email",)

    def __str__(self) -> str:
        return self.email

    def get_full_name(self) -> str:
        return self.display_name or self.email

    def get_short_name(self) -> str:
        return self.display_name or self.email.split("@", 1)[0]

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)


class Device(models.Model):
    """A paired extension. Its access token is stored only as a SHA-256 hash."""

    class Mode(models.TextChoices):
        # Where the device's frames are read (docs/protocol.md, "Private mode").
        SERVER = "server", "On the S.M.I.L.E server"
        PRIVATE = "private", "On this computer (private)"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="devices")
    name = models.CharField(max_length=80)
    # Unique, hence indexed: the stream looks devices up by the hash of the token they present.
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    # Switchable at any time (no re-pairing): the device's open sockets take it up at once.
    mode = models.CharField(max_length=8, choices=Mode.choices, default=Mode.SERVER)

    class Meta:
        ordering = ("-created_at", "-id")
        indexes: ClassVar = [models.Index(fields=["user", "-created_at"], name="device_user_created")]

    def __str__(self) -> str:
        return self.name

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class PairingRequest(models.Model):
    """One run of the device flow: a device asked to pair; a user approves or denies it by its user code.

    Neither secret is stored in clear: the device code only as its SHA-256 hash, and the
    access token lives on the resulting ``Device``, hashed too.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for approval"
        APPROVED = "approved", "Approved"
        DENIED = "denied", "Denied"
        CONSUMED = "consumed", "Paired"

    LIVE_STATUSES: ClassVar[tuple[str, ...]] = (Status.PENDING, Status.APPROVED)

    device_code_hash = models.CharField(max_length=64, unique=True)
    user_code = models.CharField(max_length=8)
    device_name = models.CharField(max_length=80)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    interval = models.PositiveSmallIntegerField(default=5)
    last_polled_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    # Whoever approved (or denied) the request; deleting that account deletes the request.
    user = models.ForeignKey(User, on_delete=models.CASCADE, null=True, blank=True, related_name="pairing_requests")
    device = models.ForeignKey(Device, on_delete=models.CASCADE, null=True, blank=True, related_name="pairing_requests")
    requester_ip = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at", "-id")
        indexes: ClassVar = [
            models.Index(fields=["user_code"], name="pairing_user_code"),
            models.Index(fields=["expires_at"], name="pairing_expires_at"),
        ]
        constraints: ClassVar = [
            # Two requests waiting at once never share a code, so a typed code names one device.
            models.UniqueConstraint(
                fields=["user_code"],
                condition=models.Q(status__in=["pending", "approved"]),
                name="pairing_live_user_code_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.device_name} ({self.get_status_display()})"

    def is_expired(self, now: datetime | None = None) -> bool:
        return (now or timezone.now()) >= self.expires_at
