"""Test images: scikit-image's astronaut (a smiling face), cameraman (a face in profile) and a
cup of coffee (no face); and a tiny served model."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import cv2
import numpy as np
import pytest
from django.core.management import call_command
from skimage import data


def encode(image: np.ndarray, ext: str = ".jpg", quality: int = 85) -> bytes:
    params = [cv2.IMWRITE_JPEG_QUALITY, quality] if ext == ".jpg" else []
    ok, buffer = cv2.imencode(ext, image, params)
    assert ok
    return buffer.tobytes()


def webcam_frame_with_face() -> np.ndarray:
    """A 640x480 BGR frame: the astronaut photo's top 4:3 part, scaled like a webcam image."""
    astronaut = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)  # 512x512
    return cv2.resize(astronaut[:384, :], (640, 480), interpolation=cv2.INTER_LINEAR)


@pytest.fixture(scope="session")
def face_jpeg() -> bytes:
    return encode(webcam_frame_with_face())


@pytest.fixture(scope="session")
def no_face_jpeg() -> bytes:
    return encode(cv2.cvtColor(data.coffee(), cv2.COLOR_RGB2BGR))


@pytest.fixture(scope="session")
def profile_face_png() -> bytes:
    """The cameraman looks through his viewfinder: a face turned to the side, half hidden."""
    return encode(data.camera(), ".png")


def convert_tiny_model(folder: Path, *options: str) -> Path:
    """A narrow network with random weights, converted with mirror averaging, temperature 2 and ``options``."""
    from inference.network import build_model

    build_model(0.25).save_weights(str(folder / "tiny.weights.h5"))
    out = folder / "served" / "model.tflite"
    call_command(
        "convert_emotion_model",
        f"{folder / 'tiny.weights.h5'}:0.25",
        "--out",
        str(out),
        "--temperature",
        "2",
        *options,
        stdout=StringIO(),
    )
    return out
