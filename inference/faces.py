"""Finding the face in a webcam frame and cutting the 48x48 crop the CNN reads.

``FaceDetector`` is the seam between the classifier and a detector (``inference.blazeface``).
Face boxes live in memory only: never log or store them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Protocol

import cv2
import numpy as np

from inference.emotions import FACE_SIZE


@dataclass(frozen=True)
class Box:
    """A rectangle in the frame's pixel coordinates: a face, or a part of the frame the detector looks at."""

    x: int
    y: int
    width: int
    height: int

    @property
    def area(self) -> int:
        return self.width * self.height


class FaceDetector(Protocol):
    def find_face(self, gray: np.ndarray) -> Box | None: ...


# The crop's margin around BlazeFace's box, as a fraction of the box (``crop_face``). 0: the box
# itself. On 336 whole photos of 24 real people through the frame path (docs/model.md, "Crop") the
# served model reads 68.5% at 0 against 60.1% at 0.1, the margin once chosen on FER-2013 faces
# pasted into frames; FER+ PublicTest (registered crops, no detector) does not change.
CROP_MARGIN: Final = 0.0


def crop_face(gray: np.ndarray, box: Box, *, margin: float = CROP_MARGIN) -> np.ndarray:
    """The face with ``margin`` (a fraction of its size) on each side, as 48x48 uint8.

    The served crop is BlazeFace's box itself (``CROP_MARGIN``). Parts of a margin outside the
    frame are filled by replicating the border.
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
