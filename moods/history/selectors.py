"""Reads of the stored mood windows, as the dashboard and history pages need them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

from django.db.models import Max

from inference.emotions import EMOTIONS
from moods.models import Encouragement, MoodEvent

# How far before ``since`` a window may start and still reach into the period: it lets the
# (user, started_at) index bound the scan. Windows last a minute; a late close stays far below.
LONGEST_WINDOW = timedelta(hours=1)


def local_midnight(day: date, tz: tzinfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=tz)


def latest_event(*, user_id: int) -> MoodEvent | None:
    return MoodEvent.objects.filter(user_id=user_id).select_related("device").order_by("-started_at", "-id").first()


def has_mood_data(*, user_id: int) -> bool:
    return MoodEvent.objects.filter(user_id=user_id).exists()


def streaming_device_ids(
    *, user_id: int, now: datetime, window: timedelta, closed: Mapping[int | None, datetime] | None = None
) -> set[int | None]:
    """Devices (None: the website's live page) with a window that ended within ``window`` of ``now``.

    A stream stores a window every ``window_seconds``, so a recent one means it is streaming now,
    unless its socket closed after that window (``closed``: when each source's stream last closed).
    """
    latest = (
        MoodEvent.objects.filter(
            user_id=user_id, started_at__gte=now - window - LONGEST_WINDOW, ended_at__gte=now - window
        )
        .order_by()
        .values("device_id")
        .annotate(last_end=Max("ended_at"))
    )
    closed = closed or {}
    return {
        row["device_id"]
        for row in latest
        if row["device_id"] not in closed or row["last_end"] > closed[row["device_id"]]
    }


def windows_between(*, user_id: int, start: datetime, end: datetime) -> list[MoodEvent]:
    """The windows that start in [start, end), oldest first, without their devices (the day's strip).

    Every field the strip reads is loaded here: a deferred one costs a query per window.
    """
    return list(
        MoodEvent.objects.filter(user_id=user_id, started_at__gte=start, started_at__lt=end)
        .only("started_at", "ended_at", "seconds", "faces", *EMOTIONS)
        .order_by("started_at", "id")
    )


@dataclass(frozen=True)
class TimelinePage:
    rows: list[MoodEvent | Encouragement]
    # Pass as ``until`` for the next (older) page; None on the last page.
    older: datetime | None


def _moment(row: MoodEvent | Encouragement) -> datetime:
    return row.started_at if isinstance(row, MoodEvent) else row.sent_at


def timeline(
    *, user_id: int, start: datetime, end: datetime, until: datetime | None = None, limit: int = 50
) -> TimelinePage:
    """Mood events and encouragements in [start, min(end, until)], newest first, ``limit`` at most.

    Keyset pagination: two index range scans of ``limit + 1`` rows each, merged; no count and no
    offset, so the last page of a year costs what the first does. A page never splits rows that
    share a moment: they all go to the next page.
    """
    events = MoodEvent.objects.filter(user_id=user_id, started_at__gte=start, started_at__lt=end)
    nudges = Encouragement.objects.filter(user_id=user_id, sent_at__gte=start, sent_at__lt=end)
    if until is not None:
        events = events.filter(started_at__lte=until)
        nudges = nudges.filter(sent_at__lte=until)
    merged: list[MoodEvent | Encouragement] = [
        # Each minute's corrections ("Your word" on its row): one more query for the page.
        *events.select_related("device").prefetch_related("corrections").order_by("-started_at", "-id")[: limit + 1],
        *nudges.order_by("-sent_at", "-id")[: limit + 1],
    ]
    merged.sort(key=_moment, reverse=True)
    if len(merged) <= limit:
        return TimelinePage(rows=merged, older=None)
    cut = _moment(merged[limit])
    rows = [row for row in merged[:limit] if _moment(row) > cut]
    if not rows:  # more than ``limit`` rows at one moment: show them, move on strictly before it
        return TimelinePage(rows=merged[:limit], older=cut - timedelta(microseconds=1))
    return TimelinePage(rows=rows, older=cut)
