"""Decoding untrusted frame bytes (JPEG or PNG) into a grayscale image, in memory only.

Limits are checked before any pixel is decoded: the byte size first, then the dimensions
read from the image header exactly as the decoder will read them (a header that libjpeg or
libpng would read differently is refused), so a small file claiming, or hiding, 20000x20000
pixels is refused without allocating its pixels; OpenCV's own pixel limit stands behind that.
Errors carry the stream protocol's error code.
"""

from __future__ import annotations

import os
import struct
import zlib
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
JPEG_SOS: Final = 0xDA
# TEM and RST0-7 stand alone; every other marker from C0 to FE heads a segment with a length.
JPEG_PARAMETERLESS_MARKERS: Final = frozenset({0x01, *range(0xD0, 0xD8)})
JPEG_SEGMENT_MARKERS_START: Final = 0xC0
# Whatever a header says, OpenCV refuses to allocate an image over this many pixels (it reads
# the limit once per process, on its first decode): a last guard behind the header checks.
MAX_DECODER_PIXELS: Final = 1 << 24
os.environ.setdefault("OPENCV_IO_MAX_IMAGE_PIXELS", str(MAX_DECODER_PIXELS))
# Decoding a JPEG at 1/2, 1/4 or 1/8 scale is cheaper; we keep at least this width, so a 640x480
# webcam frame keeps every pixel. At 320 (until issue 28) a face 80-110 px wide, someone leaning
# back, was cut from half its pixels and read 1-3 points worse (v1's weights: 4-8; docs/model.md,
# "Webcam resolution").
MIN_DECODED_WIDTH: Final = 640
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
    """(width, height) from the JPEG's frame header, read exactly as libjpeg will read it.

    libjpeg skips bytes that are not a marker, and the stuffed ``FF 00`` pair, to resync on
    the next marker; a reader that walks the segments otherwise can be shown a decoy frame
    header while libjpeg decodes another. So anything libjpeg would skip or resync over is
    refused here, every segment up to the first scan is walked, and there must be exactly
    one start-of-frame before it: then the size read is the size libjpeg allocates.
    """
    pos = 2
    size: tuple[int, int] | None = None
    while True:
        if pos + 2 > len(data) or data[pos] != 0xFF:
            raise FrameError("invalid_image", "corrupt JPEG marker stream")
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in JPEG_PARAMETERLESS_MARKERS:
            pos += 2
            continue
        if marker < JPEG_SEGMENT_MARKERS_START or marker in (0xD8, 0xD9):
            # FF 00 (stuffing), reserved markers, a second SOI, or EOI before any scan.
            raise FrameError("invalid_image", f"unexpected JPEG marker FF{marker:02X} in the header")
        if pos + 4 > len(data):
            raise FrameError("invalid_image", "JPEG cut inside its header")
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        if length < 2 or pos + 2 + length > len(data):
            raise FrameError("invalid_image", "corrupt JPEG segment length")
        if marker in JPEG_SOF_MARKERS:
            if size is not None:
                raise FrameError("invalid_image", "JPEG with more than one frame header")
            if length < 8:
                raise FrameError("invalid_image", "JPEG frame header too short")
            height, width = struct.unpack(">HH", data[pos + 5 : pos + 9])
            size = (width, height)
        elif marker == JPEG_SOS:
            if size is None:
                raise FrameError("invalid_image", "JPEG scan before its frame header")
            return size
        pos += 2 + length


def _png_size(data: bytes) -> tuple[int, int]:
    """(width, height) from the PNG's IHDR, which must be the first chunk, intact, and the only one.

    libpng refuses a second IHDR and a damaged one, but only after the first was used to size
    the image: refusing them here keeps the reader and the decoder on the same header.
    """
    if len(data) < 33 or data[12:16] != b"IHDR" or struct.unpack(">I", data[8:12])[0] != 13:
        raise FrameError("invalid_image", "PNG without an IHDR header")
    (crc,) = struct.unpack(">I", data[29:33])
    if zlib.crc32(data[12:29]) != crc:
        raise FrameError("invalid_image", "PNG header checksum mismatch")
    if b"IHDR" in data[33:]:
        raise FrameError("invalid_image", "PNG with more than one IHDR header")
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def image_size(data: bytes) -> tuple[int, int]:
    """(width, height) from a PNG or JPEG header, without decoding pixels."""
    if data.startswith(PNG_SIGNATURE):
        return _png_size(data)
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

    JPEGs larger than a webcam frame are decoded at a reduced scale (never below
    ``MIN_DECODED_WIDTH``); the CNN only needs 48x48 of a face, but a small face needs its pixels.
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
