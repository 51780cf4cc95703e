"""Face detection and cropping on real photographs."""

from __future__ import annotations

import numpy as np

from inference.faces import Box, HaarFaceDetector, crop_face
from inference.images import decode_grayscale


def test_it_finds_the_astronauts_face(face_jpeg: bytes) -> None:
    gray = decode_grayscale(face_jpeg)  # 320x240 after reduced decoding
    box = HaarFaceDetector().find_face(gray)
    assert box is not None
    # The face sits around x 215-345, y 75-210 in the 640x480 frame: half that here.
    centre_x, centre_y = box.x + box.width / 2, box.y + box.height / 2
    assert 120 < centre_x < 160
    assert 50 < centre_y < 90
    assert 50 < box.width < 90


def test_it_finds_no_face_in_the_cameraman_from_behind_his_camera(no_face_png: bytes) -> None:
    assert HaarFaceDetector().find_face(decode_grayscale(no_face_png)) is None


def test_it_finds_no_face_in_a_blank_frame() -> None:
    assert HaarFaceDetector().find_face(np.full((480, 640), 127, np.uint8)) is None


def test_the_crop_is_48_by_48_grayscale(face_jpeg: bytes) -> None:
    gray = decode_grayscale(face_jpeg)
    box = HaarFaceDetector().find_face(gray)
    assert box is not None
    crop = crop_face(gray, box)
    assert crop.shape == (48, 48)
    assert crop.dtype == np.uint8


def test_a_face_at_the_frame_edge_is_padded_not_shifted() -> None:
    gray = np.zeros((100, 100), np.uint8)
    gray[:, :25] = 200  # the left half of a face at x 0-50
    crop = crop_face(gray, Box(x=0, y=0, width=50, height=50), margin=0.2)
    assert crop.shape == (48, 48)
    # The left half of the face is bright, the right half dark, as in the frame.
    assert crop[:, :20].mean() > 150
    assert crop[:, 28:].mean() < 50
