"""History aggregation in SQL: local hours, days and weeks in the user's time zone, DST nights, length weighting."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from inference.emotions import EMOTIONS
from moods.history import aggregates as history
from moods.history import rollup
from moods.history.aggregates import Span
from moods.history.report import build_report
from moods.models import MoodEvent
from tests.factories import make_user

pytestmark = pytest.mark.django_db

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def scores(**shares: float) -> dict[str, float]:
    """Scores for the seven emotions: the given ones, the rest of 1 on neutral."""
    values = dict.fromkeys(EMOTIONS, 0.0) | shares
    values["neutral"] = round(1 - sum(v for e, v in values.items() if e != "neutral"), 6)
    return values


def event(user_id: int, start: datetime, *, seconds: float = 60, **shares: float) -> MoodEvent:
    """A stored window as the stream stores it: the event and its quarter-hour rollup."""
    values = scores(**shares)
    return rollup.insert_event(
        MoodEvent(
            user_id=user_id,
            started_at=start,
            ended_at=start + timedelta(seconds=seconds),
            frames=10,
            faces=10,
            dominant=max(values, key=lambda emotion: values[emotion]),
            **values,
        )
    )


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def user_id() -> int:
    return make_user().pk


def test_an_empty_history_has_no_buckets_no_days_no_cells_and_no_insights(user_id: int) -> None:
    span = Span(first=date(2026, 3, 1), last=date(2026, 3, 31), tz=BERLIN)

    assert history.hourly_sums(user_id=user_id, span=span) == {}
    assert history.mix_by_bucket(user_id=user_id, span=span, bucket="day") == {}
    assert history.overall_mix(user_id=user_id, start=span.start, end=span.end) is None
    report = build_report(user_id=user_id, span=span, kind="month")
    assert report.overall is None
    assert report.insights == []
    data = report.as_json()
    assert data["summary"] is None
    assert data["calendar"] == []
    assert data["weekday_hour"] == []
    assert len(data["series"]["labels"]) == 31
    assert set(data["series"]["shares"]["sad"]) == {None}


def test_shares_are_weighted_by_window_length(user_id: int) -> None:
    # A full minute all sad and a 20-second window all happy: sad is 60/80 of the observed time.
    event(user_id, utc(2026, 5, 4, 10, 0), sad=1.0)
    event(user_id, utc(2026, 5, 4, 10, 1), seconds=20, happy=1.0)

    mix = history.overall_mix(user_id=user_id, start=utc(2026, 5, 4), end=utc(2026, 5, 5))

    assert mix is not None
    assert mix.seconds == pytest.approx(80)
    assert mix.shares["sad"] == pytest.approx(0.75)
    assert mix.shares["happy"] == pytest.approx(0.25)
    assert sum(mix.shares.values()) == pytest.approx(1)


def test_days_are_the_users_local_days(user_id: int) -> None:
    # 23:30 UTC on 4 May is 01:30 on 5 May in Berlin (summer time, UTC+2) and 19:30 on 4 May in New York.
    event(user_id, utc(2026, 5, 4, 23, 30), sad=0.6)

    in_berlin = history.daily_mix(user_id=user_id, span=Span(date(2026, 5, 1), date(2026, 5, 31), BERLIN))
    in_new_york = history.daily_mix(user_id=user_id, span=Span(date(2026, 5, 1), date(2026, 5, 31), NEW_YORK))

    assert list(in_berlin) == [date(2026, 5, 5)]
    assert list(in_new_york) == [date(2026, 5, 4)]


def test_the_spring_forward_day_in_berlin_has_23_hours_and_keeps_every_event(user_id: int) -> None:
    # 29 March 2026: clocks jump from 02:00 to 03:00 CET->CEST. 00:30 UTC is 01:30 local, 01:30 UTC is 03:30.
    event(user_id, utc(2026, 3, 29, 0, 30), sad=0.5)
    event(user_id, utc(2026, 3, 29, 1, 30), happy=0.5)
    # The local day starts 23:00 UTC on the 28th and ends 22:00 UTC on the 29th.
    event(user_id, utc(2026, 3, 28, 22, 59), fear=0.5)  # 23:59 on the 28th: not in the day
    event(user_id, utc(2026, 3, 29, 21, 59), angry=0.5)  # 23:59 CEST on the 29th: in the day
    span = Span(date(2026, 3, 29), date(2026, 3, 29), BERLIN)

    keys = history.bucket_keys(span, "hour")
    hours = history.mix_by_bucket(user_id=user_id, span=span, bucket="hour")

    assert len(keys) == 23
    assert datetime(2026, 3, 29, 2) not in keys
    assert set(hours) == {datetime(2026, 3, 29, 1), datetime(2026, 3, 29, 3), datetime(2026, 3, 29, 23)}
    assert span.end.astimezone(UTC) - span.start.astimezone(UTC) == timedelta(hours=23)
    day = history.daily_mix(user_id=user_id, span=span)[date(2026, 3, 29)]
    assert day.minutes == 3


def test_the_fall_back_night_in_berlin_merges_the_two_2_oclock_hours(user_id: int) -> None:
    # 25 October 2026: 03:00 CEST -> 02:00 CET. 00:15 UTC and 01:15 UTC are both "02:15" on the clock.
    event(user_id, utc(2026, 10, 25, 0, 15), sad=1.0)
    event(user_id, utc(2026, 10, 25, 1, 15), happy=1.0)
    span = Span(date(2026, 10, 25), date(2026, 10, 25), BERLIN)

    hours = history.mix_by_bucket(user_id=user_id, span=span, bucket="hour")

    assert span.end.astimezone(UTC) - span.start.astimezone(UTC) == timedelta(hours=25)
    assert len(history.bucket_keys(span, "hour")) == 24
    assert list(hours) == [datetime(2026, 10, 25, 2)]
    assert hours[datetime(2026, 10, 25, 2)].minutes == 2
    assert hours[datetime(2026, 10, 25, 2)].shares["sad"] == pytest.approx(0.5)


def test_new_york_dst_changes_shift_the_local_hour_and_weekday(user_id: int) -> None:
    # 8 March 2026 (Sunday) New York springs forward at 02:00 EST. 06:30 UTC is 01:30 EST, 07:30 UTC is 03:30 EDT.
    event(user_id, utc(2026, 3, 8, 6, 30), sad=1.0)
    event(user_id, utc(2026, 3, 8, 7, 30), sad=1.0)
    # 1 November 2026 (Sunday) falls back at 02:00 EDT: 05:30 UTC and 06:30 UTC are both 01:30.
    event(user_id, utc(2026, 11, 1, 5, 30), happy=1.0)
    event(user_id, utc(2026, 11, 1, 6, 30), happy=1.0)
    # 03:30 UTC on Monday 2 November is still Sunday 22:30 in New York.
    event(user_id, utc(2026, 11, 2, 3, 30), fear=1.0)
    span = Span(date(2026, 3, 1), date(2026, 11, 30), NEW_YORK)

    cells = history.weekday_hour(history.hourly_sums(user_id=user_id, span=span))

    assert set(cells) == {(7, 1), (7, 3), (7, 22)}
    assert cells[(7, 1)].minutes == 3  # 8 March 01:30 and both 01:30s of 1 November
    assert cells[(7, 1)].sad == pytest.approx(1 / 3)
    assert cells[(7, 3)].sad == pytest.approx(1.0)


def test_weeks_start_on_monday_in_local_time(user_id: int) -> None:
    # Sunday 22:30 UTC = Monday 00:30 in Berlin (winter): that local Monday's week.
    event(user_id, utc(2026, 1, 11, 23, 30), sad=1.0)
    event(user_id, utc(2026, 1, 11, 22, 30), happy=1.0)  # Sunday 23:30 local: the week before
    span = Span(date(2025, 12, 1), date(2026, 3, 31), BERLIN)

    weeks = history.mix_by_bucket(user_id=user_id, span=span, bucket="week")

    assert span.bucket() == "week"
    assert weeks[date(2026, 1, 12)].shares["sad"] == pytest.approx(1)
    assert weeks[date(2026, 1, 5)].shares["happy"] == pytest.approx(1)
    keys = history.bucket_keys(span, "week")
    assert keys[0] == date(2025, 12, 1)
    assert keys[-1] == date(2026, 3, 30)


def test_only_the_users_own_events_in_the_span_count(user_id: int) -> None:
    other = make_user(email="other@example.com").pk
    event(other, utc(2026, 5, 4, 10), sad=1.0)
    event(user_id, utc(2026, 5, 3, 21, 59), sad=1.0)  # 23:59 Berlin on the 3rd: before the span
    event(user_id, utc(2026, 5, 4, 10), happy=1.0)
    span = Span(date(2026, 5, 4), date(2026, 5, 4), BERLIN)

    mix = history.overall_mix(user_id=user_id, start=span.start, end=span.end)

    assert mix is not None
    assert mix.minutes == 1
    assert mix.shares["happy"] == pytest.approx(1)


def test_spans_pick_their_bucket_and_know_the_previous_span() -> None:
    assert Span(date(2026, 5, 4), date(2026, 5, 4), BERLIN).bucket() == "hour"
    assert Span(date(2026, 5, 1), date(2026, 5, 7), BERLIN).bucket() == "day"
    assert Span(date(2025, 5, 8), date(2026, 5, 7), BERLIN).bucket() == "week"
    week = Span(date(2026, 5, 1), date(2026, 5, 7), BERLIN)
    assert week.previous() == Span(date(2026, 4, 24), date(2026, 4, 30), BERLIN)


def test_the_report_finds_a_sadness_trend_and_the_happiest_hour_with_their_minutes(user_id: int) -> None:
    # Previous week: 2 hours at 30% sad. This week: 2 hours at 10% sad, and a happy 18:00 hour.
    for minute in range(120):
        event(user_id, utc(2026, 4, 27, 7) + timedelta(minutes=minute), sad=0.3)
    for minute in range(60):
        event(user_id, utc(2026, 5, 4, 7) + timedelta(minutes=minute), sad=0.1)
        event(user_id, utc(2026, 5, 5, 8) + timedelta(minutes=minute), sad=0.1, happy=0.2)
        event(user_id, utc(2026, 5, 6, 16) + timedelta(minutes=minute), happy=0.8)
    span = Span(date(2026, 5, 4), date(2026, 5, 10), BERLIN)

    insights = {insight.key: insight for insight in build_report(user_id=user_id, span=span, kind="week").insights}

    assert insights["sadness_trend"].minutes == 300
    assert "down from 30%" in insights["sadness_trend"].text
    assert "18:00 and 19:00" in insights["happiest_hour"].text
    assert insights["happiest_hour"].minutes == 180
    assert insights["most_frequent"].text.startswith("Neutral")


def test_the_report_says_nothing_when_the_data_is_thin(user_id: int) -> None:
    for minute in range(20):
        event(user_id, utc(2026, 5, 4, 7) + timedelta(minutes=minute), sad=0.9)
    span = Span(date(2026, 5, 4), date(2026, 5, 10), BERLIN)

    assert build_report(user_id=user_id, span=span, kind="week").insights == []
