"""Reads and writes of a user's personal baseline and self-reports. Numbers only: never an image."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from inference.baseline import Baseline
from moods.models import MoodEvent, PersonalBaseline, SelfReport


def load_baseline(*, user_id: int) -> Baseline | None:
    """The user's baseline, or None when they have none (or the stored numbers are unusable)."""
    row = PersonalBaseline.objects.filter(user_id=user_id).first()
    if row is None:
        return None
    try:
        return Baseline(log_scores=tuple(float(value) for value in row.log_scores), faces=row.faces)
    except (TypeError, ValueError):
        return None


def save_baseline(*, user_id: int, baseline: Baseline, now: datetime | None = None) -> PersonalBaseline:
    """Store (or replace) the user's baseline."""
    row, _ = PersonalBaseline.objects.update_or_create(
        user_id=user_id,
        defaults={
            "log_scores": [round(value, 6) for value in baseline.log_scores],
            "faces": baseline.faces,
            "created_at": now or timezone.now(),
        },
    )
    return row


def forget_baseline(*, user_id: int) -> bool:
    """Delete the user's baseline; whether there was one."""
    deleted, _ = PersonalBaseline.objects.filter(user_id=user_id).delete()
    return bool(deleted)


def baseline_row(*, user_id: int) -> PersonalBaseline | None:
    return PersonalBaseline.objects.filter(user_id=user_id).first()


def record_self_report(*, user_id: int, emotion: str, note: str = "", event_id: int | None = None) -> SelfReport:
    """Store what the user felt; with ``event_id`` a correction of that window.

    Raises ``MoodEvent.DoesNotExist`` for an unknown window and for another user's, alike.
    """
    event = MoodEvent.objects.get(pk=event_id, user_id=user_id) if event_id is not None else None
    return SelfReport.objects.create(user_id=user_id, emotion=emotion, note=note.strip(), event=event)
