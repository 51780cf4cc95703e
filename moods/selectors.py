"""Reads on moods: stored windows, encouragement settings and log, as services and pages need them."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, tzinfo

from django.db.models import Count, F, FloatField, Sum
from django.db.models.functions import TruncDate

from inference.emotions import EMOTIONS
from moods.encouragement import WindowSample
from moods.models import Encouragement, EncouragementSettings, MoodEvent

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


def day_summary(*, user_id: int, tz: tzinfo, day: date) -> dict[str, object]:
    """The user's mood on one local day: windows, frames, faces, face-weighted mean scores and the dominant one.

    Days are local (in ``tz``) and windows belong to the day they started on, as in ``daily_sadness``.
    ``scores`` and ``dominant`` are None when no window of the day had a face.
    """
    totals = MoodEvent.objects.filter(
        user_id=user_id,
        started_at__gte=local_midnight(day, tz),
        started_at__lt=local_midnight(day + timedelta(days=1), tz),
    ).aggregate(
        # Aliases must not shadow the fields the sums read.
        window_count=Count("id"),
        frame_count=Sum("frames"),
        face_count=Sum("faces"),
        **{f"weighted_{emotion}": Sum(F(emotion) * F("faces"), output_field=FloatField()) for emotion in EMOTIONS},
    )
    faces = totals["face_count"] or 0
    scores = {emotion: round(totals[f"weighted_{emotion}"] / faces, 4) for emotion in EMOTIONS} if faces else None
    return {
        "date": day.isoformat(),
        "windows": totals["window_count"],
        "frames": totals["frame_count"] or 0,
        "faces": faces,
        "scores": scores,
        "dominant": None if scores is None else max(EMOTIONS, key=lambda emotion: scores[emotion]),
    }
