"""Reads and writes of a user's personal baseline and self-reports. Numbers only: never an image."""

from __future__ import annotations

from datetime import datetime

import numpy as np
from django.utils import timezone

from inference.baseline import Baseline, CalibrationRefused, refresh_baseline, unadjust
from inference.emotions import EMOTIONS
from moods.models import MoodEvent, PersonalBaseline, SelfReport
from moods.stream import messages as stream_messages
from moods.stream.notify import notify_user_streams


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
    """Store (or replace) the user's baseline; every open stream of theirs takes it up."""
    row, _ = PersonalBaseline.objects.update_or_create(
        user_id=user_id,
        defaults={
            "log_scores": [round(value, 6) for value in baseline.log_scores],
            "faces": baseline.faces,
            "created_at": now or timezone.now(),
        },
    )
    notify_user_streams(user_id, stream_messages.baseline_changed())
    return row


def forget_baseline(*, user_id: int) -> bool:
    """Delete the user's baseline; whether there was one. Their open streams stop applying it."""
    deleted, _ = PersonalBaseline.objects.filter(user_id=user_id).delete()
    if deleted:
        notify_user_streams(user_id, stream_messages.baseline_changed())
    return bool(deleted)


def baseline_row(*, user_id: int) -> PersonalBaseline | None:
    return PersonalBaseline.objects.filter(user_id=user_id).first()


def record_self_report(*, user_id: int, emotion: str, note: str = "", event_id: int | None = None) -> SelfReport:
    """Store what the user felt; with ``event_id`` a correction of that window (which may refresh the
    baseline, see ``refresh_from_correction``), filed at the window's moment, not at the moment said.

    Raises ``MoodEvent.DoesNotExist`` for an unknown window and for another user's, alike.
    """
    event = MoodEvent.objects.get(pk=event_id, user_id=user_id) if event_id is not None else None
    now = timezone.now()
    report = SelfReport.objects.create(
        user_id=user_id,
        emotion=emotion,
        note=note.strip(),
        event=event,
        created_at=now,
        felt_at=event.started_at if event is not None else now,
    )
    if event is not None and emotion == "neutral":
        refresh_from_correction(user_id=user_id, event=event)
    return report


def set_refresh_from_corrections(*, user_id: int, enabled: bool) -> bool:
    """Opt in or out of corrections refreshing the baseline; False when the user has no baseline."""
    return bool(PersonalBaseline.objects.filter(user_id=user_id).update(refresh_from_corrections=enabled))


def refresh_from_correction(*, user_id: int, event: MoodEvent, now: datetime | None = None) -> bool:
    """Fold a window the user said was neutral into their baseline, if they opted in; whether it was.

    The window's means are taken back to the model's own reading when the baseline adjusted them.
    Not folded in: an "uncertain" window, or one no resting face gives (``refresh_baseline`` refuses).
    """
    row = PersonalBaseline.objects.filter(user_id=user_id, refresh_from_corrections=True).first()
    if row is None or event.uncertain:
        return False
    baseline = load_baseline(user_id=user_id)
    if baseline is None:
        return False
    reading = np.array([event.scores[emotion] for emotion in EMOTIONS])
    if event.baseline_applied:
        reading = unadjust(reading, baseline)
    try:
        refreshed = refresh_baseline(baseline, reading.tolist(), faces=event.faces)
    except CalibrationRefused:
        return False
    row.log_scores = [round(value, 6) for value in refreshed.log_scores]
    row.faces = refreshed.faces
    row.refreshed_at = now or timezone.now()
    row.save(update_fields=["log_scores", "faces", "refreshed_at"])
    notify_user_streams(user_id, stream_messages.baseline_changed())
    return True
