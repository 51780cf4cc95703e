"""Calibrating to the resting face from the Live check-in page, in a real Chromium with a fake camera.

One daphne on Postgres whose calibration lasts 6 s and needs 3 faces. Two cameras, made in a
temporary folder from scikit-image's pictures: a face of its LFW sample that the model reads
sad-ish at rest (calibration succeeds, and the same face then reads neutral), and the smiling
astronaut (refused: not at rest). The real network reads every frame.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from playwright.sync_api import Page, expect
from skimage import data

from tests.browser.conftest import fake_camera_args, launched_chromium, sign_up_new_person
from tests.inference.conftest import encode, webcam_frame_with_face
from tests.integration.conftest import live_database, postgres_server
from tests.integration.live import LiveDatabase, LiveSite, running_site

pytestmark = [pytest.mark.browser, pytest.mark.services]
__all__ = ["live_database", "postgres_server"]

# The first frame loads TensorFlow's model in daphne: allow for a busy machine.
MODEL_TIMEOUT_MS = 120_000
# Of scikit-image's LFW sample: a face the served model reads about 47% sad, 32% neutral, 19% happy.
RESTING_LFW_INDEX = 9


def resting_face_frame() -> np.ndarray:
    """A 640x480 BGR frame: the LFW face, scaled up on a grey background like a webcam picture."""
    face = cv2.resize(
        (data.lfw_subset()[RESTING_LFW_INDEX] * 255).astype(np.uint8), (300, 300), interpolation=cv2.INTER_CUBIC
    )
    canvas = np.full((480, 640), 128, np.uint8)
    canvas[90:390, 170:470] = face
    return cv2.cvtColor(canvas, cv2.COLOR_GRAY2BGR)


@pytest.fixture(scope="module")
def site(live_database: LiveDatabase, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveSite]:
    with running_site(
        mode="embedded",
        database=live_database,
        redis_url=None,
        log_dir=tmp_path_factory.mktemp("calibration-logs"),
        SMILE_CALIBRATION_SECONDS="6",
        SMILE_CALIBRATION_MIN_FACES="3",
    ) as live:
        yield live


def camera_page(site: LiveSite, video: Path) -> Iterator[Page]:
    with launched_chromium(*fake_camera_args(video)) as browser:
        context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=site.base_url)
        context.grant_permissions(["camera"], origin=site.origin)
        page = context.new_page()
        page.set_default_timeout(30_000)
        expect.set_options(timeout=30_000)
        yield page
        context.close()


def start_check_in(page: Page) -> None:
    sign_up_new_person(page, display_name="Rin", time_zone="Europe/Berlin")
    page.goto("/live/")
    expect(page.locator("#calibrate-title")).to_have_text("Your resting face")
    expect(page.get_by_text("never an image")).to_be_visible()
    expect(page.get_by_role("button", name="Calibrate to my resting face")).to_be_disabled()
    page.get_by_role("button", name="Start check-in").click()
    expect(page.locator("#live-faces")).not_to_have_text("0", timeout=MODEL_TIMEOUT_MS)


def test_calibrating_a_sad_looking_resting_face_then_reads_it_neutral(site: LiveSite, tmp_path: Path) -> None:
    video = tmp_path / "resting.mjpeg"
    video.write_bytes(encode(resting_face_frame()) * 10)
    for page in camera_page(site, video):
        start_check_in(page)
        expect(page.locator("#live-dominant")).to_have_text(re.compile("^(Sad|Fear|Angry)$"))
        before = len(site.database.rows("SELECT id FROM moods_personalbaseline"))

        page.get_by_role("button", name="Calibrate to my resting face").click()
        expect(page.locator("#calibration-status")).to_contain_text("Calibrating")
        expect(page.get_by_role("button", name="Cancel calibration")).to_be_visible()
        expect(page.locator("#calibration-status")).to_contain_text("Calibrated on", timeout=60_000)
        expect(page.get_by_role("button", name="Cancel calibration")).to_be_hidden()

        expect(page.locator("#live-dominant")).to_have_text("Neutral")
        assert len(site.database.rows("SELECT id FROM moods_personalbaseline")) == before + 1

        # The user's own word, from the same page, while the camera keeps running.
        page.get_by_label("Note (optional, up to 200 characters)").fill("just focused")
        stored = page.locator("#live-moods li").count()
        page.get_by_role("group", name="How do you feel?").get_by_role("button", name="Neutral").click()
        expect(page.locator("#self-report-status")).to_have_text("Saved: you felt neutral. Thank you.")
        expect(page.locator("#camera-state")).to_contain_text("Camera on")
        # The minute the report was made in closes whole (a window cut short by Stop may be "not sure").
        expect(page.locator("#live-moods li")).to_have_count(stored + 2, timeout=60_000)
        page.get_by_role("button", name="Stop").click()

        page.goto("/history/?range=day")
        expect(page.locator("#agreement")).to_contain_text(re.compile(r"agreed with what you said \d of 1 times"))
        expect(page.get_by_text("you felt neutral · “just focused”")).to_be_visible()

        page.goto("/settings/")
        expect(page.locator("#baseline-state")).to_contain_text("is in use")
        page.get_by_role("button", name="Forget my baseline").click()
        expect(page.locator("#baseline-state")).to_contain_text("No personal baseline")
        assert len(site.database.rows("SELECT id FROM moods_personalbaseline")) == before


def test_a_smiling_face_is_refused_with_a_clear_message(site: LiveSite, tmp_path: Path) -> None:
    video = tmp_path / "smiling.mjpeg"
    video.write_bytes(encode(webcam_frame_with_face()) * 10)
    for page in camera_page(site, video):
        start_check_in(page)
        before = len(site.database.rows("SELECT id FROM moods_personalbaseline"))
        page.get_by_role("button", name="Calibrate to my resting face").click()
        expect(page.locator("#calibration-status")).to_contain_text(
            "Not calibrated: Your face did not look at rest", timeout=60_000
        )
        expect(page.get_by_role("button", name="Calibrate to my resting face")).to_be_enabled()
        assert len(site.database.rows("SELECT id FROM moods_personalbaseline")) == before
        page.get_by_role("button", name="Stop").click()
