"""Private mode reads as the server does: the extension's reader (Chromium, LiteRT.js, the server's
model files) against the server's classifier on the same frames (``bench/private_reading.py``
prints the full figures and the cost)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.private_reading import compare, frames
from scripts.package_extension import SOURCE, write_models
from tests.browser.conftest import CHROMIUM
from tests.services import require_service

pytestmark = pytest.mark.browser

JAFFE = Path("/work/shared/data/jaffe/jaffe.npz")


def test_the_browser_reads_the_same_faces_with_the_same_scores_as_the_server() -> None:
    if not CHROMIUM.exists():
        require_service("Chromium", f"Chromium not found at {CHROMIUM}")
    write_models(SOURCE)
    # Real faces: a webcam's, shifted and mirrored, four of them far from the camera (the detector's
    # second looks), and (where the data is present) 40 posed ones.
    cases = frames(12, JAFFE if JAFFE.is_file() else None)[:56]
    assert sum(name.startswith("far-") for name, _, _ in cases) == 4
    found = compare(cases)

    assert found["server_faces"] >= 10
    assert found["browser_faces"] == found["server_faces"] == found["both_faces"]
    assert found["same_top_share"] >= 0.99
    assert found["max_score_difference"] <= 0.02
