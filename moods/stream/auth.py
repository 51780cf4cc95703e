"""Who a stream belongs to: a device token (close codes 4401/4403), or the site's own session."""

from __future__ import annotations

from importlib import import_module
from typing import Any

from django.conf import settings
from django.contrib.auth import HASH_SESSION_KEY, SESSION_KEY
from django.utils.crypto import constant_time_compare

from accounts.device_auth import authenticate_device
from accounts.models import Device, User
from common.origins import is_site_origin, same_host_policy
from moods.stream.messages import CLOSE_BAD_TOKEN, CLOSE_REVOKED


def authenticate_stream_token(token: str) -> tuple[Device | None, int]:
    """The active device for a first-message token, or None and the close code: 4401 unknown, 4403 revoked."""
    auth = authenticate_device(token)
    if auth.active is not None:
        return auth.active, CLOSE_BAD_TOKEN
    return None, CLOSE_REVOKED if auth.refusal == "revoked" else CLOSE_BAD_TOKEN


def may_still_stream(*, user_id: int, device_id: int | None, session_key: str | None = None) -> bool:
    """Whether an open socket may go on: its account is active and its device (if any) not revoked.

    The periodic re-check behind the revocation message (``docs/protocol.md``): the database
    stays the authority when that message is lost. A socket of the site's own page (no device)
    also needs its session (``session_key``) to still sign the user in: a logout, or a password
    changed or reset elsewhere, signs the page out and so ends its stream.
    """
    if device_id is None:
        user = User.objects.filter(pk=user_id, is_active=True).first()
        return user is not None and (session_key is None or _session_signs_in(user, session_key))
    return Device.objects.filter(pk=device_id, user_id=user_id, revoked_at__isnull=True, user__is_active=True).exists()


def _session_signs_in(user: User, session_key: str) -> bool:
    """Django's own test: the session names the user and holds the hash of their current password."""
    session = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    if str(session.get(SESSION_KEY)) != str(user.pk):
        return False
    return constant_time_compare(str(session.get(HASH_SESSION_KEY, "")), user.get_session_auth_hash())


def site_session_key(scope: dict[str, Any]) -> str | None:
    """The key of the session a site page's socket opened with (read from memory, no query)."""
    key = getattr(scope.get("session"), "session_key", None)
    return key if isinstance(key, str) else None


def session_user_id(scope: dict[str, Any]) -> int | None:
    """The logged-in user of a socket opened by the site's own pages; None otherwise.

    The session cookie counts only with the site's own Origin (CSRF: any page the user visits
    could open a socket that carries the cookie). Other sockets authenticate with a token.
    """
    user = scope.get("user")
    if user is None or not user.is_authenticated or not user.is_active:
        return None
    if not is_site_origin(scope, site_origins=settings.SMILE_SITE_ORIGINS, same_host=same_host_policy()):
        return None
    return int(user.pk)
