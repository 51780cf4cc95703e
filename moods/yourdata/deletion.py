"""Deleting the user's data: a range of local days, or everything (the rollup goes with the windows)."""

from __future__ import annotations

from datetime import date, timedelta, tzinfo
from typing import Any

from django.db import transaction

from moods.history.selectors import local_midnight
from moods.models import Encouragement, MoodEvent, MoodQuarter, PersonalBaseline, SelfReport


def count_in_days(*, user_id: int, tz: tzinfo, first: date | None, last: date | None) -> tuple[int, int]:
    """How many mood events and encouragements lie in the local days first..last (None: everything)."""
    events, nudges, _ = _in_days(user_id=user_id, tz=tz, first=first, last=last)
    return events.count(), nudges.count()


def _in_days(*, user_id: int, tz: tzinfo, first: date | None, last: date | None) -> tuple[Any, Any, Any]:
    events = MoodEvent.objects.filter(user_id=user_id)
    nudges = Encouragement.objects.filter(user_id=user_id)
    quarters = MoodQuarter.objects.filter(user_id=user_id)
    if first is not None and last is not None:
        start, end = local_midnight(first, tz), local_midnight(last + timedelta(days=1), tz)
        events = events.filter(started_at__gte=start, started_at__lt=end)
        nudges = nudges.filter(sent_at__gte=start, sent_at__lt=end)
        # Local midnights are whole quarter hours: these quarters hold exactly the deleted windows.
        quarters = quarters.filter(start__gte=start, start__lt=end)
    return events, nudges, quarters


def delete_days(*, user_id: int, tz: tzinfo, first: date | None, last: date | None) -> tuple[int, int]:
    """Delete the mood events (by start) and encouragements (by sending time) of local days first..last
    inclusive, or everything when both are None; returns how many of each were deleted."""
    if (first is None) != (last is None):
        raise ValueError("give both days or neither")
    events, nudges, quarters = _in_days(user_id=user_id, tz=tz, first=first, last=last)
    with transaction.atomic():
        deleted_events, _ = events.delete()
        deleted_nudges, _ = nudges.delete()
        quarters.delete()
        # The user's own word goes with the days it speaks of (a correction with its window's day);
        # deleting everything forgets the resting-face baseline too.
        reports = SelfReport.objects.filter(user_id=user_id)
        if first is not None and last is not None:
            reports = reports.filter(
                felt_at__gte=local_midnight(first, tz), felt_at__lt=local_midnight(last + timedelta(days=1), tz)
            )
        else:
            PersonalBaseline.objects.filter(user_id=user_id).delete()
        reports.delete()
    return deleted_events, deleted_nudges
