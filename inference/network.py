"""The emotion CNN: architecture, input preparation and batched prediction.

Importing this module imports neither Keras nor TensorFlow (the served path uses only
``centre_crop``): ``build_model`` imports Keras, whose backend may be JAX or PyTorch on a GPU
machine, and ``FaceScorer``, the Keras reference scorer, imports TensorFlow under that backend.

The network sees a 40x40 centre crop of a registered 48x48 grayscale face (training takes
random 40x40 crops, a cheap and strong augmentation), with raw 0-255 pixel values: the
rescaling is the model's first layer, so callers never have to remember it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from inference.emotions import EMOTIONS, FACE_SIZE

if TYPE_CHECKING:
    import keras

INPUT_SIZE = 40
BLOCK_FILTERS = (32, 64, 128, 256)
BLOCK_DROPOUT = (0.0, 0.1, 0.2, 0.3)
# The first block works at full resolution, where one conv costs as much as two deeper ones.
BLOCK_CONVS = (1, 2, 2, 2)
DENSE_UNITS = 256


@dataclass(frozen=True)
class Lighting:
    """Each face's brightness moved to ``mean`` and its contrast raised to at least ``min_std``.

    The networks learnt from FER-2013's faces (per face: mean about 129, standard deviation about
    75); BlazeFace's crops of real people at their cameras are darker and flatter (mean 84,
    standard deviation 33 on the development set), and a dim room or a cheap webcam flattens
    them further, which costs the served network 15-30 points (docs/model.md, "Lighting").
    """

    mean: float
    min_std: float

    @classmethod
    def parse(cls, text: str) -> Lighting:
        """``MEAN:MIN_STD`` pixel values, e.g. ``128:50`` (raises ``ValueError`` saying what is wrong)."""
        mean, _, min_std = text.partition(":")
        try:
            lighting = cls(mean=float(mean), min_std=float(min_std))
        except ValueError as exc:
            raise ValueError(f"--lighting {text}: expected MEAN:MIN_STD, e.g. 128:50") from exc
        if not (0 < lighting.mean < 255 and 0 < lighting.min_std <= 128):
            raise ValueError(
                f"--lighting {text}: the mean must lie between 0 and 255, the floor above 0 and at most 128"
            )
        return lighting


def normalise_lighting(inputs: np.ndarray, lighting: Lighting) -> np.ndarray:
    """(N, H, W, 1) float32 pixel values -> the same faces with ``lighting``'s mean and contrast floor.

    ``(x - m) * max(s, min_std) / max(s, 1) + mean``, clipped to 0-255, with ``m`` and ``s`` each
    face's own mean and standard deviation: a face with contrast enough is only shifted; a flat
    one is stretched about its mean (a uniform patch stays uniform). The graph does the same
    (``inference.research.conversion``); this is its reference.
    """
    mean = inputs.mean(axis=(1, 2, 3), keepdims=True)
    std = np.sqrt(np.square(inputs - mean).mean(axis=(1, 2, 3), keepdims=True))
    gain = np.maximum(std, lighting.min_std) / np.maximum(std, 1.0)
    out: np.ndarray = np.clip((inputs - mean) * gain + lighting.mean, 0.0, 255.0).astype(np.float32)
    return out


def build_model(width: float = 1.0) -> keras.Model:
    """A VGG-style net: four blocks of two 3x3 conv + batch norm, then one dense layer.

    ``width`` scales every block's filters (1.0: the shipped 32-64-128-256 network).
    """
    import keras

    inputs = keras.Input(shape=(INPUT_SIZE, INPUT_SIZE, 1), name="face")
    x = keras.layers.Rescaling(1.0 / 255.0)(inputs)
    for filters, convs, dropout in zip(BLOCK_FILTERS, BLOCK_CONVS, BLOCK_DROPOUT, strict=True):
        for _ in range(convs):
            x = keras.layers.Conv2D(round(filters * width), 3, padding="same", use_bias=False)(x)
            x = keras.layers.BatchNormalization()(x)
            x = keras.layers.ReLU()(x)
        x = keras.layers.MaxPooling2D(2, padding="same")(x)
        if dropout:
            x = keras.layers.Dropout(dropout)(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(DENSE_UNITS, use_bias=False)(x)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.ReLU()(x)
    x = keras.layers.Dropout(0.5)(x)
    outputs = keras.layers.Dense(len(EMOTIONS), activation="softmax", name="scores")(x)
    return keras.Model(inputs, outputs, name="smile_emotion_cnn")


def centre_crop(faces: np.ndarray, lighting: Lighting | None = None) -> np.ndarray:
    """(N, 48, 48) faces -> (N, 40, 40, 1) float32 network input, its lighting evened out if given."""
    margin = (FACE_SIZE - INPUT_SIZE) // 2
    crop = faces[:, margin : margin + INPUT_SIZE, margin : margin + INPUT_SIZE].astype(np.float32)[..., np.newaxis]
    return crop if lighting is None else normalise_lighting(crop, lighting)


def with_mirrors(inputs: np.ndarray) -> np.ndarray:
    """The batch followed by its horizontal mirror images (test-time flip averaging)."""
    return np.concatenate([inputs, inputs[:, :, ::-1, :]], axis=0)


def average_mirrors(scores: np.ndarray) -> np.ndarray:
    """Mean of each face's scores and its mirror's, from a ``with_mirrors`` batch."""
    half = len(scores) // 2
    averaged: np.ndarray = (scores[:half] + scores[half:]) / 2.0
    return averaged


class FaceScorer:
    """The trained network behind one compiled, thread-safe ``score`` call.

    Each face is scored together with its mirror image and the two are averaged: faces are
    roughly symmetric, and the averaging is a free accuracy gain on FER-2013.
    """

    def __init__(self, model: keras.Model, *, lighting: Lighting | None = None) -> None:
        """``lighting``: for a network trained on lit faces (``train_emotion_model --lighting``)."""
        import keras

        self.model, self.lighting = model, lighting
        self._forward: Any
        if keras.backend.backend() == "tensorflow":
            import tensorflow as tf

            self._forward = tf.function(
                lambda x: model(x, training=False),
                input_signature=[tf.TensorSpec([None, INPUT_SIZE, INPUT_SIZE, 1], tf.float32)],
            )
        else:  # JAX or PyTorch (a GPU machine's trainer): no TensorFlow there
            self._forward = lambda x: keras.ops.convert_to_numpy(model(x, training=False))

    @classmethod
    def from_weights(cls, path: Path, *, lighting: Lighting | None = None) -> FaceScorer:
        model = build_model()
        model.load_weights(str(path))
        return cls(model, lighting=lighting)

    def score(self, faces: np.ndarray, *, batch_size: int = 256) -> np.ndarray:
        """(N, 48, 48) uint8 faces -> (N, 7) float32 scores, each row summing to 1."""
        out = np.empty((len(faces), len(EMOTIONS)), dtype=np.float32)
        for start in range(0, len(faces), batch_size):
            batch = with_mirrors(centre_crop(faces[start : start + batch_size], self.lighting))
            out[start : start + batch_size] = average_mirrors(np.asarray(self._forward(batch)))
        return out
