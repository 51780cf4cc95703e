"""The moods services and selectors: storing windows through outages, the encouragement log, feedback."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import IntegrityError, OperationalError

from inference.emotions import EMOTIONS
from moods import pending, selectors, services
from moods.aggregator import ClosedWindow
from moods.encouragement import BUILT_IN_MESSAGES
from moods.models import Encouragement, EncouragementSettings, MoodEvent
from tests.factories import make_user, pair_device

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)
NO_WAIT = (0.0, 0.0, 0.0)


@pytest.fixture(autouse=True)
def fresh_pending_buffer() -> Iterator[None]:
    pending._buffer = None
    yield
    pending._buffer = None


def window(start: datetime, *, sad: float = 0.7, faces: int = 50, frames: int = 60, seconds: int = 60) -> ClosedWindow:
    scores = {**dict.fromkeys(EMOTIONS, 0.0), "sad": sad, "neutral": round(1 - sad, 6)}
    return ClosedWindow(
        start=start,
        end=start + timedelta(seconds=seconds),
        frames=frames,
        faces=faces,
        scores=scores,
        dominant="sad" if sad > 0.5 else "neutral",
    )


def store_minutes(user_id: int, *, until: datetime, count: int = 10, sad: float = 0.7) -> None:
    for i in reversed(range(count)):
        services.record_window(
            user_id=user_id, device_id=None, window=window(until - timedelta(minutes=i + 1), sad=sad)
        )


class FlakyCreate:
    """Stands in for ``MoodEvent.objects.create``: fails ``failures`` times, then creates."""

    def __init__(self, real: Any, failures: int, error: Exception) -> None:
        self.real, self.failures, self.error, self.calls = real, failures, error, 0

    def __call__(self, **fields: Any) -> MoodEvent:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error
        return self.real(**fields)


def flaky(monkeypatch: pytest.MonkeyPatch, failures: int, error: Exception | None = None) -> FlakyCreate:
    stand_in = FlakyCreate(
        MoodEvent.objects.create, failures, error or OperationalError("server closed the connection")
    )
    monkeypatch.setattr(MoodEvent.objects, "create", stand_in)
    return stand_in


# --- Storing windows --------------------------------------------------------------------


def test_record_window_stores_the_aggregate_of_a_window() -> None:
    user = make_user()
    device, _ = pair_device(user=user)

    event = services.record_window(user_id=user.pk, device_id=device.pk, window=window(NOW, sad=0.75))

    assert event is not None
    event.refresh_from_db()
    assert (event.user, event.device, event.started_at, event.ended_at) == (
        user,
        device,
        NOW,
        NOW + timedelta(minutes=1),
    )
    assert (event.frames, event.faces, event.dominant) == (60, 50, "sad")
    assert event.scores == {**dict.fromkeys(EMOTIONS, 0.0), "sad": 0.75, "neutral": 0.25}


def test_a_window_without_a_face_is_not_stored() -> None:
    user = make_user()
    faceless = ClosedWindow(start=NOW, end=NOW + timedelta(minutes=1), frames=60, faces=0, scores=None, dominant=None)

    assert services.record_window(user_id=user.pk, device_id=None, window=faceless) is None
    assert not MoodEvent.objects.exists()


def test_a_database_error_is_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    user = make_user()
    stand_in = flaky(monkeypatch, failures=2)

    event = services.record_window(user_id=user.pk, device_id=None, window=window(NOW), retry_delays=NO_WAIT)

    assert event is not None
    assert stand_in.calls == 3
    assert MoodEvent.objects.count() == 1
    assert len(pending.get_buffer()) == 0


def test_after_the_retries_the_window_waits_in_memory_and_is_logged_without_its_data(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    user = make_user()
    stand_in = flaky(monkeypatch, failures=4)

    with caplog.at_level(logging.INFO, logger="moods.services"):
        assert services.record_window(user_id=user.pk, device_id=None, window=window(NOW), retry_delays=NO_WAIT) is None

    assert stand_in.calls == 4
    assert not MoodEvent.objects.exists()
    assert len(pending.get_buffer()) == 1
    [record] = caplog.records
    assert record.levelno == logging.ERROR
    assert record.getMessage() == (
        f"mood window of user {user.pk} not stored after 4 attempts (OperationalError); 1 window(s) waiting in memory"
    )
    assert "0.7" not in caplog.text


def test_the_next_successful_write_stores_the_waiting_windows(monkeypatch: pytest.MonkeyPatch) -> None:
    user = make_user()
    flaky(monkeypatch, failures=8)
    for minute in range(2):
        services.record_window(
            user_id=user.pk, device_id=None, window=window(NOW + timedelta(minutes=minute)), retry_delays=NO_WAIT
        )
    assert len(pending.get_buffer()) == 2

    services.record_window(user_id=user.pk, device_id=None, window=window(NOW + timedelta(minutes=2)))

    assert len(pending.get_buffer()) == 0
    starts = sorted(MoodEvent.objects.values_list("started_at", flat=True))
    assert starts == [NOW, NOW + timedelta(minutes=1), NOW + timedelta(minutes=2)]


def test_the_buffer_is_bounded_and_drops_the_oldest_windows(settings, monkeypatch: pytest.MonkeyPatch) -> None:
    settings.SMILE_PENDING_WINDOWS = 2
    user = make_user()
    flaky(monkeypatch, failures=3 * 4)
    for minute in range(3):
        services.record_window(
            user_id=user.pk, device_id=None, window=window(NOW + timedelta(minutes=minute)), retry_delays=NO_WAIT
        )

    buffer = pending.get_buffer()
    assert (len(buffer), buffer.dropped) == (2, 1)
    assert services.flush_pending() == 2
    assert sorted(MoodEvent.objects.values_list("started_at", flat=True)) == [
        NOW + timedelta(minutes=1),
        NOW + timedelta(minutes=2),
    ]


def test_flush_pending_stops_at_the_first_error_and_keeps_the_rest(monkeypatch: pytest.MonkeyPatch) -> None:
    user = make_user()
    buffer = pending.get_buffer()
    for minute in range(3):
        buffer.add(
            pending.PendingWindow(user_id=user.pk, device_id=None, window=window(NOW + timedelta(minutes=minute)))
        )
    real_create = MoodEvent.objects.create
    calls = []

    def second_call_fails(**fields: Any) -> MoodEvent:
        calls.append(fields["started_at"])
        if len(calls) == 2:
            raise OperationalError("gone")
        return real_create(**fields)

    monkeypatch.setattr(MoodEvent.objects, "create", second_call_fails)

    assert services.flush_pending() == 1
    assert [item.window.start for item in buffer.take_all()] == [NOW + timedelta(minutes=1), NOW + timedelta(minutes=2)]


def test_an_error_a_retry_cannot_fix_drops_the_window(monkeypatch: pytest.MonkeyPatch) -> None:
    user = make_user()
    stand_in = flaky(monkeypatch, failures=1, error=IntegrityError("violates foreign key constraint"))

    assert services.record_window(user_id=user.pk, device_id=None, window=window(NOW), retry_delays=NO_WAIT) is None
    assert stand_in.calls == 1
    assert len(pending.get_buffer()) == 0


# --- Settings ---------------------------------------------------------------------------


def test_get_or_create_settings_creates_the_defaults_once() -> None:
    user = make_user()

    first = services.get_or_create_settings(user=user)
    second = services.get_or_create_settings(user=user)

    assert first.pk == second.pk
    assert not first.enabled
    assert EncouragementSettings.objects.count() == 1


# --- Encouragements ---------------------------------------------------------------------


def opt_in(user_id: int, **fields: Any) -> EncouragementSettings:
    settings, _ = EncouragementSettings.objects.update_or_create(user_id=user_id, defaults={"enabled": True, **fields})
    return settings


def test_no_encouragement_without_settings_or_before_opting_in() -> None:
    user = make_user()
    store_minutes(user.pk, until=NOW)

    assert services.maybe_encourage(user_id=user.pk, now=NOW) is None
    services.get_or_create_settings(user=user)
    assert services.maybe_encourage(user_id=user.pk, now=NOW) is None
    assert not Encouragement.objects.exists()


def test_sustained_sadness_logs_and_returns_an_encouragement() -> None:
    user = make_user()
    opt_in(user.pk)
    store_minutes(user.pk, until=NOW, sad=0.7)

    encouragement = services.maybe_encourage(user_id=user.pk, now=NOW)

    assert encouragement is not None
    encouragement.refresh_from_db()
    assert (encouragement.user, encouragement.sent_at) == (user, NOW)
    assert encouragement.message in BUILT_IN_MESSAGES
    assert encouragement.trigger == {
        "mean_sadness": 0.7,
        "threshold": 0.5,
        "minutes": 10,
        "windows": 10,
        "coverage": 1.0,
    }
    assert not encouragement.includes_resources
    assert encouragement.as_message() == {"type": "encourage", "id": encouragement.pk, "message": encouragement.message}


def test_calm_or_missing_minutes_send_nothing() -> None:
    calm, absent = make_user(), make_user(email="absent@example.com")
    for user in (calm, absent):
        opt_in(user.pk)
    store_minutes(calm.pk, until=NOW, sad=0.2)
    store_minutes(absent.pk, until=NOW, count=5, sad=0.9)

    assert services.maybe_encourage(user_id=calm.pk, now=NOW) is None
    assert services.maybe_encourage(user_id=absent.pk, now=NOW) is None


def test_the_stored_log_enforces_the_cooldown_and_varies_the_message() -> None:
    user = make_user()
    opt_in(user.pk, messages="Tea time?\nYou've got this.", cooldown_minutes=30)
    store_minutes(user.pk, until=NOW + timedelta(minutes=30), count=40)

    first = services.maybe_encourage(user_id=user.pk, now=NOW)
    assert services.maybe_encourage(user_id=user.pk, now=NOW + timedelta(minutes=29)) is None
    second = services.maybe_encourage(user_id=user.pk, now=NOW + timedelta(minutes=30))

    assert first is not None
    assert second is not None
    assert {first.message, second.message} == {"Tea time?", "You've got this."}


def test_the_stored_log_enforces_the_daily_cap_in_the_users_day() -> None:
    user = make_user(time_zone="Europe/Paris")
    opt_in(user.pk, daily_cap=1, cooldown_minutes=5)
    evening = datetime(2026, 6, 10, 21, 0, tzinfo=UTC)  # 23:00 in Paris
    store_minutes(user.pk, until=evening + timedelta(hours=1), count=70)

    assert services.maybe_encourage(user_id=user.pk, now=evening) is not None
    assert services.maybe_encourage(user_id=user.pk, now=evening + timedelta(minutes=59)) is None
    assert services.maybe_encourage(user_id=user.pk, now=evening + timedelta(minutes=60)) is not None  # 00:00


def test_quiet_hours_hold_encouragements_back() -> None:
    user = make_user(time_zone="Europe/Paris")
    opt_in(user.pk, quiet_hours_start=time(13, 0), quiet_hours_end=time(15, 0))
    store_minutes(user.pk, until=NOW)

    assert services.maybe_encourage(user_id=user.pk, now=NOW) is None  # 14:00 in Paris


def test_persistent_low_mood_adds_the_support_resources_of_the_users_region() -> None:
    user = make_user()
    opt_in(user.pk, support_resources_enabled=True, resources_region="GB")
    for days_ago in (2, 1):
        store_minutes(user.pk, until=NOW - timedelta(days=days_ago), count=3, sad=0.8)
    store_minutes(user.pk, until=NOW, sad=0.7)

    encouragement = services.maybe_encourage(user_id=user.pk, now=NOW)

    assert encouragement is not None
    assert encouragement.includes_resources
    assert encouragement.trigger["low_mood_days"] == 3
    assert encouragement.trigger["region"] == "GB"
    resources = encouragement.as_message()["resources"]
    assert [resource["name"] for resource in resources] == ["Samaritans", "Find A Helpline"]


def test_one_brighter_day_keeps_the_resources_away() -> None:
    user = make_user()
    opt_in(user.pk, support_resources_enabled=True)
    store_minutes(user.pk, until=NOW - timedelta(days=2), count=3, sad=0.8)
    store_minutes(user.pk, until=NOW - timedelta(days=1), count=3, sad=0.2)
    store_minutes(user.pk, until=NOW, sad=0.7)

    encouragement = services.maybe_encourage(user_id=user.pk, now=NOW)

    assert encouragement is not None
    assert not encouragement.includes_resources
    assert "resources" not in encouragement.as_message()


def test_feedback_is_recorded_on_the_users_own_encouragement() -> None:
    user = make_user()
    encouragement = Encouragement.objects.create(user=user, message="Breathe.")

    services.record_feedback(user_id=user.pk, encouragement_id=encouragement.pk, helpful=True)
    encouragement.refresh_from_db()
    assert encouragement.feedback == Encouragement.Feedback.HELPFUL
    assert encouragement.feedback_at is not None

    services.record_feedback(user_id=user.pk, encouragement_id=encouragement.pk, helpful=False)
    encouragement.refresh_from_db()
    assert encouragement.feedback == Encouragement.Feedback.NOT_HELPFUL


def test_feedback_on_someone_elses_encouragement_is_refused() -> None:
    owner, intruder = make_user(), make_user(email="intruder@example.com")
    encouragement = Encouragement.objects.create(user=owner, message="Breathe.")

    with pytest.raises(Encouragement.DoesNotExist):
        services.record_feedback(user_id=intruder.pk, encouragement_id=encouragement.pk, helpful=False)
    with pytest.raises(Encouragement.DoesNotExist):
        services.record_feedback(user_id=owner.pk, encouragement_id=encouragement.pk + 1000, helpful=False)

    encouragement.refresh_from_db()
    assert encouragement.feedback == ""


# --- Selectors --------------------------------------------------------------------------


def test_recent_windows_are_the_users_windows_overlapping_the_period() -> None:
    user, other = make_user(), make_user(email="other@example.com")
    store_minutes(user.pk, until=NOW, count=15)
    store_minutes(other.pk, until=NOW, count=15)

    windows = selectors.recent_windows(user_id=user.pk, since=NOW - timedelta(minutes=10, seconds=30), until=NOW)

    assert len(windows) == 11
    assert windows[0].start == NOW - timedelta(minutes=11)
    assert windows[-1].end == NOW
    assert {(w.faces, w.sad) for w in windows} == {(50, 0.7)}


def test_daily_sadness_groups_by_the_users_local_day_and_weights_by_faces() -> None:
    user = make_user()
    paris = ZoneInfo("Europe/Paris")
    late = datetime(2026, 6, 10, 22, 30, tzinfo=UTC)  # 00:30 on 11 June in Paris
    services.record_window(user_id=user.pk, device_id=None, window=window(late, sad=0.9, faces=30))
    services.record_window(
        user_id=user.pk, device_id=None, window=window(late + timedelta(minutes=1), sad=0.1, faces=10)
    )
    services.record_window(user_id=user.pk, device_id=None, window=window(late - timedelta(hours=2), sad=0.4))

    daily = selectors.daily_sadness(user_id=user.pk, tz=paris, first_day=date(2026, 6, 9), last_day=date(2026, 6, 11))

    assert daily.keys() == {date(2026, 6, 10), date(2026, 6, 11)}
    assert daily[date(2026, 6, 11)] == pytest.approx((30 * 0.9 + 10 * 0.1) / 40)
    assert daily[date(2026, 6, 10)] == pytest.approx(0.4)
