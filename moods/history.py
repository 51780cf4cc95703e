"""Reads for the history pages: a user's mood aggregated by hour, day, week, weekday x hour, in their time zone.

Every aggregate is one SQL ``GROUP BY`` (``Trunc*``/``Extract*`` with the user's ``tzinfo``),
never a Python loop over mood events. A window counts by its length (``MoodEvent.seconds``):
the share of an emotion in a bucket is ``sum(score * seconds) / sum(seconds)``. Windows belong
to the local hour/day in which they start. Python only arranges the few aggregated rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any, Literal

from django.db.models import F, FloatField, QuerySet, Sum
from django.db.models.functions import ExtractHour, ExtractIsoWeekDay, TruncDate, TruncHour, TruncWeek

from inference.emotions import EMOTIONS
from moods.models import MoodEvent
from moods.selectors import local_midnight

Bucket = Literal["hour", "day", "week"]
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True)
class Span:
    """Local days ``first``..``last`` (inclusive) in time zone ``tz``."""

    first: date
    last: date
    tz: tzinfo

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    @property
    def start(self) -> datetime:
        return local_midnight(self.first, self.tz)

    @property
    def end(self) -> datetime:
        return local_midnight(self.last + timedelta(days=1), self.tz)

    def previous(self) -> Span:
        """The span of as many days just before this one."""
        return Span(first=self.first - timedelta(days=self.days), last=self.first - timedelta(days=1), tz=self.tz)

    def bucket(self) -> Bucket:
        if self.days <= 2:
            return "hour"
        return "day" if self.days <= 92 else "week"


@dataclass(frozen=True)
class Mix:
    """Observed seconds and the share of each emotion (summing to 1) over some stretch of time."""

    seconds: float
    shares: dict[str, float]

    @property
    def minutes(self) -> int:
        return round(self.seconds / 60)

    @property
    def dominant(self) -> str:
        return max(EMOTIONS, key=lambda emotion: self.shares[emotion])

    def as_json(self) -> dict[str, Any]:
        return {
            "minutes": self.minutes,
            "shares": {emotion: round(share, 4) for emotion, share in self.shares.items()},
            "dominant": self.dominant,
        }


def _sums() -> dict[str, Any]:
    sums: dict[str, Any] = {"total_seconds": Sum("seconds")}
    for emotion in EMOTIONS:
        sums[f"{emotion}_weighted"] = Sum(F(emotion) * F("seconds"), output_field=FloatField())
    return sums


def _mix(row: dict[str, Any]) -> Mix | None:
    seconds = float(row["total_seconds"] or 0.0)
    if seconds <= 0:
        return None
    return Mix(seconds=seconds, shares={emotion: float(row[f"{emotion}_weighted"]) / seconds for emotion in EMOTIONS})


def events_in(*, user_id: int, start: datetime, end: datetime) -> QuerySet[MoodEvent]:
    """The user's stored windows that start in [start, end): the (user, started_at) index bounds the scan."""
    return MoodEvent.objects.filter(user_id=user_id, started_at__gte=start, started_at__lt=end)


def overall_mix(*, user_id: int, start: datetime, end: datetime) -> Mix | None:
    """The mix over [start, end); None when nothing was observed."""
    return _mix(events_in(user_id=user_id, start=start, end=end).aggregate(**_sums()))


def mix_by_bucket(*, user_id: int, span: Span, bucket: Bucket) -> dict[datetime | date, Mix]:
    """The mix per local hour (naive local datetime), day (date) or ISO week (its Monday, a date)."""
    trunc: Any
    if bucket == "hour":
        trunc = TruncHour("started_at", tzinfo=span.tz)
    elif bucket == "day":
        trunc = TruncDate("started_at", tzinfo=span.tz)
    else:
        trunc = TruncWeek("started_at", tzinfo=span.tz)
    rows = (
        events_in(user_id=user_id, start=span.start, end=span.end)
        .order_by()
        .annotate(key=trunc)
        .values("key")
        .annotate(**_sums())
    )
    result: dict[datetime | date, Mix] = {}
    for row in rows:
        mix = _mix(dict(row))
        if mix is None:
            continue
        key = row["key"]
        if bucket == "hour":
            # Two local 02:00 hours on a fall-back night are one bucket: the local clock hour.
            key = key.astimezone(span.tz).replace(tzinfo=None)
        elif bucket == "week" and isinstance(key, datetime):
            key = key.astimezone(span.tz).date()
        result[key] = mix
    return result


def bucket_keys(span: Span, bucket: Bucket) -> list[datetime | date]:
    """Every bucket of the span in order, with data or not: local hours as the clock shows them, days, or weeks."""
    if bucket == "hour":
        keys: list[datetime | date] = []
        instant = span.start.astimezone(UTC)
        while instant < span.end:
            local = instant.astimezone(span.tz).replace(tzinfo=None, minute=0, second=0, microsecond=0)
            if local not in keys:
                keys.append(local)
            instant += timedelta(hours=1)
        return keys
    if bucket == "day":
        return [span.first + timedelta(days=offset) for offset in range(span.days)]
    monday = span.first - timedelta(days=span.first.weekday())
    return [monday + timedelta(weeks=index) for index in range((span.last - monday).days // 7 + 1)]


def bucket_label(key: datetime | date, bucket: Bucket) -> str:
    if bucket == "hour" and isinstance(key, datetime):
        return f"{key:%a %H:00}"
    if bucket == "week":
        return f"week of {key:%d %b %Y}"
    return f"{key:%a %d %b}"


def daily_mix(*, user_id: int, span: Span) -> dict[date, Mix]:
    """The mix per local day of the span (days without data are absent)."""
    return {
        key: mix
        for key, mix in mix_by_bucket(user_id=user_id, span=span, bucket="day").items()
        if isinstance(key, date)
    }


@dataclass(frozen=True)
class Cell:
    """One weekday x hour cell: observed seconds and the shares of happiness and sadness."""

    seconds: float
    happy: float
    sad: float

    @property
    def minutes(self) -> int:
        return round(self.seconds / 60)


def weekday_hour(*, user_id: int, span: Span) -> dict[tuple[int, int], Cell]:
    """Cells keyed (ISO weekday 1-7, local hour 0-23)."""
    rows = (
        events_in(user_id=user_id, start=span.start, end=span.end)
        .order_by()
        .annotate(
            weekday=ExtractIsoWeekDay("started_at", tzinfo=span.tz), hour=ExtractHour("started_at", tzinfo=span.tz)
        )
        .values("weekday", "hour")
        .annotate(
            total_seconds=Sum("seconds"),
            happy_weighted=Sum(F("happy") * F("seconds"), output_field=FloatField()),
            sad_weighted=Sum(F("sad") * F("seconds"), output_field=FloatField()),
        )
    )
    cells: dict[tuple[int, int], Cell] = {}
    for row in rows:
        seconds = float(row["total_seconds"] or 0.0)
        if seconds > 0:
            cells[(int(row["weekday"]), int(row["hour"]))] = Cell(
                seconds=seconds, happy=float(row["happy_weighted"]) / seconds, sad=float(row["sad_weighted"]) / seconds
            )
    return cells


def hours_of_day(cells: Iterable[tuple[tuple[int, int], Cell]]) -> dict[int, Cell]:
    """Weekday x hour cells folded into hours of the day (seconds-weighted)."""
    totals: dict[int, list[float]] = {}
    for (_, hour), cell in cells:
        seconds, happy, sad = totals.setdefault(hour, [0.0, 0.0, 0.0])
        totals[hour] = [seconds + cell.seconds, happy + cell.happy * cell.seconds, sad + cell.sad * cell.seconds]
    return {hour: Cell(seconds=s, happy=h / s, sad=d / s) for hour, (s, h, d) in totals.items() if s > 0}
