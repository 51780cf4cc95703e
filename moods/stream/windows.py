"""Storing a stream's closed windows: the ``MoodEvent``, its rollup, and the nudge it may trigger.

The stream consumer calls ``store_window`` (through ``database_sync_to_async``) with ids and
aggregates, never frames. A window is written with its quarter-hour rollup in one transaction
(``record_window``); then the encouragement rule runs once. Logs name users by id and errors by
class: no scores, no messages, no frame data.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from datetime import datetime

from django.db import DatabaseError, DataError, IntegrityError, connection

from moods.encouragement.services import maybe_encourage
from moods.history import rollup
from moods.models import MoodEvent
from moods.stream import messages
from moods.stream.aggregator import ClosedWindow
from moods.stream.pending import PendingWindow, pending_buffer

logger = logging.getLogger(__name__)

# Pauses between attempts to store a window: a failover or a restarting database gets under a second.
RETRY_DELAYS: tuple[float, ...] = (0.05, 0.2, 0.5)
# Errors a retry cannot fix (the user or device is gone, a value is refused): the window is dropped.
PERMANENT_ERRORS = (IntegrityError, DataError)


def create_event(*, user_id: int, device_id: int | None, window: ClosedWindow) -> MoodEvent:
    """Insert the window's ``MoodEvent`` and add it to its quarter-hour rollup, both or neither."""
    if window.scores is None or window.dominant is None:
        raise ValueError("a window without a face has no mood to store")
    return rollup.insert_event(
        MoodEvent(
            user_id=user_id,
            device_id=device_id,
            started_at=window.start,
            ended_at=window.end,
            frames=window.frames,
            faces=window.faces,
            dominant=window.dominant,
            **window.scores,
        )
    )


def _drop_broken_connection() -> None:
    # A lost connection stays broken until closed; Django reconnects on the next query.
    # Inside a transaction the caller owns the connection, so it is left alone.
    if not connection.in_atomic_block:
        connection.close_if_unusable_or_obsolete()


def record_window(
    *,
    user_id: int,
    device_id: int | None,
    window: ClosedWindow,
    retry_delays: Sequence[float] = RETRY_DELAYS,
) -> MoodEvent | None:
    """Store one closed window as a ``MoodEvent``; None when there is nothing to store or it could not be stored.

    A window without a face has no mood and is not stored. A database error is retried after
    each of ``retry_delays``; then the window waits in the process's pending buffer, written by
    the next successful call (or ``flush_pending``). Errors a retry cannot fix drop the window.
    """
    if not window.faces or window.scores is None:
        return None
    error_name = ""
    for attempt in range(len(retry_delays) + 1):
        if attempt:
            _drop_broken_connection()
            time.sleep(retry_delays[attempt - 1])
        try:
            event = create_event(user_id=user_id, device_id=device_id, window=window)
        except PERMANENT_ERRORS as exc:
            logger.warning("mood window of user %s dropped: %s", user_id, type(exc).__name__)
            return None
        except DatabaseError as exc:
            error_name = type(exc).__name__
            continue
        if len(pending_buffer.get()):
            flush_pending()
        return event
    buffer = pending_buffer.get()
    buffer.add(PendingWindow(user_id=user_id, device_id=device_id, window=window))
    logger.error(
        "mood window of user %s not stored after %d attempts (%s); %d window(s) waiting in memory",
        user_id,
        len(retry_delays) + 1,
        error_name,
        len(buffer),
    )
    return None


def flush_pending() -> int:
    """Write the windows waiting in memory; returns how many were stored. Stops at the first database error."""
    buffer = pending_buffer.get()
    items = buffer.take_all()
    stored = 0
    for index, item in enumerate(items):
        try:
            create_event(user_id=item.user_id, device_id=item.device_id, window=item.window)
        except PERMANENT_ERRORS as exc:
            logger.warning("pending mood window of user %s dropped: %s", item.user_id, type(exc).__name__)
            continue
        except DatabaseError as exc:
            buffer.put_back(items[index:])
            logger.warning("pending mood windows still not stored (%s); %d waiting", type(exc).__name__, len(buffer))
            _drop_broken_connection()
            break
        stored += 1
    if stored:
        logger.info("stored %d pending mood window(s)", stored)
    return stored


def store_window(
    *, user_id: int, device_id: int | None, window: ClosedWindow, now: datetime
) -> messages.Encourage | None:
    """Store the window and apply the encouragement rule; the ``encourage`` message if it fired."""
    if record_window(user_id=user_id, device_id=device_id, window=window) is None:
        return None
    encouragement = maybe_encourage(user_id=user_id, now=now)
    return None if encouragement is None else messages.encourage(encouragement)
