"""Reads for the history pages: a user's mood aggregated by hour, day, week, weekday x hour, in their time zone.

Aggregation happens in SQL, never in a Python loop over mood events. Windows are summed into UTC
quarter hours as they are stored (``MoodQuarter``, ``moods.rollup``): observed seconds and
``sum(score * seconds)`` per emotion, so a window counts by its length and the share of an emotion
is ``sum(score * seconds) / sum(seconds)``. A report is one ``GROUP BY`` local clock hour
(``TruncHour`` with the user's ``tzinfo``) over those quarters; days, ISO weeks, weekday x hour and
totals add up from the hourly sums (at most 24 x 366). A year of one-minute windows (~175,000 rows)
is thus at most 35,136 quarters (measured in bench/history.py). Windows belong to the local hour
they start in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any, Literal, TypeVar

from django.db import connections
from django.db.models import Count, QuerySet, Sum
from django.db.models.functions import TruncHour

from inference.emotions import EMOTIONS
from moods.history.selectors import local_midnight
from moods.models import MoodEvent, MoodQuarter

Bucket = Literal["hour", "day", "week"]
K = TypeVar("K")
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


def _mix(row: dict[str, Any]) -> Mix | None:
    seconds = float(row["total_seconds"] or 0.0)
    if seconds <= 0:
        return None
    return Mix(seconds=seconds, shares={emotion: float(row[f"{emotion}_weighted"]) / seconds for emotion in EMOTIONS})


def overall_mix(*, user_id: int, start: datetime, end: datetime) -> Mix | None:
    """The mix of windows starting in [start, end) (whole quarter hours); None when nothing was observed."""
    return _mix(quarters_in(user_id=user_id, start=start, end=end).aggregate(**_quarter_sums()))


def day_summary(*, user_id: int, tz: tzinfo, day: date) -> dict[str, Any]:
    """One local day as the dashboard shows it (the extension's popup): windows, frames and faces
    counted, emotion shares weighted by observed time; ``scores`` and ``dominant`` None when
    nothing was observed."""
    span = Span(first=day, last=day, tz=tz)
    counts = MoodEvent.objects.filter(user_id=user_id, started_at__gte=span.start, started_at__lt=span.end).aggregate(
        window_count=Count("id"), frame_count=Sum("frames"), face_count=Sum("faces")
    )
    mix = overall_mix(user_id=user_id, start=span.start, end=span.end)
    return {
        "date": day.isoformat(),
        "windows": counts["window_count"],
        "frames": counts["frame_count"] or 0,
        "faces": counts["face_count"] or 0,
        "minutes": mix.minutes if mix else 0,
        "scores": {emotion: round(share, 4) for emotion, share in mix.shares.items()} if mix else None,
        "dominant": mix.dominant if mix else None,
    }


@dataclass(frozen=True)
class Sums:
    """Observed seconds and ``sum(score * seconds)`` per emotion: what buckets add up."""

    seconds: float
    weighted: tuple[float, ...]

    def __add__(self, other: Sums) -> Sums:
        return Sums(
            seconds=self.seconds + other.seconds,
            weighted=tuple(a + b for a, b in zip(self.weighted, other.weighted, strict=True)),
        )

    def mix(self) -> Mix | None:
        if self.seconds <= 0:
            return None
        return Mix(
            seconds=self.seconds,
            shares={emotion: value / self.seconds for emotion, value in zip(EMOTIONS, self.weighted, strict=True)},
        )


def quarters_in(*, user_id: int, start: datetime, end: datetime) -> QuerySet[MoodQuarter]:
    """The user's quarter-hour sums in [start, end) (local midnights are whole quarter hours)."""
    return MoodQuarter.objects.filter(user_id=user_id, start__gte=start, start__lt=end)


def _quarter_sums() -> dict[str, Any]:
    return {"total_seconds": Sum("seconds")} | {f"{emotion}_weighted": Sum(emotion) for emotion in EMOTIONS}


def hourly_sums(*, user_id: int, span: Span) -> dict[datetime, Sums]:
    """One ``GROUP BY`` local clock hour over the span's quarter-hour rollup: {naive local hour: sums}.

    Everything a report shows (hours, days, weeks, weekday x hour, the total) adds up from
    these at most 24 x 366 rows. The two 02:00 hours of a fall-back night are one local clock
    hour; the missing hour of a spring-forward night has no row.
    """
    rows = (
        quarters_in(user_id=user_id, start=span.start, end=span.end)
        .order_by()
        .annotate(key=TruncHour("start", tzinfo=span.tz))
        .values("key")
        .annotate(**_quarter_sums())
        .values_list("key", "total_seconds", *(f"{emotion}_weighted" for emotion in EMOTIONS))
    )
    # The ORM's SQL, read without its per-value converters: a year is 2,920 rows of 9 values, and
    # converting each (the key made aware, then made naive again here) cost as much as the query.
    # Both databases hand back the local clock hour itself: Postgres a naive timestamp, SQLite text.
    sql, params = rows.query.sql_with_params()
    with connections[rows.db].cursor() as cursor:
        cursor.execute(sql, params)
        fetched = cursor.fetchall()
    result: dict[datetime, Sums] = {}
    for key, seconds, *weighted in fetched:
        if seconds:
            hour = _naive_local_hour(key, span.tz)
            result[hour] = Sums(seconds=float(seconds), weighted=tuple(float(value) for value in weighted))
    return result


def _naive_local_hour(key: datetime | str, tz: tzinfo) -> datetime:
    """``TruncHour(..., tzinfo=tz)`` as the database returned it, as a naive local clock hour."""
    hour = datetime.fromisoformat(key) if isinstance(key, str) else key
    return hour.astimezone(tz).replace(tzinfo=None) if hour.tzinfo is not None else hour


def fold(hourly: dict[datetime, Sums], key: Callable[[datetime], K]) -> dict[K, Sums]:
    """Hourly sums added up under ``key(hour)`` (a day, a week's Monday, a weekday and hour...)."""
    totals: dict[K, list[float]] = {}
    for hour, sums in hourly.items():
        group = key(hour)
        total = totals.get(group)
        if total is None:
            totals[group] = [sums.seconds, *sums.weighted]
        else:
            total[0] += sums.seconds
            for index, value in enumerate(sums.weighted, start=1):
                total[index] += value
    return {group: Sums(seconds=total[0], weighted=tuple(total[1:])) for group, total in totals.items()}


def bucket_of(hour: datetime, bucket: Bucket) -> datetime | date:
    if bucket == "hour":
        return hour
    if bucket == "day":
        return hour.date()
    return hour.date() - timedelta(days=hour.weekday())


def mixes(folded: dict[K, Sums]) -> dict[K, Mix]:
    return {key: mix for key, sums in folded.items() if (mix := sums.mix()) is not None}


def mix_by_bucket(*, user_id: int, span: Span, bucket: Bucket) -> dict[datetime | date, Mix]:
    """The mix per local hour (naive local datetime), day (date) or ISO week (its Monday, a date)."""
    hourly = hourly_sums(user_id=user_id, span=span)
    return mixes(fold(hourly, lambda hour: bucket_of(hour, bucket)))


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
    return mixes(fold(hourly_sums(user_id=user_id, span=span), lambda hour: hour.date()))


@dataclass(frozen=True)
class Cell:
    """One weekday x hour cell: observed seconds and the shares of happiness and sadness."""

    seconds: float
    happy: float
    sad: float

    @property
    def minutes(self) -> int:
        return round(self.seconds / 60)


def weekday_hour(hourly: dict[datetime, Sums]) -> dict[tuple[int, int], Cell]:
    """Cells keyed (ISO weekday 1-7, local hour 0-23)."""
    cells: dict[tuple[int, int], Cell] = {}
    for key, sums in fold(hourly, lambda hour: (hour.isoweekday(), hour.hour)).items():
        mix = sums.mix()
        if mix is not None:
            cells[key] = Cell(seconds=mix.seconds, happy=mix.shares["happy"], sad=mix.shares["sad"])
    return cells


def hours_of_day(cells: Iterable[tuple[tuple[int, int], Cell]]) -> dict[int, Cell]:
    """Weekday x hour cells folded into hours of the day (seconds-weighted)."""
    totals: dict[int, list[float]] = {}
    for (_, hour), cell in cells:
        seconds, happy, sad = totals.setdefault(hour, [0.0, 0.0, 0.0])
        totals[hour] = [seconds + cell.seconds, happy + cell.happy * cell.seconds, sad + cell.sad * cell.seconds]
    return {hour: Cell(seconds=s, happy=h / s, sad=d / s) for hour, (s, h, d) in totals.items() if s > 0}
