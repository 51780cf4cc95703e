"""A revoked device's open sockets close at once, and a device switched between server and private mode
switches its open sockets: the stream's answers to ``accounts.signals``."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from accounts.signals import device_mode_changed, device_revoked
from moods.stream import messages
from moods.stream.notify import notify_user_streams


@receiver(device_revoked, dispatch_uid="moods.stream.close_revoked_device_sockets")
def close_revoked_device_sockets(*, user_id: int, device_id: int, **_: Any) -> None:
    """Tell the user's open streams; the device's own sockets close with 4403.

    Should the channel layer be unreachable, the token is refused from now on all the same, and
    each open socket finds the revocation at its next re-check (``SMILE_DEVICE_RECHECK_SECONDS``).
    """
    notify_user_streams(user_id, messages.device_revoked(device_id=device_id))


@receiver(device_mode_changed, dispatch_uid="moods.stream.switch_device_sockets")
def switch_device_sockets(*, user_id: int, device_id: int, mode: messages.DeviceMode, **_: Any) -> None:
    """Tell the user's open streams; the device's own sockets switch to reading on the server or the computer.

    The stored mode is the authority: a socket that missed the news takes it up when it reconnects.
    """
    notify_user_streams(user_id, messages.device_mode_changed(device_id=device_id, mode=mode))
