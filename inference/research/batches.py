"""Training batches for Keras 3 on any backend: faces augmented afresh each epoch, in a worker thread.

A ``keras.utils.PyDataset`` rather than ``tf.data``: the GPU machines have Keras with JAX or
PyTorch and no TensorFlow, and NumPy + OpenCV augmentation keeps one training path for all.
"""

from __future__ import annotations

from collections.abc import Callable

import keras
import numpy as np


class FaceBatches(keras.utils.PyDataset):
    """``(inputs, targets, weights)`` batches; ``prepare(faces, rng)`` turns raw faces into inputs.

    Each epoch visits the faces in a new order (the last, incomplete batch is dropped); each
    batch's randomness comes from (seed, epoch, batch), so two workers never share a generator.
    """

    def __init__(
        self,
        faces: np.ndarray,
        targets: np.ndarray,
        weights: np.ndarray,
        *,
        batch_size: int,
        seed: int,
        prepare: Callable[[np.ndarray, np.random.Generator], np.ndarray],
        workers: int = 2,
    ) -> None:
        super().__init__(workers=workers, use_multiprocessing=False, max_queue_size=8)
        self.faces, self.targets, self.weights = faces, targets, weights
        self.batch_size, self.seed, self.prepare = batch_size, seed, prepare
        self.epoch = 0
        self.order = self._order()

    def _order(self) -> np.ndarray:
        order: np.ndarray = np.random.default_rng([self.seed, self.epoch]).permutation(len(self.faces))
        return order

    def __len__(self) -> int:
        return len(self.faces) // self.batch_size

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        chosen = self.order[index * self.batch_size : (index + 1) * self.batch_size]
        rng = np.random.default_rng([self.seed, self.epoch, index])
        return self.prepare(self.faces[chosen], rng), self.targets[chosen], self.weights[chosen]

    def on_epoch_end(self) -> None:
        self.epoch += 1
        self.order = self._order()
