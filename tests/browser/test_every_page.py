"""Every page at 360, 390, 768 and 1280 px: no sideways scrolling, and no serious or critical axe-core violation.

Three people see the site: nobody signed in, a new account with no data, and the demo account
with 90 days of history (``seed_demo``). axe-core is the pinned, vendored copy in
``tests/browser/vendor/axe-core`` (package.json's devDependencies; never served by the site).

Set ``SMILE_SCREENSHOT_DIR`` to keep a full-page screenshot of every page at 390 and 1280 px.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.core.management import call_command
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from accounts.models import Device
from tests.browser.conftest import last_weekday, sign_up_new_person

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = (360, 390, 768, 1280)
SCREENSHOT_WIDTHS = (390, 1280)
AXE = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"
DEMO_EMAIL = "demo@smile.local"
DEMO_PASSWORD = "smile-demo-garden-90"

# What sticks out past the right edge, for a failure message that says where to look.
WIDER_THAN_THE_WINDOW = """() => {
  const width = document.documentElement.clientWidth;
  const wide = [];
  for (const element of document.querySelectorAll("body *")) {
    const box = element.getBoundingClientRect();
    if (box.width > 0 && box.right > width + 1) {
      const classes = typeof element.className === "string" ? element.className.trim().split(/\\s+/) : [];
      const name = element.tagName.toLowerCase() + (element.id ? "#" + element.id : "") +
        classes.filter(Boolean).map((name) => "." + name).join("");
      wide.push(name + " (right " + Math.round(box.right) + ")");
    }
  }
  return wide.slice(0, 6);
}"""

SERIOUS_AXE_VIOLATIONS = """async () => {
  const results = await axe.run(document, { resultTypes: ["violations"] });
  return results.violations
    .filter((violation) => violation.impact === "serious" || violation.impact === "critical")
    .map((violation) => violation.id + " (" + violation.impact + "): " +
      violation.nodes.slice(0, 3).map((node) => node.target.join(" ")).join(", "));
}"""


@dataclass(frozen=True)
class Screen:
    name: str
    open: Callable[[Page, str], None]


def at(path: str, *, heading: str | re.Pattern[str] | None = None) -> Callable[[Page, str], None]:
    """Open ``path`` and, when given, wait for its first-level heading."""

    def open_page(page: Page, base_url: str) -> None:
        page.goto(f"{base_url}{path}")
        if heading is not None:
            expect(page.get_by_role("heading", level=1)).to_have_text(heading)

    return open_page


def failed_sign_up(page: Page, base_url: str) -> None:
    page.goto(f"{base_url}/accounts/signup/")
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("alert")).to_contain_text("Please check the form")


def csrf_failure(page: Page, base_url: str) -> None:
    """A form sent without its CSRF cookie (a page left open across a browser restart)."""
    page.goto(f"{base_url}/accounts/login/")
    page.context.clear_cookies()
    page.get_by_label("E-mail address").fill("someone@example.com")
    page.get_by_label("Password", exact=True).fill("anything-at-all-42")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("This form has expired")


def problems_on(page: Page, base_url: str, screen: Screen, *, state: str) -> list[str]:
    """Every overflow and serious axe violation of ``screen`` at each width, as readable lines."""
    found: list[str] = []
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 800})
        screen.open(page, base_url)
        page.wait_for_load_state("load")
        scroll_width, window_width = page.evaluate("() => [document.documentElement.scrollWidth, innerWidth]")
        if scroll_width > window_width:
            wide = page.evaluate(WIDER_THAN_THE_WINDOW)
            found.append(f"{screen.name} at {width} px is {scroll_width} px wide: {', '.join(wide)}")
        found.extend(f"{screen.name} at {width} px: {line}" for line in page.evaluate(SERIOUS_AXE_VIOLATIONS))
        if (directory := os.environ.get("SMILE_SCREENSHOT_DIR")) and width in SCREENSHOT_WIDTHS:
            Path(directory).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(Path(directory) / f"{state}-{screen.name}-{width}.png"), full_page=True)
    return found


def check(page: Page, base_url: str, screens: list[Screen], *, state: str) -> None:
    page.context.add_init_script(path=str(AXE))
    found = [problem for screen in screens for problem in problems_on(page, base_url, screen, state=state)]
    assert not found, "\n".join(found)


def test_the_pages_anyone_can_see_fit_every_width_and_pass_axe(live_server: LiveServer, page: Page) -> None:
    screens = [
        Screen("home", at("/", heading="A kinder way to notice how you feel.")),
        Screen("get-extension", at("/extension/", heading="Get the S.M.I.L.E extension")),
        Screen("login", at("/accounts/login/", heading="Log in")),
        Screen("signup", at("/accounts/signup/", heading="Create your account")),
        Screen("signup-errors", failed_sign_up),
        Screen("password-reset", at("/accounts/password/reset/")),
        Screen("password-reset-done", at("/accounts/password/reset/done/")),
        Screen("password-reset-complete", at("/accounts/reset/done/")),
        Screen("not-found", at("/no-such-page/", heading="We could not find that page")),
        Screen("csrf-failure", csrf_failure),
    ]
    check(page, live_server.url, screens, state="anyone")


def test_a_new_accounts_pages_fit_every_width_and_pass_axe(live_server: LiveServer, page: Page) -> None:
    sign_up_new_person(page, base_url=live_server.url, display_name="Ines", time_zone="Europe/Lisbon")
    screens = [
        Screen("dashboard", at("/dashboard/", heading="Hello, Ines")),
        Screen("history", at("/history/", heading="Your mood history")),
        Screen("live", at("/live/", heading="Live check-in")),
        Screen("settings", at("/settings/", heading="Settings")),
        Screen("encouragements", at("/encouragements/")),
        Screen("your-data", at("/data/")),
        Screen("devices", at("/devices/", heading="Devices")),
        Screen("pair", at("/pair/")),
        Screen("account", at("/accounts/profile/")),
        Screen("password-change", at("/accounts/password/change/")),
        Screen("delete-account", at("/accounts/delete/")),
        Screen("form-only-address", at("/data/export/", heading="This address only takes a form")),
    ]
    check(page, live_server.url, screens, state="empty")


def test_the_demo_accounts_pages_fit_every_width_and_pass_axe(live_server: LiveServer, page: Page) -> None:
    call_command("seed_demo")
    device = Device.objects.filter(user__email=DEMO_EMAIL).first()
    assert device is not None, "seed_demo pairs a demo device"
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("E-mail address").fill(DEMO_EMAIL)
    page.get_by_label("Password", exact=True).fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/dashboard/$"))
    screens = [
        Screen("dashboard", at("/dashboard/")),
        *(Screen(f"history-{kind}", at(f"/history/?range={kind}")) for kind in ("day", "week", "month", "year")),
        Screen("history-weekday", at(f"/history/?range=day&end={last_weekday()}")),
        Screen("history-custom", at("/history/?range=custom&start=2026-01-01&end=2026-06-30")),
        Screen("encouragements", at("/encouragements/")),
        Screen("your-data", at("/data/")),
        Screen("devices", at("/devices/", heading="Devices")),
        Screen("device-revoke", at(f"/devices/{device.pk}/revoke/")),
        Screen("settings", at("/settings/", heading="Settings")),
    ]
    check(page, live_server.url, screens, state="demo")
