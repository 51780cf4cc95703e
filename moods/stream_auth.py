"""Who a stream belongs to: device tokens (close codes 4401/4403) and the user's group."""

from __future__ import annotations

from accounts.models import Device
from accounts.pairing import authenticate_device_token
from accounts.selectors import device_for_token
from moods.stream import CLOSE_BAD_TOKEN, CLOSE_REVOKED


def user_group_name(user_id: int) -> str:
    """Every live stream of one user joins this group (encouragements reach them all)."""
    return f"user-{user_id}"


def authenticate_stream_token(token: str) -> tuple[Device | None, int]:
    """The device for a first-message token, or None and the close code: 4401 unknown, 4403 revoked."""
    device = device_for_token(token=token)
    if device is None:
        return None, CLOSE_BAD_TOKEN
    if not device.is_active or not device.user.is_active:
        return None, CLOSE_REVOKED
    # Notes when the device was last seen.
    return authenticate_device_token(token), CLOSE_BAD_TOKEN
