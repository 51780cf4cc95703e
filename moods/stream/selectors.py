"""Reads the stream needs: the user's capture defaults, announced in ``ready``."""

from __future__ import annotations

from moods.models import CaptureSettings


def capture_settings(*, user_id: int) -> CaptureSettings:
    """The user's capture defaults; an unsaved default row when they never chose any."""
    return CaptureSettings.objects.filter(user_id=user_id).first() or CaptureSettings(user_id=user_id)
