"""Telling a user's open streams that their baseline changed (forgotten, or refreshed by a correction)."""

from __future__ import annotations

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from moods.stream import messages

logger = logging.getLogger(__name__)


def announce_baseline_changed(*, user_id: int) -> None:
    """After the commit, every live stream of the user reloads its baseline (``baseline.changed``)."""

    def send() -> None:
        layer = get_channel_layer()
        if layer is None:
            return
        try:
            async_to_sync(layer.group_send)(messages.user_group(user_id), messages.baseline_changed())
        except Exception:
            # The open streams keep the old baseline until they reconnect; the stored one is right.
            logger.exception("could not tell the streams of user %s that their baseline changed", user_id)

    transaction.on_commit(send)
