"""A newcomer's live check-in on another address than the default one: it works, or it says why not.

``make run HOST=0.0.0.0 PORT=8080`` opened as ``http://localhost:8080`` used to end in "The
connection closed (1006).": the stream only accepted ``http://127.0.0.1:8000`` and
``http://localhost:8000``. These sites leave ``SMILE_SITE_ORIGINS`` at its default and are
opened as ``http://localhost:<port>``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import fake_camera_args, launched_chromium, sign_up_new_person
from tests.inference.conftest import encode, webcam_frame_with_face
from tests.integration.conftest import live_database, postgres_server
from tests.integration.live import LiveDatabase, LiveSite, running_site

pytestmark = [pytest.mark.browser, pytest.mark.services]
__all__ = ["live_database", "postgres_server"]

# The first frame loads the model in daphne: allow for a busy machine.
MODEL_TIMEOUT_MS = 120_000


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    camera = tmp_path_factory.mktemp("camera") / "astronaut.mjpeg"
    camera.write_bytes(encode(webcam_frame_with_face()) * 10)
    with launched_chromium(*fake_camera_args(camera)) as launched:
        yield launched


def localhost_page(browser: Browser, site: LiveSite) -> Page:
    base_url = site.base_url.replace("127.0.0.1", "localhost")
    context = browser.new_context(viewport={"width": 390, "height": 844}, base_url=base_url)
    context.grant_permissions(["camera"], origin=base_url)
    page = context.new_page()
    page.set_default_timeout(30_000)
    return page


def start_check_in(page: Page) -> None:
    sign_up_new_person(page, display_name="Ada", time_zone="Europe/Berlin")
    page.goto("/live/")
    page.get_by_role("button", name="Start check-in").click()


def test_the_default_set_up_accepts_its_own_page_on_another_address(
    browser: Browser, live_database: LiveDatabase, tmp_path: Path
) -> None:
    with running_site(
        mode="embedded", database=live_database, redis_url=None, log_dir=tmp_path, SMILE_SITE_ORIGINS=""
    ) as site:
        page = localhost_page(browser, site)
        start_check_in(page)

        expect(page.locator("#camera-state")).to_contain_text("Camera on")
        expect(page.locator("#live-faces")).not_to_have_text("0", timeout=MODEL_TIMEOUT_MS)
        expect(page.locator("#live-status")).not_to_contain_text("connection closed")

        # New capture defaults saved in another tab reach the open check-in without reconnecting.
        settings = page.context.new_page()
        settings.goto("/settings/")
        settings.get_by_label("Frames per second").fill("0.5")
        settings.get_by_role("button", name="Save settings").click()
        expect(settings.get_by_text("Your settings are saved.")).to_be_visible()
        expect(page.locator("#live-status")).to_contain_text("Checking in at 0.5 frames per second")
        expect(page.locator("#camera-state")).to_contain_text("Camera on")
        page.context.close()


def test_a_refused_origin_is_said_in_words(browser: Browser, live_database: LiveDatabase, tmp_path: Path) -> None:
    with running_site(
        mode="embedded",
        database=live_database,
        redis_url=None,
        log_dir=tmp_path,
        SMILE_SITE_ORIGINS="",
        SMILE_SAME_HOST_ORIGIN="0",  # the exact list only, as in production
    ) as site:
        page = localhost_page(browser, site)
        start_check_in(page)

        status = page.locator("#live-status")
        expect(status).to_contain_text(re.compile(r"does not accept live check-ins from http://localhost:\d+"))
        expect(status).not_to_contain_text("1006")
        expect(page.locator("#camera-state")).to_have_text("Camera off")
        page.context.close()
