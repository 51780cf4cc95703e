"""Plain-words insights from aggregated mood data, each with the observed minutes behind it.

Honesty rules: an insight needs enough observed time to mean something (thresholds below), and
when the data is too thin there is no insight at all rather than a guess.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from moods.history.aggregates import Cell, Mix

# An hour of the day counts for "happiest hour" with at least this many observed minutes,
# and at least this many such hours must exist to compare.
MIN_MINUTES_PER_HOUR = 30
MIN_HOURS_COMPARED = 3
# Each period of a trend needs this many observed minutes.
MIN_MINUTES_PER_PERIOD = 60
# Below this change (in percentage points) a trend reads "about the same".
STEADY_POINTS = 2.0
MIN_MINUTES_OVERALL = 30


@dataclass(frozen=True)
class Insight:
    key: str
    title: str
    text: str
    minutes: int

    def as_json(self) -> dict[str, Any]:
        return {"key": self.key, "title": self.title, "text": self.text, "minutes": self.minutes}


def _percent(share: float) -> str:
    return f"{round(share * 100)}%"


def happiest_hour(hours: dict[int, Cell]) -> Insight | None:
    """The local hour of the day with the highest happiness share, among well-observed hours."""
    candidates = {hour: cell for hour, cell in hours.items() if cell.minutes >= MIN_MINUTES_PER_HOUR}
    if len(candidates) < MIN_HOURS_COMPARED:
        return None
    hour, cell = max(candidates.items(), key=lambda item: (item[1].happy, -item[0]))
    minutes = sum(candidate.minutes for candidate in candidates.values())
    return Insight(
        key="happiest_hour",
        title="Happiest hour",
        text=(
            f"You looked happiest between {hour:02d}:00 and {(hour + 1) % 24:02d}:00 "
            f"(happy {_percent(cell.happy)} of {cell.minutes} observed minutes then), "
            f"compared over {len(candidates)} hours of the day."
        ),
        minutes=minutes,
    )


def sadness_trend(*, current: Mix | None, previous: Mix | None, days: int) -> Insight | None:
    """Sadness in this period against the period of as many days just before it."""
    if current is None or previous is None:
        return None
    if current.minutes < MIN_MINUTES_PER_PERIOD or previous.minutes < MIN_MINUTES_PER_PERIOD:
        return None
    now, before = current.shares["sad"], previous.shares["sad"]
    points = (now - before) * 100
    period = "day" if days == 1 else f"{days} days"
    if abs(points) < STEADY_POINTS:
        change = f"about the same as the previous {period} ({_percent(before)})"
    else:
        change = f"{'up' if points > 0 else 'down'} from {_percent(before)} in the previous {period}"
    return Insight(
        key="sadness_trend",
        title="Sadness trend",
        text=(
            f"Sad expressions were {_percent(now)} of your observed time, {change}; "
            f"{current.minutes} and {previous.minutes} observed minutes."
        ),
        minutes=current.minutes + previous.minutes,
    )


def most_frequent(overall: Mix | None) -> Insight | None:
    """The emotion with the largest share over the period."""
    if overall is None or overall.minutes < MIN_MINUTES_OVERALL:
        return None
    emotion = overall.dominant
    return Insight(
        key="most_frequent",
        title="Most frequent expression",
        text=(
            f"{emotion.capitalize()} was your most frequent expression: "
            f"{_percent(overall.shares[emotion])} of the time."
        ),
        minutes=overall.minutes,
    )


def insights_for(*, overall: Mix | None, previous: Mix | None, hours: dict[int, Cell], days: int) -> list[Insight]:
    found = [most_frequent(overall), happiest_hour(hours), sadness_trend(current=overall, previous=previous, days=days)]
    return [insight for insight in found if insight is not None]
