"""Whole photos read through the stream's frame path: the figures, the labels file and the command.

The photos are made here from scikit-image's pictures (the astronaut smiles; the coffee cup has
no face); no photo of the development set is ever used by a test.
"""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import cv2
import numpy as np
import pytest
from django.core.management import CommandError, call_command
from skimage import data

from inference.classifier import EmotionClassifier
from inference.emotions import EMOTIONS
from inference.faces import CROP_MARGIN, Box, crop_face
from inference.images import decode_grayscale
from inference.research.datasets import DatasetError
from inference.research.photos import load_photos, photo_report
from tests.inference.conftest import webcam_frame_with_face

HAPPY, SAD, NEUTRAL, ANGRY = (EMOTIONS.index(e) for e in ("happy", "sad", "neutral", "angry"))


def one_hot(index: int, confidence: float = 0.9) -> list[float]:
    row = [(1 - confidence) / 6] * len(EMOTIONS)
    row[index] = confidence
    return row


def test_the_report_counts_a_photo_without_a_face_as_misread_and_each_person_once() -> None:
    # Person a: happy read happy, sad read neutral, angry with no face found.
    # Person b: sad read sad, neutral read sad, angry read angry.
    labels = np.array([HAPPY, SAD, ANGRY, SAD, NEUTRAL, ANGRY])
    scores = np.array(
        [one_hot(HAPPY), one_hot(NEUTRAL), [0.0] * 7, one_hot(SAD), one_hot(SAD), one_hot(ANGRY)], dtype=np.float64
    )
    found = np.array([True, True, False, True, True, True])
    persons = np.array(["a", "a", "a", "b", "b", "b"])
    report = photo_report(scores, found, labels, persons)
    assert report["accuracy"] == pytest.approx(3 / 6, abs=1e-4)
    assert report["faces_found"] == 5
    assert report["per_person"] == {"a": pytest.approx(1 / 3, abs=1e-4), "b": pytest.approx(2 / 3, abs=1e-4)}
    assert report["per_person_mean"] == pytest.approx(0.5, abs=1e-4)
    # Five expressive photos, one read neutral (the missed face is read as nothing, not neutral).
    assert report["expressive_read_neutral"] == pytest.approx(1 / 5, abs=1e-4)
    assert report["sad"] == {"recall": pytest.approx(0.5, abs=1e-4), "precision": pytest.approx(0.5, abs=1e-4)}
    assert report["per_class"]["angry"] == {"recall": pytest.approx(0.5, abs=1e-4), "n": 2}
    # The confusion matrix holds the photos with a face only.
    assert int(np.sum(report["confusion"])) == 5


def test_the_classifier_crops_with_its_margin() -> None:
    seen: list[np.ndarray] = []

    class Recording:
        def score(self, faces: np.ndarray, *, batch_size: int = 256) -> np.ndarray:
            seen.extend(faces)
            return np.full((len(faces), len(EMOTIONS)), 1 / len(EMOTIONS), dtype=np.float32)

    class Fixed:
        def find_face(self, gray: np.ndarray) -> Box | None:
            return Box(100, 60, 80, 90)

    frame = webcam_frame_with_face()
    ok, jpeg = cv2.imencode(".jpg", frame)
    assert ok
    gray = decode_grayscale(jpeg.tobytes())
    for margin in (0.0, 0.2):
        seen.clear()
        EmotionClassifier(Recording(), detector=Fixed(), crop_margin=margin).classify_frames([jpeg.tobytes()])
        assert np.array_equal(seen[0], crop_face(gray, Box(100, 60, 80, 90), margin=margin))
    assert not np.array_equal(crop_face(gray, Box(100, 60, 80, 90), margin=0.0), seen[0])


def write_photos(root: Path, entries: list[dict[str, str]]) -> None:
    astronaut = webcam_frame_with_face()
    cup = cv2.cvtColor(data.coffee(), cv2.COLOR_RGB2BGR)
    pictures = {"face": astronaut, "mirrored": np.ascontiguousarray(astronaut[:, ::-1]), "cup": cup}
    for entry in entries:
        path = root / entry["file"]
        path.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(path), pictures[path.stem.split("_")[0]])
    (root / "labels.json").write_text(json.dumps(entries))


PHOTOS = [
    {"file": "happy/face_a.jpg", "emotion": "happy", "person": "a"},
    {"file": "happy/mirrored_b.jpg", "emotion": "happiness", "person": "b"},
    {"file": "neutral/mirrored_a.jpg", "emotion": "neutral", "person": "a"},
    {"file": "neutral/face_b.jpg", "emotion": "neutral", "person": "b"},
    {"file": "sad/cup_a.jpg", "emotion": "sad", "person": "a"},
]


def evaluate(root: Path, *args: str) -> dict:
    out = StringIO()
    call_command("evaluate_emotion_model", "--data", str(root), "--json", *args, stdout=out)
    report: dict = json.loads(out.getvalue())
    return report


def test_evaluate_reads_a_folder_of_whole_photos_through_the_frame_path(tmp_path: Path) -> None:
    write_photos(tmp_path, PHOTOS)
    report = evaluate(tmp_path)
    assert report["labels"] == "photos"
    assert (report["n"], report["faces_found"]) == (5, 4)
    # The astronaut smiles (and a mirrored frame reads like the frame): both happy photos are right.
    assert report["per_class"]["happy"]["recall"] == 1.0
    assert report["per_class"]["sad"]["recall"] == 0.0
    assert set(report["per_person"]) == {"a", "b"}
    expected = {"accuracy", "per_class", "confusion", "expressive_read_neutral", "sad", "per_person_mean", "ece"}
    assert expected <= report.keys()
    assert report["crop_margin"] == CROP_MARGIN


def test_the_crop_margin_option_changes_what_the_model_reads(tmp_path: Path) -> None:
    write_photos(tmp_path, PHOTOS)
    served, wide = evaluate(tmp_path), evaluate(tmp_path, "--crop-margin", "0.5")
    assert wide["crop_margin"] == 0.5
    assert served["ece"] != wide["ece"]


def test_per_subject_on_photos_uses_each_persons_other_neutral_photos(tmp_path: Path) -> None:
    write_photos(tmp_path, PHOTOS)
    report = evaluate(tmp_path, "--per-subject")
    assert report["per_subject"]["subjects"] == 2
    assert {"raw", "baseline"} <= report["per_subject"].keys()


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"file": "../outside.jpg", "emotion": "happy", "person": "a"}, "inside"),
        ({"file": "happy/face_a.jpg", "emotion": "bored", "person": "a"}, "unknown emotion"),
        ({"file": "happy/face_a.jpg", "emotion": "happy"}, "needs file, emotion and person"),
    ],
)
def test_a_bad_labels_entry_is_refused_precisely(tmp_path: Path, entry: dict[str, str], message: str) -> None:
    root = tmp_path / "photos"
    write_photos(root, PHOTOS[:1])
    (tmp_path / "outside.jpg").write_bytes((root / "happy" / "face_a.jpg").read_bytes())
    (root / "labels.json").write_text(json.dumps([PHOTOS[0], entry]))
    with pytest.raises(DatasetError, match=message):
        load_photos(root)
    with pytest.raises(CommandError, match=message):
        evaluate(root)


def test_the_crop_margin_is_refused_out_of_range_or_for_registered_faces(tmp_path: Path) -> None:
    write_photos(tmp_path / "photos", PHOTOS)
    with pytest.raises(CommandError, match=r"between 0 and 0\.5"):
        evaluate(tmp_path / "photos", "--crop-margin", "0.7")
    faces = tmp_path / "faces" / "happy"
    faces.mkdir(parents=True)
    cv2.imwrite(str(faces / "0.png"), np.zeros((48, 48), dtype=np.uint8))
    with pytest.raises(CommandError, match=r"labels\.json"):
        evaluate(tmp_path / "faces", "--crop-margin", "0.0")
