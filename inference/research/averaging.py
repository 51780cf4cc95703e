"""Weight averaging over the last epochs (SWA), and the batch-norm statistics it needs.

Averaging the weights of the final epochs of a cosine schedule lands nearer the centre of
the flat region the optimiser wanders in, which generalises a little better than any single
epoch. The averaged network's batch-norm statistics belong to none of the averaged epochs, so
they are recomputed on clean training faces.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import keras
import numpy as np

from inference.network import Lighting, build_model, centre_crop


def load_weights(path: Path) -> list[np.ndarray]:
    model = build_model()
    model.load_weights(str(path))
    return [np.asarray(w) for w in model.get_weights()]


class WeightAverage:
    """A running mean of weight lists, saved to and resumed from an ``.npz`` file."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self.count = 0
        self.sums: list[np.ndarray] = []
        if path is not None and path.exists():
            with np.load(path) as data:  # arr_0 is the count, then one array per weight
                self.count = int(data["arr_0"])
                self.sums = [data[f"arr_{i}"] for i in range(1, len(data.files))]

    def add(self, weights: Sequence[np.ndarray]) -> None:
        if not self.sums:
            self.sums = [np.array(w, dtype=np.float64) for w in weights]
        else:
            for total, w in zip(self.sums, weights, strict=True):
                total += w
        self.count += 1
        if self.path is not None:
            np.savez(self.path, np.array(self.count), *self.sums)

    def mean(self) -> list[np.ndarray]:
        if not self.count:
            raise ValueError("no weights were averaged")
        return [(s / self.count).astype(np.float32) for s in self.sums]


def recalibrate_batch_norm(
    model: keras.Model, faces: np.ndarray, *, batch_size: int = 128, seed: int = 0, lighting: Lighting | None = None
) -> None:
    """Recompute every batch-norm layer's moving statistics from (N, 48, 48) clean faces (lit as trained)."""
    layers = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    momenta = [layer.momentum for layer in layers]
    for layer in layers:
        layer.momentum = 0.9  # 50+ batches make the estimate independent of the starting values
    order = np.random.default_rng(seed).permutation(len(faces))[: batch_size * 60]
    inputs = centre_crop(faces[order], lighting)
    for start in range(0, len(inputs), batch_size):
        model(inputs[start : start + batch_size], training=True)
    for layer, momentum in zip(layers, momenta, strict=True):
        layer.momentum = momentum


def averaged_model(
    weights: Sequence[np.ndarray], faces: np.ndarray, *, width: float = 1.0, lighting: Lighting | None = None
) -> keras.Model:
    """A fresh network of ``width`` holding ``weights``, its batch-norm statistics recomputed on ``faces``."""
    model = build_model(width)
    model.set_weights(list(weights))
    recalibrate_batch_norm(model, faces, lighting=lighting)
    return model
