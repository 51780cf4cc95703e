"""Face detection and cropping on real photographs."""

from __future__ import annotations

import hashlib
from pathlib import Path

import cv2
import numpy as np
import pytest

from inference.blazeface import (
    BLAZEFACE_FILE,
    BlazeFaceDetector,
    centre_window,
    decode,
    is_small_face,
    letterbox,
    ssd_anchors,
    window_around,
)
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


def frame_with_small_face(face_jpeg: bytes, face_width: int) -> tuple[np.ndarray, Box]:
    """The astronaut's face scaled to ``face_width`` px, centred in a grey 640x480 frame (someone
    sitting back from the camera), and where the face now is."""
    gray = decode_grayscale(face_jpeg)
    box = BlazeFaceDetector().find_face(gray)
    assert box is not None
    scale = face_width / box.width
    small = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    frame = np.full((480, 640), 110, np.uint8)
    left = 320 - round((box.x + box.width / 2) * scale)
    top = 240 - round((box.y + box.height / 2) * scale)
    # Paste what falls inside the frame (a large face's photo overflows it).
    x0, y0 = max(left, 0), max(top, 0)
    x1, y1 = min(left + small.shape[1], 640), min(top + small.shape[0], 480)
    frame[y0:y1, x0:x1] = small[y0 - top : y1 - top, x0 - left : x1 - left]
    expected = Box(left + round(box.x * scale), top + round(box.y * scale), face_width, round(box.height * scale))
    return frame, expected


def overlap(a: Box, b: Box) -> float:
    x0, y0 = max(a.x, b.x), max(a.y, b.y)
    x1, y1 = min(a.x + a.width, b.x + b.width), min(a.y + a.height, b.y + b.height)
    inter = max(0, x1 - x0) * max(0, y1 - y0)
    return inter / (a.area + b.area - inter)


@pytest.mark.parametrize("face_width", [50, 60, 70])
def test_it_finds_a_face_too_small_for_the_whole_frame(face_jpeg: bytes, face_width: int) -> None:
    # 60 px of 640 is 12 px in the detector's 128x128 view of the whole frame: found 4% of the time
    # (70 px: 73%), so it looks again at the frame's middle half.
    frame, expected = frame_with_small_face(face_jpeg, face_width)
    box = BlazeFaceDetector().find_face(frame)
    assert box is not None
    assert overlap(box, expected) > 0.5


def test_a_small_face_gets_a_second_closer_look_and_a_large_one_does_not(face_jpeg: bytes) -> None:
    looks: list[tuple[int, int]] = []

    class Counting(BlazeFaceDetector):
        def raw_outputs(self, blob: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            looks.append(blob.shape[1:3])
            return super().raw_outputs(blob)

    frame, expected = frame_with_small_face(face_jpeg, 90)
    box = Counting().find_face(frame)
    assert box is not None
    assert overlap(box, expected) > 0.5
    assert len(looks) == 2  # the whole frame, then a window of four face widths around the face
    looks.clear()
    close, _ = frame_with_small_face(face_jpeg, 200)
    assert Counting().find_face(close) is not None
    assert len(looks) == 1


def test_the_windows_stay_inside_the_frame() -> None:
    assert centre_window(640, 480) == Box(160, 120, 320, 240)
    assert centre_window(321, 241) == Box(80, 60, 160, 120)
    # Four face widths around the face, centred on it, moved back inside the frame at its edges.
    assert window_around(Box(300, 200, 60, 70), 640, 480) == Box(210, 115, 240, 240)
    assert window_around(Box(5, 400, 60, 70), 640, 480) == Box(0, 240, 240, 240)
    assert window_around(Box(100, 50, 150, 150), 640, 480) == Box(0, 0, 600, 480)
    assert is_small_face(Box(0, 0, 127, 127), 640, 480)
    assert not is_small_face(Box(0, 0, 128, 128), 640, 480)


class Scripted(BlazeFaceDetector):
    """Each look answers the next box (in the pixels it was given) and records the size it saw."""

    def __init__(self, answers: list[Box | None]) -> None:
        super().__init__()
        self.answers: list[Box | None] = answers
        self.seen: list[tuple[int, ...]] = []

    def look(self, gray: np.ndarray) -> Box | None:
        self.seen.append(gray.shape[::-1])
        return self.answers.pop(0)


def test_the_looks_follow_the_extensions_order() -> None:
    # The same scripts as extension/tests/faces.test.js: each side must look at the same windows.
    gray = np.zeros((480, 640), np.uint8)
    close = Scripted([Box(200, 100, 200, 220)])
    assert close.find_face(gray) == Box(200, 100, 200, 220)
    assert close.seen == [(640, 480)]
    small = Scripted([Box(300, 200, 60, 70), Box(92, 83, 58, 66)])
    assert small.find_face(gray) == Box(302, 198, 58, 66)
    assert small.seen == [(640, 480), (240, 240)]
    missed = Scripted([Box(300, 200, 60, 70), None])
    assert missed.find_face(gray) == Box(300, 200, 60, 70)
    far = Scripted([None, Box(150, 100, 40, 44), Box(80, 78, 42, 46)])
    assert far.find_face(gray) == Box(330, 240, 42, 46)
    assert far.seen == [(640, 480), (320, 240), (160, 160)]
    big_in_middle = Scripted([None, Box(120, 80, 70, 76)])
    assert big_in_middle.find_face(gray) == Box(280, 200, 70, 76)
    assert len(big_in_middle.seen) == 2
    empty = Scripted([None, None])
    assert empty.find_face(gray) is None
    assert len(empty.seen) == 2
