"""The reads and writes behind the dashboard and settings: latest rows, who is streaming, saving settings at once."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError

from moods import services
from moods.encouragement import selectors as encouragement_selectors
from moods.history import selectors
from moods.history.report import sad_level
from moods.history.sessions import day_strip
from moods.models import CaptureSettings, Encouragement, EncouragementSettings
from moods.stream import messages
from moods.stream.selectors import capture_settings
from tests.factories import make_user, pair_device
from tests.moods.history.test_history import event

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)


def test_latest_rows_and_has_mood_data_are_the_users_own() -> None:
    user, other = make_user(), make_user(email="other@example.com")
    assert selectors.latest_event(user_id=user.pk) is None
    assert not selectors.has_mood_data(user_id=user.pk)
    older = event(user.pk, NOW - timedelta(hours=2), sad=0.5)
    newer = event(user.pk, NOW - timedelta(hours=1), sad=0.5)
    event(other.pk, NOW, sad=0.5)
    Encouragement.objects.create(user=user, sent_at=NOW - timedelta(days=1), message="old", trigger={})
    latest = Encouragement.objects.create(user=user, sent_at=NOW - timedelta(hours=1), message="new", trigger={})

    assert selectors.has_mood_data(user_id=user.pk)
    assert selectors.latest_event(user_id=user.pk) == newer != older
    assert encouragement_selectors.latest_encouragement(user_id=user.pk) == latest
    assert [row.message for row in encouragement_selectors.encouragement_log(user_id=user.pk)] == ["new", "old"]


def test_streaming_devices_are_those_with_a_window_that_just_ended() -> None:
    user = make_user()
    laptop, _ = pair_device(user=user, name="laptop")
    desktop, _ = pair_device(user=user, name="desktop")
    live = event(user.pk, NOW - timedelta(seconds=90), sad=0.5)  # ended 30 s ago
    live.__class__.objects.filter(pk=live.pk).update(device=laptop)
    stale = event(user.pk, NOW - timedelta(minutes=10), sad=0.5)
    stale.__class__.objects.filter(pk=stale.pk).update(device=desktop)
    event(user.pk, NOW - timedelta(seconds=100), sad=0.5)  # the website's live page (no device)

    streaming = selectors.streaming_device_ids(user_id=user.pk, now=NOW, window=timedelta(minutes=2))

    assert streaming == {laptop.pk, None}


def test_a_stream_that_closed_after_its_last_window_is_not_streaming() -> None:
    user = make_user()
    stopped, _ = pair_device(user=user, name="stopped")
    restarted, _ = pair_device(user=user, name="restarted")
    for device in (stopped, restarted):
        window = event(user.pk, NOW - timedelta(seconds=90), sad=0.5)  # ended 30 s ago
        window.__class__.objects.filter(pk=window.pk).update(device=device)
    closed = {stopped.pk: NOW - timedelta(seconds=20), restarted.pk: NOW - timedelta(seconds=40), None: NOW}

    streaming = selectors.streaming_device_ids(user_id=user.pk, now=NOW, window=timedelta(minutes=2), closed=closed)

    assert streaming == {restarted.pk}, "a window after the close means the stream came back"


def test_capture_settings_default_until_saved() -> None:
    user = make_user()
    unsaved = capture_settings(user_id=user.pk)
    assert unsaved.pk is None
    assert messages.capture_defaults(unsaved) == {"fps": 1.0, "width": 320, "height": 240}
    CaptureSettings.objects.create(user=user, fps=2.0, resolution="640x480")
    assert messages.capture_defaults(capture_settings(user_id=user.pk)) == {"fps": 2.0, "width": 640, "height": 480}


def test_save_settings_saves_all_three_or_none() -> None:
    user = make_user()
    services.save_settings(
        user=user,
        encouragement=EncouragementSettings(enabled=True, sadness_threshold=0.3),
        capture=CaptureSettings(fps=0.5, resolution="640x480"),
        time_zone="Asia/Tokyo",
    )
    user.refresh_from_db()
    assert user.time_zone == "Asia/Tokyo"
    assert EncouragementSettings.objects.get(user=user).sadness_threshold == 0.3

    with pytest.raises(ValidationError):
        services.save_settings(
            user=user,
            encouragement=EncouragementSettings.objects.get(user=user),
            capture=CaptureSettings.objects.get(user=user),
            time_zone="Nowhere/Special",
        )
    user.refresh_from_db()
    assert user.time_zone == "Asia/Tokyo"

    bad_capture = CaptureSettings.objects.get(user=user)
    bad_capture.fps = 5.0
    encouragement = EncouragementSettings.objects.get(user=user)
    encouragement.sadness_threshold = 0.6
    with pytest.raises(ValidationError):
        services.save_settings(user=user, encouragement=encouragement, capture=bad_capture, time_zone="UTC")
    assert EncouragementSettings.objects.get(user=user).sadness_threshold == 0.3


@pytest.mark.parametrize(("share", "level"), [(None, 0), (0.0, 1), (0.1, 2), (0.2, 3), (0.34, 3), (0.35, 4), (1.0, 4)])
def test_sadness_shades(share: float | None, level: int) -> None:
    assert sad_level(share) == level


def test_the_days_windows_carry_everything_the_strip_reads_in_one_query(
    django_assert_num_queries: Callable[..., AbstractContextManager[object]],
) -> None:
    user = make_user()
    for minute in range(30):
        event(user.pk, NOW + timedelta(minutes=minute), sad=0.3)
    start, end = NOW - timedelta(hours=12), NOW + timedelta(hours=12)

    # Before: four fields deferred, so the strip read each window's scores one query at a time.
    with django_assert_num_queries(1):
        strip = day_strip(
            selectors.windows_between(user_id=user.pk, start=start, end=end), day_start=start, day_end=end, tz=UTC
        )

    assert sum(piece.length for piece in strip) == 30
