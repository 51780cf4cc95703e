"""Writes of the Settings page: encouragement, capture defaults and time zone, saved together."""

from __future__ import annotations

from django.db import transaction

from accounts.models import User
from moods.encouragement import services as encouragement_services
from moods.models import CaptureSettings, EncouragementSettings
from moods.stream import messages as stream_messages
from moods.stream.notify import notify_user_streams


def save_settings(
    *, user: User, encouragement: EncouragementSettings, capture: CaptureSettings, time_zone: str
) -> None:
    """Save the settings page at once: encouragement, capture defaults, and the user's time zone.

    Changed capture defaults reach the user's open streams after the commit (``capture``).
    """
    with transaction.atomic():
        encouragement_services.save_settings(user=user, row=encouragement)
        before = CaptureSettings.objects.filter(user=user).values_list("fps", "resolution").first()
        capture.user = user
        capture.full_clean()
        capture.save()
        if before != (capture.fps, capture.resolution):
            # Open streams apply the new defaults at once, not at their next connection.
            notify_user_streams(user.pk, stream_messages.capture_changed(stream_messages.capture_defaults(capture)))
        if user.time_zone != time_zone:
            user.time_zone = time_zone
            user.full_clean(validate_unique=False)
            user.save(update_fields=["time_zone"])
