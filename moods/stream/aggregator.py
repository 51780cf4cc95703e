"""Per-connection mood windows: frame results in, one aggregate per window out.

The aggregator holds counts and score sums only, never a frame. A window starts with the
first frame after a silence and then windows follow each other without gaps while frames
keep coming: ``close(now)`` ends the current window at ``now`` and starts the next one
there. The caller (the stream consumer) closes a window when ``due`` on a timer and on each
frame, so windows last ``window_seconds`` (plus the timer's lateness). ``flush`` ends the
connection's last window early and keeps it only if it saw a face.

Not thread-safe: one aggregator belongs to one connection, used from its event loop.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final
from uuid import UUID, uuid4

from django.utils import timezone

from inference.emotions import EMOTIONS
from moods.stream.config import stream_config

# Means are stored and sent with the classifier's precision.
SCORE_DIGITS = 6
MIN_DURATION = timedelta(microseconds=1)


@dataclass(frozen=True)
class ClosedWindow:
    start: datetime
    end: datetime
    frames: int
    faces: int
    # Mean score per emotion (in ``EMOTIONS`` order) over the frames with a face; None without a face.
    scores: dict[str, float] | None
    dominant: str | None
    # Set by the consumer when the user's personal baseline adjusted the window's frames.
    baseline_applied: bool = False
    # The window's identity, stored with it: a write retried after its commit's reply was lost
    # finds the window already there instead of storing it twice (``moods.stream.windows``).
    key: UUID = field(default_factory=uuid4, compare=False)

    @property
    def uncertain(self) -> bool:
        """Too few faces, or too little confidence, to say (see ``is_uncertain``)."""
        return is_uncertain(faces=self.faces, scores=self.scores)


# A window needs this many frames with a face, and its top mean score this much, to say anything.
MIN_CERTAIN_FACES: Final = 3
MIN_CERTAIN_SCORE: Final = 0.4


def is_uncertain(*, faces: int, scores: Mapping[str, float] | None) -> bool:
    """Whether a window is "not sure": fewer than ``MIN_CERTAIN_FACES`` faces, or no expression at
    ``MIN_CERTAIN_SCORE`` (a mix the model cannot tell apart)."""
    return faces < MIN_CERTAIN_FACES or scores is None or max(scores.values()) < MIN_CERTAIN_SCORE


def mean_scores(sums: Mapping[str, float], faces: int) -> dict[str, float]:
    """Means clamped to [0, 1]: float sums of values up to 1 may overshoot by an ulp."""
    return {emotion: round(min(1.0, max(0.0, sums[emotion] / faces)), SCORE_DIGITS) for emotion in EMOTIONS}


def dominant_emotion(scores: Mapping[str, float]) -> str:
    """The highest mean; a tie goes to the first emotion in ``EMOTIONS`` order."""
    return max(EMOTIONS, key=lambda emotion: scores[emotion])


class WindowAggregator:
    def __init__(
        self,
        *,
        window_seconds: int | None = None,
        clock: Callable[[], datetime] = timezone.now,
    ) -> None:
        self.length = timedelta(
            seconds=window_seconds if window_seconds is not None else stream_config().window_seconds
        )
        self.clock = clock
        self.start: datetime | None = None
        self._reset()

    def _reset(self) -> None:
        self.frames = 0
        self.faces = 0
        self._sums = dict.fromkeys(EMOTIONS, 0.0)

    def add(self, result_scores: Mapping[str, float] | None, at: datetime | None = None) -> None:
        """Count one answered frame; ``result_scores`` are its seven scores, or None without a face."""
        # Read all seven first: scores missing an emotion raise KeyError and change nothing.
        values = None if result_scores is None else [float(result_scores[emotion]) for emotion in EMOTIONS]
        if self.start is None:
            self.start = self._now(at)
        self.frames += 1
        if values is not None:
            self.faces += 1
            for emotion, value in zip(EMOTIONS, values, strict=True):
                self._sums[emotion] += value

    def due(self, now: datetime | None = None) -> bool:
        """Whether the current window has lasted its full length."""
        return self.start is not None and self._now(now) >= self.start + self.length

    def close(self, now: datetime | None = None) -> ClosedWindow | None:
        """End the current window at ``now``; None when it holds no frame (the next starts with a frame)."""
        now = self._now(now)
        window = self._window(now)
        self.start = now if window is not None else None
        self._reset()
        return window

    def flush(self, now: datetime | None = None) -> ClosedWindow | None:
        """End the last window (disconnect, pause): kept only if at least one frame had a face."""
        window = self._window(self._now(now))
        self.start = None
        self._reset()
        return window if window is not None and window.faces else None

    def _now(self, now: datetime | None) -> datetime:
        return self.clock() if now is None else now

    def _window(self, end: datetime) -> ClosedWindow | None:
        if self.start is None or not self.frames:
            return None
        scores = mean_scores(self._sums, self.faces) if self.faces else None
        return ClosedWindow(
            start=self.start,
            # A window always has a duration, even one closed at its first frame's instant.
            end=max(end, self.start + MIN_DURATION),
            frames=self.frames,
            faces=self.faces,
            scores=scores,
            dominant=dominant_emotion(scores) if scores else None,
        )
