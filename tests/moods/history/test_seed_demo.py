"""``manage.py seed_demo``: a demo account with 90 days of history, the same however often it runs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Max, Min
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import Device, User
from moods.management.commands.seed_demo import DEMO_EMAIL, DEMO_PASSWORD, seed_demo
from moods.models import Encouragement, MoodEvent, SelfReport
from tests.factories import make_user
from tests.moods.history.test_history import event

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 5, 20, 15, 0, tzinfo=UTC)


def demo_rows() -> list[tuple[object, ...]]:
    return list(
        MoodEvent.objects.filter(user__email=DEMO_EMAIL).order_by("started_at").values_list("started_at", "sad")
    )


def test_it_creates_a_demo_user_with_90_days_of_plausible_minutes() -> None:
    result = seed_demo(now=NOW)

    user = User.objects.get(email=DEMO_EMAIL)
    assert user.check_password(DEMO_PASSWORD)
    assert user.time_zone == "Europe/Berlin"
    events = MoodEvent.objects.filter(user=user)
    assert result.events == events.count() > 90 * 60
    span = events.aggregate(first=Min("started_at"), last=Max("ended_at"))
    assert NOW - timedelta(days=91) < span["first"]
    assert span["last"] <= NOW
    assert set(events.values_list("seconds", flat=True)) == {60.0}
    assert events.values("dominant").distinct().count() >= 3
    for row in events[:50]:
        assert sum(row.scores.values()) == pytest.approx(1, abs=1e-5)
        assert row.dominant == max(row.scores, key=lambda emotion: row.scores[emotion])
    assert result.encouragements == Encouragement.objects.filter(user=user).count() > 0


def test_running_it_again_gives_the_same_rows_and_leaves_other_users_alone() -> None:
    other = make_user(email="someone@example.com")
    event(other.pk, NOW - timedelta(days=1), sad=0.5)
    seed_demo(now=NOW)
    first = list(
        MoodEvent.objects.filter(user__email=DEMO_EMAIL).order_by("started_at").values_list("started_at", "sad")
    )

    seed_demo(now=NOW)

    again = list(
        MoodEvent.objects.filter(user__email=DEMO_EMAIL).order_by("started_at").values_list("started_at", "sad")
    )
    assert again == first
    assert User.objects.filter(email=DEMO_EMAIL).count() == 1
    assert MoodEvent.objects.filter(user=other).count() == 1


def test_the_command_says_what_it_made() -> None:
    out = StringIO()
    call_command("seed_demo", "--days", "3", stdout=out)
    assert f"Demo account {DEMO_EMAIL} (password {DEMO_PASSWORD})" in out.getvalue()
    assert "mood records" in out.getvalue()


# Sunday 6 December 2026, 08:30 in Berlin: the morning a newcomer opened the demo and found today empty.
SUNDAY_MORNING = datetime(2026, 12, 6, 7, 30, tzinfo=UTC)


@pytest.mark.parametrize("now", [SUNDAY_MORNING, NOW, datetime(2026, 12, 5, 23, 10, tzinfo=UTC)])
def test_today_has_minutes_up_to_a_few_minutes_ago(now: datetime) -> None:
    seed_demo(now=now)
    user = User.objects.get(email=DEMO_EMAIL)
    midnight = datetime.combine(now.astimezone(user.zone).date(), datetime.min.time(), tzinfo=user.zone)
    today = MoodEvent.objects.filter(user=user, started_at__gte=midnight)
    assert today.count() >= 3
    last_end = today.aggregate(last=Max("ended_at"))["last"]
    assert now - timedelta(minutes=5) <= last_end <= now


def test_the_dashboard_and_day_of_a_sunday_morning_show_today(client: Client) -> None:
    seed_demo(now=SUNDAY_MORNING)
    client.force_login(User.objects.get(email=DEMO_EMAIL))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(timezone, "now", lambda: SUNDAY_MORNING)
        dashboard = client.get(reverse("dashboard")).content.decode()
        day = client.get(reverse("history"), {"range": "day"}).content.decode()
    assert "Sun 6 Dec, 08:2" in dashboard, "the latest mood is from this morning"
    assert "No mood records or encouragements in this range." not in day
    assert '<li class="session">' in day, "this morning's session is listed"


def test_the_demo_has_self_reports_and_a_few_corrections_on_their_minutes() -> None:
    seed_demo(now=SUNDAY_MORNING)
    reports = SelfReport.objects.filter(user__email=DEMO_EMAIL)
    corrections = reports.filter(event__isnull=False).select_related("event")
    assert reports.filter(event__isnull=True).count() >= 5
    assert 2 <= corrections.count() <= 8
    for correction in corrections:
        window = correction.event
        assert window is not None
        assert correction.felt_at == window.started_at
        assert correction.created_at >= window.ended_at
        assert correction.emotion != window.dominant
    assert all(report.created_at <= SUNDAY_MORNING for report in reports)
    seed_demo(now=SUNDAY_MORNING)
    assert SelfReport.objects.filter(user__email=DEMO_EMAIL).count() == reports.count()


def test_the_demo_device_was_last_seen_when_its_last_minute_ended() -> None:
    seed_demo(now=SUNDAY_MORNING)
    device = Device.objects.get(user__email=DEMO_EMAIL)
    last_end = MoodEvent.objects.filter(device=device).aggregate(last=Max("ended_at"))["last"]
    first_start = MoodEvent.objects.filter(device=device).aggregate(first=Min("started_at"))["first"]
    assert device.last_seen_at == last_end
    assert device.created_at <= first_start
