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

from accounts.models import Device
from inference.emotions import EMOTIONS
from moods.history.selectors import local_midnight
from moods.models import Encouragement, MoodEvent, PersonalBaseline, SelfReport

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
    "baseline_applied",
    "uncertain",
    # When the user said a self-report or correction (a correction's row is at its window's moment).
    "said_at",
)
EVENT_FIELDS = (
    "started_at",
    "ended_at",
    "seconds",
    "frames",
    "faces",
    *EMOTIONS,
    "dominant",
    "device__name",
    "baseline_applied",
    "uncertain",
)
SELF_REPORT_FIELDS = ("felt_at", "created_at", "emotion", "note", "event__started_at", "event__ended_at")
ENCOURAGEMENT_FIELDS = ("sent_at", "message", "trigger", "includes_resources", "feedback", "feedback_at")
# A spreadsheet runs a cell that starts with one of these as a formula (OWASP "CSV injection").
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> object:
    """Text as a spreadsheet shows it, never as a formula: a leading quote defuses one."""
    return "'" + value if isinstance(value, str) and value.startswith(FORMULA_PREFIXES) else value


def _row(values: list[Any]) -> list[Any]:
    """A data row whose text cells (device names, messages, notes) cannot run as formulas, as long as
    the header (a row that leaves the last columns out has them empty)."""
    return [_cell(value) for value in values] + [""] * (len(CSV_COLUMNS) - len(values))


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


def _devices(user_id: int) -> list[tuple[Any, ...]]:
    # A person has a handful of devices: read at once, oldest first.
    return list(
        Device.objects.filter(user_id=user_id)
        .order_by("created_at", "id")
        .values_list("name", "created_at", "revoked_at", "mode")
    )


def _local(moment: datetime | None, tz: tzinfo) -> str:
    return "" if moment is None else moment.astimezone(tz).isoformat()


def export_csv(*, user_id: int, tz: tzinfo, first: date | None = None, last: date | None = None) -> Iterator[str]:
    """One CSV: a header, one ``mood`` row per stored window, one ``encouragement`` row per nudge, then the
    user's ``self_report`` and ``correction`` rows, their ``baseline`` row (its mean log-scores as JSON
    in ``message``) and one ``device`` row per paired device (paired and revoked times, its name, and where
    it reads the face, ``server`` or ``private``, in ``message``)."""
    days = Days(tz=tz, first=first, last=last)
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
    for count, (started, ended, seconds, frames, faces, *rest) in enumerate(_events(user_id, days), start=1):
        scores, dominant, device = rest[: len(EMOTIONS)], rest[len(EMOTIONS)], rest[len(EMOTIONS) + 1]
        baseline_applied, uncertain = rest[len(EMOTIONS) + 2], rest[len(EMOTIONS) + 3]
        writer.writerow(
            _row(
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
                    baseline_applied,
                    uncertain,
                ]
            )
        )
        if count % CHUNK_SIZE == 0:
            yield flush()
    for sent_at, message, trigger, _, feedback, _ in _encouragements(user_id, days):
        empty = [""] * (len(EMOTIONS) + 5)
        writer.writerow(
            _row(["encouragement", _local(sent_at, tz), *empty, "", message, json.dumps(trigger), feedback, "", ""])
        )
    # The user's own word: "self_report" rows at the moment said, "correction" rows at the corrected window
    # (its start and end); ``dominant`` holds what the user felt.
    for felt_at, said_at, emotion, note, _, window_end in _self_reports(user_id, days):
        kind = "correction" if window_end else "self_report"
        empty = [""] * (len(EMOTIONS) + 3)
        writer.writerow(
            _row(
                [
                    kind,
                    _local(felt_at, tz),
                    _local(window_end, tz),
                    *empty,
                    emotion,
                    "",
                    note,
                    "",
                    "",
                    "",
                    "",
                    _local(said_at, tz),
                ]
            )
        )
    baseline = PersonalBaseline.objects.filter(user_id=user_id).first()
    if baseline is not None:
        empty = [""] * len(EMOTIONS)
        row = [
            "baseline",
            _local(baseline.created_at, tz),
            "",
            "",
            "",
            baseline.faces,
            *empty,
            "",
            "",
            "",
            "",
            "",
            "",
            "",
        ]
        row[CSV_COLUMNS.index("message")] = json.dumps(dict(zip(EMOTIONS, baseline.log_scores, strict=True)))
        writer.writerow(_row(row))
    for name, paired_at, revoked_at, mode in _devices(user_id):
        row = [""] * len(CSV_COLUMNS)
        row[0], row[1], row[2] = "device", _local(paired_at, tz), _local(revoked_at, tz)
        row[CSV_COLUMNS.index("device")], row[CSV_COLUMNS.index("message")] = name, mode
        writer.writerow(_row(row))
    yield flush()


def _self_reports(user_id: int, days: Days) -> Iterator[tuple[Any, ...]]:
    reports = SelfReport.objects.filter(user_id=user_id)
    if (bounds := days.bounds()) is not None:
        reports = reports.filter(felt_at__gte=bounds[0], felt_at__lt=bounds[1])
    return reports.order_by("felt_at", "id").values_list(*SELF_REPORT_FIELDS).iterator(chunk_size=CHUNK_SIZE)


def _baseline_json(user_id: int, tz: tzinfo) -> dict[str, Any] | None:
    row = PersonalBaseline.objects.filter(user_id=user_id).first()
    if row is None:
        return None
    return {
        "created_at": _local(row.created_at, tz),
        "faces": row.faces,
        "mean_log_scores": dict(zip(EMOTIONS, row.log_scores, strict=True)),
    }


def export_json(
    *, user_id: int, tz: tzinfo, time_zone: str, first: date | None = None, last: date | None = None
) -> Iterator[str]:
    """One JSON object: ``time_zone`` (and ``first_day``/``last_day`` for a range of days), ``mood_events``,
    ``encouragements``, ``self_reports``, ``personal_baseline`` and ``devices`` (each with its ``mode``:
    where it reads the face), written as it is read."""
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
            "baseline_applied": rest[len(EMOTIONS) + 2],
            "uncertain": rest[len(EMOTIONS) + 3],
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
    yield '],"self_reports":['
    for count, (felt_at, created, emotion, note, window_start, _) in enumerate(_self_reports(user_id, days)):
        report = {
            "felt_at": _local(felt_at, tz),
            "created_at": _local(created, tz),
            "emotion": emotion,
            "note": note,
            "corrects_window_started_at": _local(window_start, tz) or None,
        }
        yield ("," if count else "") + json.dumps(report, separators=(",", ":"))
    devices = [
        {"name": name, "paired_at": _local(paired, tz), "revoked_at": _local(revoked, tz) or None, "mode": mode}
        for name, paired, revoked, mode in _devices(user_id)
    ]
    yield (
        '],"personal_baseline":'
        + json.dumps(_baseline_json(user_id, tz), separators=(",", ":"))
        + ',"devices":'
        + json.dumps(devices, separators=(",", ":"))
        + "}\n"
    )
