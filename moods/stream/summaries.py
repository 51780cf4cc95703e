"""Private mode: a closed window's summary from the user's own computer, checked and stored.

A device in private mode reads its frames itself (the extension's offscreen document) and sends
only each closed window: ``{"type": "summary", "v": 1, "key", "start", "end", "frames", "faces",
"scores", "uncertain", "baseline"}`` (``docs/protocol.md``, "Private mode"). The server cannot see
the frames, so it checks everything it can: the protocol version, the types and sizes, seven
scores that form a distribution, counts and a duration that the device's frame rate allows, the
"not sure" flag against the window rules, no window from the future or too old, and, when
storing, no window twice (its key) and no window overlapping one already stored for the device.
``check_summary`` is pure; ``store_summary`` writes the window exactly as the stream stores the
windows it closes itself (``windows.create_event``) and then runs the encouragement rule.
"""

from __future__ import annotations

import logging
import math
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from django.db import DatabaseError, transaction

from accounts.models import Device
from inference.emotions import EMOTIONS
from moods.encouragement.services import maybe_encourage
from moods.models import MoodEvent
from moods.stream import messages
from moods.stream.aggregator import SCORE_DIGITS, ClosedWindow, dominant_emotion, is_uncertain
from moods.stream.messages import SummaryErrorCode
from moods.stream.windows import create_event

logger = logging.getLogger(__name__)

PROTOCOL_VERSION: Final = 1
# The seven means must sum to 1 within this (each is rounded to 6 digits: 7 roundings <= 3.5e-6).
SUM_TOLERANCE: Final = 1e-3
# A window may end this much past the window length (the client's timer is late, like the server's).
DURATION_SLACK: Final = timedelta(seconds=5)
# Clocks differ: a window may end this far in the server's future.
CLOCK_SKEW: Final = timedelta(seconds=5)
# Windows kept on the computer while the server was unreachable are taken for this long.
MAX_AGE: Final = timedelta(days=1)
# ISO 8601 timestamps longer than this are not the ones a client writes.
MAX_TIMESTAMP_CHARS: Final = 40
# Stored keys are derived per device: a key sent by one device can never name another's window.
KEY_NAMESPACE: Final = uuid.UUID("3b0c7c0e-4f59-4d0a-9a51-5e1b2f3c6d7e")


@dataclass(frozen=True)
class Refusal:
    """Why a summary is refused: a fixed ``code`` for programs, a sentence for people and logs."""

    code: SummaryErrorCode
    detail: str
    key: str | None = None


@dataclass(frozen=True)
class Summary:
    """A checked summary: the client's key (as sent) and the window it stands for."""

    key: str
    window: ClosedWindow


def stored_key(*, device_id: int, key: str) -> uuid.UUID:
    """The ``MoodEvent.window_key`` of a device's summary key (unique per device, never shared)."""
    return uuid.uuid5(KEY_NAMESPACE, f"{device_id}/{key}")


def _timestamp(value: object) -> datetime | None:
    if not isinstance(value, str) or len(value) > MAX_TIMESTAMP_CHARS:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _count(value: object) -> int | None:
    return value if type(value) is int and 0 <= value <= 1_000_000 else None


def _scores(value: object) -> dict[str, float] | str:
    """The seven means, or why they are not a distribution."""
    if not isinstance(value, Mapping) or set(value) != set(EMOTIONS):
        return f"scores must be an object with exactly the seven emotions: {', '.join(EMOTIONS)}."
    scores: dict[str, float] = {}
    for emotion in EMOTIONS:
        number = value[emotion]
        if type(number) not in (int, float) or not math.isfinite(number) or not 0.0 <= number <= 1.0:
            return f"scores.{emotion} must be a number from 0 to 1."
        scores[emotion] = round(float(number), SCORE_DIGITS)
    total = math.fsum(scores.values())
    if abs(total - 1.0) > SUM_TOLERANCE:
        return f"scores must sum to 1 (within {SUM_TOLERANCE}); they sum to {total:.6f}."
    return scores


def check_summary(
    message: Mapping[str, Any], *, window_seconds: int, max_fps: float, now: datetime
) -> Summary | Refusal:
    """A summary message as a window to store, or why it cannot be one (nothing is stored either way)."""
    raw_key = message.get("key")
    key = raw_key if isinstance(raw_key, str) and len(raw_key) <= 36 else None
    if message.get("v") != PROTOCOL_VERSION or type(message.get("v")) is not int:
        return Refusal("unsupported_version", f"This server speaks summary version {PROTOCOL_VERSION}.", key)
    try:
        if key is None or str(uuid.UUID(key)) != key.lower():
            raise ValueError
    except ValueError:
        return Refusal("bad_summary", "key must be a UUID in its 36-character form.", None)
    start, end = _timestamp(message.get("start")), _timestamp(message.get("end"))
    if start is None or end is None:
        return Refusal("bad_summary", "start and end must be ISO 8601 times with a UTC offset.", key)
    frames, faces = _count(message.get("frames")), _count(message.get("faces"))
    if frames is None or faces is None:
        return Refusal("bad_summary", "frames and faces must be whole numbers.", key)
    uncertain, baseline = message.get("uncertain"), message.get("baseline")
    if not isinstance(uncertain, bool) or not isinstance(baseline, bool):
        return Refusal("bad_summary", "uncertain and baseline must be true or false.", key)
    scores = _scores(message.get("scores"))
    if isinstance(scores, str):
        return Refusal("bad_scores", scores, key)
    # What a device's frame rate allows: a window that lasted its length at most (plus a late
    # timer), at least one frame with a face (windows without one are never stored), and no more
    # frames than max_fps over its duration (plus the burst a token bucket allows).
    duration = end - start
    if duration <= timedelta(0) or duration > timedelta(seconds=window_seconds) + DURATION_SLACK:
        return Refusal(
            "impossible_window", f"A window lasts more than 0 and at most {window_seconds} seconds (+5).", key
        )
    if faces < 1 or faces > frames:
        return Refusal(
            "impossible_window", "A summary needs 1 to frames faces (windows without a face are not sent).", key
        )
    allowed = math.floor(max_fps * duration.total_seconds()) + max(1, math.ceil(max_fps))
    if frames > allowed:
        return Refusal(
            "impossible_window",
            f"{frames} frames in {duration.total_seconds():.1f} s is over the device's {max_fps:g} frames/s.",
            key,
        )
    if uncertain != is_uncertain(faces=faces, scores=scores):
        return Refusal(
            "impossible_window", "uncertain does not follow the window rules for these faces and scores.", key
        )
    if end > now + CLOCK_SKEW:
        return Refusal("window_in_future", "The window ends in the future: check the computer's clock.", key)
    if start < now - MAX_AGE:
        return Refusal("window_too_old", "Windows older than a day are not taken.", key)
    window = ClosedWindow(
        start=start,
        end=end,
        frames=frames,
        faces=faces,
        scores=scores,
        dominant=dominant_emotion(scores),
        baseline_applied=baseline,
    )
    return Summary(key=key, window=window)


def check_calibration_faces(value: object, *, max_faces: int) -> list[list[float]] | Refusal:
    """A private-mode calibration's raw scores: 1 to ``max_faces`` rows, each seven scores summing to 1."""
    if not isinstance(value, list) or not 1 <= len(value) <= max_faces:
        return Refusal("bad_summary", f"faces must be a list of 1 to {max_faces} readings.")
    rows = []
    for row in value:
        if not isinstance(row, list) or len(row) != len(EMOTIONS):
            return Refusal("bad_scores", f"each reading must be a list of {len(EMOTIONS)} scores.")
        scores = _scores(dict(zip(EMOTIONS, row, strict=True)))
        if isinstance(scores, str):
            return Refusal("bad_scores", scores)
        rows.append([scores[emotion] for emotion in EMOTIONS])
    return rows


@dataclass(frozen=True)
class Stored:
    """A summary stored: the window as stored, and the ``encourage`` message if the rule fired."""

    key: str
    window: ClosedWindow
    encourage: messages.Encourage | None


def store_summary(*, user_id: int, device_id: int, summary: Summary, now: datetime) -> Stored | Refusal:
    """Store a checked summary as the device's ``MoodEvent`` (all of it or nothing), then apply the rule.

    Refused when the device already stored this key (``already_stored``: a resend after a lost
    answer; the client drops it as saved), when it overlaps a window stored for the device
    (``window_overlaps``), when the device left private mode meanwhile, or when the database
    fails (``unavailable``: the client keeps the window and sends it again later).
    """
    key = stored_key(device_id=device_id, key=summary.key)
    window = ClosedWindow(
        start=summary.window.start,
        end=summary.window.end,
        frames=summary.window.frames,
        faces=summary.window.faces,
        scores=summary.window.scores,
        dominant=summary.window.dominant,
        baseline_applied=summary.window.baseline_applied,
        key=key,
    )
    try:
        with transaction.atomic():
            # The device's row lock: two sockets of one device cannot both store overlapping windows.
            device = Device.objects.select_for_update().filter(pk=device_id, user_id=user_id).first()
            if device is None or device.mode != Device.Mode.PRIVATE:
                return Refusal("not_private_mode", "This device reads frames on the server.", summary.key)
            if MoodEvent.objects.filter(window_key=key).exists():
                return Refusal("already_stored", "This window is already stored.", summary.key)
            overlapping = MoodEvent.objects.filter(
                device_id=device_id, started_at__lt=window.end, ended_at__gt=window.start
            ).exists()
            if overlapping:
                return Refusal(
                    "window_overlaps", "A window of this device already covers part of this time.", summary.key
                )
            create_event(user_id=user_id, device_id=device_id, window=window)
    except DatabaseError as exc:
        logger.warning("summary of user %s not stored: %s", user_id, type(exc).__name__)
        return Refusal("unavailable", "The window could not be stored now; send it again later.", summary.key)
    try:
        encouragement = maybe_encourage(user_id=user_id, now=now)
    except DatabaseError as exc:  # the window is stored; this window's nudge is missed, the next may fire
        logger.warning("encouragement rule for user %s not run: %s", user_id, type(exc).__name__)
        encouragement = None
    encourage = None if encouragement is None else messages.encourage(encouragement)
    return Stored(key=summary.key, window=window, encourage=encourage)
