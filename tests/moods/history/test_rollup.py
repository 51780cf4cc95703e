"""The quarter-hour rollup stays equal to the windows it sums: on create, on rebuild, on deletion, in every zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import IntegrityError
from django.db.models import QuerySet

from inference.emotions import EMOTIONS
from moods.history import aggregates as history
from moods.history import rollup
from moods.history.aggregates import Span
from moods.history.demo import build_events, bulk_insert
from moods.models import MoodEvent, MoodQuarter
from moods.yourdata import deletion
from tests.factories import make_user
from tests.moods.history.test_history import event

pytestmark = pytest.mark.django_db


def quarters(user_id: int) -> dict[datetime, tuple[float, ...]]:
    return {
        row.start: (round(row.seconds, 6), *(round(getattr(row, e), 6) for e in EMOTIONS))
        for row in MoodQuarter.objects.filter(user_id=user_id)
    }


def test_quarter_of_floors_to_the_utc_quarter_hour() -> None:
    berlin = datetime(2026, 5, 4, 12, 44, 59, 999, tzinfo=ZoneInfo("Europe/Berlin"))
    assert rollup.quarter_of(berlin) == datetime(2026, 5, 4, 10, 30, tzinfo=UTC)
    assert rollup.quarter_of(datetime(2026, 5, 4, 10, 45, tzinfo=UTC)) == datetime(2026, 5, 4, 10, 45, tzinfo=UTC)


def test_each_new_window_adds_its_length_and_weighted_scores_to_its_quarter() -> None:
    user_id = make_user().pk
    event(user_id, datetime(2026, 5, 4, 10, 0, tzinfo=UTC), sad=1.0)
    event(user_id, datetime(2026, 5, 4, 10, 14, tzinfo=UTC), seconds=30, happy=1.0)
    event(user_id, datetime(2026, 5, 4, 10, 15, tzinfo=UTC), sad=0.5)

    rows = quarters(user_id)

    assert rows[datetime(2026, 5, 4, 10, 0, tzinfo=UTC)][:6] == (90.0, 0.0, 0.0, 0.0, 30.0, 60.0)
    assert rows[datetime(2026, 5, 4, 10, 15, tzinfo=UTC)][:6] == (60.0, 0.0, 0.0, 0.0, 0.0, 30.0)


def test_rebuild_gives_what_the_windows_added_one_by_one() -> None:
    user_id = make_user().pk
    start = datetime(2026, 5, 4, 9, 7, tzinfo=UTC)
    for minute in range(0, 120, 7):
        event(user_id, start + timedelta(minutes=minute), seconds=45, sad=0.3, happy=0.1)
    incremental = quarters(user_id)

    assert rollup.rebuild(user_id=user_id) == len(incremental)
    assert quarters(user_id) == incremental


def test_bulk_inserted_windows_are_rolled_up() -> None:
    user = make_user(time_zone="Asia/Kolkata")
    count = bulk_insert(
        build_events(user_id=user.pk, device_id=None, tz=user.zone, first_day=date(2026, 5, 1), days=3, seed=3)
    )
    assert count == MoodEvent.objects.filter(user=user).count() > 0
    total = sum(row.seconds for row in MoodQuarter.objects.filter(user=user))
    assert total == pytest.approx(count * 60)


def test_a_half_hour_zone_groups_quarters_into_the_right_local_hours() -> None:
    # Kolkata is UTC+5:30: 04:20 UTC is 09:50 local, 04:35 UTC is 10:05 local.
    user_id = make_user().pk
    kolkata = ZoneInfo("Asia/Kolkata")
    event(user_id, datetime(2026, 5, 4, 4, 20, tzinfo=UTC), sad=1.0)
    event(user_id, datetime(2026, 5, 4, 4, 35, tzinfo=UTC), happy=1.0)

    hours = history.mix_by_bucket(
        user_id=user_id, span=Span(date(2026, 5, 4), date(2026, 5, 4), kolkata), bucket="hour"
    )

    assert hours[datetime(2026, 5, 4, 9)].shares["sad"] == pytest.approx(1)
    assert hours[datetime(2026, 5, 4, 10)].shares["happy"] == pytest.approx(1)


def test_deleting_days_removes_their_quarters_and_keeps_the_rest() -> None:
    user = make_user(time_zone="America/New_York")
    event(user.pk, datetime(2026, 3, 9, 3, 59, tzinfo=UTC), sad=1.0)  # 23:59 EDT on 8 March
    event(user.pk, datetime(2026, 3, 9, 4, 0, tzinfo=UTC), sad=1.0)  # 00:00 EDT on 9 March

    deletion.delete_days(user_id=user.pk, tz=user.zone, first=date(2026, 3, 9), last=date(2026, 3, 9))

    assert list(quarters(user.pk)) == [datetime(2026, 3, 9, 3, 45, tzinfo=UTC)]
    assert rollup.rebuild(user_id=user.pk) == 1


def test_a_quarter_created_meanwhile_by_another_stream_is_added_to(monkeypatch: pytest.MonkeyPatch) -> None:
    user_id = make_user().pk
    first = event(user_id, datetime(2026, 5, 4, 10, 0, tzinfo=UTC), sad=1.0)
    real_update = MoodQuarter.objects.filter(user_id=user_id).__class__.update
    calls = {"n": 0}

    def racing_update(self: QuerySet[MoodQuarter], **kwargs: Any) -> int:
        # The first update finds nothing (the other stream has not committed yet), then the
        # create collides with the row the other stream made: the second update adds to it.
        calls["n"] += 1
        return 0 if calls["n"] == 1 else int(real_update(self, **kwargs))

    monkeypatch.setattr(type(MoodQuarter.objects.all()), "update", racing_update)
    event(user_id, datetime(2026, 5, 4, 10, 5, tzinfo=UTC), sad=1.0)

    assert calls["n"] == 2
    assert quarters(user_id)[datetime(2026, 5, 4, 10, 0, tzinfo=UTC)][0] == 120.0
    assert first.pk is not None
    with pytest.raises(IntegrityError):
        MoodQuarter.objects.create(user_id=user_id, start=datetime(2026, 5, 4, 10, 0, tzinfo=UTC))
