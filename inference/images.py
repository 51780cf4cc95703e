"""Decoding untrusted frame bytes (JPEG or PNG) into a grayscale image, in memory only.

Limits are checked before any pixel is decoded: the byte size first, then the dimensions
read from the image header, so a small file claiming 20000x20000 pixels is refused without
allocating its pixels. Errors carry the stream protocol's error code.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Final, Literal

import cv2
import numpy as np

FrameErrorCode = Literal["invalid_image", "frame_too_large", "image_too_large"]

PNG_SIGNATURE: Final = b"\x89PNG\r\n\x1a\n"
JPEG_SOI: Final = b"\xff\xd8"
JPEG_EOI: Final = b"\xff\xd9"
PNG_IEND: Final = b"IEND"
# Start-of-frame markers carry the dimensions (C4, C8 and CC are other segments).
JPEG_SOF_MARKERS: Final = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
# Decoding a JPEG at 1/2, 1/4 or 1/8 scale is much cheaper; we keep at least this width.
MIN_DECODED_WIDTH: Final = 320
REDUCED_GRAYSCALE: Final = {
    1: cv2.IMREAD_GRAYSCALE,
    2: cv2.IMREAD_REDUCED_GRAYSCALE_2,
    4: cv2.IMREAD_REDUCED_GRAYSCALE_4,
    8: cv2.IMREAD_REDUCED_GRAYSCALE_8,
}


class FrameError(ValueError):
    """A frame we will not decode; ``code`` is the protocol's error code."""

    def __init__(self, code: FrameErrorCode, detail: str) -> None:
        super().__init__(detail)
        self.code: FrameErrorCode = code


@dataclass(frozen=True)
class FrameLimits:
    max_bytes: int = 262_144
    max_width: int = 1920
    max_height: int = 1080


def _jpeg_size(data: bytes) -> tuple[int, int]:
    """(width, height) from a JPEG's start-of-frame segment."""
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            raise FrameError("invalid_image", "corrupt JPEG marker stream")
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in (0x01, *range(0xD0, 0xD8)):  # markers without a length
            pos += 2
            continue
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        if marker in JPEG_SOF_MARKERS:
            if pos + 9 > len(data):
                break
            height, width = struct.unpack(">HH", data[pos + 5 : pos + 9])
            return width, height
        if length < 2:
            raise FrameError("invalid_image", "corrupt JPEG segment length")
        pos += 2 + length
    raise FrameError("invalid_image", "JPEG without a frame header")


def image_size(data: bytes) -> tuple[int, int]:
    """(width, height) from a PNG or JPEG header, without decoding pixels."""
    if data.startswith(PNG_SIGNATURE):
        if len(data) < 24 or data[12:16] != b"IHDR":
            raise FrameError("invalid_image", "PNG without an IHDR header")
        width, height = struct.unpack(">II", data[16:24])
        return width, height
    if data.startswith(JPEG_SOI):
        return _jpeg_size(data)
    raise FrameError("invalid_image", "not a JPEG or PNG image")


def _require_complete(data: bytes) -> None:
    """Refuse truncated files: libjpeg would otherwise return a half-grey image silently."""
    tail = data.rstrip(b"\x00")[-16:]
    if data.startswith(JPEG_SOI) and not tail.endswith(JPEG_EOI):
        raise FrameError("invalid_image", "truncated JPEG (no end-of-image marker)")
    if data.startswith(PNG_SIGNATURE) and PNG_IEND not in tail:
        raise FrameError("invalid_image", "truncated PNG (no IEND chunk)")


def decode_grayscale(data: bytes, limits: FrameLimits | None = None) -> np.ndarray:
    """Grayscale uint8 pixels of a JPEG/PNG frame, checked against ``limits``.

    Large JPEGs are decoded at a reduced scale (never below ``MIN_DECODED_WIDTH``): faces in
    webcam frames are big, and the CNN only needs 48x48 of them.
    """
    limits = limits or FrameLimits()
    if not data:
        raise FrameError("invalid_image", "empty frame")
    if len(data) > limits.max_bytes:
        raise FrameError("frame_too_large", f"frame of {len(data)} bytes exceeds {limits.max_bytes}")
    width, height = image_size(data)
    if width == 0 or height == 0:
        raise FrameError("invalid_image", "image with a zero dimension")
    if width > limits.max_width or height > limits.max_height:
        raise FrameError("image_too_large", f"{width}x{height} exceeds {limits.max_width}x{limits.max_height}")
    _require_complete(data)
    scale = 1
    if data.startswith(JPEG_SOI):
        while scale < 8 and width // (scale * 2) >= MIN_DECODED_WIDTH:
            scale *= 2
    image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), REDUCED_GRAYSCALE[scale])
    if image is None or image.size == 0:
        raise FrameError("invalid_image", "the image data could not be decoded")
    return image
