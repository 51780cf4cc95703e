"""Face detection with MediaPipe's BlazeFace short-range model, run by LiteRT.

BlazeFace is built for faces within about two metres of a phone or laptop camera, which is
exactly a webcam user. It takes a 128x128 RGB image and answers 896 candidate boxes (SSD
anchors on a 16x16 and an 8x8 grid) with a face score each. It finds faces the Haar cascade
misses (turned heads, mirrored views, dim light) in about 0.9 ms on one core through LiteRT,
the runtime that serves the expression model (1.7 ms through OpenCV's DNN module, which ran it
before; ~30 ms for the cascade). The weights (Apache-2.0, from the ``mediapipe`` wheel on PyPI) ship in
``inference/weights/``; see ``inference/weights/THIRD_PARTY.md``.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Final

import cv2
import numpy as np

from inference.faces import Box

BLAZEFACE_FILE: Final = Path(__file__).resolve().parent / "weights" / "face_detection_short_range.tflite"
INPUT_SIZE: Final = 128
# The model's SSD anchor layout (MediaPipe's face_detection_short_range graph): one 16x16 grid
# with 2 anchors per cell, then three layers on an 8x8 grid with 2 anchors each (6 per cell).
_ANCHOR_GRIDS: Final = ((16, 2), (8, 6))


def ssd_anchors() -> np.ndarray:
    """(896, 2) anchor centres in [0, 1], in the order the model's outputs use."""
    centres = []
    for grid, per_cell in _ANCHOR_GRIDS:
        ys, xs = np.mgrid[0:grid, 0:grid]
        cells = np.stack([(xs + 0.5) / grid, (ys + 0.5) / grid], axis=-1).reshape(-1, 2)
        centres.append(np.repeat(cells, per_cell, axis=0))
    return np.concatenate(centres).astype(np.float32)


_ANCHORS: Final = ssd_anchors()

# Small faces get a second, closer look. A face under a fifth of the frame's long side is under
# 26 px in the detector's 128x128 view of the whole frame: BlazeFace finds it less often (72.6%
# at 70 px of 640, 4.2% at 60 px) and boxes it loosely, and a loose box costs the expression
# model more than the face's few pixels do (docs/model.md, "Small faces": a face 80 px wide read
# 56.9% of the development set boxed in the whole frame, 68.8% boxed in a window around it).
SMALL_FACE_DIVISOR: Final = 5
# The closer look: a window of this many face widths around the face (the face then fills a
# quarter of the detector's view, about 32 px).
ZOOM_FACE_WIDTHS: Final = 4


def centre_window(width: int, height: int) -> Box:
    """The middle half of the frame (each side halved): where someone sitting back from the camera is."""
    w, h = max(1, width // 2), max(1, height // 2)
    return Box((width - w) // 2, (height - h) // 2, w, h)


def window_around(box: Box, width: int, height: int) -> Box:
    """``ZOOM_FACE_WIDTHS`` face widths square, centred on the face, moved back inside the frame."""
    side = box.width * ZOOM_FACE_WIDTHS
    w, h = min(side, width), min(side, height)
    # Twice the centre keeps the arithmetic in integers (the extension computes the same).
    x = min(max((2 * box.x + box.width - w) // 2, 0), width - w)
    y = min(max((2 * box.y + box.height - h) // 2, 0), height - h)
    return Box(x, y, w, h)


def is_small_face(box: Box, width: int, height: int) -> bool:
    return box.width * SMALL_FACE_DIVISOR < max(width, height)


def letterbox(gray: np.ndarray) -> tuple[np.ndarray, float, int, int]:
    """The frame scaled to fit 128x128 with its aspect kept, padded with black, as the model's
    NHWC input in [-1, 1]; with the scale and the left/top padding to map boxes back."""
    height, width = gray.shape[:2]
    scale = INPUT_SIZE / max(height, width)
    new_w, new_h = max(1, round(width * scale)), max(1, round(height * scale))
    small = cv2.resize(gray, (new_w, new_h), interpolation=cv2.INTER_AREA)
    pad_x, pad_y = (INPUT_SIZE - new_w) // 2, (INPUT_SIZE - new_h) // 2
    canvas = np.zeros((INPUT_SIZE, INPUT_SIZE), np.float32)
    canvas[pad_y : pad_y + new_h, pad_x : pad_x + new_w] = small
    # The model was trained on colour; a grey frame is the same value in all three channels.
    plane = canvas / 127.5 - 1.0
    blob = np.repeat(plane[np.newaxis, :, :, np.newaxis], 3, axis=3)
    return blob, scale, pad_x, pad_y


def decode(regressors: np.ndarray, logits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Model outputs -> (896, 4) boxes as x0, y0, x1, y1 in input pixels, and (896,) scores."""
    reg = regressors.reshape(-1, 16)
    centres = _ANCHORS * INPUT_SIZE + reg[:, :2]
    sizes = reg[:, 2:4]
    boxes = np.concatenate([centres - sizes / 2, centres + sizes / 2], axis=1)
    # float64 and clipped: the raw logits reach magnitudes whose exp() overflows.
    scores = 1.0 / (1.0 + np.exp(-np.clip(logits.reshape(-1).astype(np.float64), -100.0, 100.0)))
    return boxes, scores


class BlazeFaceDetector:
    """The largest confidently detected face. A LiteRT interpreter holds its tensors and must not
    run on two threads at once: one per thread (like ``inference.serving.ServedScorer``)."""

    def __init__(self, *, model_path: Path = BLAZEFACE_FILE, min_score: float = 0.5, overlap: float = 0.3) -> None:
        if not model_path.exists():
            raise FileNotFoundError(f"The face detector's weights are missing: {model_path}")
        self.model_path = model_path
        self.content = model_path.read_bytes()
        self.min_score = min_score
        self.overlap = overlap
        self._local = threading.local()

    def _interpreter(self) -> Any:
        interpreter = getattr(self._local, "interpreter", None)
        if interpreter is None:
            from ai_edge_litert.interpreter import Interpreter

            interpreter = Interpreter(model_content=self.content, num_threads=1)
            interpreter.allocate_tensors()
            self._local.interpreter = interpreter
            self._local.input = interpreter.get_input_details()[0]["index"]
            self._local.outputs = {detail["name"]: detail["index"] for detail in interpreter.get_output_details()}
        return interpreter

    def raw_outputs(self, blob: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The model's ``regressors`` (1, 896, 16) and ``classificators`` (1, 896, 1) for a letterboxed frame."""
        interpreter = self._interpreter()
        interpreter.set_tensor(self._local.input, blob)
        interpreter.invoke()
        outputs = self._local.outputs
        return (
            interpreter.get_tensor(outputs["regressors"]).copy(),
            interpreter.get_tensor(outputs["classificators"]).copy(),
        )

    def find_face(self, gray: np.ndarray) -> Box | None:
        """The largest confident face in the frame, boxed from a look at it close enough to box it well.

        One look at the whole frame; if it finds nothing, one at the frame's middle half (a face
        too small for the whole frame); if the face it finds is small in the view it was found in,
        one more at a window around it (``is_small_face``, ``window_around``). A frame with a face
        close to the camera costs one look, as before; a small face or an empty frame two; a face
        under about 64 px of a 640x480 frame three.
        """
        height, width = gray.shape[:2]
        box, seen = self.look(gray), (width, height)
        if box is None:
            window = centre_window(width, height)
            box, seen = self._look_within(gray, window), (window.width, window.height)
        # Small in the view it was found in: a face the middle half found at 70 px of 640 already
        # filled a fifth of that view.
        if box is not None and is_small_face(box, *seen):
            box = self._look_within(gray, window_around(box, width, height)) or box
        return box

    def _look_within(self, gray: np.ndarray, window: Box) -> Box | None:
        """One look at a part of the frame (``window``, in frame pixels); the face in frame pixels."""
        found = self.look(gray[window.y : window.y + window.height, window.x : window.x + window.width])
        return None if found is None else Box(found.x + window.x, found.y + window.y, found.width, found.height)

    def look(self, gray: np.ndarray) -> Box | None:
        """One pass of the detector over ``gray``: the largest confident face, in its pixels."""
        blob, scale, pad_x, pad_y = letterbox(gray)
        boxes, scores = decode(*self.raw_outputs(blob))
        keep = np.flatnonzero(scores >= self.min_score)
        if len(keep) == 0:
            return None
        xywh = [[float(x0), float(y0), float(x1 - x0), float(y1 - y0)] for x0, y0, x1, y1 in boxes[keep]]
        kept = cv2.dnn.NMSBoxes(xywh, scores[keep].tolist(), self.min_score, self.overlap)
        # The largest face among the confident ones: the user is usually the nearest face.
        x, y, w, h = max((xywh[int(i)] for i in np.ravel(kept)), key=lambda b: b[2] * b[3])
        height, width = gray.shape[:2]
        x0 = max(0, round((x - pad_x) / scale))
        y0 = max(0, round((y - pad_y) / scale))
        x1 = min(width, round((x + w - pad_x) / scale))
        y1 = min(height, round((y + h - pad_y) / scale))
        if x1 <= x0 or y1 <= y0:
            return None
        return Box(x0, y0, x1 - x0, y1 - y0)
