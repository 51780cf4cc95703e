"""A real Chromium (Debian's package) driven by Playwright, for tests against ``live_server``."""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.factories import PASSWORD
from tests.services import require_service

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",  # CI runs as root
    "--disable-gpu",
    # The machine has no network but the package registries: no background calls home.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def fake_camera_args(video: Path) -> list[str]:
    """Chromium's fake camera playing ``video`` (.mjpeg or .y4m), granted without a prompt."""
    return [
        "--use-fake-device-for-media-stream",
        "--use-fake-ui-for-media-stream",
        f"--use-file-for-fake-video-capture={video}",
    ]


@contextlib.contextmanager
def launched_chromium(*extra_args: str) -> Iterator[Browser]:
    """Debian's Chromium, headless, with ``CHROMIUM_ARGS`` and ``extra_args``."""
    if not CHROMIUM.exists():
        require_service("Chromium", f"Chromium not found at {CHROMIUM}")
    # Playwright's sync API runs an event loop in the test thread; Django refuses ORM calls in
    # such a thread unless told that it is safe (it is: nothing else runs in it).
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=str(CHROMIUM), headless=True, args=[*CHROMIUM_ARGS, *extra_args]
            )
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


# Module scope, not session: while Playwright's loop runs in the main thread, async_to_sync
# (channel layers, consumers) cannot run there, and pytest-django reorders tests by database use.
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with launched_chromium() as launched:
        yield launched


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    # The machine may be busy; a generous timeout keeps the tests about behaviour, not speed.
    page.set_default_timeout(20_000)
    expect.set_options(timeout=20_000)
    yield page
    context.close()


def fill_sign_up(
    page: Page, *, email: str, display_name: str, time_zone: str, password: str = PASSWORD, confirmation: str = ""
) -> None:
    """Fill in the open sign-up page and submit it (``confirmation`` defaults to the password)."""
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Display name").fill(display_name)
    page.get_by_label("Time zone").select_option(time_zone)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_label("Confirm password").fill(confirmation or password)
    page.get_by_role("button", name="Sign up").click()


def sign_up_new_person(page: Page, *, base_url: str = "", display_name: str, time_zone: str) -> str:
    """A new account with a fresh e-mail address, signed up through the form; lands on the dashboard."""
    email = f"{display_name.lower()}-{secrets.token_hex(4)}@example.com"
    page.context.clear_cookies()  # a new person: nobody signed in
    page.goto(f"{base_url}/accounts/signup/")
    fill_sign_up(page, email=email, display_name=display_name, time_zone=time_zone)
    expect(page).to_have_url(re.compile(r"/dashboard/$"))
    return email


def last_weekday() -> str:
    """The most recent Monday-to-Friday before today in the demo's time zone (ISO)."""
    day = datetime.now(ZoneInfo("Europe/Berlin")).date() - timedelta(days=1)
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    return day.isoformat()
