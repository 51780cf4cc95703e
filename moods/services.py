"""Writes of the Settings page: encouragement, capture defaults and time zone, saved together."""

from __future__ import annotations

from django.db import transaction

from accounts.models import User
from moods.encouragement import services as encouragement_services
from moods.models import CaptureSettings, EncouragementSettings


def save_settings(
    *, user: User, encouragement: EncouragementSettings, capture: CaptureSettings, time_zone: str
) -> None:
    """Save the settings page at once: encouragement, capture defaults, and the user's time zone."""
    with transaction.atomic():
        encouragement_services.save_settings(user=user, row=encouragement)
        capture.user = user
        capture.full_clean()
        capture.save()
        if user.time_zone != time_zone:
            user.time_zone = time_zone
            user.full_clean(validate_unique=False)
            user.save(update_fields=["time_zone"])
