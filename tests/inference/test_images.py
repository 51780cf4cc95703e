"""Decoding untrusted frames: good images decode, everything else gets a precise error code."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest

from inference.images import FrameError, FrameLimits, decode_grayscale, image_size
from tests.inference.conftest import encode


def png_header_claiming(width: int, height: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    chunk = struct.pack(">I", len(ihdr)) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    return b"\x89PNG\r\n\x1a\n" + chunk + b"\x00\x00\x00\x00IEND\xaeB`\x82"


def error_code(data: bytes, limits: FrameLimits | None = None) -> str:
    with pytest.raises(FrameError) as caught:
        decode_grayscale(data, limits)
    return caught.value.code


def test_a_webcam_jpeg_decodes_to_grayscale_at_full_scale(face_jpeg: bytes) -> None:
    image = decode_grayscale(face_jpeg)
    assert image.dtype == np.uint8
    assert image.ndim == 2
    # A 640x480 frame keeps every pixel: a face 100 px wide, a person leaning back, reads worse
    # from a half-scale decode (docs/model.md, "Real people at webcam resolution").
    assert image.shape == (480, 640)


def test_a_larger_jpeg_decodes_at_reduced_scale_but_never_below_640_wide() -> None:
    assert decode_grayscale(encode(np.full((960, 1280, 3), 128, np.uint8))).shape == (480, 640)
    assert decode_grayscale(encode(np.full((1080, 1920, 3), 128, np.uint8))).shape == (540, 960)


def test_a_png_decodes_at_full_scale(profile_face_png: bytes) -> None:
    assert decode_grayscale(profile_face_png).shape == (512, 512)


def test_a_small_jpeg_is_not_reduced() -> None:
    assert decode_grayscale(encode(np.full((100, 200, 3), 128, np.uint8))).shape == (100, 200)


def test_image_size_reads_the_header(face_jpeg: bytes, profile_face_png: bytes) -> None:
    assert image_size(face_jpeg) == (640, 480)
    assert image_size(profile_face_png) == (512, 512)


def test_zero_bytes_are_an_invalid_image() -> None:
    assert error_code(b"") == "invalid_image"


def test_text_is_an_invalid_image() -> None:
    assert error_code(b'{"type": "auth", "token": "abc"}') == "invalid_image"


def test_a_truncated_jpeg_is_an_invalid_image(face_jpeg: bytes) -> None:
    assert error_code(face_jpeg[: len(face_jpeg) // 2]) == "invalid_image"


def test_a_jpeg_cut_inside_its_header_is_an_invalid_image(face_jpeg: bytes) -> None:
    assert error_code(face_jpeg[:40]) == "invalid_image"


def test_a_truncated_png_is_an_invalid_image(profile_face_png: bytes) -> None:
    assert error_code(profile_face_png[: len(profile_face_png) // 2]) == "invalid_image"


def test_a_jpeg_with_garbage_after_its_header_is_an_invalid_image(face_jpeg: bytes) -> None:
    corrupt = face_jpeg[:400] + bytes(len(face_jpeg) - 402) + b"\xff\xd9"
    assert error_code(corrupt) == "invalid_image"


def test_a_png_header_claiming_20000_by_20000_pixels_is_refused_before_decoding() -> None:
    assert error_code(png_header_claiming(20_000, 20_000)) == "image_too_large"


def test_an_image_with_a_zero_dimension_is_invalid() -> None:
    assert error_code(png_header_claiming(0, 10)) == "invalid_image"


def test_a_frame_over_the_byte_limit_is_too_large(face_jpeg: bytes) -> None:
    assert error_code(face_jpeg, FrameLimits(max_bytes=len(face_jpeg) - 1)) == "frame_too_large"


def test_an_image_over_the_pixel_limit_is_too_large(face_jpeg: bytes) -> None:
    assert error_code(face_jpeg, FrameLimits(max_width=639)) == "image_too_large"
    assert error_code(face_jpeg, FrameLimits(max_height=479)) == "image_too_large"
