"""Per-person evaluation with leave-one-out baselines: the figures, the loaders and the command."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import cv2
import numpy as np
import pytest
from django.core.management import CommandError, call_command

from inference.baseline import adjust, build_baseline
from inference.emotions import EMOTIONS
from inference.research.datasets import DatasetError
from inference.research.per_subject import (
    leave_one_out_adjusted,
    load_subject_faces,
    per_subject_report,
    reading_figures,
)

NEUTRAL, SAD, HAPPY = EMOTIONS.index("neutral"), EMOTIONS.index("sad"), EMOTIONS.index("happy")


def reading(**shares: float) -> list[float]:
    rest = (1.0 - sum(shares.values())) / (len(EMOTIONS) - len(shares))
    return [shares.get(emotion, rest) for emotion in EMOTIONS]


def two_people() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Person "a" has a sad-looking resting face; person "b" a calm one. Each shows one sad and one happy face."""
    rows = [
        ("a", NEUTRAL, reading(sad=0.55, neutral=0.35)),
        ("a", NEUTRAL, reading(sad=0.5, neutral=0.4)),
        ("a", NEUTRAL, reading(sad=0.45, neutral=0.45)),
        ("a", SAD, reading(sad=0.9, neutral=0.05)),
        ("a", HAPPY, reading(happy=0.8, neutral=0.1)),
        ("b", NEUTRAL, reading(neutral=0.9)),
        ("b", NEUTRAL, reading(neutral=0.85)),
        ("b", NEUTRAL, reading(neutral=0.88)),
        ("b", SAD, reading(sad=0.6, neutral=0.3)),
        ("b", HAPPY, reading(happy=0.7, neutral=0.2)),
    ]
    subjects = np.array([row[0] for row in rows])
    labels = np.array([row[1] for row in rows], dtype=np.uint8)
    scores = np.array([row[2] for row in rows])
    return scores, labels, subjects


def test_each_face_is_adjusted_by_its_subjects_other_neutral_faces_only() -> None:
    scores, labels, subjects = two_people()
    adjusted, without = leave_one_out_adjusted(scores, labels, subjects)
    assert without == 0
    own_baseline = build_baseline(scores[[1, 2]].tolist(), min_faces=2)
    assert adjusted[0].tolist() == pytest.approx(adjust(scores[0], own_baseline).tolist())
    assert adjusted[3].tolist() == pytest.approx(
        adjust(scores[3], build_baseline(scores[:3].tolist(), min_faces=2)).tolist()
    )
    # With itself left in, face 0 would have been adjusted differently.
    assert adjusted[0].tolist() != pytest.approx(
        adjust(scores[0], build_baseline(scores[:3].tolist(), min_faces=2)).tolist()
    )


def test_the_report_reads_the_sad_resting_face_as_neutral_and_keeps_expressions() -> None:
    scores, labels, subjects = two_people()
    report = per_subject_report(scores, labels, subjects)
    assert report["subjects"] == 2
    assert report["raw"]["neutral_as_other"] == 0.5  # all three of "a"'s (a tie goes to sad)
    assert report["baseline"]["neutral_as_other"] == 0.0
    assert report["raw"]["other_as_sad"] == 3 / 8  # the same three, of the eight faces that are not sad
    assert report["baseline"]["other_as_sad"] == 0.0
    assert report["raw"]["expressive_accuracy"] == 1.0
    assert report["baseline"]["expressive_accuracy"] == 1.0
    assert report["baseline"]["p90_neutral_sadness"] < report["raw"]["p90_neutral_sadness"]
    assert report["faces_without_baseline"] == 0


def test_a_subject_with_too_few_neutral_faces_keeps_raw_scores() -> None:
    scores, labels, subjects = two_people()
    keep = np.array([0, 3, 4, 5, 6, 7, 8, 9])  # person "a" keeps one neutral face: none left for it
    adjusted, without = leave_one_out_adjusted(scores[keep], labels[keep], subjects[keep])
    assert without == 1
    assert adjusted[0].tolist() == scores[keep][0].tolist()
    # Their expressions rest on that one neutral face.
    assert adjusted[1].tolist() != scores[keep][1].tolist()
    assert adjusted[1].tolist() == pytest.approx(
        adjust(scores[keep][1], build_baseline(scores[keep][:1].tolist(), min_faces=1)).tolist()
    )


def test_p90_neutral_sadness_is_the_90th_percentile_over_subjects() -> None:
    subjects = np.repeat(np.arange(10), 1)
    labels = np.full(10, NEUTRAL, dtype=np.uint8)
    scores = np.array([reading(sad=0.01 * (i + 1), neutral=0.8) for i in range(10)])
    figures = reading_figures(scores, labels, subjects)
    assert figures["p90_neutral_sadness"] == pytest.approx(np.percentile(np.arange(1, 11) * 0.01, 90), abs=1e-4)
    assert figures["expressive_accuracy"] == 0.0


def write_people(root: Path) -> None:
    rng = np.random.default_rng(3)
    for person in ("KA", "KL"):
        for emotion, count in (("neutral", 3), ("happy", 1), ("sad", 1)):
            folder = root / person / emotion
            folder.mkdir(parents=True)
            for i in range(count):
                cv2.imwrite(str(folder / f"{i}.png"), rng.integers(0, 256, size=(48, 48), dtype=np.uint8))


def test_a_subject_tree_loads_with_subjects_from_folder_names(tmp_path: Path) -> None:
    write_people(tmp_path)
    loaded = load_subject_faces(tmp_path)
    assert len(loaded.faces) == 10
    assert sorted(set(loaded.subjects.tolist())) == ["KA", "KL"]
    assert int((loaded.faces.labels == NEUTRAL).sum()) == 6


def test_an_npz_loads_another_array_of_faces_resized(tmp_path: Path) -> None:
    path = tmp_path / "people.npz"
    rng = np.random.default_rng(0)
    np.savez(
        path,
        images=rng.integers(0, 256, size=(4, 48, 48), dtype=np.uint8),
        images_large=rng.integers(0, 256, size=(4, 96, 96), dtype=np.uint8),
        labels=np.array([6, 6, 6, 3], dtype=np.uint8),
        subjects=np.array([0, 0, 0, 0], dtype=np.int16),
    )
    assert load_subject_faces(path, images_key="images_large").faces.images.shape == (4, 48, 48)
    np.savez(path, images=np.zeros((2, 48, 48), dtype=np.uint8), labels=np.array([6, 6], dtype=np.uint8))
    with pytest.raises(DatasetError, match="subjects"):
        load_subject_faces(path)


def test_the_command_adds_per_subject_figures_to_the_usual_report(tmp_path: Path) -> None:
    write_people(tmp_path)
    out = StringIO()
    call_command("evaluate_emotion_model", "--data", str(tmp_path), "--per-subject", "--json", stdout=out)
    report = json.loads(out.getvalue())
    assert report["n"] == 10
    assert report["per_subject"]["subjects"] == 2
    for reading_kind in ("raw", "baseline"):
        assert set(report["per_subject"][reading_kind]) == {
            "expressive_accuracy",
            "neutral_as_other",
            "other_as_sad",
            "p90_neutral_sadness",
        }
    text = StringIO()
    call_command("evaluate_emotion_model", "--data", str(tmp_path), "--per-subject", stdout=text)
    assert "per subject (2 people)" in text.getvalue()


def test_the_command_explains_data_without_subjects(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(CommandError, match="subject"):
        call_command("evaluate_emotion_model", "--data", str(tmp_path), "--per-subject")


def test_baseline_reference_prints_the_population_neutral_face_of_some_weights(tmp_path: Path) -> None:
    write_people(tmp_path)
    out = StringIO()
    call_command("baseline_reference", "--data", str(tmp_path / "KA"), stdout=out)
    report = json.loads(out.getvalue())
    assert report["faces"] == 3
    assert len(report["population_neutral"]) == 7
    assert report["population_neutral"][-1] == 0.0
    (tmp_path / "none" / "happy").mkdir(parents=True)
    cv2.imwrite(str(tmp_path / "none" / "happy" / "a.png"), np.zeros((48, 48), np.uint8))
    with pytest.raises(CommandError, match="no neutral faces"):
        call_command("baseline_reference", "--data", str(tmp_path / "none"))
