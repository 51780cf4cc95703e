"""Whole photos of people read as the stream reads a frame: decode, BlazeFace, crop, served model.

A folder with a ``labels.json`` (a list of ``{"file", "emotion", "person", ...}`` objects,
``file`` relative to the folder) is read photo by photo through
``inference.classifier.EmotionClassifier.classify_frames``, the stream's own frame path: no
second decoder, detector or crop here. The report says what a person at a webcam would see:

- ``accuracy``: share of the photos read as their label (a photo where no face was found
  counts as misread), with ``per_class`` recall and, over the photos with a face, ``confusion``;
- ``faces_found``: photos where the detector found a face;
- ``expressive_read_neutral``: share of the expressive photos (not labelled neutral) read neutral;
- ``sad``: sad ``recall`` and ``precision`` (how often a "sad" reading is right);
- ``per_person`` accuracy and its ``per_person_mean`` (each person counts once);
- ``ece`` over the photos with a face (the served scores are calibrated on FER+).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import numpy as np

from inference.emotions import EMOTIONS, emotion_for_name
from inference.images import FrameLimits
from inference.research.calibration import expected_calibration_error
from inference.research.datasets import DatasetError

if TYPE_CHECKING:
    from inference.classifier import EmotionClassifier

LABELS_FILE: Final = "labels.json"
NEUTRAL: Final = EMOTIONS.index("neutral")
SAD: Final = EMOTIONS.index("sad")
# Photos are not stream frames: a studio photo may be larger than a webcam frame's byte limit.
# The decode is the stream's (same checks, same reduced-scale JPEG decoding), with room for them.
PHOTO_LIMITS: Final = FrameLimits(max_bytes=16 * 1024 * 1024, max_width=4096, max_height=4096)


@dataclass(frozen=True)
class Photo:
    path: Path
    label: int  # index into EMOTIONS
    person: str


def is_photo_folder(path: Path) -> bool:
    return path.is_dir() and (path / LABELS_FILE).is_file()


def load_photos(folder: Path) -> list[Photo]:
    """The photos ``folder/labels.json`` lists, checked: known emotions, files inside the folder."""
    try:
        entries = json.loads((folder / LABELS_FILE).read_text())
    except (OSError, ValueError) as exc:
        raise DatasetError(f"{folder / LABELS_FILE}: not readable JSON ({exc})") from exc
    if not isinstance(entries, list) or not entries:
        raise DatasetError(f"{folder / LABELS_FILE}: expected a non-empty list of photos")
    root = folder.resolve()
    photos = []
    for number, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict) or not {"file", "emotion", "person"} <= entry.keys():
            raise DatasetError(f"{LABELS_FILE} entry {number}: needs file, emotion and person")
        emotion = emotion_for_name(str(entry["emotion"]))
        if emotion is None:
            raise DatasetError(f"{LABELS_FILE} entry {number}: unknown emotion {entry['emotion']!r}")
        path = (folder / str(entry["file"])).resolve()
        if not path.is_relative_to(root) or not path.is_file():
            raise DatasetError(f"{LABELS_FILE} entry {number}: no file {entry['file']!r} inside {folder}")
        photos.append(Photo(path=path, label=EMOTIONS.index(emotion), person=str(entry["person"])))
    return photos


@dataclass(frozen=True)
class PhotoReadings:
    scores: np.ndarray  # (N, 7) float64; rows of photos without a face are zero
    found: np.ndarray  # (N,) bool: a face was found
    labels: np.ndarray  # (N,) int64
    persons: np.ndarray  # (N,) str


def read_photos(photos: list[Photo], classifier: EmotionClassifier, *, batch: int = 16) -> PhotoReadings:
    """Each photo through the classifier's frame path, a batch of frames per call as the stream sends them."""
    scores = np.zeros((len(photos), len(EMOTIONS)), dtype=np.float64)
    found = np.zeros(len(photos), dtype=bool)
    for start in range(0, len(photos), batch):
        chunk = photos[start : start + batch]
        results = classifier.classify_frames([photo.path.read_bytes() for photo in chunk])
        for offset, result in enumerate(results):
            if result.error is not None:
                raise DatasetError(f"{chunk[offset].path.name}: not decoded ({result.error})")
            if result.scores is not None:
                found[start + offset] = True
                scores[start + offset] = [result.scores[emotion] for emotion in EMOTIONS]
    return PhotoReadings(
        scores=scores,
        found=found,
        labels=np.array([photo.label for photo in photos], dtype=np.int64),
        persons=np.array([photo.person for photo in photos]),
    )


def _share(numerator: int, denominator: int) -> float:
    return round(numerator / denominator, 4) if denominator else 0.0


def photo_report(scores: np.ndarray, found: np.ndarray, labels: np.ndarray, persons: np.ndarray) -> dict[str, Any]:
    """The ``evaluate_emotion_model --json`` report of readings of whole photos (see the module's docstring)."""
    # -1: no face, never equal to a label.
    predicted = np.where(found, scores.argmax(axis=1), -1)
    right = predicted == labels
    k = len(EMOTIONS)
    confusion = np.zeros((k, k), dtype=np.int64)
    np.add.at(confusion, (labels[found], predicted[found]), 1)
    per_class = {
        emotion: {
            "recall": _share(int(right[labels == i].sum()), int((labels == i).sum())),
            "n": int((labels == i).sum()),
        }
        for i, emotion in enumerate(EMOTIONS)
    }
    expressive = labels != NEUTRAL
    per_person = {str(person): round(float(right[persons == person].mean()), 4) for person in np.unique(persons)}
    return {
        "labels": "photos",
        "accuracy": _share(int(right.sum()), len(labels)),
        "n": len(labels),
        "faces_found": int(found.sum()),
        "per_class": per_class,
        "confusion": confusion.tolist(),
        "expressive_read_neutral": _share(int((predicted[expressive] == NEUTRAL).sum()), int(expressive.sum())),
        "sad": {
            "recall": per_class["sad"]["recall"],
            "precision": _share(int(right[predicted == SAD].sum()), int((predicted == SAD).sum())),
        },
        "per_person": per_person,
        "per_person_mean": round(float(np.mean(list(per_person.values()))), 4) if per_person else 0.0,
        "ece": expected_calibration_error(scores[found], labels[found]) if found.any() else 0.0,
        "skipped": [],
    }


def evaluate_photos(
    folder: Path, *, weights: Path, crop_margin: float | None = None, per_subject: bool = False
) -> dict[str, Any]:
    """Read the photos of ``folder`` with the model at ``weights`` through the stream's frame path.

    ``crop_margin`` measures another crop than the served one. ``per_subject`` adds the
    per-person baseline report (``inference.research.per_subject``) over the photos with a face,
    each person's other neutral photos as their resting face.
    """
    from inference.classifier import EmotionClassifier
    from inference.faces import CROP_MARGIN

    margin = CROP_MARGIN if crop_margin is None else crop_margin
    classifier = EmotionClassifier.from_weights(weights, limits=PHOTO_LIMITS, crop_margin=margin)
    readings = read_photos(load_photos(folder), classifier)
    report = photo_report(readings.scores, readings.found, readings.labels, readings.persons)
    report["crop_margin"] = margin
    if per_subject:
        from inference.research.per_subject import per_subject_report

        found = readings.found
        report["per_subject"] = per_subject_report(
            readings.scores[found], readings.labels[found], readings.persons[found]
        )
    return report


def describe(report: dict[str, Any]) -> list[str]:
    """The photo report as lines for a person."""
    lines = [
        f"accuracy {report['accuracy']:.2%} of {report['n']} photos through the frame path "
        f"(crop margin {report['crop_margin']}); faces found in {report['faces_found']}",
        f"expressive photos read neutral {report['expressive_read_neutral']:.2%}; "
        f"sad recall {report['sad']['recall']:.2%}, precision {report['sad']['precision']:.2%}",
        f"per-person mean {report['per_person_mean']:.2%} ({len(report['per_person'])} people); "
        f"expected calibration error {report['ece']:.2%} (15 bins)",
    ]
    lines += [
        f"  {emotion:<9} recall {row['recall']:.2%}  ({row['n']} photos)"
        for emotion, row in report["per_class"].items()
    ]
    return lines
