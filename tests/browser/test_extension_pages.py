"""The extension's own pages in Chromium with the unpacked extension loaded, against ``live_server``.

The options page and the popup fit 360, 390, 768 and 1280 px and pass axe-core like the site's
pages (tests/browser/test_every_page.py). The popup keeps its live state true while it stays
open: a window stored on the server refreshes "Today", and Pause or Stop clears the reading.
No camera is used: the service worker's handlers are called as the offscreen document would.

Set ``SMILE_SCREENSHOT_DIR`` to keep screenshots of both pages at 390 and 1280 px.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import BrowserContext, Page, Worker, expect, sync_playwright
from pytest_django.live_server_helper import LiveServer

from moods.history import rollup
from moods.models import MoodEvent
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.browser.test_every_page import AXE, SCREENSHOT_WIDTHS, SERIOUS_AXE_VIOLATIONS, WIDTHS
from tests.factories import make_user, pair_device
from tests.services import require_service

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

EXTENSION = Path(__file__).resolve().parents[2] / "extension"
EXTENSION_ID = "hegedbgeijbcncfgmagcecgjpokgacgi"
SCORES = {"angry": 0.02, "disgust": 0.01, "fear": 0.02, "happy": 0.6, "sad": 0.1, "surprise": 0.05, "neutral": 0.2}


class Extension:
    def __init__(self, context: BrowserContext, worker: Worker) -> None:
        self.context = context
        self.worker = worker

    def open(self, page: str) -> Page:
        tab = self.context.new_page()
        tab.goto(f"chrome-extension://{EXTENSION_ID}/{page}")
        return tab

    def evaluate(self, script: str, argument: Any = None) -> Any:
        """Run ``script`` in the service worker (its storage and message handlers)."""
        return self.worker.evaluate(script, argument)


@pytest.fixture(scope="module")
def extension(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Extension]:
    if not CHROMIUM.exists():
        require_service("Chromium", f"Chromium not found at {CHROMIUM}")
    # As in launched_chromium: Playwright's loop runs in this thread, and the tests use the ORM in it.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with contextlib.ExitStack() as cleanup:
        cleanup.callback(restore_environment, "DJANGO_ALLOW_ASYNC_UNSAFE", previous)
        yield from loaded_extension(tmp_path_factory)


def restore_environment(name: str, value: str | None) -> None:
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value


def loaded_extension(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Extension]:
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("profile")),
            executable_path=str(CHROMIUM),
            headless=False,  # the new headless mode, below, is the one that loads extensions
            args=[
                "--headless=new",
                *CHROMIUM_ARGS,
                f"--disable-extensions-except={EXTENSION}",
                f"--load-extension={EXTENSION}",
            ],
            viewport={"width": 1280, "height": 800},
        )
        context.set_default_timeout(20_000)
        expect.set_options(timeout=20_000)
        # axe-core in every page, injected by the browser itself: the extension's CSP allows no inline script.
        context.add_init_script(path=str(AXE))
        try:
            worker = next(iter(context.service_workers), None) or context.wait_for_event("serviceworker")
            # On install the extension opens its options page; let that happen before tests open tabs.
            deadline = time.monotonic() + 20
            while not any(page.url.endswith("/options.html") for page in context.pages):
                assert time.monotonic() < deadline, "the options page did not open on install"
                context.pages[0].wait_for_timeout(100)
            yield Extension(context, worker)
        finally:
            context.close()


def problems_on(tab: Page, name: str) -> list[str]:
    found = []
    for width in WIDTHS:
        tab.set_viewport_size({"width": width, "height": 800})
        tab.reload()
        tab.wait_for_load_state("load")
        tab.wait_for_timeout(300)  # the page's script fills in its state
        scroll_width, window_width = tab.evaluate("() => [document.documentElement.scrollWidth, innerWidth]")
        if scroll_width > window_width:
            found.append(f"{name} at {width} px is {scroll_width} px wide")
        found.extend(f"{name} at {width} px: {line}" for line in tab.evaluate(SERIOUS_AXE_VIOLATIONS))
        if (directory := os.environ.get("SMILE_SCREENSHOT_DIR")) and width in SCREENSHOT_WIDTHS:
            Path(directory).mkdir(parents=True, exist_ok=True)
            tab.screenshot(path=str(Path(directory) / f"extension-{name}-{width}.png"), full_page=True)
    return found


def pair_with(extension: Extension, live_server: LiveServer) -> int:
    """A paired browser, as the options page leaves it; returns the user's id."""
    user = make_user(email="pia@example.com", display_name="Pia")
    device, token = pair_device(user=user, name="Chrome on Pia's laptop")
    extension.evaluate(
        "(state) => chrome.storage.local.set(state)",
        {"server": live_server.url, "token": token, "deviceId": device.pk, "deviceName": device.name},
    )
    return user.pk


def unpair(extension: Extension) -> None:
    extension.evaluate(
        "() => chrome.storage.local.set({token: null, deviceId: null, wantCapture: false})"
        ".then(() => chrome.storage.session.clear())"
    )


def test_the_options_page_and_the_popup_fit_every_width_and_pass_axe(
    extension: Extension, live_server: LiveServer
) -> None:
    options = extension.open("options.html")
    expect(options.get_by_role("heading", level=1)).to_have_text("Options")
    found = problems_on(options, "options-unpaired")
    popup = extension.open("popup.html")
    expect(popup.locator("#summary")).to_have_text("Pair this browser to see today's summary.")
    expect(popup.get_by_role("link", name="Pair this browser")).to_have_attribute("href", "options.html")
    expect(popup.get_by_role("button", name="Start")).to_be_hidden()
    found += problems_on(popup, "popup-unpaired")

    pair_with(extension, live_server)
    extension.evaluate(
        "(latest) => chrome.storage.local.set({wantCapture: true}).then(() => chrome.storage.session.set("
        "{status: {connection: 'live', camera: true, paused: false, detail: ''}, latest}))",
        {"face": True, "dominant": "happy", "scores": SCORES, "at": 1},
    )
    options.reload()
    expect(options.locator("#pairing-state")).to_contain_text("Paired as “Chrome on Pia's laptop”")
    found += problems_on(options, "options-paired")
    popup.reload()
    expect(popup.locator("#dominant")).to_have_text("Mostly happy")
    found += problems_on(popup, "popup-live")
    unpair(extension)
    options.close()
    popup.close()
    assert not found, "\n".join(found)


def test_the_open_popup_refreshes_today_and_clears_the_reading_on_pause_and_stop(
    extension: Extension, live_server: LiveServer
) -> None:
    user_id = pair_with(extension, live_server)
    popup = extension.open("popup.html")
    summary = popup.locator("#summary")
    expect(summary).to_have_text("Nothing recorded yet today.")

    # Start (as the popup's button does), then a result arrives from the offscreen document.
    extension.evaluate("() => smile.fromPages({type: 'start'})")
    extension.evaluate(
        "(latest) => smile.fromOffscreen({type: 'result', result: latest})",
        {"face": True, "dominant": "happy", "scores": SCORES, "at": 1},
    )
    expect(popup.locator("#dominant")).to_have_text("Mostly happy")
    expect(popup.get_by_role("list", name="Scores").locator("meter")).to_have_count(7)

    # A window is stored on the server and the stream says so: the open popup refreshes "Today".
    end = timezone.now()
    start = end - timedelta(minutes=1)
    rollup.insert_event(
        MoodEvent(user_id=user_id, started_at=start, ended_at=end, frames=60, faces=60, dominant="happy", **SCORES)
    )
    extension.evaluate(
        "(mood) => smile.fromOffscreen({type: 'mood', mood})",
        {"start": start.isoformat(), "end": end.isoformat(), "dominant": "happy"},
    )
    expect(summary).to_have_text("Mostly happy today (happy 60%, sad 10%), from 1 stored minute.")

    # Pause: no reading "right now", even though one was read before.
    popup.get_by_role("button", name="Pause").click()
    expect(popup.locator("#dominant")).to_have_text("Paused: no reading while the camera is off.")
    expect(popup.get_by_role("list", name="Scores").locator("meter")).to_have_count(0)
    popup.get_by_role("button", name="Resume").click()
    extension.evaluate(
        "(latest) => smile.fromOffscreen({type: 'result', result: latest})",
        {"face": True, "dominant": "happy", "scores": SCORES, "at": 2},
    )
    expect(popup.locator("#dominant")).to_have_text("Mostly happy")

    # Stop: the reading goes, Start comes back.
    popup.get_by_role("button", name="Stop").click()
    expect(popup.locator("#dominant")).to_have_text("The camera is off.")
    expect(popup.get_by_role("button", name="Start")).to_be_visible()
    unpair(extension)
    popup.close()
