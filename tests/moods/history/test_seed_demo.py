"""``manage.py seed_demo``: a demo account with 90 days of history, the same however often it runs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Max, Min

from accounts.models import User
from moods.management.commands.seed_demo import DEMO_EMAIL, DEMO_PASSWORD, seed_demo
from moods.models import Encouragement, MoodEvent
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
