"""The classifier API: frames in, one result per frame, scores that mean something."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
from django.conf import settings

from inference.classifier import EmotionClassifier, FrameResult, classify_frames, get_classifier
from inference.emotions import EMOTIONS
from inference.images import FrameLimits
from inference.network import FaceScorer
from inference.serving import ServedScorer


@pytest.fixture(scope="module")
def classifier() -> EmotionClassifier:
    return get_classifier()


def test_the_shipped_weights_are_in_the_repository_and_small() -> None:
    weights = Path(settings.SMILE_EMOTION_WEIGHTS)
    assert weights.is_file()
    assert weights.stat().st_size < 20 * 1024 * 1024


def test_the_model_is_loaded_once_per_process(classifier: EmotionClassifier) -> None:
    assert get_classifier() is classifier


def test_it_scores_the_smiling_astronaut_as_happy(classifier: EmotionClassifier, face_jpeg: bytes) -> None:
    [result] = classifier.classify_frames([face_jpeg])
    assert result.face
    assert result.scores is not None
    assert list(result.scores) == list(EMOTIONS)
    assert sum(result.scores.values()) == pytest.approx(1.0, abs=1e-4)
    assert result.dominant == "happy"
    assert result.scores["happy"] > 0.5


def test_it_answers_every_frame_in_order(classifier: EmotionClassifier, face_jpeg: bytes, no_face_jpeg: bytes) -> None:
    results = classify_frames([no_face_jpeg, b"not an image", face_jpeg, face_jpeg[:1000]])
    assert [r.face for r in results] == [False, False, True, False]
    assert [r.error for r in results] == [None, "invalid_image", None, "invalid_image"]
    assert results[0].scores is None
    assert results[2].dominant == "happy"


def test_an_empty_batch_gives_no_results(classifier: EmotionClassifier) -> None:
    assert classifier.classify_frames([]) == []


def test_frame_limits_come_from_settings(classifier: EmotionClassifier) -> None:
    assert classifier.limits == FrameLimits(
        max_bytes=settings.SMILE_MAX_FRAME_BYTES,
        max_width=settings.SMILE_MAX_FRAME_WIDTH,
        max_height=settings.SMILE_MAX_FRAME_HEIGHT,
    )


def test_an_oversized_frame_gets_its_error_code(face_jpeg: bytes) -> None:
    small_limit = EmotionClassifier(get_classifier().scorer, limits=FrameLimits(max_bytes=1024))
    [result] = small_limit.classify_frames([face_jpeg])
    assert result == FrameResult(face=False, error="frame_too_large")


def test_batched_scores_match_single_scores(classifier: EmotionClassifier) -> None:
    rng = np.random.default_rng(0)
    faces = rng.integers(0, 256, size=(5, 48, 48), dtype=np.uint8)
    batched = classifier.scorer.score(faces)
    single = np.concatenate([classifier.scorer.score(faces[i : i + 1]) for i in range(5)])
    assert batched.shape == (5, len(EMOTIONS))
    np.testing.assert_allclose(batched, single, atol=1e-5)
    np.testing.assert_allclose(batched.sum(axis=1), 1.0, atol=1e-5)


def test_it_is_safe_to_call_from_several_threads(classifier: EmotionClassifier, face_jpeg: bytes) -> None:
    outcomes: list[str | None] = []

    def work() -> None:
        for _ in range(3):
            outcomes.append(classifier.classify_frames([face_jpeg])[0].dominant)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes == ["happy"] * 12


def test_a_scorer_rejects_weights_of_another_shape(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.weights.h5"
    bogus.write_bytes(b"not hdf5")
    with pytest.raises((OSError, ValueError)):
        FaceScorer.from_weights(bogus)


def test_a_broken_served_file_fails_at_load_not_at_the_first_frame(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.tflite"
    bogus.write_bytes(b"not a flatbuffer")
    with pytest.raises(ValueError, match="not a valid Flatbuffer"):
        EmotionClassifier.from_weights(bogus)


def test_the_classifier_serves_the_litert_file_with_calibrated_scores(classifier: EmotionClassifier) -> None:
    assert isinstance(classifier.scorer, ServedScorer)
    assert classifier.scorer.spec is not None
    assert classifier.scorer.spec.temperature != 1.0
