"""Reads on moods: stored windows, encouragement settings and log, as services and pages need them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

from django.db.models import F, FloatField, QuerySet, Sum
from django.db.models.functions import TruncDate

from moods.encouragement import WindowSample
from moods.models import CaptureSettings, Encouragement, EncouragementSettings, MoodEvent

# How far before ``since`` a window may start and still reach into the period: it lets the
# (user, started_at) index bound the scan. Windows last a minute; a late close stays far below.
LONGEST_WINDOW = timedelta(hours=1)


def encouragement_settings(*, user_id: int) -> EncouragementSettings | None:
    """The user's settings with the user (for the time zone); None if they never saved any."""
    return EncouragementSettings.objects.select_related("user").filter(user_id=user_id).first()


def recent_windows(*, user_id: int, since: datetime, until: datetime) -> list[WindowSample]:
    """The user's windows with a face that overlap [since, until), oldest first."""
    rows = (
        MoodEvent.objects.filter(
            user_id=user_id,
            started_at__gte=since - LONGEST_WINDOW,
            started_at__lt=until,
            ended_at__gt=since,
            faces__gt=0,
        )
        .order_by("started_at", "id")
        .values_list("started_at", "ended_at", "faces", "sad")
    )
    return [WindowSample(start=start, end=end, faces=faces, sad=sad) for start, end, faces, sad in rows]


def encouragement_times(*, user_id: int, since: datetime) -> list[datetime]:
    """When the user's encouragements since ``since`` were sent, oldest first."""
    return list(
        Encouragement.objects.filter(user_id=user_id, sent_at__gte=since)
        .order_by("sent_at", "id")
        .values_list("sent_at", flat=True)
    )


def last_message(*, user_id: int) -> str | None:
    """The text of the user's latest encouragement, so the next one differs."""
    return (
        Encouragement.objects.filter(user_id=user_id)
        .order_by("-sent_at", "-id")
        .values_list("message", flat=True)
        .first()
    )


def local_midnight(day: date, tz: tzinfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=tz)


def daily_sadness(*, user_id: int, tz: tzinfo, first_day: date, last_day: date) -> dict[date, float]:
    """Face-weighted mean sadness per local day (days by window start, in ``tz``); days without data are absent."""
    rows = (
        MoodEvent.objects.filter(
            user_id=user_id,
            started_at__gte=local_midnight(first_day, tz),
            started_at__lt=local_midnight(last_day + timedelta(days=1), tz),
            faces__gt=0,
        )
        .annotate(day=TruncDate("started_at", tzinfo=tz))
        .values("day")
        .annotate(weighted=Sum(F("sad") * F("faces"), output_field=FloatField()), face_count=Sum("faces"))
        .values_list("day", "weighted", "face_count")
    )
    return {day: weighted / faces for day, weighted, faces in rows if faces}


# --- Pages ------------------------------------------------------------------------------------


def capture_settings(*, user_id: int) -> CaptureSettings:
    """The user's capture defaults; an unsaved default row when they never chose any."""
    return CaptureSettings.objects.filter(user_id=user_id).first() or CaptureSettings(user_id=user_id)


def latest_event(*, user_id: int) -> MoodEvent | None:
    return MoodEvent.objects.filter(user_id=user_id).select_related("device").order_by("-started_at", "-id").first()


def latest_encouragement(*, user_id: int) -> Encouragement | None:
    return Encouragement.objects.filter(user_id=user_id).order_by("-sent_at", "-id").first()


def has_mood_data(*, user_id: int) -> bool:
    return MoodEvent.objects.filter(user_id=user_id).exists()


def streaming_device_ids(*, user_id: int, now: datetime, window: timedelta) -> set[int | None]:
    """Devices (None: the website's live page) with a window that ended within ``window`` of ``now``.

    A stream stores a window every ``window_seconds``, so a recent one means it is streaming now.
    """
    return set(
        MoodEvent.objects.filter(
            user_id=user_id, started_at__gte=now - window - LONGEST_WINDOW, ended_at__gte=now - window
        )
        .order_by()
        .values_list("device_id", flat=True)
        .distinct()
    )


def encouragement_log(*, user_id: int) -> QuerySet[Encouragement]:
    return Encouragement.objects.filter(user_id=user_id).order_by("-sent_at", "-id")


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
        *events.select_related("device").order_by("-started_at", "-id")[: limit + 1],
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
