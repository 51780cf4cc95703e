"""Who a stream belongs to: device tokens (close codes 4401/4403) and the user's group."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from accounts.models import Device
from accounts.pairing import authenticate_device_token
from accounts.selectors import device_for_token
from moods.stream import CLOSE_BAD_TOKEN, CLOSE_REVOKED
from smile_site.origins import is_site_origin


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


def session_user_id(scope: dict[str, Any]) -> int | None:
    """The logged-in user of a socket opened by the site's own pages; None otherwise.

    The session cookie counts only with the site's own Origin (CSRF: any page the user visits
    could open a socket that carries the cookie). Other sockets authenticate with a token.
    """
    user = scope.get("user")
    if user is None or not user.is_authenticated or not user.is_active:
        return None
    if not is_site_origin(scope, site_origins=settings.SMILE_SITE_ORIGINS):
        return None
    return int(user.pk)
