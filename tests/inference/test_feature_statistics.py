"""A person's own feature statistics (the last batch norm re-estimated from their faces): the split
network, the weighted statistics, leave one out, and the command's option."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import keras
import numpy as np
import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from inference.emotions import EMOTIONS
from inference.network import build_model, centre_crop
from inference.research.feature_statistics import (
    Head,
    balanced_by_reading,
    face_and_mirror_features,
    face_weights,
    leave_one_out_scores,
    person_statistics,
    split_network,
)
from tests.inference.test_per_subject import write_people

NEUTRAL, SAD = EMOTIONS.index("neutral"), EMOTIONS.index("sad")
FEATURES = 256


def random_head(seed: int = 0) -> Head:
    rng = np.random.default_rng(seed)
    return Head(
        gamma=rng.uniform(0.5, 1.5, FEATURES),
        beta=rng.normal(0.0, 0.3, FEATURES),
        population_mean=rng.normal(0.0, 1.0, FEATURES),
        population_variance=rng.uniform(0.5, 2.0, FEATURES),
        epsilon=1e-3,
        kernel=rng.normal(0.0, 0.3, (FEATURES, len(EMOTIONS))),
        bias=rng.normal(0.0, 0.1, len(EMOTIONS)),
    )


def standardised(rng: np.random.Generator, faces: int, head: Head) -> np.ndarray:
    """(faces, 2, 256) features whose sample mean and variance are exactly the population's."""
    raw = rng.normal(size=(faces * 2, FEATURES))
    raw = (raw - raw.mean(axis=0)) / raw.std(axis=0)
    return (raw * np.sqrt(head.population_variance) + head.population_mean).reshape(faces, 2, FEATURES)


@pytest.fixture(scope="module")
def model_and_faces() -> tuple[keras.Model, np.ndarray]:
    model = build_model()
    rng = np.random.default_rng(1)
    # Untrained batch norms hold mean 0 and variance 1: give them statistics the head must use.
    last = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)][-1]
    gamma, beta, _, _ = last.get_weights()
    last.set_weights([gamma, beta, rng.normal(0.0, 0.05, FEATURES), rng.uniform(0.5, 2.0, FEATURES)])
    return model, rng.integers(0, 256, size=(6, 48, 48), dtype=np.uint8)


def test_the_split_network_scores_as_the_whole_one_with_the_populations_statistics(
    model_and_faces: tuple[keras.Model, np.ndarray],
) -> None:
    model, faces = model_and_faces
    trunk, head = split_network(model)
    features = face_and_mirror_features(trunk, faces)
    assert features.shape == (6, 2, FEATURES)
    views = centre_crop(faces)
    expected = model.predict(views, verbose=0)
    mirrored = model.predict(np.ascontiguousarray(views[:, :, ::-1]), verbose=0)
    scores = head.scores(features, head.population_mean, head.population_variance)
    assert scores[:, 0] == pytest.approx(expected, abs=1e-4)
    assert scores[:, 1] == pytest.approx(mirrored, abs=1e-4)
    assert scores.sum(axis=-1) == pytest.approx(np.ones((6, 2)))


def test_a_persons_constant_offset_is_taken_off_by_their_own_statistics() -> None:
    head = random_head()
    base = standardised(np.random.default_rng(2), 12, head)
    offset = np.random.default_rng(3).normal(0.0, 2.0, FEATURES)  # one studio, one webcam: every face moves
    shifted = base + offset
    as_population = head.scores(base, head.population_mean, head.population_variance)
    assert head.scores(shifted, head.population_mean, head.population_variance) != pytest.approx(as_population)
    own = person_statistics(shifted, np.ones(12))
    assert head.scores(shifted, *own) == pytest.approx(as_population, abs=1e-9)


def test_statistics_weigh_each_face_with_its_mirror_and_neutral_faces_get_their_share() -> None:
    features = np.arange(3 * 2 * FEATURES, dtype=np.float64).reshape(3, 2, FEATURES)
    mean, variance = person_statistics(features, np.ones(3))
    flat = features.reshape(6, FEATURES)
    assert mean == pytest.approx(flat.mean(axis=0))
    assert variance == pytest.approx(flat.var(axis=0))
    weighted_mean, _ = person_statistics(features, np.array([2.0, 1.0, 1.0]))
    assert weighted_mean == pytest.approx((2 * features[0].mean(0) + features[1].mean(0) + features[2].mean(0)) / 4)

    labels = np.array([NEUTRAL, SAD, SAD, SAD, NEUTRAL], dtype=np.uint8)
    weights = face_weights(labels, 0.7)
    assert weights[labels == NEUTRAL].sum() / weights.sum() == pytest.approx(0.7)
    assert face_weights(labels, None).tolist() == [1.0] * 5
    # Only neutral faces (or none): no share to give.
    assert face_weights(np.full(3, NEUTRAL, dtype=np.uint8), 0.7).tolist() == [1.0] * 3


def test_balancing_by_the_reading_gives_each_read_expression_the_same_share_without_labels() -> None:
    happy = EMOTIONS.index("happy")
    # A neutral-heavy day: six faces read neutral, two sad, one happy (one-hot readings).
    read = np.array([NEUTRAL] * 6 + [SAD] * 2 + [happy])
    readings = np.eye(len(EMOTIONS))[read]
    weights = balanced_by_reading(np.ones(len(read)), readings)
    for expression in (NEUTRAL, SAD, happy):
        assert weights[read == expression].sum() == pytest.approx(1.0)
    # So more of the same resting face changes nothing: the mix of the day does not move the statistics.
    features = np.random.default_rng(5).normal(size=(len(read), 2, FEATURES))
    more_rest = np.concatenate([np.arange(len(read)), np.flatnonzero(read == NEUTRAL).repeat(4)])
    day = person_statistics(features, weights)
    longer_rest = person_statistics(
        features[more_rest], balanced_by_reading(np.ones(len(more_rest)), readings[more_rest])
    )
    for got, expected in zip(longer_rest, day, strict=True):
        assert got == pytest.approx(expected)
    # A soft reading splits a face's weight; an expression no face shows weighs nothing.
    soft = np.zeros((2, len(EMOTIONS)))
    soft[0, [NEUTRAL, SAD]] = 0.5
    soft[1, NEUTRAL] = 1.0
    assert balanced_by_reading(np.ones(2), soft) == pytest.approx([0.5 / 1.5 + 1.0, 1.0 / 1.5])


def test_balanced_leave_one_out_reads_the_other_faces_with_the_populations_statistics() -> None:
    head = random_head()
    rng = np.random.default_rng(6)
    features = rng.normal(0.0, 1.0, (5, 2, FEATURES)) + head.population_mean
    labels = np.array([NEUTRAL, SAD, NEUTRAL, SAD, NEUTRAL], dtype=np.uint8)
    subjects = np.zeros(5, dtype=int)
    scores, _ = leave_one_out_scores(features, head, labels, subjects, neutral_share=0.7, balance=True)
    others = [1, 2, 3, 4]
    readings = head.scores(features[others], head.population_mean, head.population_variance).mean(axis=1)
    weights = balanced_by_reading(face_weights(labels[others], 0.7), readings)
    expected = head.scores(features[0], *person_statistics(features[others], weights)).mean(axis=0)
    assert scores[0] == pytest.approx(expected)
    plain, _ = leave_one_out_scores(features, head, labels, subjects, neutral_share=0.7)
    assert scores[0] != pytest.approx(plain[0])


def test_each_face_is_read_with_its_subjects_other_faces_only() -> None:
    head = random_head()
    rng = np.random.default_rng(4)
    features = rng.normal(0.0, 1.0, (7, 2, FEATURES)) + head.population_mean
    subjects = np.array(["a", "a", "a", "a", "b", "b", "c"])
    labels = np.array([NEUTRAL, SAD, NEUTRAL, SAD, NEUTRAL, SAD, SAD], dtype=np.uint8)
    scores, without = leave_one_out_scores(features, head, labels, subjects, neutral_share=0.5)
    others = [1, 2, 3]
    expected = head.scores(features[0], *person_statistics(features[others], face_weights(labels[others], 0.5)))
    assert scores[0] == pytest.approx(expected.mean(axis=0))
    with_itself = head.scores(features[0], *person_statistics(features[:4], face_weights(labels[:4], 0.5)))
    assert scores[0] != pytest.approx(with_itself.mean(axis=0))
    # "b" has one other face and "c" none: too few for a variance, so the population's statistics.
    assert without == 3
    population = head.scores(features[6], head.population_mean, head.population_variance).mean(axis=0)
    assert scores[6] == pytest.approx(population)
    assert scores.sum(axis=1) == pytest.approx(np.ones(7))


def test_the_command_adds_the_feature_statistics_reading(tmp_path: Path) -> None:
    write_people(tmp_path / "people")
    weights = tmp_path / "net.weights.h5"
    build_model().save_weights(str(weights))

    def evaluate(*extra: str) -> str:
        out = StringIO()
        arguments = ["--data", str(tmp_path / "people"), "--per-subject", "--feature-statistics", str(weights)]
        call_command("evaluate_emotion_model", *arguments, *extra, stdout=out)
        return out.getvalue()

    own = json.loads(evaluate("--neutral-share", "0.6", "--json"))["per_subject"]["feature_statistics"]
    balanced = json.loads(evaluate("--balance", "--json"))["per_subject"]["feature_statistics"]
    assert (own["balanced"], balanced["balanced"]) == (False, True)
    assert set(own) == {
        "expressive_accuracy",
        "neutral_as_other",
        "other_as_sad",
        "p90_neutral_sadness",
        "neutral_share",
        "balanced",
        "faces_without_statistics",
    }
    assert own["neutral_share"] == 0.6
    assert own["faces_without_statistics"] == 0
    text = evaluate()
    assert "with each person's own feature statistics" in text
    assert "other_as_sad" in text


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--feature-statistics", "{weights}"], "needs --per-subject"),
        (["--per-subject", "--feature-statistics", "{tflite}"], "Keras .weights.h5"),
        (["--per-subject", "--feature-statistics", "{missing}"], "Keras .weights.h5"),
        (["--per-subject", "--feature-statistics", "{weights}", "--neutral-share", "1"], "strictly between 0 and 1"),
        (["--per-subject", "--neutral-share", "0.5"], "needs --feature-statistics"),
        (["--per-subject", "--balance"], "needs --feature-statistics"),
    ],
)
def test_the_command_explains_a_wrong_feature_statistics_option(
    tmp_path: Path, arguments: list[str], message: str
) -> None:
    write_people(tmp_path / "people")
    paths = {
        "weights": tmp_path / "net.weights.h5",
        "tflite": Path(settings.SMILE_EMOTION_WEIGHTS),
        "missing": tmp_path / "gone.weights.h5",
    }
    paths["weights"].write_bytes(b"")
    filled = [argument.format(**{key: str(value) for key, value in paths.items()}) for argument in arguments]
    with pytest.raises(CommandError, match=message):
        call_command("evaluate_emotion_model", "--data", str(tmp_path / "people"), *filled)
