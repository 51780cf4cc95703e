"""Face detection and cropping on real photographs."""

from __future__ import annotations

import hashlib
from pathlib import Path

import cv2
import numpy as np
import pytest

from inference.blazeface import BLAZEFACE_FILE, BlazeFaceDetector, decode, letterbox, ssd_anchors
from inference.faces import Box, crop_face
from inference.images import decode_grayscale


def test_it_finds_the_astronauts_face(face_jpeg: bytes) -> None:
    gray = decode_grayscale(face_jpeg)  # 640x480: a webcam frame is decoded whole
    box = BlazeFaceDetector().find_face(gray)
    assert box is not None
    # The face sits around x 215-345, y 75-210 in the 640x480 frame.
    centre_x, centre_y = box.x + box.width / 2, box.y + box.height / 2
    assert 240 < centre_x < 320
    assert 100 < centre_y < 180
    assert 100 < box.width < 180


def test_it_finds_no_face_in_a_cup_of_coffee(no_face_jpeg: bytes) -> None:
    assert BlazeFaceDetector().find_face(decode_grayscale(no_face_jpeg)) is None


def test_it_finds_a_face_turned_to_the_side(profile_face_png: bytes) -> None:
    # The frontal Haar cascade this detector replaced missed this face.
    box = BlazeFaceDetector().find_face(decode_grayscale(profile_face_png))
    assert box is not None
    # The cameraman's face sits around x 175-260, y 120-210 in the 512x512 photo.
    assert 200 < box.x + box.width / 2 < 235
    assert 150 < box.y + box.height / 2 < 180


def test_it_finds_no_face_in_a_blank_frame() -> None:
    assert BlazeFaceDetector().find_face(np.full((480, 640), 127, np.uint8)) is None


def test_the_crop_is_48_by_48_grayscale(face_jpeg: bytes) -> None:
    gray = decode_grayscale(face_jpeg)
    box = BlazeFaceDetector().find_face(gray)
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


def test_of_two_faces_it_picks_the_larger_one(face_jpeg: bytes) -> None:
    # The user is the nearest face; someone passing behind them is smaller.
    face = cv2.resize(decode_grayscale(face_jpeg), (320, 240), interpolation=cv2.INTER_AREA)
    frame = np.full((240, 480), 90, np.uint8)
    frame[:, 160:] = face
    frame[60:180, :160] = cv2.resize(face, (160, 120), interpolation=cv2.INTER_AREA)
    box = BlazeFaceDetector().find_face(frame)
    assert box is not None
    assert box.x > 160
    assert 50 < box.width < 90


def test_the_anchors_follow_the_models_two_grids() -> None:
    anchors = ssd_anchors()
    assert anchors.shape == (896, 2)
    # 16x16 cells with 2 anchors each, then 8x8 cells with 6 anchors each.
    assert anchors[0] == pytest.approx([1 / 32, 1 / 32])
    assert anchors[1] == pytest.approx([1 / 32, 1 / 32])
    assert anchors[2] == pytest.approx([3 / 32, 1 / 32])
    assert anchors[511] == pytest.approx([31 / 32, 31 / 32])
    assert anchors[512] == pytest.approx([1 / 16, 1 / 16])
    assert anchors[-1] == pytest.approx([15 / 16, 15 / 16])


def test_the_letterbox_keeps_the_aspect_and_centres_the_frame() -> None:
    gray = np.full((480, 640), 255, np.uint8)
    blob, scale, pad_x, pad_y = letterbox(gray)
    assert blob.shape == (1, 128, 128, 3)
    assert (scale, pad_x, pad_y) == (0.2, 0, 16)
    # The frame (white, 1.0) fills rows 16-111; the padding is black (-1.0).
    assert blob[0, 16:112].min() == pytest.approx(1.0)
    assert blob[0, :16].max() == pytest.approx(-1.0)
    assert blob[0, 112:].max() == pytest.approx(-1.0)


def test_a_box_decodes_around_its_anchor() -> None:
    regressors = np.zeros((1, 896, 16), np.float32)
    logits = np.full((1, 896, 1), -50.0, np.float32)
    regressors[0, 600, :4] = [2.0, -3.0, 40.0, 50.0]  # offset and size, in input pixels
    logits[0, 600, 0] = 3.0
    boxes, scores = decode(regressors, logits)
    centre = ssd_anchors()[600] * 128 + [2.0, -3.0]
    assert boxes[600] == pytest.approx([centre[0] - 20, centre[1] - 25, centre[0] + 20, centre[1] + 25])
    assert scores[600] == pytest.approx(1 / (1 + np.exp(-3.0)))
    assert scores.argmax() == 600


def test_litert_reads_the_detector_as_opencvs_dnn_module_did(face_jpeg: bytes, profile_face_png: bytes) -> None:
    # OpenCV's DNN module ran the same file before LiteRT (0.9 ms against 1.7 ms a frame): the
    # candidates' boxes and scores agree, so every detection is the one it was.
    reference = cv2.dnn.readNetFromTFLite(str(BLAZEFACE_FILE))
    detector = BlazeFaceDetector()
    for data in (face_jpeg, profile_face_png):
        blob = letterbox(decode_grayscale(data))[0]
        reference.setInput(np.transpose(blob, (0, 3, 1, 2)).copy())
        expected = dict(
            zip(
                reference.getUnconnectedOutLayersNames(),
                reference.forward(reference.getUnconnectedOutLayersNames()),
                strict=True,
            )
        )
        regressors, logits = detector.raw_outputs(blob)
        want_boxes, want_scores = decode(expected["regressors"], expected["classificators"])
        boxes, scores = decode(regressors, logits)
        confident = want_scores > 0.1
        assert confident.any()
        assert np.abs(boxes[confident] - want_boxes[confident]).max() < 0.5  # input pixels
        assert np.abs(scores - want_scores).max() < 1e-3


def test_the_shipped_detector_weights_are_the_documented_file() -> None:
    notes = (BLAZEFACE_FILE.parent / "THIRD_PARTY.md").read_text()
    assert hashlib.sha256(BLAZEFACE_FILE.read_bytes()).hexdigest() in notes


def test_missing_detector_weights_are_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="face detector"):
        BlazeFaceDetector(model_path=tmp_path / "missing.tflite")


def test_the_served_crop_is_the_detectors_box_itself() -> None:
    """Margin 0: on whole photos of real people the box alone reads best (docs/model.md, "Crop")."""
    gray = np.random.default_rng(4).integers(0, 256, size=(240, 320), dtype=np.uint8)
    box = Box(x=100, y=60, width=96, height=96)
    expected = cv2.resize(gray[60:156, 100:196], (48, 48), interpolation=cv2.INTER_AREA)
    assert np.array_equal(crop_face(gray, box), expected)
