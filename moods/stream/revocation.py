"""A revoked device's open sockets close at once: the stream's answer to ``accounts.signals.device_revoked``."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from accounts.signals import device_revoked
from moods.stream import messages
from moods.stream.notify import notify_user_streams


@receiver(device_revoked, dispatch_uid="moods.stream.close_revoked_device_sockets")
def close_revoked_device_sockets(*, user_id: int, device_id: int, **_: Any) -> None:
    """Tell the user's open streams; the device's own sockets close with 4403.

    Should the channel layer be unreachable, the token is refused from now on all the same, and
    each open socket finds the revocation at its next re-check (``SMILE_DEVICE_RECHECK_SECONDS``).
    """
    notify_user_streams(user_id, messages.device_revoked(device_id=device_id))
