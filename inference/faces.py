"""Finding the face in a webcam frame and cutting the 48x48 crop the CNN reads.

``FaceDetector`` is the seam for a better detector later; ``HaarFaceDetector`` uses the
frontal-face Haar cascade shipped inside opencv-python-headless (no download). Face boxes
live in memory only: never log or store them.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Protocol

import cv2
import numpy as np

from inference.emotions import FACE_SIZE

# cv2's type stubs omit the cv2.data module that locates the bundled cascades.
_CASCADES_DIR: Final = Path(cv2.data.haarcascades)  # type: ignore[attr-defined]
CASCADE_FILE: Final = _CASCADES_DIR / "haarcascade_frontalface_default.xml"


@dataclass(frozen=True)
class Box:
    """A face rectangle in the frame's pixel coordinates."""

    x: int
    y: int
    width: int
    height: int

    @property
    def area(self) -> int:
        return self.width * self.height


class FaceDetector(Protocol):
    def find_face(self, gray: np.ndarray) -> Box | None: ...


class HaarFaceDetector:
    """The largest confidently detected frontal face, found on a copy of the frame scaled
    down to ``detect_width``.

    Webcam faces are large, so detecting at ~240 px wide loses nothing and is several times
    faster than at full size. ``CascadeClassifier`` is not thread-safe: one per thread.
    """

    def __init__(self, *, detect_width: int = 240, min_face_fraction: float = 0.12) -> None:
        if not CASCADE_FILE.exists():
            raise FileNotFoundError(f"OpenCV's Haar cascade is missing: {CASCADE_FILE}")
        self.detect_width = detect_width
        self.min_face_fraction = min_face_fraction
        self._local = threading.local()

    def _cascade(self) -> cv2.CascadeClassifier:
        cascade = getattr(self._local, "cascade", None)
        if cascade is None:
            cascade = cv2.CascadeClassifier(str(CASCADE_FILE))
            self._local.cascade = cascade
        return cascade

    def find_face(self, gray: np.ndarray) -> Box | None:
        scale = min(1.0, self.detect_width / gray.shape[1])
        small = gray if scale == 1.0 else cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        small = cv2.equalizeHist(small)
        min_side = max(20, int(min(small.shape[:2]) * self.min_face_fraction))
        boxes, _, weights = self._cascade().detectMultiScale3(
            small, scaleFactor=1.1, minNeighbors=5, minSize=(min_side, min_side), outputRejectLevels=True
        )
        if len(boxes) == 0:
            return None
        # The largest face among the confident ones: the user is usually the nearest face, but
        # a large weak false positive (a collar, a poster) must not win over a real face.
        confident = [i for i in range(len(boxes)) if float(weights[i]) >= 0.5 * float(max(weights))]
        best = max(confident, key=lambda i: int(boxes[i][2]) * int(boxes[i][3]))
        x, y, w, h = (int(v) for v in boxes[best])
        return Box(int(x / scale), int(y / scale), int(w / scale), int(h / scale))


def crop_face(gray: np.ndarray, box: Box, *, margin: float = 0.1) -> np.ndarray:
    """The face with ``margin`` (a fraction of its size) on each side, as 48x48 uint8.

    FER-2013 faces are registered with a little room around them; the margin matches that.
    Parts of the margin outside the frame are filled by replicating the border.
    """
    pad_x, pad_y = int(box.width * margin), int(box.height * margin)
    x0, y0 = box.x - pad_x, box.y - pad_y
    x1, y1 = box.x + box.width + pad_x, box.y + box.height + pad_y
    height, width = gray.shape[:2]
    if x0 < 0 or y0 < 0 or x1 > width or y1 > height:
        border = max(-x0, -y0, x1 - width, y1 - height, 0)
        gray = cv2.copyMakeBorder(gray, border, border, border, border, cv2.BORDER_REPLICATE)
        x0, y0, x1, y1 = x0 + border, y0 + border, x1 + border, y1 + border
    face = gray[y0:y1, x0:x1]
    return cv2.resize(face, (FACE_SIZE, FACE_SIZE), interpolation=cv2.INTER_AREA)
