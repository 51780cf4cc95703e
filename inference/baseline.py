"""A person's resting face: the baseline built from a short calibration, and the adjustment it makes.

The model reads the population: a face that FER-2013's raters would call neutral. Some people's
resting face reads sadder (or angrier) than that, all day. A calibration watches a person at
rest for a few seconds and keeps a handful of numbers: the mean log-score of each expression
over the frames (never an image). The adjustment then works in log-odds against neutral, where
the network's own evidence adds up:

- ``excess[c] = max(0, person[c] - population[c])``: how much more the person's resting face
  reads as expression ``c`` (relative to neutral) than the population's neutral faces do, where
  ``population[c]`` is the upper quartile over those faces: neutral faces vary, and a resting
  face within the range of three in four of the population's is left alone;
- a frame's log-odds of ``c`` lose that excess, and the seven are renormalised (softmax), that
  is each score is multiplied by ``exp(-excess[c])`` and the seven are scaled to sum to 1.

So the person's resting face reads like an ordinary neutral face of the population on every
expression it over-reads, while an expression keeps the whole distance it moves away from the
person's resting face: a sad-looking resting face no longer reads sad, a real frown still does.
The correction is one-sided: a resting face that reads more neutral than the population's is
left alone, so a baseline never makes anyone read *more* expressive than the model says. (Lifting
calm resting faces too was measured on JAFFE: it reads more of its posed faces right, but only by
reading angry, disgusted and fearful faces as sad; docs/model.md, "A two-sided baseline".)

A calibration is refused when it saw too few faces, or a face that was clearly not at rest
(mostly happy or surprised, or held on one expression): a baseline of that would hide the
person's real expressions. This module knows no users, no storage and no stream.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Literal

import numpy as np

from inference.emotions import EMOTIONS

NEUTRAL: Final = EMOTIONS.index("neutral")
# Scores are floored here before taking logs: the network's softmax never says "impossible".
SCORE_FLOOR: Final = 1e-4

# Which quantile of the population's neutral faces (per expression) a resting face may reach
# before it is corrected. The mean of the faces read neutral, tried first, cost 1 to 4 points of
# expressive accuracy on JAFFE's leave-one-out baselines with both the v1 and the v2 model
# (borderline expressions of people a little above it flipped to neutral); the median up to 4.
REFERENCE_QUANTILE: Final = 0.75

# The population's neutral face, as log-odds of each expression against neutral (EMOTIONS
# order): the upper quartile over the 607 FER-2013 PublicTest neutral faces, scored by the
# served model (v2, inference/weights/emotion_model.tflite), with ``population_reference``
# (``manage.py baseline_reference`` prints it). Its reading (softmax) is 12% sad, 2% happy, 86%
# neutral. Recompute it whenever the served model changes.
POPULATION_NEUTRAL: Final[tuple[float, ...]] = (-5.752, -7.931, -8.273, -3.874, -2.004, -6.498, 0.0)

# A calibration needs this many frames with a face (about 20 s at the default 1 frame/s leaves room).
MIN_CALIBRATION_FACES: Final = 10
# Happy or surprise are not a resting face: their mean share above this refuses the calibration.
MAX_RESTING_SMILE: Final = 0.5
# Nor is a face held on one expression: any expression's mean share above this refuses it.
MAX_RESTING_EXPRESSION: Final = 0.8
_NOT_RESTING: Final = (EMOTIONS.index("happy"), EMOTIONS.index("surprise"))

RefusalCode = Literal["too_few_faces", "not_at_rest"]

REFUSAL_MESSAGES: Final[dict[str, str]] = {
    "too_few_faces": ("Too few frames showed a face. Sit facing the camera in good light, then calibrate again."),
    "not_at_rest": (
        "Your face did not look at rest (for example, you were smiling). "
        "Look at the screen as you do when working, then calibrate again."
    ),
}


class CalibrationRefused(ValueError):
    """The frames cannot make a baseline; ``code`` says why, ``str()`` says it to a person."""

    def __init__(self, code: RefusalCode) -> None:
        super().__init__(REFUSAL_MESSAGES[code])
        self.code: RefusalCode = code


@dataclass(frozen=True)
class Baseline:
    """A person's resting face: the mean log-score of each expression (EMOTIONS order) and over how many faces."""

    log_scores: tuple[float, ...]
    faces: int

    def __post_init__(self) -> None:
        if len(self.log_scores) != len(EMOTIONS):
            raise ValueError(f"a baseline has {len(EMOTIONS)} log-scores, got {len(self.log_scores)}")
        if not all(math.isfinite(value) for value in self.log_scores):
            raise ValueError("a baseline's log-scores must be finite")
        if self.faces < 1:
            raise ValueError("a baseline rests on at least one face")

    def excess(self, reference: Sequence[float] = POPULATION_NEUTRAL) -> np.ndarray:
        """How much more than ``reference`` each expression reads on this resting face (log-odds, >= 0)."""
        person = np.asarray(self.log_scores, dtype=np.float64)
        excess: np.ndarray = np.maximum(0.0, (person - person[NEUTRAL]) - np.asarray(reference, dtype=np.float64))
        return excess

    def resting_reading(self) -> np.ndarray:
        """The resting face's reading: the normalised geometric mean of the calibration's scores."""
        reading: np.ndarray = _softmax(np.asarray(self.log_scores, dtype=np.float64))
        return reading


def log_scores(scores: np.ndarray) -> np.ndarray:
    """Natural logs of scores floored at ``SCORE_FLOOR`` (any shape)."""
    logs: np.ndarray = np.log(np.clip(np.asarray(scores, dtype=np.float64), SCORE_FLOOR, 1.0))
    return logs


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    out: np.ndarray = exp / exp.sum(axis=-1, keepdims=True)
    return out


def population_reference(neutral_scores: np.ndarray, *, quantile: float = REFERENCE_QUANTILE) -> tuple[float, ...]:
    """``POPULATION_NEUTRAL`` from scores (N, 7) of a population's neutral faces: per expression, the
    ``quantile`` of the faces' log-odds against neutral."""
    scores = np.asarray(neutral_scores, dtype=np.float64)
    if scores.ndim != 2 or scores.shape[1] != len(EMOTIONS) or not len(scores):
        raise ValueError("expected scores of shape (N, 7) with N >= 1")
    logs = log_scores(scores)
    odds = np.quantile(logs - logs[:, NEUTRAL : NEUTRAL + 1], quantile, axis=0)
    return tuple(round(float(value), 3) for value in odds)


def build_baseline(face_scores: Iterable[Sequence[float]], *, min_faces: int = MIN_CALIBRATION_FACES) -> Baseline:
    """The baseline of the scores (7 each, EMOTIONS order) of a calibration's frames with a face.

    Raises ``CalibrationRefused``: ``too_few_faces`` below ``min_faces``; ``not_at_rest`` when the
    face mostly smiled or looked surprised, or held one expression.
    """
    rows = [list(row) for row in face_scores]
    if len(rows) < max(1, min_faces):
        raise CalibrationRefused("too_few_faces")
    scores = np.asarray(rows, dtype=np.float64)
    if scores.shape[1] != len(EMOTIONS):
        raise ValueError(f"expected {len(EMOTIONS)} scores per face")
    means = scores.mean(axis=0)
    expressive = np.delete(means, NEUTRAL)
    if means[list(_NOT_RESTING)].sum() > MAX_RESTING_SMILE or expressive.max() > MAX_RESTING_EXPRESSION:
        raise CalibrationRefused("not_at_rest")
    mean_logs = log_scores(scores).mean(axis=0)
    return Baseline(log_scores=tuple(float(value) for value in mean_logs), faces=len(rows))


def adjust(
    scores: np.ndarray, baseline: Baseline | None, *, reference: Sequence[float] = POPULATION_NEUTRAL
) -> np.ndarray:
    """Scores (7,) or (N, 7) as the person's baseline reads them; unchanged (a copy) without a baseline."""
    values = np.asarray(scores, dtype=np.float64)
    if values.shape[-1] != len(EMOTIONS):
        raise ValueError(f"expected {len(EMOTIONS)} scores per face")
    if baseline is None:
        return values.copy()
    excess = baseline.excess(reference)
    # softmax(log(p) - excess) without taking logs: a score of 0 stays 0.
    weighted = values * np.exp(-excess)
    total = weighted.sum(axis=-1, keepdims=True)
    if not excess.any() or not np.all(total > 0):
        return values.copy()
    out: np.ndarray = weighted / total
    return out


def adjust_reading(scores: Mapping[str, float], baseline: Baseline | None) -> dict[str, float]:
    """One frame's scores by emotion name, adjusted, rounded like the classifier's (6 digits)."""
    values = np.array([float(scores[emotion]) for emotion in EMOTIONS])
    if baseline is None:
        return {emotion: float(scores[emotion]) for emotion in EMOTIONS}
    adjusted = adjust(values, baseline)
    return {emotion: round(float(value), 6) for emotion, value in zip(EMOTIONS, adjusted, strict=True)}


def unadjust(
    scores: np.ndarray, baseline: Baseline | None, *, reference: Sequence[float] = POPULATION_NEUTRAL
) -> np.ndarray:
    """The inverse of ``adjust``: the model's own scores from ones the baseline adjusted."""
    values = np.asarray(scores, dtype=np.float64)
    if baseline is None:
        return values.copy()
    weighted = values * np.exp(baseline.excess(reference))
    total = weighted.sum(axis=-1, keepdims=True)
    if not np.all(total > 0):
        return values.copy()
    out: np.ndarray = weighted / total
    return out


# A refreshed baseline weighs at most this many faces, so later corrections still move it.
MAX_BASELINE_FACES: Final = 600


def refresh_baseline(baseline: Baseline, reading: Sequence[float], *, faces: int) -> Baseline:
    """The baseline with one more stretch of resting face folded in: a window the user said was neutral,
    as the model read it (mean scores over ``faces`` frames). Its log-scores join the mean with weight
    ``faces``; the old baseline keeps at most ``MAX_BASELINE_FACES`` minus those.

    Raises ``CalibrationRefused`` (``not_at_rest``) for a reading no resting face gives (mostly a smile,
    or one expression held): a "neutral" label does not make it one.
    """
    if faces < 1:
        raise CalibrationRefused("too_few_faces")
    row = np.asarray(reading, dtype=np.float64)
    if row.shape != (len(EMOTIONS),):
        raise ValueError(f"expected {len(EMOTIONS)} scores")
    if row[list(_NOT_RESTING)].sum() > MAX_RESTING_SMILE or np.delete(row, NEUTRAL).max() > MAX_RESTING_EXPRESSION:
        raise CalibrationRefused("not_at_rest")
    new_weight = min(faces, MAX_BASELINE_FACES // 2)
    old_weight = min(baseline.faces, MAX_BASELINE_FACES - new_weight)
    mean = (np.asarray(baseline.log_scores) * old_weight + log_scores(row) * new_weight) / (old_weight + new_weight)
    return Baseline(log_scores=tuple(float(value) for value in mean), faces=old_weight + new_weight)


def dominant(scores: Mapping[str, float]) -> str:
    """The highest score; a tie goes to the first emotion in EMOTIONS order."""
    return max(EMOTIONS, key=lambda emotion: scores[emotion])
