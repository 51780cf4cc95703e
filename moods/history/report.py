"""One history report (chart series, calendar, weekday x hour, insights) for a span: the page and its JSON."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

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

    @property
    def number(self) -> str:
        """The date as the month's calendar writes it in the square: "7", or "1 Dec" where a month starts."""
        return f"{self.day.day} {self.day:%b}" if self.day.day == 1 else str(self.day.day)


def calendar_body(weeks: Sequence[Sequence[CalendarDay | None]], *, numbered: bool) -> SafeString:
    """A calendar's rows: a cell per day, shaded, named in words (hover and screen readers), with its
    date when ``numbered``; None is an empty cell (another month's day).

    Built here rather than in template loops: a year is over 500 cells, and the template engine's
    cost per variable made them a third of the year page's rendering.
    """
    rows = []
    for week in weeks:
        cells = []
        for day in week:
            if day is None:
                cells.append("<td></td>")
            elif not day.in_span:
                cells.append(f'<td class="{day.css}"></td>')
            else:
                label = escape(day.label)
                number = f'<span aria-hidden="true">{escape(day.number)}</span>' if numbered else ""
                cells.append(
                    f'<td class="{day.css}" title="{label}">{number}<span class="visually-hidden">{label}</span></td>'
                )
        rows.append(f"<tr>{''.join(cells)}</tr>")
    return mark_safe("\n".join(rows))  # noqa: S308 - our class names and escaped words only


@dataclass(frozen=True)
class CalendarMonth:
    """One month of the year's calendar: its name and its weeks (Monday first; None: another month's day)."""

    label: str
    weeks: list[list[CalendarDay | None]]

    @property
    def body(self) -> SafeString:
        return calendar_body(self.weeks, numbered=False)


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

    def calendar_body(self) -> SafeString:
        """The range's weeks as a numbered calendar's rows (28 to 92 days)."""
        return calendar_body(self.calendar_weeks(), numbered=True)

    def calendar_months(self) -> list[CalendarMonth]:
        """The span's months, each a small calendar (a year's "day by day"); days outside the span are placeholders."""
        months: list[CalendarMonth] = []
        first = self.span.first.replace(day=1)
        while first <= self.span.last:
            following = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
            cells: list[CalendarDay | None] = [None] * first.weekday()
            cells += [
                CalendarDay(day=day, mix=self.days.get(day), in_span=self.span.first <= day <= self.span.last)
                for day in (first + timedelta(days=offset) for offset in range((following - first).days))
            ]
            cells += [None] * (-len(cells) % 7)
            weeks = [cells[index : index + 7] for index in range(0, len(cells), 7)]
            months.append(CalendarMonth(label=f"{first:%B %Y}", weeks=weeks))
            first = following
        return months

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
