"""Accuracy, per-class recall, the confusion matrix and the calibration of a model on labelled faces."""

from __future__ import annotations

from typing import Any

import numpy as np

from inference.emotions import EMOTIONS
from inference.research.calibration import expected_calibration_error, reliability
from inference.research.datasets import LabeledFaces
from inference.serving import Scorer

LABEL_SOURCES = ("fer2013", "ferplus")


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


def report_scores(
    scores: np.ndarray,
    fer_labels: np.ndarray,
    ferplus_labels: np.ndarray | None = None,
    skipped: list[str] | None = None,
) -> dict[str, Any]:
    """The full report for scores of faces with FER-2013 labels and, optionally, FER+ majorities.

    With ``ferplus_labels`` (-1: no majority among the seven), accuracy, recall, confusion and
    ECE are against the FER+ majority on the faces that have one, and ``fer2013`` gives the
    FER-2013-label accuracy on every face beside it. ``reliability`` holds the diagram's bins.
    """
    predicted = scores.argmax(axis=1)
    if ferplus_labels is None:
        report = summarise(fer_labels, predicted, skipped)
        report["labels"] = "fer2013"
        chosen, labels = np.ones(len(fer_labels), dtype=bool), fer_labels.astype(np.int64)
    else:
        chosen = ferplus_labels >= 0
        labels = ferplus_labels[chosen].astype(np.int64)
        report = summarise(labels, predicted[chosen], skipped)
        report["labels"] = "ferplus"
        report["fer2013"] = {"accuracy": float((predicted == fer_labels).mean()), "n": len(fer_labels)}
    report["ece"] = expected_calibration_error(scores[chosen], labels)
    report["reliability"] = reliability(scores[chosen], labels)
    return report


def evaluate(scorer: Scorer, data: LabeledFaces, ferplus_labels: np.ndarray | None = None) -> dict[str, Any]:
    scores = scorer.score(data.images)
    if ferplus_labels is None:
        return summarise(data.labels, scores.argmax(axis=1), data.skipped)
    return report_scores(scores, data.labels, ferplus_labels, data.skipped)
