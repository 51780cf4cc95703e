"""The encouragement services and selectors: the rule applied to stored windows, the log, feedback."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from moods.encouragement import selectors, services
from moods.encouragement.rule import BUILT_IN_MESSAGES, RECENT_MESSAGES
from moods.models import Encouragement, EncouragementSettings
from moods.stream.messages import encourage
from moods.stream.windows import record_window
from tests.factories import make_user

# fresh_pending_buffer is an autouse fixture: imported, it runs around every test here too.
from tests.moods.stream.test_windows import NOW, fresh_pending_buffer, store_minutes, window  # noqa: F401

pytestmark = pytest.mark.django_db

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
    assert encourage(encouragement) == {"type": "encourage", "id": encouragement.pk, "message": encouragement.message}


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
    assert first.message != second.message
    assert {first.message, second.message} <= {"Tea time?", "You've got this.", *BUILT_IN_MESSAGES}


def test_the_next_message_avoids_the_ones_sent_lately() -> None:
    user = make_user()
    opt_in(user.pk, messages="Tea time?", cooldown_minutes=5)
    recent = ["Tea time?", *BUILT_IN_MESSAGES[: RECENT_MESSAGES - 1]]
    for minutes_ago, message in enumerate(recent, start=1):
        Encouragement.objects.create(
            user=user, sent_at=NOW - timedelta(days=1, minutes=minutes_ago), message=message, trigger={}
        )
    store_minutes(user.pk, until=NOW)

    encouragement = services.maybe_encourage(user_id=user.pk, now=NOW)

    assert encouragement is not None
    assert encouragement.message not in recent


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


def test_a_task_reads_quiet_hours_in_the_users_zone_whatever_zone_is_active() -> None:
    """A Celery task or consumer has no request, so no user zone is activated for it; whatever zone
    happens to be active (here Tokyo's), quiet hours are the user's own."""
    user = make_user(time_zone="America/Los_Angeles")
    local = NOW.astimezone(ZoneInfo("America/Los_Angeles"))
    opt_in(user.pk, quiet_hours_start=time(local.hour, 0), quiet_hours_end=time((local.hour + 1) % 24, 0))
    store_minutes(user.pk, until=NOW)

    with timezone.override("Asia/Tokyo"):
        assert services.maybe_encourage(user_id=user.pk, now=NOW) is None


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
    resources = encourage(encouragement)["resources"]
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
    assert "resources" not in encourage(encouragement)


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
    record_window(user_id=user.pk, device_id=None, window=window(late, sad=0.9, faces=30))
    record_window(user_id=user.pk, device_id=None, window=window(late + timedelta(minutes=1), sad=0.1, faces=10))
    record_window(user_id=user.pk, device_id=None, window=window(late - timedelta(hours=2), sad=0.4))

    daily = selectors.daily_sadness(user_id=user.pk, tz=paris, first_day=date(2026, 6, 9), last_day=date(2026, 6, 11))

    assert daily.keys() == {date(2026, 6, 10), date(2026, 6, 11)}
    assert daily[date(2026, 6, 11)] == pytest.approx((30 * 0.9 + 10 * 0.1) / 40)
    assert daily[date(2026, 6, 10)] == pytest.approx(0.4)


def test_stored_uncertain_windows_do_not_fire_a_nudge() -> None:
    user = make_user()
    opt_in(user.pk)
    for i in reversed(range(10)):
        # Two faces a minute: too few to say, however sad they read.
        record_window(user_id=user.pk, device_id=None, window=window(NOW - timedelta(minutes=i + 1), sad=0.9, faces=2))

    assert services.maybe_encourage(user_id=user.pk, now=NOW) is None
    assert all(
        sample.uncertain
        for sample in selectors.recent_windows(user_id=user.pk, since=NOW - timedelta(minutes=10), until=NOW)
    )
