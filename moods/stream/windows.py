"""Storing a stream's closed windows: the ``MoodEvent``, its rollup, and the nudge it may trigger.

The stream consumer hands each closed window (ids and aggregates, never frames) to the
process's ``WindowWriter``: one thread of its own, with its own database connection, so a slow
or frozen database (retries, a connect that hangs) never holds up Channels' database thread,
the event loop, results, pauses or new sockets. At most ``SMILE_PENDING_WINDOWS`` writes wait
for it; beyond that a window goes straight to the pending buffer. A window is written with its
quarter-hour rollup in one transaction (``record_window``); then the encouragement rule runs
once. Logs name users by id and errors by class: no scores, no messages, no frame data.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from typing import TypeVar

from django.db import DatabaseError, DataError, IntegrityError, close_old_connections, connection

from common.lazy import Lazy
from moods.encouragement.services import maybe_encourage
from moods.history import rollup
from moods.models import MoodEvent
from moods.stream import messages, metrics
from moods.stream.aggregator import ClosedWindow
from moods.stream.config import stream_config
from moods.stream.pending import PendingWindow, pending_buffer

logger = logging.getLogger(__name__)

# Pauses between attempts to store a window: a failover or a restarting database gets under a second.
RETRY_DELAYS: tuple[float, ...] = (0.05, 0.2, 0.5)
# Errors a retry cannot fix (the user or device is gone, a value is refused): the window is dropped.
PERMANENT_ERRORS = (IntegrityError, DataError)

T = TypeVar("T")


def create_event(*, user_id: int, device_id: int | None, window: ClosedWindow) -> MoodEvent:
    """Insert the window's ``MoodEvent`` and add it to its quarter-hour rollup, both or neither."""
    if window.scores is None or window.dominant is None:
        raise ValueError("a window without a face has no mood to store")
    event = rollup.insert_event(
        MoodEvent(
            user_id=user_id,
            device_id=device_id,
            started_at=window.start,
            ended_at=window.end,
            frames=window.frames,
            faces=window.faces,
            dominant=window.dominant,
            baseline_applied=window.baseline_applied,
            uncertain=window.uncertain,
            window_key=window.key,
            **window.scores,
        )
    )
    metrics.window_stored()
    return event


def stored_earlier(window: ClosedWindow) -> MoodEvent | None:
    """The window's event if an earlier attempt stored it (its commit went through, the reply was lost)."""
    return MoodEvent.objects.filter(window_key=window.key).first()


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
    the next successful call (or ``flush_pending``). Errors a retry cannot fix drop the window,
    unless an earlier attempt had in fact stored it (its key is there): then that is the event.
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
            earlier = stored_earlier(window)
            if earlier is None:
                logger.warning("mood window of user %s dropped: %s", user_id, type(exc).__name__)
                return None
            event = earlier
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
            if stored_earlier(item.window) is None:
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


class WindowWriter:
    """Stores closed windows on one thread of its own; at most ``max_queued`` wait for it."""

    def __init__(self, *, max_queued: int) -> None:
        self.max_queued = max_queued
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="smile-windows")
        self._queued = 0
        self._lock = threading.Lock()
        self._idle = threading.Event()
        self._idle.set()

    def submit(
        self, *, user_id: int, device_id: int | None, window: ClosedWindow, now: datetime
    ) -> Future[messages.Encourage | None] | None:
        """Queue the window's write; its future gives the ``encourage`` message, if the rule fired.

        None when too many writes already wait (a long outage): the window then waits in the
        pending buffer, written by the next successful write.
        """
        with self._lock:
            if self._queued >= self.max_queued:
                pending_buffer.get().add(PendingWindow(user_id=user_id, device_id=device_id, window=window))
                logger.warning("mood window of user %s queued in memory: %d writes waiting", user_id, self._queued)
                return None
            self._queued += 1
            self._idle.clear()
        return self._executor.submit(self._store, user_id=user_id, device_id=device_id, window=window, now=now)

    def submit_call(self, work: Callable[[], T]) -> Future[T] | None:
        """Run another write of the stream's (a private-mode summary) on the writer's thread; None when full."""
        with self._lock:
            if self._queued >= self.max_queued:
                return None
            self._queued += 1
            self._idle.clear()
        return self._executor.submit(self._run, work)

    def _store(
        self, *, user_id: int, device_id: int | None, window: ClosedWindow, now: datetime
    ) -> messages.Encourage | None:
        return self._run(lambda: store_window(user_id=user_id, device_id=device_id, window=window, now=now))

    def _run(self, work: Callable[[], T]) -> T:
        close_old_connections()
        try:
            return work()
        finally:
            close_old_connections()
            with self._lock:
                self._queued -= 1
                if not self._queued:
                    self._idle.set()

    def wait_idle(self, timeout: float) -> bool:
        """Whether every queued write finished within ``timeout`` seconds (tests, shutdown)."""
        return self._idle.wait(timeout)

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False)


window_writer: Lazy[WindowWriter] = Lazy(lambda: WindowWriter(max_queued=stream_config().pending_windows))
