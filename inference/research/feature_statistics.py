"""A person's own feature statistics: the network's last batch norm re-estimated from their faces.

A measurement for issue 13's JAFFE aim, not a part of the stream (docs/model.md, "Per person,
with their own feature statistics"). The network ends ``Dense(256) -> BatchNormalization ->
ReLU -> Dropout -> Dense(7, softmax)``; that batch norm centres and scales the 256 features by
the mean and variance of FER-2013's training faces. A person photographed in one studio (or
sitting at one webcam) can sit off that centre on every face, whatever the expression: JAFFE's
people do, and the output layer reads their mild expressions as neutral. Taking the mean and
variance over the person's own faces instead reads each face against that person's spread of
faces.

The statistics come from a person's *other* faces (leave one out), unlabelled, with the neutral
faces given a fixed share of the weight if asked: a day at a webcam is mostly neutral, a posed
set holds one face in seven neutral. A stream has no labels, so the weights can also be balanced
by the model's own reading (``balanced_by_reading``): each expression the population's statistics
read in the faces then weighs the same, however much of the day is one of them. Faces and their
mirrors are read, as the served model does.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

import numpy as np

from inference.emotions import EMOTIONS

if TYPE_CHECKING:
    import keras

NEUTRAL: Final = EMOTIONS.index("neutral")
# Statistics over fewer faces than this (a face and its mirror count once) are not taken: a
# variance needs at least two faces.
MIN_FACES: Final = 2


@dataclass(frozen=True)
class Head:
    """The network after its 256 pre-normalisation features: batch norm, ReLU, the output layer."""

    gamma: np.ndarray
    beta: np.ndarray
    population_mean: np.ndarray
    population_variance: np.ndarray
    epsilon: float
    kernel: np.ndarray  # (256, 7)
    bias: np.ndarray  # (7,)

    def scores(self, features: np.ndarray, mean: np.ndarray, variance: np.ndarray) -> np.ndarray:
        """Softmax scores of features (..., 256) normalised by ``mean`` and ``variance``."""
        normalised = self.gamma * (features - mean) / np.sqrt(variance + self.epsilon) + self.beta
        logits = np.maximum(normalised, 0.0) @ self.kernel + self.bias
        shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
        out: np.ndarray = shifted / shifted.sum(axis=-1, keepdims=True)
        return out


def split_network(model: keras.Model) -> tuple[keras.Model, Head]:
    """The part of ``build_model``'s network up to its last batch norm, and the head after it."""
    import keras

    norms = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    last = norms[-1]
    gamma, beta, mean, variance = (np.asarray(w, dtype=np.float64) for w in last.get_weights())
    kernel, bias = (np.asarray(w, dtype=np.float64) for w in model.layers[-1].get_weights())
    head = Head(gamma, beta, mean, variance, float(last.epsilon), kernel, bias)
    return keras.Model(model.inputs, last.input), head


def face_and_mirror_features(trunk: keras.Model, faces: np.ndarray) -> np.ndarray:
    """(N, 48, 48) faces -> (N, 2, 256): the pre-normalisation features of each face and its mirror."""
    from inference.network import centre_crop, with_mirrors

    features = trunk.predict(with_mirrors(centre_crop(faces)), verbose=0, batch_size=256)
    return np.stack([features[: len(faces)], features[len(faces) :]], axis=1).astype(np.float64)


def person_statistics(features: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weighted mean and variance over faces (M, 2, 256), each face's two views sharing its weight."""
    share = np.repeat(np.asarray(weights, dtype=np.float64), 2) / (2 * float(np.sum(weights)))
    flat = features.reshape(-1, features.shape[-1])
    mean = share @ flat
    variance = share @ (flat - mean) ** 2
    return mean, variance


def face_weights(labels: np.ndarray, neutral_share: float | None) -> np.ndarray:
    """Equal weights; or weights that give the neutral faces ``neutral_share`` of the total, when the
    faces hold both neutral and other faces."""
    weights = np.ones(len(labels))
    neutral = labels == NEUTRAL
    if neutral_share is not None and neutral.any() and not neutral.all():
        weights[neutral] = neutral_share / neutral.sum()
        weights[~neutral] = (1.0 - neutral_share) / (~neutral).sum()
    return weights


def balanced_by_reading(weights: np.ndarray, readings: np.ndarray) -> np.ndarray:
    """Weights (M,) rebalanced by the faces' readings (M, 7), without labels: each face's weight is
    split over the expressions by its reading, and each expression's part is scaled so that every
    expression the faces show at all weighs 1 in total."""
    mass = np.asarray(readings, dtype=np.float64) * np.asarray(weights, dtype=np.float64)[:, None]
    totals = mass.sum(axis=0)
    balanced: np.ndarray = (mass / np.where(totals > 0, totals, 1.0)).sum(axis=1)
    return balanced


def leave_one_out_scores(
    features: np.ndarray,
    head: Head,
    labels: np.ndarray,
    subjects: np.ndarray,
    *,
    neutral_share: float | None,
    balance: bool = False,
) -> tuple[np.ndarray, int]:
    """Each face's scores (mean over face and mirror) under its subject's *other* faces' statistics; and
    how many faces had too few other faces and kept the population's statistics. With ``balance``, the
    other faces' weights are balanced by how the population's statistics read them."""
    scores = np.empty((len(features), len(EMOTIONS)))
    # Only a balanced reading needs how the population's statistics read each face.
    readings = head.scores(features, head.population_mean, head.population_variance).mean(axis=1) if balance else None
    without = 0
    for index in range(len(features)):
        others = np.flatnonzero(subjects == subjects[index])
        others = others[others != index]
        if len(others) < MIN_FACES:
            mean, variance = head.population_mean, head.population_variance
            without += 1
        else:
            weights = face_weights(labels[others], neutral_share)
            if readings is not None:
                weights = balanced_by_reading(weights, readings[others])
            mean, variance = person_statistics(features[others], weights)
        scores[index] = head.scores(features[index], mean, variance).mean(axis=0)
    return scores, without


def person_feature_scores(
    weights: Path,
    faces: np.ndarray,
    labels: np.ndarray,
    subjects: np.ndarray,
    *,
    neutral_share: float | None,
    balance: bool = False,
) -> tuple[np.ndarray, int]:
    """``leave_one_out_scores`` for (N, 48, 48) faces and Keras ``.weights.h5`` of ``build_model``."""
    from inference.network import FaceScorer

    trunk, head = split_network(FaceScorer.from_weights(weights).model)
    return leave_one_out_scores(
        face_and_mirror_features(trunk, faces), head, labels, subjects, neutral_share=neutral_share, balance=balance
    )
