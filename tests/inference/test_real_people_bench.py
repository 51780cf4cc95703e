"""bench/real_people.py's arithmetic: the log-average ensemble, the neutral shift, the frontier and webcam framing."""

from __future__ import annotations

import numpy as np
import pytest

from bench.real_people import DEGRADATIONS, combine, frontier, recorded_rows, split_teacher, webcam_frame
from inference.emotions import EMOTIONS
from inference.faces import Box
from inference.images import decode_grayscale
from tests.conftest import PROJECT_ROOT

NEUTRAL, SAD = EMOTIONS.index("neutral"), EMOTIONS.index("sad")


def test_one_model_unshifted_keeps_its_scores_and_a_negative_shift_lowers_neutral() -> None:
    scores = np.random.default_rng(0).dirichlet(np.ones(len(EMOTIONS)), size=5)
    np.testing.assert_allclose(combine(scores, None, 1.0, 0.0), scores, rtol=1e-6)
    shifted = combine(scores, None, 1.0, -1.0)
    assert (shifted[:, NEUTRAL] < scores[:, NEUTRAL]).all()
    np.testing.assert_allclose(shifted.sum(axis=1), 1.0)


def test_the_ensemble_is_the_weighted_geometric_mean_renormalised() -> None:
    first = np.full((1, len(EMOTIONS)), 0.05)
    first[0, NEUTRAL] = 0.7
    second = np.full((1, len(EMOTIONS)), 0.05)
    second[0, SAD] = 0.7
    mixed = combine(first, second, 0.75, 0.0)
    expected = first**0.75 * second**0.25
    np.testing.assert_allclose(mixed, expected / expected.sum(), rtol=1e-6)
    assert int(mixed.argmax()) == NEUTRAL
    assert int(combine(first, second, 0.25, 0.0).argmax()) == SAD


def test_a_split_teacher_mixes_the_models_by_the_raters_majority() -> None:
    rng = np.random.default_rng(8)
    first, second = (rng.dirichlet(np.ones(7), size=4) for _ in range(2))
    neutral = EMOTIONS.index("neutral")
    majority = np.array([neutral, EMOTIONS.index("sad"), -1, neutral])
    teacher = split_teacher(first, second, majority, 0.2, 1.0)
    np.testing.assert_allclose(teacher[[0, 3]], first[[0, 3]], rtol=1e-6)  # neutral faces: the first model alone
    np.testing.assert_allclose(teacher[[1, 2]], combine(first, second, 0.2, 0.0)[[1, 2]], rtol=1e-6)
    np.testing.assert_allclose(teacher.sum(axis=1), 1.0, rtol=1e-6)


def test_the_frontier_keeps_only_candidates_no_other_beats_on_both() -> None:
    rows = [
        {"candidate": "a", "accuracy": 0.70, "fer_majority": 0.86},
        {"candidate": "b", "accuracy": 0.80, "fer_majority": 0.77},
        {"candidate": "c", "accuracy": 0.69, "fer_majority": 0.85},  # beaten by a on both
        {"candidate": "d", "accuracy": 0.75, "fer_majority": 0.80},
    ]
    assert [row["candidate"] for row in frontier(rows)] == ["a", "b", "d"]


@pytest.mark.parametrize("weight", [0.0, 1.0])
def test_a_weight_of_zero_or_one_is_one_model(weight: float) -> None:
    rng = np.random.default_rng(1)
    first, second = rng.dirichlet(np.ones(7), size=3), rng.dirichlet(np.ones(7), size=3)
    np.testing.assert_allclose(combine(first, second, weight, 0.0), first if weight else second, rtol=1e-5)


def test_the_recorded_table_gives_each_candidate_its_two_figures() -> None:
    table = """Text before.

| candidate | margin | passes | real people | expressive read neutral | FER+ majority | ECE |
| --- | --- | --- | --- | --- | --- | --- |
| targets | | | >= 78% | <= 10% | >= 85.5% | <= 3% |
| **v2, margin 0 (served now)** | 0 | 2 | **68.5%** | 19.8% | **86.48%** | 1.56% |
| v3.d28: v2 distilled (CPU; lost) | 0.1 | 2 | 60.1% | 27.1% | 85.91% | 1.67% |
Text after.
| not | a | row |
"""
    assert recorded_rows(table) == [
        {"candidate": "v2", "margin": 0.0, "accuracy": 0.685, "fer_majority": 0.8648},
        {"candidate": "v3.d28", "margin": 0.1, "accuracy": 0.601, "fer_majority": 0.8591},
    ]


def test_the_model_cards_table_holds_the_served_model_and_every_lost_run() -> None:
    rows = recorded_rows((PROJECT_ROOT / "docs" / "model.md").read_text())
    names = {row["candidate"] for row in rows}
    assert {"v2", "v1", "v3.d28", "v3.p3", "v3.p3b", "v3.d64", "v3.d64c", "v3.c808", "v3.d82c", "v2 lit"} <= names
    assert {"v3.dl64c", "v3.dsplit", "v3", "v3.dl64cl2", "v3.dl64cl3"} <= names
    assert all(0 < row["accuracy"] < 1 and 0 < row["fer_majority"] < 1 for row in rows)


@pytest.mark.parametrize(("face_width", "left", "corner"), [(60, 400, 128), (200, 200, 0)])
def test_a_webcam_frame_puts_the_face_at_its_width_in_the_middle_of_640x480(
    face_width: int, left: int, corner: int
) -> None:
    photo = np.zeros((300, 500, 3), dtype=np.uint8)
    photo[100:200, left : left + 100] = 255  # the "face": BlazeFace's box on the whole photo
    gray = decode_grayscale(webcam_frame(photo, Box(x=left, y=100, width=100, height=100), face_width))
    assert gray.shape == (480, 640)  # a 640x480 frame is decoded whole
    ys, xs = np.nonzero(gray > 200)
    assert abs(xs.max() - xs.min() + 1 - face_width) <= 2
    assert abs((xs.min() + xs.max()) / 2 - 320) <= 2
    assert abs((ys.min() + ys.max()) / 2 - 240) <= 2
    # A small face leaves the grey wall around the placed photo; a large one fills the frame with the photo.
    assert int(gray[0, 0]) == pytest.approx(corner, abs=3)
    assert int(gray[479, 639]) == pytest.approx(corner, abs=3)


def test_each_degradation_keeps_the_crop_a_48x48_face_and_takes_what_it_names() -> None:
    import cv2

    face = np.random.default_rng(7).integers(40, 216, size=(48, 48), dtype=np.uint8)

    def sharpness(image: np.ndarray) -> float:
        return float(np.abs(cv2.Laplacian(image, cv2.CV_32F)).mean())

    out = {name: degrade(face) for name, degrade in DEGRADATIONS.items()}
    assert all(image.shape == (48, 48) and image.dtype == np.uint8 for image in out.values())
    assert np.array_equal(out["as cut"], face)
    for softer in ("blur sigma 0.8", "blur sigma 1.2", "from 32 px", "from 24 px"):
        assert sharpness(out[softer]) < 0.6 * sharpness(face)
    assert out["contrast x0.5"].std() == pytest.approx(face.std() / 2, rel=0.05)
    assert out["dim (gamma 1.5)"].mean() < face.mean() - 15
