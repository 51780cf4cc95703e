"""Accuracy, per-class recall and the confusion matrix of a model on labelled faces."""

from __future__ import annotations

from typing import Any

import numpy as np

from inference.datasets import LabeledFaces
from inference.emotions import EMOTIONS
from inference.network import FaceScorer


def summarise(labels: np.ndarray, predicted: np.ndarray, skipped: list[str] | None = None) -> dict[str, Any]:
    """The report printed by ``evaluate_emotion_model --json``."""
    k = len(EMOTIONS)
    confusion = np.zeros((k, k), dtype=np.int64)
    np.add.at(confusion, (labels.astype(np.int64), predicted.astype(np.int64)), 1)
    per_class = {}
    for i, emotion in enumerate(EMOTIONS):
        n = int(confusion[i].sum())
        per_class[emotion] = {"recall": float(confusion[i, i] / n) if n else 0.0, "n": n}
    n_total = int(confusion.sum())
    return {
        "accuracy": float(np.trace(confusion) / n_total) if n_total else 0.0,
        "n": n_total,
        "per_class": per_class,
        "confusion": confusion.tolist(),
        "skipped": list(skipped or []),
    }


def evaluate(scorer: FaceScorer, data: LabeledFaces) -> dict[str, Any]:
    scores = scorer.score(data.images)
    return summarise(data.labels, scores.argmax(axis=1), data.skipped)
