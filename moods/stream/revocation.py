"""A revoked device's open sockets close at once, and a device switched between server and private mode
switches its open sockets: the stream's answers to ``accounts.signals``."""

from __future__ import annotations

import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.dispatch import receiver

from accounts.signals import device_mode_changed, device_revoked
from moods.stream import messages

logger = logging.getLogger(__name__)


@receiver(device_revoked, dispatch_uid="moods.stream.close_revoked_device_sockets")
def close_revoked_device_sockets(*, device_id: int, **_: Any) -> None:
    """Tell every open socket of the device (its group) to close with 4403."""
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(messages.device_group(device_id), messages.device_revoked(device_id=device_id))
    except Exception:
        # The token is refused from now on; an unreachable channel layer leaves the open
        # sockets streaming until they reconnect, which the revoked token cannot.
        logger.exception("could not announce the revocation of device %s", device_id)


@receiver(device_mode_changed, dispatch_uid="moods.stream.switch_device_sockets")
def switch_device_sockets(*, device_id: int, mode: messages.DeviceMode, **_: Any) -> None:
    """Tell every open socket of the device that it now reads frames on the server, or on the computer."""
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(
            messages.device_group(device_id), messages.device_mode_changed(device_id=device_id, mode=mode)
        )
    except Exception:
        # The stored mode is the authority: a socket that missed it takes it up when it reconnects.
        logger.exception("could not announce the mode change of device %s", device_id)
