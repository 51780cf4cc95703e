"""Pairing an extension (the RFC 8628 device flow) and its device token: the writes.

The flow: a device starts a request and gets a secret ``device_code`` and a short
``user_code``; a logged-in person approves (or denies) the request by its user code; the
device polls with its device code and, once approved, receives an access token exactly once.
Both secrets are 256-bit random strings stored only as SHA-256 hashes.

A revocation is announced after the commit with the ``accounts.signals.device_revoked`` signal.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from accounts import conf
from accounts.models import Device, PairingRequest, User
from accounts.signals import device_revoked
from accounts.tokens import hash_secret, new_secret, new_user_code

DEVICE_NAME_MAX_LENGTH = 80
SLOW_DOWN_STEP_SECONDS = 5
# A client that keeps polling too fast is slowed down to at most this interval.
MAX_INTERVAL_SECONDS = 600
# Expired requests are kept a day (the page can still say "expired" rather than "unknown").
PURGE_AFTER = timedelta(days=1)
_USER_CODE_ATTEMPTS = 10

# The poll answers (RFC 8628 section 3.5, plus invalid_grant for unknown or used device codes).
AUTHORIZATION_PENDING = "authorization_pending"
SLOW_DOWN = "slow_down"
ACCESS_DENIED = "access_denied"
EXPIRED_TOKEN = "expired_token"  # noqa: S105 - an error code, not a secret
INVALID_GRANT = "invalid_grant"

# Characters that could make a device name lie about itself on the approval page: controls,
# lone surrogates, line and paragraph separators, and the bidirectional overrides and isolates
# (U+202E turns "moc.elgoog" into a convincing "google.com").
_FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cs", "Zl", "Zp"})
_BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


class PairingError(Exception):
    """A pairing request that can no longer be approved or denied; ``reason`` is ``expired`` or ``used``."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class PollResult:
    """One answer to a device's poll: an ``error`` code, or the access token (given only here, once)."""

    error: str | None = None
    description: str = ""
    interval: int | None = None
    access_token: str | None = None
    device: Device | None = None


def validate_device_name(value: object) -> str:
    """The device name, stripped; ``ValidationError`` unless a 1-80 character string without control characters."""
    if not isinstance(value, str):
        raise ValidationError("device_name must be a string.", code="type")
    name = value.strip()
    if not name:
        raise ValidationError("device_name must not be empty.", code="empty")
    if len(name) > DEVICE_NAME_MAX_LENGTH:
        raise ValidationError(
            f"device_name must be at most {DEVICE_NAME_MAX_LENGTH} characters (got {len(name)}).", code="too_long"
        )
    if any(unicodedata.category(char) in _FORBIDDEN_CATEGORIES or char in _BIDI_CONTROLS for char in name):
        raise ValidationError("device_name must not contain control characters.", code="control_characters")
    return name


def _user_code_is_taken(code: str) -> bool:
    return PairingRequest.objects.filter(user_code=code, status__in=PairingRequest.LIVE_STATUSES).exists()


def start_pairing(*, device_name: str, ip: str | None) -> tuple[PairingRequest, str]:
    """Open a pairing request for a device; returns it and the device code (in clear only here)."""
    name = validate_device_name(device_name)
    device_code = new_secret()
    now = timezone.now()
    for _ in range(_USER_CODE_ATTEMPTS):
        user_code = new_user_code()
        if _user_code_is_taken(user_code):
            continue
        try:
            with transaction.atomic():
                request = PairingRequest.objects.create(
                    device_code_hash=hash_secret(device_code),
                    user_code=user_code,
                    device_name=name,
                    created_at=now,
                    expires_at=now + timedelta(seconds=conf.pairing_expires_seconds()),
                    interval=conf.pairing_interval_seconds(),
                    requester_ip=ip or None,
                )
        except IntegrityError:
            continue  # a concurrent request took the same code between the check and the insert
        return request, device_code
    # 20^8 codes: reaching this means the table is flooded, which the start rate limit prevents.
    raise RuntimeError("no free user code found")


def ensure_decidable(request: PairingRequest, *, now: datetime | None = None) -> None:
    """Raise ``PairingError`` unless the request still waits for a person's decision."""
    if request.status != PairingRequest.Status.PENDING:
        raise PairingError("used", "This code was already used. Start pairing again in the extension for a new one.")
    if request.is_expired(now):
        raise PairingError("expired", "This code has expired. Start pairing again in the extension for a new one.")


def _decide(*, request: PairingRequest, user: User, status: str) -> PairingRequest:
    with transaction.atomic():
        locked = PairingRequest.objects.select_for_update().get(pk=request.pk)
        ensure_decidable(locked)
        locked.status = status
        locked.user = user
        locked.save(update_fields=["status", "user"])
    return locked


def approve_pairing(*, request: PairingRequest, user: User) -> PairingRequest:
    """Let the device pair with ``user``'s account; it gets its token on its next poll."""
    return _decide(request=request, user=user, status=PairingRequest.Status.APPROVED)


def deny_pairing(*, request: PairingRequest, user: User) -> PairingRequest:
    """Refuse the device; its next poll answers ``access_denied``."""
    return _decide(request=request, user=user, status=PairingRequest.Status.DENIED)


def poll_pairing(*, device_code: str) -> PollResult:
    """Answer a device's poll. Success happens once: the request is then consumed."""
    now = timezone.now()
    with transaction.atomic():
        request = PairingRequest.objects.select_for_update().filter(device_code_hash=hash_secret(device_code)).first()
        if request is None:
            return PollResult(error=INVALID_GRANT, description="Unknown device code. Start pairing again.")
        previous_poll = request.last_polled_at
        request.last_polled_at = now
        result = _answer(request, now=now, previous_poll=previous_poll)
        request.save(update_fields=["last_polled_at", "interval", "status", "device"])
    return result


def _answer(request: PairingRequest, *, now: datetime, previous_poll: datetime | None) -> PollResult:
    """The poll's answer; updates ``request`` (interval, status, device) for the caller to save."""
    if request.status == PairingRequest.Status.CONSUMED:
        return PollResult(error=INVALID_GRANT, description="This device code was already used. Start pairing again.")
    if request.is_expired(now):
        return PollResult(error=EXPIRED_TOKEN, description="The pairing request expired. Start pairing again.")
    if request.status == PairingRequest.Status.DENIED:
        return PollResult(error=ACCESS_DENIED, description="The pairing request was denied.")
    if request.status == PairingRequest.Status.APPROVED:
        user = request.user
        if user is None or not user.is_active:
            return PollResult(error=ACCESS_DENIED, description="The account that approved the request is disabled.")
        token = new_secret()
        device = Device.objects.create(
            user=user, name=request.device_name, token_hash=hash_secret(token), created_at=now
        )
        request.status = PairingRequest.Status.CONSUMED
        request.device = device
        return PollResult(access_token=token, device=device)
    if previous_poll is not None and now - previous_poll < timedelta(seconds=request.interval):
        request.interval = min(request.interval + SLOW_DOWN_STEP_SECONDS, MAX_INTERVAL_SECONDS)
        return PollResult(
            error=SLOW_DOWN,
            description=f"Polling too fast. Wait at least {request.interval} seconds between polls.",
            interval=request.interval,
        )
    return PollResult(error=AUTHORIZATION_PENDING, description="Waiting for the user to approve the request.")


def revoke_device(*, user: User, device: Device) -> Device:
    """Revoke one of ``user``'s devices: its token stops working and its open sockets are told to close."""
    if device.user_id != user.pk:
        raise PermissionDenied("This device belongs to another account.")
    _revoke(Device.objects.filter(pk=device.pk))
    device.refresh_from_db(fields=["revoked_at"])
    return device


def revoke_all_devices(*, user: User) -> int:
    """Revoke every active device of ``user`` (a password reset, or a change that asks for it); returns how many.

    Each one goes exactly as on the Devices page: its token stops working and its open sockets close.
    """
    return _revoke(Device.objects.filter(user=user))


def _revoke(devices: QuerySet[Device]) -> int:
    """Revoke the active devices among ``devices``; after the commit each is announced (``device_revoked``)."""
    now = timezone.now()
    with transaction.atomic():
        # Locked, so exactly these rows change here and a concurrent revocation announces its own.
        revoked = list(devices.filter(revoked_at__isnull=True).select_for_update().values_list("pk", "user_id"))
        Device.objects.filter(pk__in=[pk for pk, _ in revoked]).update(revoked_at=now)
        if revoked:
            transaction.on_commit(lambda: _announce_revocations(revoked))
    return len(revoked)


def _announce_revocations(revoked: list[tuple[int, int]]) -> None:
    # The revocation is committed and the tokens are refused from now on; a listener that fails
    # must not turn that into an error page (send_robust logs its error instead).
    for device_id, user_id in revoked:
        device_revoked.send_robust(sender=Device, user_id=user_id, device_id=device_id)


def purge_expired_pairings(*, now: datetime | None = None) -> int:
    """Delete pairing requests that expired more than a day ago; returns how many."""
    cutoff = (now or timezone.now()) - PURGE_AFTER
    _, per_model = PairingRequest.objects.filter(expires_at__lt=cutoff).delete()
    return per_model.get(PairingRequest._meta.label, 0)
