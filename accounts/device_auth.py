"""Who holds a device token: the one check behind the device API and the stream.

One hash, one query. The answer tells an unknown token (pair again) from a revoked device
(or a disabled account), because clients react differently: the API answers 401 or 403, the
stream closes with 4401 or 4403.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Final, Literal

from django.utils import timezone

from accounts.models import Device
from accounts.tokens import hash_secret

# Longer strings cannot be one of our tokens (43 characters); refuse them before hashing.
MAX_TOKEN_LENGTH: Final = 256
# last_seen_at is for people ("seen 3 minutes ago"): one write a minute per device is plenty.
LAST_SEEN_RESOLUTION: Final = timedelta(minutes=1)

Refusal = Literal["unknown", "revoked"]


@dataclass(frozen=True)
class DeviceAuth:
    """The token's device (with its user loaded), and why it may not be used, if it may not."""

    device: Device | None
    refusal: Refusal | None

    @property
    def active(self) -> Device | None:
        return self.device if self.refusal is None else None


def authenticate_device(token: object, *, note_seen: bool = True) -> DeviceAuth:
    """The device holding ``token``: ``unknown`` for no device, ``revoked`` for a revoked device or a
    disabled account. An active device is noted as seen (at most one write a minute)."""
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
        return DeviceAuth(device=None, refusal="unknown")
    device = Device.objects.select_related("user").filter(token_hash=hash_secret(token)).first()
    if device is None:
        return DeviceAuth(device=None, refusal="unknown")
    if not device.is_active or not device.user.is_active:
        return DeviceAuth(device=device, refusal="revoked")
    now = timezone.now()
    if note_seen and (device.last_seen_at is None or now - device.last_seen_at >= LAST_SEEN_RESOLUTION):
        Device.objects.filter(pk=device.pk).update(last_seen_at=now)
        device.last_seen_at = now
    return DeviceAuth(device=device, refusal=None)
