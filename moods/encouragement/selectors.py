"""Reads for encouragements: the user's settings, the windows the rule weighs, and the log of nudges."""

from __future__ import annotations

from datetime import date, datetime, timedelta, tzinfo

from django.db.models import F, FloatField, QuerySet, Sum
from django.db.models.functions import TruncDate

from moods.encouragement.rule import RuleSettings, WindowSample
from moods.history.selectors import LONGEST_WINDOW, local_midnight
from moods.models import Encouragement, EncouragementSettings, MoodEvent


def encouragement_settings(*, user_id: int) -> EncouragementSettings | None:
    """The user's settings with the user (for the time zone); None if they never saved any."""
    return EncouragementSettings.objects.select_related("user").filter(user_id=user_id).first()


def settings_for_page(*, user_id: int) -> EncouragementSettings:
    """The user's settings for the Settings page's form: the saved row, or an unsaved one with the defaults."""
    return EncouragementSettings.objects.filter(user_id=user_id).first() or EncouragementSettings(user_id=user_id)


def rule_settings(row: EncouragementSettings) -> RuleSettings:
    """The snapshot of the user's settings the encouragement rule reads."""
    return RuleSettings(
        enabled=row.enabled,
        sadness_threshold=row.sadness_threshold,
        sustain_minutes=row.sustain_minutes,
        cooldown_minutes=row.cooldown_minutes,
        quiet_hours_start=row.quiet_hours_start,
        quiet_hours_end=row.quiet_hours_end,
        daily_cap=row.daily_cap,
        support_resources_enabled=row.support_resources_enabled,
        low_mood_days=row.low_mood_days,
    )


def recent_windows(*, user_id: int, since: datetime, until: datetime) -> list[WindowSample]:
    """The user's windows with a face that overlap [since, until), oldest first ("uncertain" ones flagged)."""
    rows = (
        MoodEvent.objects.filter(
            user_id=user_id,
            started_at__gte=since - LONGEST_WINDOW,
            started_at__lt=until,
            ended_at__gt=since,
            faces__gt=0,
        )
        .order_by("started_at", "id")
        .values_list("started_at", "ended_at", "faces", "sad", "uncertain")
    )
    return [
        WindowSample(start=start, end=end, faces=faces, sad=sad, uncertain=uncertain)
        for start, end, faces, sad, uncertain in rows
    ]


def encouragement_times(*, user_id: int, since: datetime) -> list[datetime]:
    """When the user's encouragements since ``since`` were sent, oldest first."""
    return list(
        Encouragement.objects.filter(user_id=user_id, sent_at__gte=since)
        .order_by("sent_at", "id")
        .values_list("sent_at", flat=True)
    )


def recent_messages(*, user_id: int, limit: int) -> list[str]:
    """The texts of the user's latest ``limit`` encouragements, newest first, so the next one differs."""
    return list(
        Encouragement.objects.filter(user_id=user_id)
        .order_by("-sent_at", "-id")
        .values_list("message", flat=True)[:limit]
    )


def daily_sadness(*, user_id: int, tz: tzinfo, first_day: date, last_day: date) -> dict[date, float]:
    """Face-weighted mean sadness per local day (days by window start, in ``tz``); days without data are absent."""
    rows = (
        MoodEvent.objects.filter(
            user_id=user_id,
            started_at__gte=local_midnight(first_day, tz),
            started_at__lt=local_midnight(last_day + timedelta(days=1), tz),
            faces__gt=0,
            uncertain=False,
        )
        .annotate(day=TruncDate("started_at", tzinfo=tz))
        .values("day")
        .annotate(weighted=Sum(F("sad") * F("faces"), output_field=FloatField()), face_count=Sum("faces"))
        .values_list("day", "weighted", "face_count")
    )
    return {day: weighted / faces for day, weighted, faces in rows if faces}


def latest_encouragement(*, user_id: int) -> Encouragement | None:
    return Encouragement.objects.filter(user_id=user_id).order_by("-sent_at", "-id").first()


def encouragement_log(*, user_id: int) -> QuerySet[Encouragement]:
    return Encouragement.objects.filter(user_id=user_id).order_by("-sent_at", "-id")
