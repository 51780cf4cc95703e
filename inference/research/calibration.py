"""Confidence calibration: expected calibration error, a fitted temperature, a reliability diagram.

NumPy and OpenCV only (OpenCV is already a runtime dependency: no plotting library needed).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np

from inference.serving import calibrate

ECE_BINS = 15


def reliability(probabilities: np.ndarray, labels: np.ndarray, bins: int = ECE_BINS) -> list[dict[str, float]]:
    """Per confidence bin (equal width over 0-1): faces, mean confidence and accuracy of the top class."""
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == labels
    # Bin i holds confidences in (i/bins, (i+1)/bins]; the top class's confidence is at least 1/7.
    index = np.clip(np.ceil(confidence * bins).astype(int) - 1, 0, bins - 1)
    rows = []
    for i in range(bins):
        chosen = index == i
        count = int(chosen.sum())
        rows.append(
            {
                "low": i / bins,
                "high": (i + 1) / bins,
                "n": count,
                "confidence": float(confidence[chosen].mean()) if count else 0.0,
                "accuracy": float(correct[chosen].mean()) if count else 0.0,
            }
        )
    return rows


def expected_calibration_error(probabilities: np.ndarray, labels: np.ndarray, bins: int = ECE_BINS) -> float:
    """Sum over bins of (share of faces) x |accuracy - mean confidence| (Guo et al. 2017)."""
    total = len(labels)
    if total == 0:
        return 0.0
    return float(
        sum(
            row["n"] / total * abs(row["accuracy"] - row["confidence"])
            for row in reliability(probabilities, labels, bins)
        )
    )


def negative_log_likelihood(probabilities: np.ndarray, labels: np.ndarray) -> float:
    picked = probabilities[np.arange(len(labels)), labels]
    return float(-np.log(np.maximum(picked, 1e-12)).mean())


def fit_temperature(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """The temperature T minimising the negative log-likelihood of ``calibrate(p, T)``.

    A golden-section search over log T in [1/10, 10]: the likelihood is smooth and has one
    minimum in T, and one parameter needs no optimiser library.
    """
    low, high = np.log(0.1), np.log(10.0)
    ratio = (np.sqrt(5.0) - 1) / 2

    def loss(log_t: float) -> float:
        return negative_log_likelihood(calibrate(probabilities, float(np.exp(log_t))), labels)

    a, b = high - ratio * (high - low), low + ratio * (high - low)
    loss_a, loss_b = loss(a), loss(b)
    for _ in range(60):
        if loss_a < loss_b:
            high, b, loss_b = b, a, loss_a
            a = high - ratio * (high - low)
            loss_a = loss(a)
        else:
            low, a, loss_a = a, b, loss_b
            b = low + ratio * (high - low)
            loss_b = loss(b)
    return float(np.exp((low + high) / 2))


def draw_reliability_diagram(rows: list[dict[str, Any]], path: Path, *, title: str) -> None:
    """A PNG: per bin, accuracy (bars) against mean confidence (the diagonal is perfect).

    ``title`` may hold a line break (two lines fit above the plot).
    """
    size, margin = 480, 60
    image = np.full((size + 2 * margin, size + 2 * margin, 3), 255, dtype=np.uint8)
    x0, y0 = margin, margin + size  # origin: bottom left of the plot area

    def point(x: float, y: float) -> tuple[int, int]:
        return round(x0 + x * size), round(y0 - y * size)

    for row in rows:
        if row["n"]:
            cv2.rectangle(image, point(row["low"], row["accuracy"]), point(row["high"], 0.0), (200, 120, 40), -1)
            cv2.rectangle(image, point(row["low"], row["accuracy"]), point(row["high"], 0.0), (120, 60, 20), 1)
            gap = point(row["low"] + (row["high"] - row["low"]) / 2, row["confidence"])
            cv2.circle(image, gap, 3, (40, 40, 220), -1)
    cv2.line(image, point(0, 0), point(1, 1), (80, 80, 80), 1, cv2.LINE_AA)
    cv2.rectangle(image, point(0, 1), point(1, 0), (0, 0, 0), 1)
    font = cv2.FONT_HERSHEY_SIMPLEX
    for tick in (0.0, 0.2, 0.4, 0.6, 0.8, 1.0):
        x, y = point(tick, 0)
        cv2.putText(image, f"{tick:.1f}", (x - 12, y + 20), font, 0.4, (0, 0, 0), 1, cv2.LINE_AA)
        x, y = point(0, tick)
        cv2.putText(image, f"{tick:.1f}", (x - 35, y + 4), font, 0.4, (0, 0, 0), 1, cv2.LINE_AA)
    for line_number, line in enumerate(title.split("\n")):
        cv2.putText(image, line, (margin, margin - 35 + 18 * line_number), font, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
    cv2.putText(
        image,
        "confidence (bars: accuracy, dots: mean confidence)",
        (margin, y0 + 45),
        font,
        0.45,
        (0, 0, 0),
        1,
        cv2.LINE_AA,
    )
    if not cv2.imwrite(str(path), image):
        raise OSError(f"could not write {path}")
