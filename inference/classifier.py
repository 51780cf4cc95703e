"""The classifier API the platform calls: frame bytes in, one ``FrameResult`` per frame out.

``classify_frames`` decodes each frame, finds the largest face, and scores all the faces of
the batch in one call of the served model (``inference.serving``: LiteRT, no TensorFlow; the
scores are calibrated probabilities). It is thread-safe (one interpreter per thread) and works
in the web process (thread pool) and in worker processes, which load it after fork
(``moods.stream.tasks``). Frames stay in memory.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from common.lazy import Lazy
from inference.blazeface import BlazeFaceDetector
from inference.emotions import EMOTIONS
from inference.faces import CROP_MARGIN, Box, FaceDetector, crop_face
from inference.images import FrameError, FrameErrorCode, FrameLimits, decode_grayscale
from inference.serving import Scorer, load_scorer


@dataclass(frozen=True)
class FrameResult:
    face: bool
    box: Box | None = None
    scores: dict[str, float] | None = None
    dominant: str | None = None
    error: FrameErrorCode | None = None


class StageObserver(Protocol):
    """Told how long each stage of the frame path took (a worker's metrics); seconds."""

    def batch(self, frames: int) -> None: ...
    def decoded(self, seconds: float) -> None: ...
    def detected(self, seconds: float) -> None: ...
    def scored(self, seconds: float, *, faces: int) -> None: ...


def scores_by_emotion(row: np.ndarray) -> dict[str, float]:
    return {emotion: round(float(value), 6) for emotion, value in zip(EMOTIONS, row, strict=True)}


class EmotionClassifier:
    def __init__(
        self,
        scorer: Scorer,
        *,
        detector: FaceDetector | None = None,
        limits: FrameLimits | None = None,
        crop_margin: float = CROP_MARGIN,
    ) -> None:
        self.scorer = scorer
        self.detector = detector or BlazeFaceDetector()
        self.limits = limits or FrameLimits()
        # Settable so that evaluations can measure other margins through this very frame path.
        self.crop_margin = crop_margin

    @classmethod
    def from_weights(
        cls, path: Path, *, limits: FrameLimits | None = None, crop_margin: float = CROP_MARGIN
    ) -> EmotionClassifier:
        """From the served ``.tflite`` file, or from Keras ``.weights.h5`` (imports TensorFlow)."""
        return cls(load_scorer(path), limits=limits, crop_margin=crop_margin)

    def classify_frames(self, frames: Sequence[bytes], *, stages: StageObserver | None = None) -> list[FrameResult]:
        """One result per frame; ``stages``, when given, hears each stage's time (a clock read per stage)."""
        results: list[FrameResult | None] = [None] * len(frames)
        crops: list[np.ndarray] = []
        found: list[tuple[int, Box]] = []
        if stages is not None:
            stages.batch(len(frames))
        for index, data in enumerate(frames):
            started = time.perf_counter() if stages is not None else 0.0
            try:
                gray = decode_grayscale(data, self.limits)
            except FrameError as exc:
                results[index] = FrameResult(face=False, error=exc.code)
                continue
            if stages is not None:
                decoded = time.perf_counter()
                stages.decoded(decoded - started)
            box = self.detector.find_face(gray)
            if stages is not None:
                stages.detected(time.perf_counter() - decoded)
            if box is None:
                results[index] = FrameResult(face=False)
                continue
            crops.append(crop_face(gray, box, margin=self.crop_margin))
            found.append((index, box))
        if crops:
            started = time.perf_counter() if stages is not None else 0.0
            scores = self.scorer.score(np.stack(crops))
            if stages is not None:
                stages.scored(time.perf_counter() - started, faces=len(crops))
            for (index, box), row in zip(found, scores, strict=True):
                results[index] = FrameResult(
                    face=True, box=box, scores=scores_by_emotion(row), dominant=EMOTIONS[int(row.argmax())]
                )
        return [result for result in results if result is not None]


def _configured_classifier() -> EmotionClassifier:
    from django.conf import settings

    return EmotionClassifier.from_weights(
        Path(settings.SMILE_EMOTION_WEIGHTS),
        limits=FrameLimits(
            max_bytes=settings.SMILE_MAX_FRAME_BYTES,
            max_width=settings.SMILE_MAX_FRAME_WIDTH,
            max_height=settings.SMILE_MAX_FRAME_HEIGHT,
        ),
    )


_classifier: Lazy[EmotionClassifier] = Lazy(_configured_classifier)


def get_classifier() -> EmotionClassifier:
    """The process's classifier, loaded once from the configured model (``SMILE_EMOTION_WEIGHTS``)."""
    return _classifier.get()


def classify_frames(frames: Sequence[bytes], *, stages: StageObserver | None = None) -> list[FrameResult]:
    """One result per frame, in order: an error code, no face, or seven scores summing to 1."""
    return get_classifier().classify_frames(frames, stages=stages)
