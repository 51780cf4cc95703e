"""One history report (chart series, calendar, weekday x hour, insights) for a span: the page and its JSON."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from inference.emotions import EMOTIONS
from moods import history
from moods.history import WEEKDAYS, Cell, Mix, Span
from moods.insights import Insight, insights_for

# Sadness share per weekday x hour cell -> a level 1..4 (0 = no data), for the heat map's classes.
SAD_LEVELS = (0.1, 0.2, 0.35)


@dataclass(frozen=True)
class CalendarDay:
    day: date
    mix: Mix | None
    in_span: bool


@dataclass(frozen=True)
class HeatCell:
    hour: int
    cell: Cell | None

    @property
    def level(self) -> int:
        if self.cell is None:
            return 0
        return 1 + sum(self.cell.sad >= bound for bound in SAD_LEVELS)


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
    bucket = span.bucket()
    by_bucket = history.mix_by_bucket(user_id=user_id, span=span, bucket=bucket)
    buckets = [(history.bucket_label(key, bucket), by_bucket.get(key)) for key in history.bucket_keys(span, bucket)]
    # A day's buckets are the days themselves: no second query for the calendar.
    days = (
        {key: mix for key, mix in by_bucket.items() if isinstance(key, date)}
        if bucket == "day"
        else history.daily_mix(user_id=user_id, span=span)
    )
    overall = history.overall_mix(user_id=user_id, start=span.start, end=span.end)
    previous_span = span.previous()
    previous = history.overall_mix(user_id=user_id, start=previous_span.start, end=previous_span.end)
    cells = history.weekday_hour(user_id=user_id, span=span)
    report = Report(span=span, kind=kind, overall=overall, previous=previous, buckets=buckets, days=days, cells=cells)
    report.insights = insights_for(
        overall=overall, previous=previous, hours=history.hours_of_day(cells.items()), days=span.days
    )
    return report
