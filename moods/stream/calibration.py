"""One connection's personal baseline: applied to every scored frame, and rebuilt by a calibration.

The consumer loads the user's baseline once at connect (and takes the new one after a
calibration). ``adjust`` rewrites a frame's scores and dominant with it before the frame is
shown or aggregated. ``start`` begins a calibration: for ``seconds`` the raw scores of the
frames with a face are kept (seven numbers each, never a frame), then ``inference.baseline``
builds the baseline or refuses it. Not thread-safe: one per connection, used from its event loop.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final

from inference.baseline import (
    Baseline,
    CalibrationRefused,
    adjust_reading,
    build_baseline,
    dominant,
)
from inference.emotions import EMOTIONS
from moods.stream import messages
from moods.stream.config import stream_config

CANCELLED_MESSAGE: Final = "Calibration cancelled. Your earlier baseline, if any, is still in use."


@dataclass(frozen=True)
class Finished:
    """A calibration's end: the new baseline, or the refusal to send."""

    baseline: Baseline | None
    refusal: messages.CalibrationRefused | None


class Calibration:
    def __init__(
        self,
        baseline: Baseline | None,
        *,
        seconds: float | None = None,
        min_faces: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.baseline = baseline
        config = stream_config()
        self.seconds = config.calibration_seconds if seconds is None else seconds
        self.min_faces = config.calibration_min_faces if min_faces is None else min_faces
        self.clock = clock
        self.started: float | None = None
        self._faces: list[list[float]] = []
        self._applied = False

    @property
    def collecting(self) -> bool:
        return self.started is not None

    # --- applying -------------------------------------------------------------------------

    def adjust(self, outcome: messages.FrameOutcome) -> messages.FrameOutcome:
        """The frame's outcome as the user's baseline reads it (unchanged without one or without a face)."""
        scores = outcome.get("scores")
        if self.baseline is None or scores is None:
            return outcome
        adjusted = adjust_reading(scores, self.baseline)
        self._applied = True
        return {**outcome, "scores": adjusted, "dominant": dominant(adjusted)}

    def take_applied(self) -> bool:
        """Whether the baseline adjusted a frame since the last call (one window's worth)."""
        applied, self._applied = self._applied, False
        return applied

    # --- calibrating ----------------------------------------------------------------------

    def start(self) -> messages.CalibrationProgress:
        self.started = self.clock()
        self._faces = []
        return messages.calibration_progress(seconds_left=self.seconds, faces=0)

    def cancel(self) -> messages.CalibrationRefused | None:
        if not self.collecting:
            return None
        self.started = None
        self._faces = []
        return messages.calibration_refused(code="cancelled", message=CANCELLED_MESSAGE)

    def observe(self, raw_scores: Mapping[str, float] | None) -> messages.CalibrationProgress | None:
        """Count one answered frame (its raw scores, or None without a face) while calibrating."""
        if self.started is None:
            return None
        if raw_scores is not None:
            self._faces.append([float(raw_scores[emotion]) for emotion in EMOTIONS])
        left = self.started + self.seconds - self.clock()
        return messages.calibration_progress(seconds_left=left, faces=len(self._faces))

    def finish_if_due(self) -> Finished | None:
        """The calibration's outcome once its time is up; None while it runs (or when none does)."""
        if self.started is None or self.clock() < self.started + self.seconds:
            return None
        faces, self._faces, self.started = self._faces, [], None
        try:
            baseline = build_baseline(faces, min_faces=self.min_faces)
        except CalibrationRefused as refused:
            return Finished(
                baseline=None, refusal=messages.calibration_refused(code=refused.code, message=str(refused))
            )
        self.baseline = baseline
        return Finished(baseline=baseline, refusal=None)
