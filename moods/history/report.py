"""One history report (chart series, calendar, weekday x hour, insights) for a span: the page and its JSON."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from inference.emotions import EMOTIONS
from moods.history import aggregates as history
from moods.history.aggregates import WEEKDAYS, Cell, Mix, Span
from moods.history.insights import Insight, insights_for

# Sadness share per weekday x hour cell -> a level 1..4 (0 = no data), for the heat map's classes.
SAD_LEVELS = (0.1, 0.2, 0.35)


def sad_level(share: float | None) -> int:
    """0 for no data, else 1..4 by the share of sad expressions (the heat map's and calendar's shades)."""
    if share is None:
        return 0
    return 1 + sum(share >= bound for bound in SAD_LEVELS)


@dataclass(frozen=True)
class CalendarDay:
    day: date
    mix: Mix | None
    in_span: bool

    @property
    def css(self) -> str:
        """Days are shaded by their share of sad expressions (most days are mostly neutral)."""
        if not self.in_span:
            return "px px-out"
        return f"px heat-{sad_level(None if self.mix is None else self.mix.shares['sad'])}"

    @property
    def label(self) -> str:
        """What the day's square says, in words (its title and its screen-reader text)."""
        if not self.in_span:
            return ""
        if self.mix is None:
            return f"{self.day:%a %d %b}: no data"
        sad = round(self.mix.shares["sad"] * 100)
        return f"{self.day:%a %d %b}: sad {sad}%, mostly {self.mix.dominant}, {self.mix.minutes} min"


@dataclass(frozen=True)
class HeatCell:
    hour: int
    cell: Cell | None

    @property
    def level(self) -> int:
        return sad_level(None if self.cell is None else self.cell.sad)

    @property
    def label(self) -> str:
        if self.cell is None:
            return f"{self.hour}:00 no data"
        return f"{self.hour}:00 sad {round(self.cell.sad * 100)}% of {self.cell.minutes} min"


@dataclass
class Report:
    span: Span
    kind: str
    overall: Mix | None
    previous: Mix | None
    buckets: list[tuple[str, Mix | None]]
    days: dict[date, Mix]
    cells: dict[tuple[int, int], Cell]
    insights: list[Insight] = field(default_factory=list)

    def series(self) -> dict[str, Any]:
        return {
            "labels": [label for label, _ in self.buckets],
            "minutes": [None if mix is None else mix.minutes for _, mix in self.buckets],
            "shares": {
                emotion: [None if mix is None else round(mix.shares[emotion] * 100, 1) for _, mix in self.buckets]
                for emotion in EMOTIONS
            },
        }

    def table_rows(self) -> list[tuple[str, int, list[str]]]:
        """The chart as table rows: bucket label, observed minutes, each emotion's share in percent."""
        return [
            (label, mix.minutes, [f"{round(mix.shares[emotion] * 100)}%" for emotion in EMOTIONS])
            for label, mix in self.buckets
            if mix is not None
        ]

    def as_json(self) -> dict[str, Any]:
        return {
            "range": {
                "kind": self.kind,
                "first": self.span.first.isoformat(),
                "last": self.span.last.isoformat(),
                "time_zone": str(self.span.tz),
                "bucket": self.span.bucket(),
            },
            "emotions": list(EMOTIONS),
            "summary": None if self.overall is None else self.overall.as_json(),
            "series": self.series(),
            "calendar": [{"date": day.isoformat(), **mix.as_json()} for day, mix in sorted(self.days.items())],
            "weekday_hour": [
                {
                    "weekday": weekday,
                    "hour": hour,
                    "minutes": cell.minutes,
                    "happy": round(cell.happy, 4),
                    "sad": round(cell.sad, 4),
                }
                for (weekday, hour), cell in sorted(self.cells.items())
            ],
            "insights": [insight.as_json() for insight in self.insights],
        }

    def calendar_weeks(self) -> list[list[CalendarDay]]:
        """Weeks (Monday first) covering the span; days outside it are placeholders."""
        monday = self.span.first - timedelta(days=self.span.first.weekday())
        weeks: list[list[CalendarDay]] = []
        day = monday
        while day <= self.span.last:
            weeks.append(
                [
                    CalendarDay(
                        day=day + timedelta(days=offset),
                        mix=self.days.get(day + timedelta(days=offset)),
                        in_span=self.span.first <= day + timedelta(days=offset) <= self.span.last,
                    )
                    for offset in range(7)
                ]
            )
            day += timedelta(days=7)
        return weeks

    def calendar_rows(self) -> list[tuple[str, list[CalendarDay]]]:
        """The calendar transposed: one row per weekday, one column per week."""
        weeks = self.calendar_weeks()
        return [(name, [week[index] for week in weeks]) for index, name in enumerate(WEEKDAYS)]

    def heat_rows(self) -> list[tuple[str, list[HeatCell]]]:
        return [
            (name, [HeatCell(hour=hour, cell=self.cells.get((index + 1, hour))) for hour in range(24)])
            for index, name in enumerate(WEEKDAYS)
        ]


def build_report(*, user_id: int, span: Span, kind: str) -> Report:
    """Two queries: the span's hourly sums (all but the trend add up from them) and the previous span's total."""
    bucket = span.bucket()
    hourly = history.hourly_sums(user_id=user_id, span=span)
    by_bucket = history.mixes(history.fold(hourly, lambda hour: history.bucket_of(hour, bucket)))
    buckets = [(history.bucket_label(key, bucket), by_bucket.get(key)) for key in history.bucket_keys(span, bucket)]
    days = (
        {key: mix for key, mix in by_bucket.items() if isinstance(key, date)}
        if bucket == "day"
        else history.mixes(history.fold(hourly, lambda hour: hour.date()))
    )
    overall = history.fold(hourly, lambda hour: None).get(None, history.Sums(0.0, (0.0,) * len(EMOTIONS))).mix()
    previous_span = span.previous()
    previous = history.overall_mix(user_id=user_id, start=previous_span.start, end=previous_span.end)
    cells = history.weekday_hour(hourly)
    report = Report(span=span, kind=kind, overall=overall, previous=previous, buckets=buckets, days=days, cells=cells)
    report.insights = insights_for(
        overall=overall, previous=previous, hours=history.hours_of_day(cells.items()), days=span.days
    )
    return report
