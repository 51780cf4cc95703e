"""The server's face steps as shared test vectors: ``extension/lib/faces.js`` (private mode) must cut the
same crops from the same pixels (``extension/tests/faces.test.js`` reads the same file).

The frames are drawn by a formula both sides compute, so only the server's outputs are stored (base64).
``SMILE_WRITE_VECTORS=1`` rewrites them from the server's code; without it, a mismatch fails.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from inference import blazeface
from inference.blazeface import BlazeFaceDetector, letterbox
from inference.faces import Box, crop_face
from inference.network import centre_crop

VECTORS = Path(__file__).resolve().parents[2] / "extension" / "tests" / "vectors" / "faces.json"
WRITE = os.environ.get("SMILE_WRITE_VECTORS") == "1"

FRAMES = [(320, 240), (200, 150), (100, 140)]
BOXES = [
    (100, 60, 120, 120),  # well inside
    (0, 0, 90, 110),  # its margin leaves the frame top-left
    (250, 180, 70, 60),  # ... and bottom-right
    (140, 100, 30, 30),  # smaller than the crop: enlarged
    (37, 41, 101, 77),  # odd sizes
]
# Synthetic detector outputs: [anchor, dx, dy, w, h, logit]; every other anchor scores 0.
DETECTIONS = [
    [[300, 2.0, -3.0, 40.0, 44.0, 4.0], [301, 3.0, -2.0, 38.0, 40.0, 3.0], [700, 0.5, 0.5, 60.0, 64.0, 1.5]],
    [[10, 0.0, 0.0, 10.0, 10.0, -1.0]],  # nothing confident
    [[520, -4.0, 6.0, 30.0, 30.0, 2.0], [840, 1.0, 1.0, 20.0, 22.0, 5.0]],
]


def frame(width: int, height: int) -> np.ndarray:
    """The test pattern both suites draw: gradients and a pattern OpenCV's resize cannot shortcut."""
    ys, xs = np.mgrid[0:height, 0:width]
    return ((xs * 7 + ys * 13 + ((xs * ys) % 31) * 5) % 256).astype(np.uint8)


def packed(pixels: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(pixels, dtype=np.uint8).tobytes()).decode()


def outputs(detections: list[list[float]]) -> tuple[np.ndarray, np.ndarray]:
    regressors = np.zeros((1, 896, 16), np.float32)
    logits = np.full((1, 896, 1), -10.0, np.float32)
    for anchor, dx, dy, w, h, logit in detections:
        regressors[0, int(anchor), :4] = (dx, dy, w, h)
        logits[0, int(anchor), 0] = logit
    return regressors, logits


def server_vectors() -> dict[str, Any]:
    frames = []
    for width, height in FRAMES:
        gray = frame(width, height)
        blob, scale, pad_x, pad_y = letterbox(gray)
        small = ((blob[0, :, :, 0] + 1.0) * 127.5).round().astype(np.uint8)
        crops = []
        for x, y, w, h in BOXES:
            if x + w <= width and y + h <= height:
                face = crop_face(gray, Box(x, y, w, h))
                assert np.array_equal(centre_crop(face[np.newaxis])[0, :, :, 0], face[4:44, 4:44])
                crops.append({"box": [x, y, w, h], "crop": packed(face)})
        found = []
        for detections in DETECTIONS:
            detector = BlazeFaceDetector()
            detector.raw_outputs = lambda _blob, d=detections: outputs(d)  # type: ignore[method-assign,misc]
            box = detector.look(gray)  # one pass: the extension's findFace
            found.append(None if box is None else [box.x, box.y, box.width, box.height])
        frames.append(
            {
                "width": width,
                "height": height,
                "letterbox": {"scale": scale, "pad_x": pad_x, "pad_y": pad_y, "canvas": packed(small)},
                "crops": crops,
                "faces": found,
            }
        )
    anchors = blazeface.ssd_anchors()
    return {
        "anchors_checksum": float(anchors.sum()),
        "detections": DETECTIONS,
        "frames": frames,
        "windows": windows(),
    }


def windows() -> list[dict[str, Any]]:
    """Where ``find_face`` looks again (``centre_window``, ``window_around``, ``is_small_face``), per frame and box."""
    out = []
    for width, height in [*FRAMES, (640, 480), (1280, 720)]:
        centre = blazeface.centre_window(width, height)
        around = []
        for x, y, w, h in [*BOXES, (600, 420, 40, 44), (300, 200, 128, 130)]:
            if x + w <= width and y + h <= height:
                box = Box(x, y, w, h)
                window = blazeface.window_around(box, width, height)
                around.append(
                    {
                        "box": [x, y, w, h],
                        "window": [window.x, window.y, window.width, window.height],
                        "small": blazeface.is_small_face(box, width, height),
                    }
                )
        centre_box = [centre.x, centre.y, centre.width, centre.height]
        out.append({"width": width, "height": height, "centre": centre_box, "around": around})
    return out


@pytest.mark.skipif(not blazeface.BLAZEFACE_FILE.exists(), reason="the detector's weights are missing")
def test_the_server_cuts_exactly_the_shared_face_vectors() -> None:
    computed = server_vectors()
    if WRITE:
        VECTORS.write_text(
            json.dumps({"about": __doc__.splitlines()[0] if __doc__ else "", **computed}, indent=1) + "\n"
        )
    stored = json.loads(VECTORS.read_text())
    stored.pop("about", None)
    assert stored == computed
