"""The served model: conversion, the shipped file, parity with Keras, views, threads and calibration."""

from __future__ import annotations

import json
import threading
from io import StringIO
from pathlib import Path

import numpy as np
import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from inference.emotions import EMOTIONS
from inference.research.calibration import expected_calibration_error, fit_temperature, reliability
from inference.research.conversion import keras_scores, load_members
from inference.serving import ServedScorer, ServingSpec, calibrate, manifest_path, sha256
from tests.inference.conftest import convert_tiny_model

# The shipped file, checked byte for byte: replacing it must be a deliberate change of this line
# (after `manage.py convert_emotion_model`, which prints the new hash; see docs/model.md).
SHIPPED_SHA256 = "781da657f26ace24591a7e8fc6ecb2d3fce19b5dd4341dc2c8300de0d747346a"
SHIPPED = Path(settings.BASE_DIR) / "inference" / "weights" / "emotion_model.tflite"
DATA = Path(settings.BASE_DIR).parent / "shared" / "data"


def random_faces(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(n, 48, 48), dtype=np.uint8)


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A narrow network with random weights, converted with mirror averaging and temperature 2."""
    return convert_tiny_model(tmp_path_factory.mktemp("tiny"))


def test_the_setting_points_at_the_shipped_served_file() -> None:
    assert Path(settings.SMILE_EMOTION_WEIGHTS) == SHIPPED


def test_the_shipped_file_is_the_one_measured() -> None:
    assert sha256(SHIPPED) == SHIPPED_SHA256
    card = json.loads(SHIPPED.with_name("model_card.json").read_text())
    assert card["sha256"] == SHIPPED_SHA256
    spec = ServingSpec.from_json(manifest_path(SHIPPED).read_text())
    for member in spec.members:  # the Keras weights the parity test compares against
        assert sha256(SHIPPED.parent / member.weights) == member.sha256
    assert card["temperature"] == spec.temperature


def test_the_conversion_writes_a_file_and_a_manifest_that_copies_its_members(tiny_model: Path) -> None:
    spec = ServingSpec.from_json(manifest_path(tiny_model).read_text())
    assert spec.mirror
    assert spec.temperature == 2.0
    assert spec.passes == 2
    [member] = spec.members
    assert member.width == 0.25
    assert sha256(tiny_model.parent / member.weights) == member.sha256


def test_the_converted_file_scores_like_keras_with_the_temperature(tiny_model: Path) -> None:
    faces = random_faces(16)
    spec = ServingSpec.from_json(manifest_path(tiny_model).read_text())
    expected = calibrate(keras_scores(load_members(spec, tiny_model.parent), faces, mirror=True), 2.0)
    served = ServedScorer(tiny_model).score(faces)
    np.testing.assert_allclose(served.sum(axis=1), 1.0, atol=1e-5)
    # Dynamic-range quantisation rounds the weights to 8 bits: close, not equal.
    np.testing.assert_allclose(served, expected, atol=0.02)


def test_a_face_and_its_mirror_score_the_same(tiny_model: Path) -> None:
    scorer = ServedScorer(tiny_model)
    faces = random_faces(8, seed=1)
    mirrored = np.ascontiguousarray(faces[:, :, ::-1])
    np.testing.assert_allclose(scorer.score(mirrored), scorer.score(faces), atol=1e-5)
    np.testing.assert_array_equal(scorer.score(np.ascontiguousarray(mirrored[:, :, ::-1])), scorer.score(faces))


def test_the_shipped_model_gives_scores_that_sum_to_one_in_any_batch() -> None:
    scorer = ServedScorer(SHIPPED)
    faces = random_faces(40, seed=2)
    batched = scorer.score(faces, batch_size=32)
    single = np.concatenate([scorer.score(faces[i : i + 1]) for i in range(len(faces))])
    assert batched.shape == (40, len(EMOTIONS))
    np.testing.assert_allclose(batched.sum(axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(batched, single, atol=1e-4)


@pytest.mark.parametrize("shared", [False, True])
def test_threads_scoring_at_once_get_their_own_answers(shared: bool) -> None:
    scorer = ServedScorer(SHIPPED, shared=shared)
    faces = [random_faces(n, seed=n) for n in (1, 3, 5, 7)]
    expected = [scorer.score(f) for f in faces]
    failures: list[int] = []

    def work(index: int) -> None:
        for _ in range(20):
            if not np.allclose(scorer.score(faces[index]), expected[index], atol=1e-5):
                failures.append(index)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(faces))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []


def test_serving_does_not_import_tensorflow(tmp_path: Path) -> None:
    import subprocess
    import sys

    code = (
        "import sys, numpy as np; from pathlib import Path; from inference.serving import ServedScorer; "
        f"s = ServedScorer(Path({str(SHIPPED)!r})); s.score(np.zeros((2, 48, 48), np.uint8)); "
        "from inference.classifier import EmotionClassifier; "
        "print('tensorflow' in sys.modules, 'keras' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=settings.BASE_DIR
    )
    assert result.stdout.split() == ["False", "False"]


def test_an_ensemble_of_networks_serves_the_mean_of_their_probabilities(tmp_path: Path) -> None:
    from inference.network import build_model

    for name, width in (("a", 0.25), ("b", 0.5)):
        build_model(width).save_weights(str(tmp_path / f"{name}.weights.h5"))
    out = tmp_path / "served" / "ensemble.tflite"
    call_command(
        "convert_emotion_model",
        *(f"{tmp_path / 'a.weights.h5'}:0.25", f"{tmp_path / 'b.weights.h5'}:0.5"),
        *("--out", str(out), "--no-mirror"),
        stdout=StringIO(),
    )
    spec = ServingSpec.from_json(manifest_path(out).read_text())
    assert (spec.passes, [m.width for m in spec.members]) == (2, [0.25, 0.5])
    faces = random_faces(12, seed=4)
    networks = load_members(spec, out.parent)
    expected = np.mean([keras_scores([network], faces, mirror=False) for network in networks], axis=0)
    served = ServedScorer(out).score(faces)
    np.testing.assert_allclose(served.sum(axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(served, expected, atol=0.02)


def test_calibrating_on_labelled_faces_fits_a_temperature_and_writes_the_card(tmp_path: Path, tiny_model: Path) -> None:
    from tests.inference.test_ferplus import write_ferplus_split

    write_ferplus_split(tmp_path, "PublicTest", 30)
    jaffe = tmp_path / "jaffe.npz"
    np.savez(jaffe, images=random_faces(14, seed=5), labels=np.arange(14, dtype=np.uint8) % 7)
    out = tmp_path / "calibrated" / "model.tflite"
    log = StringIO()
    call_command(
        "convert_emotion_model",
        f"{tiny_model.parent / 'tiny.weights.h5'}:0.25",
        *("--out", str(out), "--calibrate-on", str(tmp_path / "fer2013_PublicTest.npz"), "--jaffe", str(jaffe)),
        stdout=log,
    )
    spec = ServingSpec.from_json(manifest_path(out).read_text())
    calibration = spec.extra["calibration"]
    assert spec.temperature == calibration["temperature"] > 0
    assert set(calibration) == {"temperature", "fitted_on", "ece_before", "ece_after"}
    card = json.loads((out.parent / "model_card.json").read_text())
    assert card["sha256"] == sha256(out)
    assert card["validation"]["labels"] == "ferplus"
    assert card["validation"]["n"] == 20  # every third generated face has no FER+ majority
    assert card["jaffe"]["n"] == 14
    assert "served: FER+ majority agreement" in log.getvalue()
    assert "## Cross-data-set check: JAFFE" in (out.parent / "MODEL_CARD.md").read_text()


def test_the_conversion_refuses_what_it_cannot_convert(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="weights not found"):
        call_command("convert_emotion_model", str(tmp_path / "nope.weights.h5"), "--out", str(tmp_path / "m.tflite"))
    with pytest.raises(CommandError, match=r"must name a \.tflite"):
        call_command("convert_emotion_model", str(tmp_path / "nope.weights.h5"), "--out", str(tmp_path / "m.onnx"))
    with pytest.raises(CommandError, match="WEIGHTS:WIDTH"):
        call_command("convert_emotion_model", "w.h5:wide", "--out", str(tmp_path / "m.tflite"))


# --- Calibration ------------------------------------------------------------------------


def overconfident_set(n: int = 4000, temperature: float = 2.5, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Labels drawn from softmax(z), scores softmax(z * temperature): too sure by that temperature."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 1.5, size=(n, len(EMOTIONS)))
    truth = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    labels = np.array([rng.choice(len(EMOTIONS), p=row) for row in truth])
    sharp = np.exp(logits * temperature)
    return sharp / sharp.sum(axis=1, keepdims=True), labels


def test_the_fitted_temperature_undoes_overconfidence_and_lowers_the_ece() -> None:
    scores, labels = overconfident_set()
    temperature = fit_temperature(scores, labels)
    assert temperature == pytest.approx(2.5, rel=0.1)
    calibrated = calibrate(scores, temperature)
    np.testing.assert_allclose(calibrated.sum(axis=1), 1.0, atol=1e-6)
    assert (calibrated.argmax(axis=1) == scores.argmax(axis=1)).all()  # a temperature never changes the top class
    assert expected_calibration_error(calibrated, labels) < 0.03 < expected_calibration_error(scores, labels)


def test_reliability_bins_cover_every_face_once() -> None:
    scores, labels = overconfident_set(n=500)
    rows = reliability(scores, labels)
    assert len(rows) == 15
    assert sum(row["n"] for row in rows) == 500
    assert expected_calibration_error(np.eye(7)[labels], labels) == 0.0


# --- Parity with Keras on real data (slow) -----------------------------------------------


@pytest.mark.slow
def test_the_served_model_agrees_with_keras_on_public_test() -> None:
    public = DATA / "fer2013" / "fer2013_PublicTest.npz"
    if not public.is_file():
        pytest.skip(f"FER-2013 PublicTest not found at {public} (the data folder sits beside the repository)")
    with np.load(public) as data:
        faces, labels = data["images"], data["labels"]
    with np.load(public.with_name("ferplus_PublicTest.npz")) as votes:
        majority = votes["ferplus_labels"].astype(int)
    spec = ServingSpec.from_json(manifest_path(SHIPPED).read_text())
    reference = keras_scores(
        load_members(spec, SHIPPED.parent), faces, mirror=spec.mirror, lighting=spec.lighting
    ).argmax(axis=1)
    served = ServedScorer(SHIPPED).score(faces).argmax(axis=1)
    assert (served == reference).mean() >= 0.995
    assert abs((served == labels).mean() - (reference == labels).mean()) <= 0.002
    counted = majority >= 0
    agreement = [(predicted[counted] == majority[counted]).mean() for predicted in (served, reference)]
    assert abs(agreement[0] - agreement[1]) <= 0.002
    assert agreement[0] >= 0.84  # the target, by the served model
