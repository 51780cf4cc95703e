"""The encouragement rule, the message chooser and the support resources: pure functions, exact cases."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

import pytest

from moods.encouragement.resources import INTERNATIONAL, resources_for
from moods.encouragement.rule import (
    BUILT_IN_MESSAGES,
    RECENT_MESSAGES,
    Decision,
    RuleSettings,
    WindowSample,
    choose_message,
    decide,
    in_quiet_hours,
    sustained_sadness,
)

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)
RULES = RuleSettings(
    enabled=True,
    sadness_threshold=0.5,
    sustain_minutes=10,
    cooldown_minutes=60,
    quiet_hours_start=None,
    quiet_hours_end=None,
    daily_cap=3,
    support_resources_enabled=False,
    low_mood_days=3,
)


def minutes(value: float) -> timedelta:
    return timedelta(minutes=value)


def windows_until(now: datetime, *, count: int = 10, sad: float = 0.7, faces: int = 50) -> list[WindowSample]:
    """``count`` back-to-back one-minute windows ending at ``now``."""
    return [
        WindowSample(start=now - minutes(i + 1), end=now - minutes(i), faces=faces, sad=sad)
        for i in reversed(range(count))
    ]


def run(
    now: datetime = NOW,
    *,
    rules: RuleSettings = RULES,
    windows: Sequence[WindowSample] | None = None,
    log: Sequence[datetime] = (),
    tz: tzinfo = UTC,
    daily: Mapping[date, float] | None = None,
) -> Decision:
    return decide(
        now=now,
        settings_snapshot=rules,
        recent_windows=windows_until(now) if windows is None else windows,
        log=log,
        user_tz=tz,
        daily_sadness=daily,
    )


# --- The sadness condition --------------------------------------------------------------


def test_it_sends_when_the_last_minutes_were_sad_enough() -> None:
    decision = run()

    assert decision == Decision(send=True, reason="send", mean_sadness=0.7, coverage=1.0, windows=10)
    assert decision.trigger(RULES) == {
        "mean_sadness": 0.7,
        "threshold": 0.5,
        "minutes": 10,
        "windows": 10,
        "coverage": 1.0,
    }


def test_nothing_is_sent_to_a_user_who_did_not_opt_in() -> None:
    assert run(rules=replace(RULES, enabled=False)) == Decision(send=False, reason="disabled")


def test_the_threshold_itself_is_enough() -> None:
    assert run(windows=windows_until(NOW, sad=0.5)).reason == "send"
    assert run(windows=windows_until(NOW, sad=0.4999)).reason == "below_threshold"


def test_the_mean_is_weighted_by_faces() -> None:
    rules = replace(RULES, sustain_minutes=2, sadness_threshold=0.7)
    windows = [
        WindowSample(start=NOW - minutes(2), end=NOW - minutes(1), faces=30, sad=0.9),
        WindowSample(start=NOW - minutes(1), end=NOW, faces=10, sad=0.1),
    ]

    decision = run(rules=rules, windows=windows)

    assert decision.mean_sadness == pytest.approx(0.7)  # (30 * 0.9 + 10 * 0.1) / 40; unweighted: 0.5
    assert decision.send


def test_it_needs_faces_in_most_of_the_sustain_period() -> None:
    assert run(windows=windows_until(NOW, count=7)).reason == "not_enough_data"
    assert run(windows=windows_until(NOW, count=8)).reason == "send"
    assert run(windows=[]) == Decision(send=False, reason="not_enough_data")


def test_windows_without_a_face_cover_nothing() -> None:
    windows = windows_until(NOW, count=10)
    windows[:3] = [replace(window, faces=0, sad=0.0) for window in windows[:3]]

    decision = run(windows=windows)

    assert decision.reason == "not_enough_data"
    assert decision.coverage == pytest.approx(0.7)
    assert decision.windows == 7


def test_sadness_older_than_the_sustain_period_does_not_count() -> None:
    old_sadness = windows_until(NOW - minutes(30), count=30, sad=1.0)
    recent_calm = windows_until(NOW, count=10, sad=0.1)

    decision = run(windows=old_sadness + recent_calm)

    assert decision.reason == "below_threshold"
    assert decision.mean_sadness == pytest.approx(0.1)


def test_a_window_straddling_the_period_counts_with_its_share_inside() -> None:
    windows = [
        WindowSample(start=NOW - minutes(11), end=NOW - minutes(9), faces=60, sad=1.0),  # half inside: 30 faces
        WindowSample(start=NOW - minutes(9), end=NOW, faces=90, sad=0.0),
    ]

    mean, coverage, used = sustained_sadness(windows, now=NOW, minutes=10)

    assert mean == pytest.approx(30 / 120)
    assert coverage == pytest.approx(1.0)
    assert used == 2


def test_two_devices_streaming_at_once_do_not_double_the_coverage() -> None:
    five_minutes = windows_until(NOW, count=5)

    decision = run(windows=five_minutes + five_minutes)

    assert decision.reason == "not_enough_data"
    assert decision.coverage == pytest.approx(0.5)


# --- Quiet hours ------------------------------------------------------------------------


def test_quiet_hours_within_a_day_include_the_start_and_exclude_the_end() -> None:
    start, end = time(9, 0), time(17, 0)
    assert not in_quiet_hours(time(8, 59, 59), start, end)
    assert in_quiet_hours(time(9, 0), start, end)
    assert in_quiet_hours(time(16, 59, 59), start, end)
    assert not in_quiet_hours(time(17, 0), start, end)


def test_quiet_hours_wrap_midnight() -> None:
    start, end = time(22, 0), time(7, 0)
    assert not in_quiet_hours(time(21, 59), start, end)
    assert in_quiet_hours(time(22, 0), start, end)
    assert in_quiet_hours(time(0, 0), start, end)
    assert in_quiet_hours(time(6, 59, 59), start, end)
    assert not in_quiet_hours(time(7, 0), start, end)


def test_no_quiet_hours_when_unset_or_empty() -> None:
    assert not in_quiet_hours(time(3, 0), None, time(7, 0))
    assert not in_quiet_hours(time(3, 0), time(22, 0), None)
    assert not in_quiet_hours(time(3, 0), time(3, 0), time(3, 0))


def test_quiet_hours_are_read_in_the_users_time_zone() -> None:
    rules = replace(RULES, quiet_hours_start=time(22, 0), quiet_hours_end=time(7, 0))
    evening = datetime(2026, 6, 10, 20, 30, tzinfo=UTC)  # 22:30 in Paris (CEST), 20:30 in UTC

    assert run(evening, rules=rules, tz=PARIS).reason == "quiet_hours"
    assert run(evening, rules=rules, tz=UTC).reason == "send"


@pytest.mark.parametrize(
    ("utc", "quiet"),
    [
        (datetime(2026, 3, 28, 21, 0), True),  # 22:00 CET, Saturday evening
        (datetime(2026, 3, 29, 0, 59), True),  # 01:59 CET, the minute before the clocks jump
        (datetime(2026, 3, 29, 1, 0), True),  # 03:00 CEST
        (datetime(2026, 3, 29, 4, 59), True),  # 06:59 CEST
        (datetime(2026, 3, 29, 5, 0), False),  # 07:00 CEST (would be 06:00 in winter time)
    ],
)
def test_quiet_hours_across_midnight_follow_the_spring_clock_change(utc: datetime, quiet: bool) -> None:
    rules = replace(RULES, quiet_hours_start=time(22, 0), quiet_hours_end=time(7, 0))
    now = utc.replace(tzinfo=UTC)

    assert (run(now, rules=rules, tz=PARIS).reason == "quiet_hours") is quiet


def test_a_quiet_hour_the_spring_clock_change_skips_never_happens() -> None:
    rules = replace(RULES, quiet_hours_start=time(2, 0), quiet_hours_end=time(3, 0))

    for utc in (datetime(2026, 3, 29, 0, 59), datetime(2026, 3, 29, 1, 0), datetime(2026, 3, 29, 1, 30)):
        assert run(utc.replace(tzinfo=UTC), rules=rules, tz=PARIS).reason == "send"


@pytest.mark.parametrize(
    ("utc", "quiet"),
    [
        (datetime(2026, 10, 24, 23, 59), False),  # 01:59 CEST
        (datetime(2026, 10, 25, 0, 30), True),  # 02:30 CEST, the first time
        (datetime(2026, 10, 25, 1, 30), True),  # 02:30 CET, the second time
        (datetime(2026, 10, 25, 2, 0), False),  # 03:00 CET
    ],
)
def test_a_quiet_hour_the_autumn_clock_change_repeats_is_quiet_both_times(utc: datetime, quiet: bool) -> None:
    rules = replace(RULES, quiet_hours_start=time(2, 0), quiet_hours_end=time(3, 0))

    assert (run(utc.replace(tzinfo=UTC), rules=rules, tz=PARIS).reason == "quiet_hours") is quiet


def test_quiet_hours_across_midnight_follow_the_autumn_clock_change() -> None:
    rules = replace(RULES, quiet_hours_start=time(22, 0), quiet_hours_end=time(7, 0))

    assert run(datetime(2026, 10, 25, 5, 30, tzinfo=UTC), rules=rules, tz=PARIS).reason == "quiet_hours"  # 06:30 CET
    assert run(datetime(2026, 10, 25, 6, 0, tzinfo=UTC), rules=rules, tz=PARIS).reason == "send"  # 07:00 CET


# --- Cooldown and daily cap --------------------------------------------------------------


def test_the_cooldown_runs_from_the_last_encouragement() -> None:
    assert run(log=[NOW - minutes(60) + timedelta(microseconds=1)]).reason == "cooldown"
    assert run(log=[NOW - minutes(60)]).reason == "send"
    assert run(log=[NOW - minutes(61)]).reason == "send"
    assert run(log=[NOW - minutes(120), NOW - minutes(5)]).reason == "cooldown"


def test_the_cooldown_length_is_the_users() -> None:
    rules = replace(RULES, cooldown_minutes=5)
    assert run(rules=rules, log=[NOW - minutes(4)]).reason == "cooldown"
    assert run(rules=rules, log=[NOW - minutes(5)]).reason == "send"


def test_the_daily_cap_counts_the_users_local_day_and_resets_at_local_midnight() -> None:
    rules = replace(RULES, cooldown_minutes=5, daily_cap=2)
    log = [datetime(2026, 6, 10, 20, 0, tzinfo=UTC), datetime(2026, 6, 10, 21, 0, tzinfo=UTC)]  # 22:00, 23:00 CEST

    assert run(datetime(2026, 6, 10, 21, 59, tzinfo=UTC), rules=rules, log=log, tz=PARIS).reason == "daily_cap"
    assert run(datetime(2026, 6, 10, 22, 0, tzinfo=UTC), rules=rules, log=log, tz=PARIS).reason == "send"
    # The same moment is still 10 June for a user in UTC.
    assert run(datetime(2026, 6, 10, 22, 0, tzinfo=UTC), rules=rules, log=log, tz=UTC).reason == "daily_cap"


def test_the_daily_cap_counts_the_23_hour_day_of_the_spring_clock_change() -> None:
    rules = replace(RULES, cooldown_minutes=5, daily_cap=2)
    log = [
        datetime(2026, 3, 28, 22, 59, tzinfo=UTC),  # 23:59 CET on the 28th: the day before
        datetime(2026, 3, 28, 23, 30, tzinfo=UTC),  # 00:30 CET on the 29th
        datetime(2026, 3, 29, 12, 0, tzinfo=UTC),  # 14:00 CEST on the 29th
    ]

    assert run(datetime(2026, 3, 29, 21, 59, tzinfo=UTC), rules=rules, log=log, tz=PARIS).reason == "daily_cap"
    assert run(datetime(2026, 3, 29, 22, 0, tzinfo=UTC), rules=rules, log=log, tz=PARIS).reason == "send"  # 00:00 CEST


def test_the_daily_cap_counts_the_25_hour_day_of_the_autumn_clock_change() -> None:
    rules = replace(RULES, cooldown_minutes=5, daily_cap=2)
    log = [
        datetime(2026, 10, 24, 22, 0, tzinfo=UTC),  # 00:00 CEST on the 25th
        datetime(2026, 10, 25, 12, 0, tzinfo=UTC),  # 13:00 CET on the 25th
    ]

    assert run(datetime(2026, 10, 25, 22, 59, tzinfo=UTC), rules=rules, log=log, tz=PARIS).reason == "daily_cap"
    assert run(datetime(2026, 10, 25, 23, 0, tzinfo=UTC), rules=rules, log=log, tz=PARIS).reason == "send"  # 00:00 CET


def test_the_first_refusal_in_order_is_the_reason() -> None:
    rules = replace(RULES, quiet_hours_start=time(11, 0), quiet_hours_end=time(13, 0), daily_cap=1)
    log = [NOW - minutes(1)]
    calm = windows_until(NOW, sad=0.0)

    assert run(rules=replace(rules, enabled=False), log=log, windows=calm).reason == "disabled"
    assert run(rules=rules, log=log, windows=calm).reason == "quiet_hours"
    assert run(rules=replace(rules, quiet_hours_start=None), log=log, windows=calm).reason == "cooldown"
    capped = replace(rules, quiet_hours_start=None, cooldown_minutes=1)
    assert run(rules=capped, log=log, windows=calm).reason == "daily_cap"
    assert run(rules=replace(capped, daily_cap=2), log=log, windows=calm).reason == "below_threshold"


# --- Support resources ------------------------------------------------------------------


def low_days(today: date, count: int, sad: float = 0.8) -> dict[date, float]:
    return {today - timedelta(days=offset): sad for offset in range(count)}


def test_resources_join_after_low_mood_on_each_of_the_last_days() -> None:
    rules = replace(RULES, support_resources_enabled=True)
    today = NOW.date()

    decision = run(rules=rules, daily=low_days(today, 3))

    assert decision.send
    assert decision.with_resources
    assert decision.trigger(rules)["low_mood_days"] == 3


def test_resources_need_every_one_of_the_days() -> None:
    rules = replace(RULES, support_resources_enabled=True)
    today = NOW.date()
    gap = low_days(today, 3)
    del gap[today - timedelta(days=1)]
    one_good_day = {**low_days(today, 3), today - timedelta(days=2): 0.3}

    assert not run(rules=rules, daily=low_days(today, 2)).with_resources
    assert not run(rules=rules, daily=gap).with_resources
    assert not run(rules=rules, daily=one_good_day).with_resources
    assert run(rules=replace(rules, low_mood_days=2), daily=low_days(today, 2)).with_resources


def test_resources_stay_off_unless_the_user_enabled_them() -> None:
    decision = run(daily=low_days(NOW.date(), 14))

    assert decision.send
    assert not decision.with_resources
    assert "low_mood_days" not in decision.trigger(RULES)


def test_low_mood_days_are_the_users_local_days() -> None:
    rules = replace(RULES, support_resources_enabled=True)
    late_evening = datetime(2026, 6, 10, 22, 30, tzinfo=UTC)  # already 11 June in Paris

    assert run(late_evening, rules=rules, tz=PARIS, daily=low_days(date(2026, 6, 11), 3)).with_resources
    assert not run(late_evening, rules=rules, tz=PARIS, daily=low_days(date(2026, 6, 10), 3)).with_resources


def test_resources_list_the_region_first_then_the_international_directory() -> None:
    france = resources_for("fr")

    assert [resource.contact for resource in france[:-1]] == ["Appelez le 3114"]
    assert france[-1] == INTERNATIONAL[0]
    assert INTERNATIONAL[0].url == "https://findahelpline.com"
    assert resources_for("UK")[0].name == "Samaritans"
    assert "988" in resources_for("US")[0].contact
    assert "0800 111 0 111" in resources_for("DE")[0].contact
    assert resources_for("") == list(INTERNATIONAL)
    assert resources_for("ZZ") == list(INTERNATIONAL)
    assert set(resources_for("GB")[0].as_message()) == {"name", "contact", "url"}


# --- Messages ---------------------------------------------------------------------------


def test_the_users_own_messages_are_mixed_in_about_half_of_the_time() -> None:
    own = ["You've got this.", "Tea time?"]
    pools: list[Sequence[str]] = []

    def first_of(pool: Sequence[str]) -> str:
        pools.append(pool)
        return pool[0]

    choose_message(own_messages=own, recent_messages=[], pick=first_of)

    [pool] = pools
    assert set(own) <= set(pool)
    assert set(BUILT_IN_MESSAGES) <= set(pool)
    share = sum(message in own for message in pool) / len(pool)
    assert 0.4 <= share <= 0.6


def test_no_message_of_the_recent_ones_comes_again_while_others_are_left() -> None:
    recent = list(BUILT_IN_MESSAGES[:RECENT_MESSAGES])
    for _ in range(50):
        assert choose_message(own_messages=[], recent_messages=recent) not in recent


def test_the_same_message_never_comes_twice_in_a_row_even_when_all_were_said_lately() -> None:
    everything = list(BUILT_IN_MESSAGES)
    for latest in (everything[0], everything[-1]):
        said = [latest, *(message for message in everything if message != latest)]
        for _ in range(30):
            assert choose_message(own_messages=[], recent_messages=said) != latest


def test_a_single_own_message_does_not_repeat_but_comes_back_soon() -> None:
    chosen = [choose_message(own_messages=["Breathe."], recent_messages=["Breathe."]) for _ in range(30)]
    assert "Breathe." not in chosen
    assert choose_message(own_messages=["Breathe."], recent_messages=[], pick=lambda pool: pool[0]) == "Breathe."


def test_blank_own_lines_are_ignored() -> None:
    chosen = choose_message(own_messages=["", "   "], recent_messages=[], pick=lambda items: items[-1])

    assert chosen == BUILT_IN_MESSAGES[-1]


def test_a_sequence_of_nudges_varies() -> None:
    sent: list[str] = []
    for _ in range(40):
        sent.insert(0, choose_message(own_messages=["Tea time?"], recent_messages=sent[:RECENT_MESSAGES]))
    assert all(sent[index] != sent[index + 1] for index in range(len(sent) - 1))
    assert len(set(sent[: RECENT_MESSAGES + 1])) == RECENT_MESSAGES + 1, "no repeat within the recent ones"
    assert "Tea time?" in sent


def test_there_are_enough_distinct_built_in_messages() -> None:
    assert len(set(BUILT_IN_MESSAGES)) == len(BUILT_IN_MESSAGES) >= 30
    for message in BUILT_IN_MESSAGES:
        assert message.strip() == message
        assert not any(word in message.lower() for word in ("depress", "disorder", "diagnos", "therapy"))


def test_uncertain_windows_never_count_toward_a_nudge() -> None:
    windows = windows_until(NOW, count=10, sad=0.9)
    windows[:3] = [replace(window, uncertain=True) for window in windows[:3]]

    decision = run(windows=windows)

    assert decision.reason == "not_enough_data"
    assert decision.windows == 7
    assert run(windows=[replace(window, uncertain=False) for window in windows]).reason == "send"
