"""Frames crafted to attack the image intake, built from a real encoder's output (never from data sets).

Used by the intake's tests (``tests/inference/test_hostile_images.py``) and by the hostile
flood bench (``bench/hostile.py``). libjpeg finds its markers its own way: it skips bytes that
are not a marker and the stuffed ``FF 00`` pair, and takes the first start-of-frame it meets, so a
header reader that walks the segments differently can be shown a harmless frame header while
libjpeg decodes a huge one.
"""

from __future__ import annotations

import struct
import zlib

import cv2
import numpy as np

SOF0 = b"\xff\xc0"


def real_jpeg(width: int = 320, height: int = 240) -> bytes:
    pixels = (np.arange(width * height) % 251).astype(np.uint8).reshape(height, width)
    ok, encoded = cv2.imencode(".jpg", pixels)
    assert ok
    return encoded.tobytes()


def with_frame_size(jpeg: bytes, width: int, height: int) -> bytes:
    """The JPEG with its (only) SOF0 segment claiming ``width`` x ``height``."""
    at = jpeg.index(SOF0)
    return jpeg[: at + 5] + struct.pack(">HH", height, width) + jpeg[at + 9 :]


def sof_segment(jpeg: bytes) -> bytes:
    at = jpeg.index(SOF0)
    (length,) = struct.unpack(">H", jpeg[at + 2 : at + 4])
    return jpeg[at : at + 2 + length]


def hidden_behind_stuffed_zero(huge: bytes, decoy_sof: bytes) -> bytes:
    """SOI, an ``FF 00`` "segment" whose length spans the whole real (huge) JPEG, then a decoy SOF.

    A reader that takes ``FF 00`` for a marker with a length skips to the decoy; libjpeg
    discards ``FF 00``, resyncs on the real markers and never reaches the decoy.
    """
    body = huge[2:]
    length = len(body) + 2
    assert b"\xff" not in struct.pack(">H", length)  # the length bytes must not look like a marker
    return b"\xff\xd8\xff\x00" + struct.pack(">H", length) + body + decoy_sof + b"\xff\xd9"


def png(width: int, height: int, *, ihdr_crc: int | None = None, extra_ihdr: bool = False) -> bytes:
    raw = b"".join(b"\x00" + bytes(width) for _ in range(height))  # filter 0, black rows

    def chunk(kind: bytes, body: bytes, crc: int | None = None) -> bytes:
        return (
            struct.pack(">I", len(body))
            + kind
            + body
            + struct.pack(">I", zlib.crc32(kind + body) if crc is None else crc)
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    parts = [b"\x89PNG\r\n\x1a\n", chunk(b"IHDR", ihdr, ihdr_crc)]
    if extra_ihdr:
        parts.append(chunk(b"IHDR", struct.pack(">IIBBBBB", 32000, 32000, 8, 0, 0, 0, 0)))
    parts += [chunk(b"IDAT", zlib.compress(raw, 9)), chunk(b"IEND", b"")]
    return b"".join(parts)


def lying_jpeg() -> bytes:
    """About 4 KB that a naive header walk reads as 320x240 and libjpeg as 32000x32000."""
    return hidden_behind_stuffed_zero(with_frame_size(real_jpeg(), 32000, 32000), sof_segment(real_jpeg()))


def png_bomb() -> bytes:
    """25 megapixels of black in a file of about 25 KB."""
    return png(5000, 5000)
