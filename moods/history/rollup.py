"""The quarter-hour rollup of mood windows (``MoodQuarter``): kept in step with ``MoodEvent``.

Windows are written one by one with ``insert_event`` (the event and its quarter in one
transaction), in bulk with ``bulk_create`` followed by ``rebuild``, and deleted with
``moods.yourdata.deletion``, which subtracts them.

A window adds its length and ``score * length`` per emotion to the UTC quarter hour it starts in.
Every time zone's offset is a whole number of quarter hours, so a quarter never straddles a local
hour, day or week: grouping quarters by local hour gives exactly what grouping the windows would.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, FloatField, IntegerField, Sum, Value
from django.db.models.functions import Cast, ExtractMinute, TruncHour

from inference.emotions import EMOTIONS
from moods.models import MoodEvent, MoodQuarter, window_seconds

QUARTER = timedelta(minutes=15)


def quarter_of(moment: datetime) -> datetime:
    """The start of the UTC quarter hour holding ``moment``."""
    utc = moment.astimezone(UTC)
    return utc.replace(minute=utc.minute - utc.minute % 15, second=0, microsecond=0)


def insert_event(event: MoodEvent) -> MoodEvent:
    """Insert a new window and add it to its quarter, both or neither."""
    event.seconds = window_seconds(event.started_at, event.ended_at)
    with transaction.atomic():
        event.save(force_insert=True)
        add_event(event)
    return event


def add_event(event: MoodEvent) -> None:
    """Add one stored window to its quarter (inside the caller's transaction)."""
    seconds = float(event.seconds)
    increments = {"seconds": F("seconds") + seconds}
    for emotion in EMOTIONS:
        increments[emotion] = F(emotion) + float(getattr(event, emotion)) * seconds
    start = quarter_of(event.started_at)
    rows = MoodQuarter.objects.filter(user_id=event.user_id, start=start)
    if rows.update(**increments):
        return
    values = {emotion: float(getattr(event, emotion)) * seconds for emotion in EMOTIONS}
    try:
        with transaction.atomic():
            MoodQuarter.objects.create(user_id=event.user_id, start=start, seconds=seconds, **values)
    except IntegrityError:
        # Another stream of the same user created the quarter first: add to it.
        rows.update(**increments)


def rebuild(*, user_id: int) -> int:
    """Recompute the user's quarters from their windows (after ``bulk_create``); returns how many.

    One ``GROUP BY`` (UTC hour, minute // 15) in SQL, then one ``bulk_create``.
    """
    sums = {"total": Sum("seconds")} | {
        emotion: Sum(F(emotion) * F("seconds"), output_field=FloatField()) for emotion in EMOTIONS
    }
    rows = (
        MoodEvent.objects.filter(user_id=user_id)
        .order_by()
        .annotate(
            hour=TruncHour("started_at", tzinfo=UTC),
            quarter=Cast(ExtractMinute("started_at", tzinfo=UTC), IntegerField()) / Value(15),
        )
        .values("hour", "quarter")
        .annotate(**sums)
    )
    quarters = []
    for grouped in rows:
        row: dict[str, Any] = dict(grouped)
        quarters.append(
            MoodQuarter(
                user_id=user_id,
                start=row["hour"].astimezone(UTC) + int(row["quarter"]) * QUARTER,
                seconds=row["total"],
                **{emotion: row[emotion] for emotion in EMOTIONS},
            )
        )
    with transaction.atomic():
        MoodQuarter.objects.filter(user_id=user_id).delete()
        MoodQuarter.objects.bulk_create(quarters, batch_size=2000)
    return len(quarters)
