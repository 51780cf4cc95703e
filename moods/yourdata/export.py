"""Exporting the user's data: CSV and JSON, streamed in chunks, of everything or of local days ``first``..``last``.

Exports read the database with ``.iterator(chunk_size=...)`` and yield text piece by piece, so a
year of minutes (hundreds of thousands of rows) never sits in memory at once. Times are written
in the user's time zone with their UTC offset (unambiguous, and what the user saw on the site).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

from inference.emotions import EMOTIONS
from moods.history.selectors import local_midnight
from moods.models import Encouragement, MoodEvent

CHUNK_SIZE = 2000
CSV_COLUMNS = (
    "kind",
    "started_at",
    "ended_at",
    "seconds",
    "frames",
    "faces",
    *EMOTIONS,
    "dominant",
    "device",
    "message",
    "trigger",
    "feedback",
)
EVENT_FIELDS = ("started_at", "ended_at", "seconds", "frames", "faces", *EMOTIONS, "dominant", "device__name")
ENCOURAGEMENT_FIELDS = ("sent_at", "message", "trigger", "includes_resources", "feedback", "feedback_at")


@dataclass(frozen=True)
class Days:
    """Local days ``first``..``last`` (inclusive) in ``tz``; both None: everything."""

    tz: tzinfo
    first: date | None = None
    last: date | None = None

    def bounds(self) -> tuple[datetime, datetime] | None:
        if self.first is None or self.last is None:
            return None
        return local_midnight(self.first, self.tz), local_midnight(self.last + timedelta(days=1), self.tz)


def _events(user_id: int, days: Days) -> Iterator[tuple[Any, ...]]:
    events = MoodEvent.objects.filter(user_id=user_id)
    if (bounds := days.bounds()) is not None:
        events = events.filter(started_at__gte=bounds[0], started_at__lt=bounds[1])
    return events.order_by("started_at", "id").values_list(*EVENT_FIELDS).iterator(chunk_size=CHUNK_SIZE)


def _encouragements(user_id: int, days: Days) -> Iterator[tuple[Any, ...]]:
    nudges = Encouragement.objects.filter(user_id=user_id)
    if (bounds := days.bounds()) is not None:
        nudges = nudges.filter(sent_at__gte=bounds[0], sent_at__lt=bounds[1])
    return nudges.order_by("sent_at", "id").values_list(*ENCOURAGEMENT_FIELDS).iterator(chunk_size=CHUNK_SIZE)


def _local(moment: datetime | None, tz: tzinfo) -> str:
    return "" if moment is None else moment.astimezone(tz).isoformat()


def export_csv(*, user_id: int, tz: tzinfo, first: date | None = None, last: date | None = None) -> Iterator[str]:
    """One CSV: a header, one ``mood`` row per stored window, then one ``encouragement`` row per nudge."""
    days = Days(tz=tz, first=first, last=last)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(CSV_COLUMNS)
    yield flush()
    for count, (started, ended, seconds, frames, faces, *rest) in enumerate(_events(user_id, days), start=1):
        scores, dominant, device = rest[: len(EMOTIONS)], rest[len(EMOTIONS)], rest[len(EMOTIONS) + 1]
        writer.writerow(
            [
                "mood",
                _local(started, tz),
                _local(ended, tz),
                seconds,
                frames,
                faces,
                *scores,
                dominant,
                device or "",
                "",
                "",
                "",
            ]
        )
        if count % CHUNK_SIZE == 0:
            yield flush()
    for sent_at, message, trigger, _, feedback, _ in _encouragements(user_id, days):
        empty = [""] * (len(EMOTIONS) + 5)
        writer.writerow(["encouragement", _local(sent_at, tz), *empty, "", message, json.dumps(trigger), feedback])
    yield flush()


def export_json(
    *, user_id: int, tz: tzinfo, time_zone: str, first: date | None = None, last: date | None = None
) -> Iterator[str]:
    """One JSON object: ``time_zone`` (and ``first_day``/``last_day`` for a range of days), ``mood_events``
    and ``encouragements``, written as it is read."""
    days = Days(tz=tz, first=first, last=last)
    covered = (
        f',"first_day":"{first.isoformat()}","last_day":"{last.isoformat()}"'
        if days.bounds() and first and last
        else ""
    )
    yield '{"time_zone":' + json.dumps(time_zone) + covered + ',"mood_events":['
    pieces: list[str] = []
    for count, (started, ended, seconds, frames, faces, *rest) in enumerate(_events(user_id, days)):
        event = {
            "started_at": _local(started, tz),
            "ended_at": _local(ended, tz),
            "seconds": seconds,
            "frames": frames,
            "faces": faces,
            "scores": dict(zip(EMOTIONS, rest[: len(EMOTIONS)], strict=True)),
            "dominant": rest[len(EMOTIONS)],
            "device": rest[len(EMOTIONS) + 1],
        }
        pieces.append(("," if count else "") + json.dumps(event, separators=(",", ":")))
        if len(pieces) >= CHUNK_SIZE:
            yield "".join(pieces)
            pieces = []
    yield "".join(pieces) + '],"encouragements":['
    for count, (sent_at, message, trigger, resources, feedback, feedback_at) in enumerate(
        _encouragements(user_id, days)
    ):
        nudge = {
            "sent_at": _local(sent_at, tz),
            "message": message,
            "trigger": trigger,
            "includes_resources": resources,
            "feedback": feedback or None,
            "feedback_at": _local(feedback_at, tz) or None,
        }
        yield ("," if count else "") + json.dumps(nudge, separators=(",", ":"))
    yield "]}\n"
