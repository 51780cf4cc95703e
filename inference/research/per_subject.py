"""Per-person evaluation: does a personal baseline read each person's neutral face as neutral?

For every face, the subject's baseline is built from that subject's *other* neutral faces
(leave one out) with ``inference.baseline.build_baseline``, the code the stream's calibration
uses, and the face's scores are adjusted with ``inference.baseline.adjust``, the stream's
adjustment. The report compares the raw and the adjusted readings:

- ``expressive_accuracy``: share of the faces labelled other than neutral read as their label;
- ``neutral_as_other``: share of the neutral faces read as another expression;
- ``p90_neutral_sadness``: the 90th percentile, over subjects, of the mean sadness score on
  their neutral faces (how sad the resting faces of the sadder-looking people read).

Data: ``ROOT/<subject>/<emotion>/*.(png|jpg|jpeg)`` or an ``.npz`` with ``images``, ``labels``
and ``subjects`` arrays (``images_key`` picks another array of faces, e.g. ``images_large``;
faces of any square size are resized to 48x48).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import cv2
import numpy as np

from inference.baseline import CalibrationRefused, adjust, build_baseline
from inference.emotions import EMOTIONS, FACE_SIZE
from inference.research.datasets import DatasetError, LabeledFaces, load_folder_tree

NEUTRAL: Final = EMOTIONS.index("neutral")
SAD: Final = EMOTIONS.index("sad")
# A leave-one-out baseline needs at least this many other neutral faces: one, so that a person
# photographed neutral only twice is measured too (on JAFFE a baseline of one other neutral face
# moves expressive accuracy by -1.1 to +0.6 points, against 0 to +1.1 with two).
MIN_NEUTRAL_FACES: Final = 1


@dataclass(frozen=True)
class SubjectFaces:
    faces: LabeledFaces
    subjects: np.ndarray  # (N,) one id per face (any comparable values)

    def __post_init__(self) -> None:
        if len(self.subjects) != len(self.faces):
            raise DatasetError("subjects and labels differ in length")


def _as_faces(images: np.ndarray) -> np.ndarray:
    if images.ndim != 3:
        raise DatasetError(f"expected (N, H, W) grayscale faces, got {images.shape}")
    if images.shape[1:] == (FACE_SIZE, FACE_SIZE):
        return np.ascontiguousarray(images, dtype=np.uint8)
    return np.stack(
        [cv2.resize(image, (FACE_SIZE, FACE_SIZE), interpolation=cv2.INTER_AREA) for image in images]
    ).astype(np.uint8)


def load_subject_faces(path: Path, *, images_key: str = "images") -> SubjectFaces:
    """Faces with their labels and subjects, from an ``.npz`` or a ``ROOT/<subject>/<emotion>/`` tree."""
    if path.is_file() and path.name.endswith(".npz"):
        with np.load(path) as data:
            missing = {images_key, "labels", "subjects"} - set(data)
            if missing:
                raise DatasetError(f"{path}: missing array(s) {', '.join(sorted(missing))}; found {sorted(data)}")
            faces = LabeledFaces(
                images=_as_faces(data[images_key]), labels=np.ascontiguousarray(data["labels"], dtype=np.uint8)
            )
            return SubjectFaces(faces=faces, subjects=np.asarray(data["subjects"]))
    if path.is_dir():
        images, labels, subjects, skipped = [], [], [], []
        for folder in sorted(p for p in path.iterdir() if p.is_dir()):
            try:
                tree = load_folder_tree(folder)
            except DatasetError:
                skipped.append(folder.name)
                continue
            images.append(tree.images)
            labels.append(tree.labels)
            subjects.extend([folder.name] * len(tree))
            skipped.extend(f"{folder.name}/{name}" for name in tree.skipped)
        if not images:
            raise DatasetError(f"{path}: no <subject>/<emotion>/ folders with images")
        faces = LabeledFaces(images=np.concatenate(images), labels=np.concatenate(labels), skipped=skipped)
        return SubjectFaces(faces=faces, subjects=np.array(subjects))
    raise DatasetError(f"{path}: expected an .npz with images/labels/subjects or a folder of <subject>/<emotion>/")


def leave_one_out_adjusted(
    scores: np.ndarray, labels: np.ndarray, subjects: np.ndarray, *, min_neutral: int = MIN_NEUTRAL_FACES
) -> tuple[np.ndarray, int]:
    """Each face's scores adjusted by the baseline of its subject's other neutral faces; and how many faces
    had no baseline (too few other neutral faces, or a calibration refused) and kept their raw scores."""
    adjusted = np.array(scores, dtype=np.float64, copy=True)
    without = 0
    for index in range(len(scores)):
        others = np.flatnonzero((subjects == subjects[index]) & (labels == NEUTRAL))
        others = others[others != index]
        try:
            baseline = build_baseline(scores[others].tolist(), min_faces=min_neutral)
        except CalibrationRefused:
            without += 1
            continue
        adjusted[index] = adjust(scores[index], baseline)
    return adjusted, without


def reading_figures(scores: np.ndarray, labels: np.ndarray, subjects: np.ndarray) -> dict[str, float]:
    """``expressive_accuracy``, ``neutral_as_other``, ``other_as_sad`` and ``p90_neutral_sadness`` of one
    set of readings."""
    predicted = scores.argmax(axis=1)
    expressive = labels != NEUTRAL
    neutral = ~expressive
    not_sad = labels != SAD
    sadness = [float(scores[(subjects == subject) & neutral, SAD].mean()) for subject in np.unique(subjects[neutral])]
    return {
        "expressive_accuracy": round(float((predicted[expressive] == labels[expressive]).mean()), 4)
        if expressive.any()
        else 0.0,
        "neutral_as_other": round(float((predicted[neutral] != NEUTRAL).mean()), 4) if neutral.any() else 0.0,
        # The nudge listens to sadness: how often a face that is not sad reads sad.
        "other_as_sad": round(float((predicted[not_sad] == SAD).mean()), 4) if not_sad.any() else 0.0,
        "p90_neutral_sadness": round(float(np.percentile(sadness, 90)), 4) if sadness else 0.0,
    }


def per_subject_report(scores: np.ndarray, labels: np.ndarray, subjects: np.ndarray) -> dict[str, Any]:
    """The ``per_subject`` object of ``evaluate_emotion_model --per-subject --json``."""
    adjusted, without = leave_one_out_adjusted(scores, labels, subjects)
    return {
        "subjects": len(np.unique(subjects)),
        "raw": reading_figures(scores, labels, subjects),
        "baseline": reading_figures(adjusted, labels, subjects),
        "faces_without_baseline": without,
    }


@dataclass(frozen=True)
class FeatureStatistics:
    """Also read each face with its subject's own feature statistics (``inference.research.feature_statistics``)."""

    keras_weights: Path
    neutral_share: float | None = None
    # Balance the statistics' weights by the model's own reading of the faces (no labels, as a stream).
    balance: bool = False


def evaluate_path(
    data: Path, *, weights: Path, images_key: str = "images", feature_statistics: FeatureStatistics | None = None
) -> dict[str, Any]:
    """The usual evaluation report of the faces at ``data``, with its ``per_subject`` object."""
    from inference.research.evaluation import report_scores
    from inference.serving import load_scorer  # loads the model's runtime

    loaded = load_subject_faces(data, images_key=images_key)
    labels, subjects = loaded.faces.labels, loaded.subjects
    scores = load_scorer(weights).score(loaded.faces.images).astype(np.float64)
    report = report_scores(scores, labels, None, loaded.faces.skipped)
    report["per_subject"] = per_subject_report(scores, labels, subjects)
    if feature_statistics is not None:
        from inference.research.feature_statistics import person_feature_scores

        own, without = person_feature_scores(
            feature_statistics.keras_weights,
            loaded.faces.images,
            labels,
            subjects,
            neutral_share=feature_statistics.neutral_share,
            balance=feature_statistics.balance,
        )
        report["per_subject"]["feature_statistics"] = {
            **reading_figures(own, labels, subjects),
            "neutral_share": feature_statistics.neutral_share,
            "balanced": feature_statistics.balance,
            "faces_without_statistics": without,
        }
    return report


FIGURES: Final = ("expressive_accuracy", "neutral_as_other", "other_as_sad", "p90_neutral_sadness")


def describe(report: dict[str, Any]) -> str:
    """The ``per_subject`` object as lines for a person."""
    own = report.get("feature_statistics")
    lines = [
        f"per subject ({report['subjects']} people), raw -> with each person's baseline"
        + (" | with each person's own feature statistics:" if own else ":")
    ]
    for key in FIGURES:
        line = f"  {key:<20} {report['raw'][key]:.4f} -> {report['baseline'][key]:.4f}"
        lines.append(line + (f" | {own[key]:.4f}" if own else ""))
    return "\n".join(lines)
