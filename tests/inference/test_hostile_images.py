"""Frames whose headers lie (issue 14): the size the decoder will use is checked before it allocates.

libjpeg finds its markers its own way: it skips bytes that are not a marker and the stuffed
``FF 00`` pair, and takes the first start-of-frame it meets. A header reader that walks the
segments differently can be shown a harmless 320x240 frame header while libjpeg decodes a
huge one. Every crafted file here is built in the test from a real encoder's output.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from inference import images
from inference.images import FrameError, decode_grayscale
from tests.hostile_frames import (
    SOF0,
    hidden_behind_stuffed_zero,
    lying_jpeg,
    png,
    png_bomb,
    real_jpeg,
    sof_segment,
    with_frame_size,
)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def no_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    def forbidden(*_: object, **__: object) -> None:
        raise AssertionError("the decoder was called on a frame that should have been refused")

    monkeypatch.setattr(cv2, "imdecode", forbidden)


def refused(data: bytes) -> str:
    with pytest.raises(FrameError) as caught:
        decode_grayscale(data)
    return caught.value.code


def test_the_crafted_files_really_lie_to_libjpeg() -> None:
    # The decoy is what a naive walk sees; libjpeg decodes the hidden 8000x8000 frame.
    lying = hidden_behind_stuffed_zero(with_frame_size(real_jpeg(), 8000, 8000), sof_segment(real_jpeg()))
    decoded = cv2.imdecode(np.frombuffer(lying, np.uint8), cv2.IMREAD_REDUCED_GRAYSCALE_8)
    assert decoded is not None
    assert decoded.shape == (1000, 1000)


@pytest.mark.usefixtures("no_decoding")
def test_a_huge_frame_hidden_behind_a_stuffed_zero_is_refused_before_decoding() -> None:
    lying = lying_jpeg()
    assert len(lying) < images.FrameLimits().max_bytes
    assert refused(lying) in ("invalid_image", "image_too_large")


@pytest.mark.usefixtures("no_decoding")
def test_a_real_frame_preceded_by_a_decoy_frame_header_is_refused() -> None:
    real = with_frame_size(real_jpeg(), 32000, 32000)
    decoy = sof_segment(real_jpeg())
    assert refused(real[:2] + decoy + real[2:]) == "invalid_image"


@pytest.mark.usefixtures("no_decoding")
def test_a_decoy_frame_header_after_the_real_one_is_refused() -> None:
    real = with_frame_size(real_jpeg(), 32000, 32000)
    at = real.index(SOF0) + len(sof_segment(real))
    assert refused(real[:at] + sof_segment(real_jpeg()) + real[at:]) in ("invalid_image", "image_too_large")


@pytest.mark.usefixtures("no_decoding")
@pytest.mark.parametrize("junk", [b"\x00", b"\xff\x00", b"\xff\x02\x00\x04ab", b"\x12\x34"])
def test_bytes_libjpeg_would_skip_between_segments_are_refused(junk: bytes) -> None:
    jpeg = real_jpeg()
    at = jpeg.index(SOF0)
    assert refused(jpeg[:at] + junk + jpeg[at:]) == "invalid_image"


@pytest.mark.usefixtures("no_decoding")
def test_a_plain_32000_by_32000_jpeg_is_refused_before_decoding() -> None:
    assert refused(with_frame_size(real_jpeg(), 32000, 32000)) == "image_too_large"


@pytest.mark.usefixtures("no_decoding")
def test_a_jpeg_with_scan_data_before_any_frame_header_is_refused() -> None:
    jpeg = real_jpeg()
    assert refused(jpeg.replace(sof_segment(jpeg), b"")) == "invalid_image"


def test_a_small_honest_png_decodes() -> None:
    assert decode_grayscale(png(64, 48)).shape == (48, 64)


@pytest.mark.usefixtures("no_decoding")
def test_a_png_decompression_bomb_is_refused_before_decoding() -> None:
    bomb = png_bomb()
    assert refused(bomb) in ("image_too_large", "frame_too_large")


@pytest.mark.usefixtures("no_decoding")
def test_a_png_whose_header_checksum_is_wrong_is_refused() -> None:
    assert refused(png(64, 48, ihdr_crc=0)) == "invalid_image"


@pytest.mark.usefixtures("no_decoding")
def test_a_png_with_a_second_header_is_refused() -> None:
    assert refused(png(64, 48, extra_ihdr=True)) == "invalid_image"


def test_the_decoder_itself_refuses_a_huge_frame_once_the_intake_is_imported() -> None:
    # Defence in depth: whatever the header reader missed, OpenCV refuses to allocate more than
    # images.MAX_DECODER_PIXELS (its limit is read once per process, so in a fresh one).
    script = (
        "import struct, cv2, numpy as np\n"
        "import inference.images\n"
        "from tests.hostile_frames import real_jpeg, with_frame_size\n"
        "data = with_frame_size(real_jpeg(), 8000, 8000)\n"
        "try:\n"
        "    out = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)\n"
        "except cv2.error:\n"
        "    out = None\n"
        "print('refused' if out is None else f'decoded {out.shape}')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True, cwd=ROOT
    )
    assert result.stdout.strip() == "refused"
