"""What the trainer feeds the network: full warps and erases, light flips and crops, camera degrades as webcams do."""

from __future__ import annotations

import numpy as np

from inference.network import INPUT_SIZE, Lighting, normalise_lighting
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


def test_camera_augmentation_makes_faces_dimmer_flatter_and_softer_as_a_webcam_cuts_them() -> None:
    import cv2

    from inference.research.training import camera_degrade

    faces = np.random.default_rng(1).integers(0, 256, size=(400, 48, 48), dtype=np.uint8)
    degraded = camera_degrade(faces, np.random.default_rng(2))
    assert degraded.shape == faces.shape
    assert degraded.dtype == np.uint8
    spread = [float(face.std()) for face in degraded]
    sharpness = [float(np.abs(cv2.Laplacian(face, cv2.CV_32F)).mean()) for face in degraded]
    original_spread = float(faces.std(axis=(1, 2)).mean())
    original_sharpness = float(np.mean([np.abs(cv2.Laplacian(face, cv2.CV_32F)).mean() for face in faces]))
    # Each change reaches only some faces: the mix keeps faces like FER's and adds flat, soft ones.
    assert np.mean(spread) < 0.85 * original_spread
    assert min(spread) < 0.5 * original_spread
    assert np.mean(sharpness) < 0.7 * original_sharpness
    assert min(sharpness) < 0.2 * original_sharpness
    assert max(sharpness) > 0.9 * original_sharpness


def test_camera_augmentation_goes_through_the_batches_and_warps_like_full() -> None:
    images, crops = first_batch("camera")
    assert images.min() >= 0
    assert images.max() <= 255
    assert sum(is_a_crop(image, crops) for image in images) < len(images) // 2


def test_with_lighting_the_network_learns_on_faces_lit_as_the_served_file_lights_them() -> None:
    # A dark, flat face (mean about 40, standard deviation about 12), as BlazeFace cuts a person in a dim room.
    face = np.random.default_rng(4).integers(20, 61, size=(48, 48), dtype=np.uint8)
    faces = LabeledFaces(images=np.repeat(face[None], 64, axis=0), labels=np.arange(64) % 7)
    lighting = Lighting(mean=128.0, min_std=50.0)
    config = TrainingConfig(batch_size=32, augmentation="light", seed=5, lighting=lighting)
    images = np.asarray(build_batches(faces, config)[0][0], dtype=np.float64)
    np.testing.assert_allclose(images.mean(axis=(1, 2, 3)), 128.0, atol=0.01)
    np.testing.assert_allclose(images.std(axis=(1, 2, 3)), 50.0, atol=0.01)
    # Each input is its crop lit exactly as the served graph lights it (its reference).
    crops = crops_of(face.astype(np.float32))
    assert all(
        any(np.allclose(image, normalise_lighting(crop[None, ..., None], lighting)[0], atol=1e-3) for crop in crops)
        for image in images
    )
    unlit = np.asarray(build_batches(faces, TrainingConfig(batch_size=32, augmentation="light", seed=5))[0][0])
    assert unlit.mean() < 45.0
