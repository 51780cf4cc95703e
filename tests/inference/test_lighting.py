"""The served file evens out each face's lighting before the networks read it (docs/model.md, "Lighting").

A webcam in a dim room, or a cheap one, gives a face that is darker and flatter than FER-2013's
faces; the networks were trained on those and read such a face much worse. The served graph
moves each face's mean to FER's and raises a low contrast to a floor, so the same face under
dimmer or flatter light reads the same.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from inference.network import FaceScorer, Lighting, normalise_lighting
from inference.research.conversion import keras_scores, load_members
from inference.serving import ServedScorer, ServingSpec, calibrate, load_scorer, manifest_path
from tests.inference.conftest import convert_tiny_model

SHIPPED = Path(settings.BASE_DIR) / "inference" / "weights" / "emotion_model.tflite"


def face_with(mean: float, std: float, seed: int = 0) -> np.ndarray:
    """A 48x48 face-like pattern (smooth, not noise) with about this mean and contrast in its 40x40 centre."""
    rng = np.random.default_rng(seed)
    coarse = rng.normal(0.0, 1.0, (6, 6)).astype(np.float32)
    pattern = cv2.resize(coarse, (48, 48), interpolation=cv2.INTER_CUBIC)
    centre = pattern[4:44, 4:44]
    scaled = (pattern - centre.mean()) / centre.std() * std + mean
    return np.asarray(np.clip(scaled, 0, 255).round().astype(np.uint8))


def dimmed(face: np.ndarray, contrast: float, brightness: float) -> np.ndarray:
    """The face with its contrast scaled about its centre's mean and its brightness moved."""
    centre_mean = face[4:44, 4:44].astype(np.float32).mean()
    out = (face.astype(np.float32) - centre_mean) * contrast + centre_mean + brightness
    return np.asarray(np.clip(out, 0, 255).round().astype(np.uint8))


LIGHTING = Lighting(mean=128.0, min_std=50.0)


def test_a_flat_dark_face_is_brought_to_the_mean_and_the_contrast_floor() -> None:
    inputs = face_with(70, 20)[4:44, 4:44].astype(np.float32)[np.newaxis, :, :, np.newaxis]
    out = normalise_lighting(inputs, LIGHTING)
    assert out.mean() == pytest.approx(128.0, abs=0.5)
    assert out.std() == pytest.approx(50.0, abs=0.5)


def test_a_face_with_contrast_enough_keeps_it_and_only_moves_to_the_mean() -> None:
    inputs = face_with(150, 55)[4:44, 4:44].astype(np.float32)[np.newaxis, :, :, np.newaxis]
    out = normalise_lighting(inputs, LIGHTING)
    shift = 128.0 - inputs.mean()
    unclipped = (out > 0) & (out < 255)
    assert unclipped.mean() > 0.95
    np.testing.assert_allclose(out[unclipped], inputs[unclipped] + shift, atol=1e-3)


def test_a_uniform_patch_stays_uniform_and_finite() -> None:
    inputs = np.full((2, 40, 40, 1), 37.0, dtype=np.float32)
    out = normalise_lighting(inputs, LIGHTING)
    assert np.isfinite(out).all()
    np.testing.assert_allclose(out, 128.0)


def test_values_stay_pixel_values() -> None:
    inputs = face_with(128, 120)[4:44, 4:44].astype(np.float32)[np.newaxis, :, :, np.newaxis]
    out = normalise_lighting(inputs, LIGHTING)
    assert out.min() >= 0.0
    assert out.max() <= 255.0


def test_the_shipped_file_reads_a_face_in_dim_flat_light_as_it_reads_it_well_lit() -> None:
    spec = ServingSpec.from_json(manifest_path(SHIPPED).read_text())
    assert spec.lighting == LIGHTING
    scorer = ServedScorer(SHIPPED)
    faces = [face_with(110, 40, seed) for seed in range(6)]
    dim = [dimmed(face, 0.5, -45) for face in faces]  # half the contrast, much darker
    # Both are below the contrast floor, so both are stretched to it: the same input but for rounding.
    np.testing.assert_allclose(scorer.score(np.stack(dim)), scorer.score(np.stack(faces)), atol=0.03)


@pytest.fixture(scope="module")
def lit_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return convert_tiny_model(tmp_path_factory.mktemp("lit"), "--lighting", "128:50")


def test_the_conversion_bakes_the_lighting_into_the_file_and_its_manifest(lit_model: Path) -> None:
    spec = ServingSpec.from_json(manifest_path(lit_model).read_text())
    assert spec.lighting == LIGHTING
    networks = load_members(spec, lit_model.parent)
    scorer = ServedScorer(lit_model)
    faces = np.stack([face_with(60 + 10 * i, 15 + 5 * i, i) for i in range(8)])
    served = scorer.score(faces)
    reference = calibrate(keras_scores(networks, faces, mirror=True, lighting=LIGHTING), 2.0)
    np.testing.assert_allclose(served, reference, atol=0.02)
    # In the graph, not beside it: the file reads a face and its flatter, darker self alike; the
    # networks alone do not.
    dim = np.stack([dimmed(face, 0.5, -30) for face in faces])
    served_change = np.abs(scorer.score(dim) - served).max()
    unlit_dim, unlit = (keras_scores(networks, batch, mirror=True) for batch in (dim, faces))
    networks_change = np.abs(unlit_dim - unlit).max()
    assert served_change * 10 < networks_change


def test_a_manifest_written_before_lighting_existed_loads_without_it() -> None:
    spec = ServingSpec.from_json('{"members": [{"weights": "a.weights.h5"}], "temperature": 0.7}')
    assert spec.lighting is None
    assert ServingSpec.from_json(ServingSpec(members=spec.members, lighting=LIGHTING).to_json()).lighting == LIGHTING


@pytest.mark.parametrize("value", ["128", "128:0", "300:50", "128:x", ":50"])
def test_a_malformed_lighting_option_is_refused(value: str, tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="--lighting"):
        call_command(
            "convert_emotion_model", "missing.weights.h5", "--out", str(tmp_path / "m.tflite"), "--lighting", value
        )


def test_the_keras_reference_scorer_reads_a_network_trained_on_lit_faces_as_served() -> None:
    """``FaceScorer(lighting=...)`` (the trainer's validation) sees what the served graph feeds the network."""
    model = FaceScorer.from_weights(SHIPPED.with_name("emotion_cnn.weights.h5")).model
    faces = np.random.default_rng(6).integers(60, 200, size=(8, 48, 48)).astype(np.uint8)
    darker = (faces.astype(np.int16) - 40).astype(np.uint8)
    lit, unlit = FaceScorer(model, lighting=LIGHTING), FaceScorer(model)
    np.testing.assert_allclose(lit.score(faces), lit.score(darker), atol=1e-5)
    assert np.abs(unlit.score(faces) - unlit.score(darker)).max() > 1e-3
    reference = keras_scores([model], faces, mirror=True, lighting=LIGHTING)
    np.testing.assert_allclose(lit.score(faces), reference, atol=1e-5)


def test_keras_weights_are_read_lit_when_their_card_says_they_were_trained_lit(tmp_path: Path) -> None:
    """``evaluate_emotion_model --weights X.weights.h5`` on v3's weights reads them as they were trained."""
    keras_weights = SHIPPED.with_name("emotion_cnn.weights.h5")
    faces = np.random.default_rng(7).integers(0, 120, size=(8, 48, 48)).astype(np.uint8)  # dim faces
    model = FaceScorer.from_weights(keras_weights).model
    lit, unlit = FaceScorer(model, lighting=LIGHTING).score(faces), FaceScorer(model).score(faces)
    np.testing.assert_allclose(load_scorer(keras_weights).score(faces), lit, atol=1e-5)
    # Weights without a card beside them (an epoch's backup) are read as they are.
    bare = tmp_path / "epoch.weights.h5"
    bare.write_bytes(keras_weights.read_bytes())
    np.testing.assert_allclose(load_scorer(bare).score(faces), unlit, atol=1e-5)
