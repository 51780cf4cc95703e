"""Making the served LiteRT file from Keras networks (TensorFlow is imported here, never when serving).

``manage.py convert_emotion_model`` builds one Keras model holding every member network, the
mirror view and the temperature (``build_ensemble``), converts it (``convert``) and checks it
against ``keras_scores``; ``inference.serving`` only runs the result.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from inference.emotions import EMOTIONS
from inference.network import INPUT_SIZE, Lighting, centre_crop
from inference.serving import EPSILON, ServingSpec


def _lit(faces: Any, lighting: Lighting) -> Any:
    """``inference.network.normalise_lighting`` as graph operations."""
    from keras import ops

    mean = ops.mean(faces, axis=(1, 2, 3), keepdims=True)
    std = ops.sqrt(ops.mean(ops.square(faces - mean), axis=(1, 2, 3), keepdims=True))
    gain = ops.maximum(std, lighting.min_std) / ops.maximum(std, 1.0)
    return ops.clip((faces - mean) * gain + lighting.mean, 0.0, 255.0)


def build_ensemble(
    networks: Sequence[Any], *, mirror: bool, temperature: float, lighting: Lighting | None = None
) -> Any:
    """One Keras model: the lighting evened out, members x views averaged, then the temperature.
    Members are built models."""
    import keras

    inputs = keras.Input(shape=(INPUT_SIZE, INPUT_SIZE, 1), name="face")
    faces = inputs if lighting is None else _lit(inputs, lighting)
    views = [faces, keras.ops.flip(faces, axis=2)] if mirror else [faces]
    outputs = [network(view) for network in networks for view in views]
    mean = outputs[0] if len(outputs) == 1 else keras.layers.Average()(outputs)
    logits = keras.ops.log(keras.ops.maximum(mean, EPSILON)) / temperature
    return keras.Model(inputs, keras.ops.softmax(logits, axis=-1), name="smile_emotion_ensemble")


def load_members(spec: ServingSpec, folder: Path) -> list[Any]:
    from inference.network import build_model

    networks = []
    for index, member in enumerate(spec.members):
        network = build_model(member.width)
        network.name = f"member_{index}"
        network.load_weights(str(folder / member.weights))
        networks.append(network)
    return networks


def keras_scores(
    networks: Sequence[Any],
    faces: np.ndarray,
    *,
    mirror: bool,
    lighting: Lighting | None = None,
    batch_size: int = 512,
) -> np.ndarray:
    """Uncalibrated ensemble probabilities from Keras (the reference the served file must match)."""
    inputs = centre_crop(faces, lighting)
    total = np.zeros((len(faces), len(EMOTIONS)), dtype=np.float64)
    views = [inputs, inputs[:, :, ::-1]] if mirror else [inputs]
    for network in networks:
        for view in views:
            total += network.predict(view, batch_size=batch_size, verbose=0)
    mean: np.ndarray = (total / (len(networks) * len(views))).astype(np.float32)
    return mean


def convert(model: Any) -> bytes:
    """The Keras model as a LiteRT flatbuffer with dynamic-range quantisation (int8 weights)."""
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    flatbuffer: bytes = converter.convert()
    return flatbuffer
