"""Insights are honest: each names its observed minutes, and thin data gives none."""

from __future__ import annotations

from inference.emotions import EMOTIONS
from moods.history.aggregates import Cell, Mix
from moods.history.insights import happiest_hour, insights_for, most_frequent, sadness_trend


def mix(minutes: int, **shares: float) -> Mix:
    values = dict.fromkeys(EMOTIONS, 0.0) | shares
    values["neutral"] = 1 - sum(v for e, v in values.items() if e != "neutral")
    return Mix(seconds=minutes * 60, shares=values)


def test_the_happiest_hour_needs_three_well_observed_hours() -> None:
    hours = {9: Cell(seconds=1800, happy=0.2, sad=0.1), 13: Cell(seconds=1800, happy=0.5, sad=0.1)}
    assert happiest_hour(hours) is None
    hours[20] = Cell(seconds=600, happy=0.9, sad=0.0)  # 10 minutes: too few to compare
    assert happiest_hour(hours) is None
    hours[17] = Cell(seconds=3600, happy=0.3, sad=0.1)

    insight = happiest_hour(hours)

    assert insight is not None
    assert "between 13:00 and 14:00" in insight.text
    assert "happy 50% of 30 observed minutes" in insight.text
    assert insight.minutes == 120


def test_the_happiest_hour_of_23_ends_at_midnight() -> None:
    hours = {hour: Cell(seconds=3600, happy=0.1 + (hour == 23) * 0.5, sad=0.1) for hour in (21, 22, 23)}
    insight = happiest_hour(hours)
    assert insight is not None
    assert "between 23:00 and 00:00" in insight.text


def test_the_sadness_trend_needs_an_hour_on_each_side_and_says_which_way() -> None:
    assert sadness_trend(current=mix(120, sad=0.3), previous=None, days=7) is None
    assert sadness_trend(current=mix(120, sad=0.3), previous=mix(59, sad=0.1), days=7) is None

    up = sadness_trend(current=mix(120, sad=0.3), previous=mix(60, sad=0.1), days=7)
    down = sadness_trend(current=mix(60, sad=0.1), previous=mix(60, sad=0.3), days=1)
    same = sadness_trend(current=mix(60, sad=0.2), previous=mix(60, sad=0.21), days=30)

    assert up is not None
    assert "30% of your observed time, up from 10% in the previous 7 days" in up.text
    assert up.minutes == 180
    assert down is not None
    assert "down from 30% in the previous day" in down.text
    assert same is not None
    assert "about the same as the previous 30 days" in same.text


def test_the_most_frequent_expression_needs_half_an_hour() -> None:
    assert most_frequent(None) is None
    assert most_frequent(mix(29, happy=0.9)) is None
    insight = most_frequent(mix(30, happy=0.6))
    assert insight is not None
    assert insight.text.startswith("Happy was your most frequent expression: 60%")


def test_no_data_no_insights() -> None:
    assert insights_for(overall=None, previous=None, hours={}, days=7) == []
