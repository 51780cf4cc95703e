"""Writes on moods: mood windows, encouragements and their feedback, encouragement settings.

The stream consumer calls these (through ``database_sync_to_async``) with ids, never with
frames. Logs name users by id and errors by class: no scores, no messages, no frame data.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from datetime import datetime, timedelta

from django.db import DatabaseError, DataError, IntegrityError, connection, transaction
from django.utils import timezone

from accounts.models import User
from moods import selectors
from moods.aggregator import ClosedWindow
from moods.encouragement import choose_message, decide
from moods.models import CaptureSettings, Encouragement, EncouragementSettings, MoodEvent
from moods.pending import PendingWindow, get_buffer

logger = logging.getLogger(__name__)

# Pauses between attempts to store a window: a failover or a restarting database gets under a second.
RETRY_DELAYS: tuple[float, ...] = (0.05, 0.2, 0.5)
# Errors a retry cannot fix (the user or device is gone, a value is refused): the window is dropped.
PERMANENT_ERRORS = (IntegrityError, DataError)
# The encouragement log the rule needs: the cooldown, and the user's local day (at most 25 hours).
LOCAL_DAY_REACH = timedelta(hours=26)


def _create_event(*, user_id: int, device_id: int | None, window: ClosedWindow) -> MoodEvent:
    if window.scores is None or window.dominant is None:
        raise ValueError("a window without a face has no mood to store")
    with transaction.atomic():
        return MoodEvent.objects.create(
            user_id=user_id,
            device_id=device_id,
            started_at=window.start,
            ended_at=window.end,
            frames=window.frames,
            faces=window.faces,
            dominant=window.dominant,
            **window.scores,
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
            event = _create_event(user_id=user_id, device_id=device_id, window=window)
        except PERMANENT_ERRORS as exc:
            logger.warning("mood window of user %s dropped: %s", user_id, type(exc).__name__)
            return None
        except DatabaseError as exc:
            error_name = type(exc).__name__
            continue
        if len(get_buffer()):
            flush_pending()
        return event
    buffer = get_buffer()
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
    buffer = get_buffer()
    items = buffer.take_all()
    stored = 0
    for index, item in enumerate(items):
        try:
            _create_event(user_id=item.user_id, device_id=item.device_id, window=item.window)
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


def get_or_create_settings(*, user: User) -> EncouragementSettings:
    """The user's encouragement settings, created with the defaults (encouragements off) on first use."""
    row, _ = EncouragementSettings.objects.get_or_create(user=user)
    return row


def maybe_encourage(*, user_id: int, now: datetime) -> Encouragement | None:
    """Apply the encouragement rule at ``now`` and, when it fires, log and return the new ``Encouragement``.

    The caller sends ``encouragement.as_message()`` (id, message, optional resources) to the
    user's stream after this returns, that is after the commit.
    """
    with transaction.atomic():
        # The row lock serialises two streams of one user closing windows at the same moment.
        row = (
            EncouragementSettings.objects.select_for_update(of=("self",))
            .select_related("user")
            .filter(user_id=user_id)
            .first()
        )
        if row is None or not row.enabled:
            return None
        rules = row.rule_settings()
        tz = row.user.zone
        windows = selectors.recent_windows(
            user_id=user_id, since=now - timedelta(minutes=rules.sustain_minutes), until=now
        )
        log = selectors.encouragement_times(
            user_id=user_id, since=now - max(timedelta(minutes=rules.cooldown_minutes), LOCAL_DAY_REACH)
        )
        decision = decide(now=now, settings_snapshot=rules, recent_windows=windows, log=log, user_tz=tz)
        if decision.send and rules.support_resources_enabled:
            today = now.astimezone(tz).date()
            daily = selectors.daily_sadness(
                user_id=user_id, tz=tz, first_day=today - timedelta(days=rules.low_mood_days - 1), last_day=today
            )
            decision = decide(
                now=now, settings_snapshot=rules, recent_windows=windows, log=log, user_tz=tz, daily_sadness=daily
            )
        if not decision.send:
            logger.debug("no encouragement for user %s: %s", user_id, decision.reason)
            return None
        trigger = decision.trigger(rules)
        if decision.with_resources:
            trigger["region"] = row.resources_region
        return Encouragement.objects.create(
            user_id=user_id,
            sent_at=now,
            message=choose_message(own_messages=row.own_messages, last_message=selectors.last_message(user_id=user_id)),
            trigger=trigger,
            includes_resources=decision.with_resources,
        )


def record_feedback(*, user_id: int, encouragement_id: int, helpful: bool) -> Encouragement:
    """Record (or change) the user's feedback on one of their encouragements.

    Raises ``Encouragement.DoesNotExist`` for an unknown id and for another user's, alike.
    """
    encouragement = Encouragement.objects.get(pk=encouragement_id, user_id=user_id)
    encouragement.feedback = Encouragement.Feedback.HELPFUL if helpful else Encouragement.Feedback.NOT_HELPFUL
    encouragement.feedback_at = timezone.now()
    encouragement.save(update_fields=["feedback", "feedback_at"])
    return encouragement


def save_settings(
    *, user: User, encouragement: EncouragementSettings, capture: CaptureSettings, time_zone: str
) -> None:
    """Save the settings page at once: encouragement, capture defaults, and the user's time zone."""
    with transaction.atomic():
        encouragement.user = user
        encouragement.full_clean()
        encouragement.save()
        capture.user = user
        capture.full_clean()
        capture.save()
        if user.time_zone != time_zone:
            user.time_zone = time_zone
            user.full_clean(validate_unique=False)
            user.save(update_fields=["time_zone"])
