"""Exporting the user's data: CSV and JSON, streamed in chunks.

Exports read the database with ``.iterator(chunk_size=...)`` and yield text piece by piece, so a
year of minutes (hundreds of thousands of rows) never sits in memory at once. Times are written
in the user's time zone with their UTC offset (unambiguous, and what the user saw on the site).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import datetime, tzinfo
from typing import Any

from inference.emotions import EMOTIONS
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
# A spreadsheet runs a cell that starts with one of these as a formula (OWASP "CSV injection").
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: str) -> str:
    """Text as a spreadsheet shows it, never as a formula: a leading quote defuses one."""
    return "'" + value if value.startswith(FORMULA_PREFIXES) else value


def _events(user_id: int) -> Iterator[tuple[Any, ...]]:
    return (
        MoodEvent.objects.filter(user_id=user_id)
        .order_by("started_at", "id")
        .values_list(*EVENT_FIELDS)
        .iterator(chunk_size=CHUNK_SIZE)
    )


def _encouragements(user_id: int) -> Iterator[tuple[Any, ...]]:
    return (
        Encouragement.objects.filter(user_id=user_id)
        .order_by("sent_at", "id")
        .values_list(*ENCOURAGEMENT_FIELDS)
        .iterator(chunk_size=CHUNK_SIZE)
    )


def _local(moment: datetime | None, tz: tzinfo) -> str:
    return "" if moment is None else moment.astimezone(tz).isoformat()


def export_csv(*, user_id: int, tz: tzinfo) -> Iterator[str]:
    """One CSV: a header, one ``mood`` row per stored window, then one ``encouragement`` row per nudge."""
    buffer = io.StringIO()
    # RFC 4180 line ends: the writer then quotes any field holding a CR or LF of its own.
    writer = csv.writer(buffer, lineterminator="\r\n")

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(CSV_COLUMNS)
    yield flush()
    for count, (started, ended, seconds, frames, faces, *rest) in enumerate(_events(user_id), start=1):
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
                _cell(device or ""),
                "",
                "",
                "",
            ]
        )
        if count % CHUNK_SIZE == 0:
            yield flush()
    for sent_at, message, trigger, _, feedback, _ in _encouragements(user_id):
        empty = [""] * (len(EMOTIONS) + 5)
        row = ["encouragement", _local(sent_at, tz), *empty, "", message, json.dumps(trigger), feedback]
        writer.writerow([_cell(value) for value in row])
    yield flush()


def export_json(*, user_id: int, tz: tzinfo, time_zone: str) -> Iterator[str]:
    """One JSON object: ``time_zone``, ``mood_events`` and ``encouragements``, written as it is read."""
    yield '{"time_zone":' + json.dumps(time_zone) + ',"mood_events":['
    pieces: list[str] = []
    for count, (started, ended, seconds, frames, faces, *rest) in enumerate(_events(user_id)):
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
    for count, (sent_at, message, trigger, resources, feedback, feedback_at) in enumerate(_encouragements(user_id)):
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
