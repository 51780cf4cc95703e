"""What the trainer feeds the network: full augmentation warps and erases, light only flips and crops."""

from __future__ import annotations

import numpy as np

from inference.network import INPUT_SIZE
from inference.research.datasets import LabeledFaces
from inference.research.training import TrainingConfig, build_batches


def one_face_set(n: int = 64) -> tuple[LabeledFaces, np.ndarray]:
    face = np.random.default_rng(3).integers(0, 256, size=(48, 48), dtype=np.uint8)
    faces = LabeledFaces(images=np.repeat(face[None], n, axis=0), labels=np.arange(n) % 7)
    return faces, face.astype(np.float32)


def crops_of(face: np.ndarray) -> list[np.ndarray]:
    """Every 40x40 window of the face and of its mirror image."""
    size = face.shape[0] - INPUT_SIZE + 1
    return [
        image[top : top + INPUT_SIZE, left : left + INPUT_SIZE]
        for image in (face, face[:, ::-1])
        for top in range(size)
        for left in range(size)
    ]


def first_batch(augmentation: str) -> tuple[np.ndarray, list[np.ndarray]]:
    faces, face = one_face_set()
    batches = build_batches(faces, TrainingConfig(batch_size=32, augmentation=augmentation, seed=5))
    images, labels, weights = batches[0]
    assert images.shape == (32, INPUT_SIZE, INPUT_SIZE, 1)
    assert (labels.shape, weights.shape) == ((32, 7), (32,))
    return np.asarray(images)[..., 0], crops_of(face)


def is_a_crop(image: np.ndarray, crops: list[np.ndarray]) -> bool:
    return any(np.array_equal(image, crop) for crop in crops)


def test_light_augmentation_only_flips_and_crops() -> None:
    images, crops = first_batch("light")
    assert all(is_a_crop(image, crops) for image in images)
    assert len({image.tobytes() for image in images}) > 1  # still random: different crops and flips


def test_full_augmentation_changes_the_pixels_themselves() -> None:
    images, crops = first_batch("full")
    assert sum(is_a_crop(image, crops) for image in images) < len(images) // 2


def test_each_epoch_visits_the_faces_in_a_new_order_with_new_augmentation() -> None:
    faces = LabeledFaces(
        images=np.random.default_rng(0).integers(0, 256, size=(64, 48, 48), dtype=np.uint8),
        labels=np.arange(64) % 7,
    )
    batches = build_batches(faces, TrainingConfig(batch_size=32, seed=5))
    first_order, first = batches.order.copy(), batches[0][0]
    batches.on_epoch_end()
    assert not np.array_equal(first_order, batches.order)
    assert sorted(batches.order.tolist()) == list(range(64))
    assert not np.array_equal(first, batches[0][0])
