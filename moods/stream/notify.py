"""The one way to tell a user's open streams that something concerning them changed.

Every change a live stream must hear goes through ``notify_user_streams``: a device revoked
(``device.revoked``, the device's own sockets close 4403), the baseline calibrated, refreshed or
forgotten (``baseline.changed``), an encouragement (``mood.encourage``), the capture settings
saved on the website (``capture.changed``). The event goes to the user's group, which every
stream of theirs joins, after the current transaction commits (at once outside one); the
consumer dispatches on the event's ``type`` (``moods.stream.messages.USER_EVENTS``) and ignores
what does not concern its own socket. An unreachable channel layer is logged and forgotten: the
database stays the authority, and each stream reads it again on reconnect and at its re-checks.
"""

from __future__ import annotations

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from moods.stream import messages

logger = logging.getLogger(__name__)


def notify_user_streams(user_id: int, event: messages.UserEvent) -> None:
    """From synchronous code: every open stream of the user hears ``event`` once the transaction commits."""
    transaction.on_commit(lambda: async_to_sync(notify_user_streams_now)(user_id, event))


async def notify_user_streams_now(user_id: int, event: messages.UserEvent) -> None:
    """From a consumer's own event loop, where there is nothing left to commit: every open stream hears it now."""
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        await layer.group_send(messages.user_group(user_id), event)
    except Exception:
        logger.exception("could not tell the streams of user %s about %s", user_id, event["type"])
