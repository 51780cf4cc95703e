"""The history pages read at 360, 390 and 1280 px (issue 24): calendars, the weekday x hour map, no data,
one chart palette, and a session's minutes opened a quarter hour at a time.

The demo account (``seed_demo``: 90 days of history) in a real Chromium against ``live_server``.
Set ``SMILE_SCREENSHOT_DIR`` to keep a full-page screenshot of each page at each width.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.management import call_command
from playwright.sync_api import Browser, Page, expect
from pytest_django.live_server_helper import LiveServer

from tests.browser.conftest import last_weekday

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = (360, 390, 1280)
DEMO_EMAIL = "demo@smile.local"
DEMO_PASSWORD = "smile-demo-garden-90"
EMOTIONS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")


@pytest.fixture
def demo(live_server: LiveServer, browser: Browser) -> Iterator[Page]:
    """The demo account signed in; the viewport is set per width by each test."""
    call_command("seed_demo")
    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=live_server.url)
    page = context.new_page()
    page.set_default_timeout(20_000)
    expect.set_options(timeout=20_000)
    page.goto("/accounts/login/")
    page.get_by_label("E-mail address").fill(DEMO_EMAIL)
    page.get_by_label("Password", exact=True).fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/dashboard/$"))
    yield page
    context.close()


def at_width(page: Page, width: int, path: str, name: str) -> None:
    page.set_viewport_size({"width": width, "height": 800})
    page.goto(path)
    page.wait_for_load_state("load")
    scroll_width, window_width = page.evaluate("() => [document.documentElement.scrollWidth, innerWidth]")
    assert scroll_width <= window_width, f"{name} at {width} px scrolls sideways ({scroll_width} px)"
    screenshot(page, f"{name}-{width}")


def screenshot(page: Page, name: str) -> None:
    if directory := os.environ.get("SMILE_SCREENSHOT_DIR"):
        Path(directory).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(directory) / f"history-{name}.png"), full_page=True)


def boxes(page: Page, selector: str) -> list[dict[str, float]]:
    return page.eval_on_selector_all(
        selector,
        "(found) => found.map((element) => { const box = element.getBoundingClientRect();"
        " return { left: box.left, right: box.right, width: box.width, height: box.height }; })",
    )


@pytest.mark.parametrize("width", WIDTHS)
def test_the_year_shows_named_months_of_readable_squares(demo: Page, width: int) -> None:
    at_width(demo, width, "/history/?range=year", "year")

    captions = demo.locator("table.month caption")
    assert captions.count() >= 12
    expect(captions.first).to_be_visible()
    expect(captions.last).to_have_text(re.compile(r"^[A-Z][a-z]+ 20[0-9]{2}$"))
    squares = boxes(demo, "table.month td.px:not(.px-out)")
    assert len(squares) >= 365
    # Were 2 px slivers at 390 px: now never narrower than about a rem, and never past the edge.
    assert min(square["width"] for square in squares) >= 12
    assert max(square["right"] for square in squares) <= width


@pytest.mark.parametrize("width", WIDTHS)
def test_the_month_is_a_calendar_with_its_dates(demo: Page, width: int) -> None:
    at_width(demo, width, "/history/?range=month", "month")

    days = demo.locator("table.calendar td.px:not(.px-out)")
    assert days.count() == 30
    expect(days.first).to_contain_text(re.compile(r"^[0-9]{1,2}( [A-Z][a-z]{2})?"))
    squares = boxes(demo, "table.calendar td.px")
    assert min(square["width"] for square in squares) >= 30
    heads = demo.locator("table.calendar thead th").all_inner_texts()
    assert heads == ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


@pytest.mark.parametrize("width", WIDTHS)
def test_every_hour_of_the_weekday_map_is_on_screen(demo: Page, width: int) -> None:
    at_width(demo, width, "/history/?range=month", "weekday-hour")

    for row in range(1, 8):
        cells = boxes(demo, f"table.heat tbody tr:nth-child({row}) td")
        assert len(cells) == 24
        assert min(cell["width"] for cell in cells) >= 8
        assert max(cell["right"] for cell in cells) <= width, "no hour hides in a sideways box"
    labelled = [
        text
        for text, box in zip(
            demo.locator("table.heat thead th").all_inner_texts(), boxes(demo, "table.heat thead th"), strict=True
        )
        if text.strip() and box["width"] > 0
    ]
    assert {"0", "3", "6", "9", "12", "15", "18", "21"} <= set(labelled)


def test_no_data_is_hatched_and_outlined_not_a_shade(demo: Page) -> None:
    at_width(demo, 390, "/history/?range=month", "no-data")

    def background(selector: str) -> str:
        return demo.eval_on_selector(selector, "(element) => getComputedStyle(element).backgroundImage")

    assert "repeating-linear-gradient" in background(".legend .swatch.heat-0")
    assert "repeating-linear-gradient" in background("table.heat td.heat-0")
    assert background(".legend .swatch.heat-1") == "none", "the lightest sad shade stays a plain colour"


def test_every_chart_uses_the_one_palette(demo: Page) -> None:
    demo.goto("/history/?range=month")
    expect(demo.locator("#mood-chart")).to_have_attribute("data-rendered", "true")

    palette = demo.evaluate(
        "(emotions) => emotions.map((emotion) => getComputedStyle(document.documentElement)"
        ".getPropertyValue('--emotion-' + emotion).trim())",
        list(EMOTIONS),
    )
    chart = demo.evaluate(
        "() => Chart.getChart(document.getElementById('mood-chart')).data.datasets"
        ".map((dataset) => dataset.backgroundColor)"
    )
    meters = demo.eval_on_selector_all(
        "dl.shares meter",
        "(found) => found.map((meter) => getComputedStyle(meter).getPropertyValue('--emotion').trim())",
    )

    assert chart == palette, "full colours, as the share bars and the day's strip draw them"
    assert meters == palette


@pytest.mark.parametrize("width", WIDTHS)
def test_a_sessions_minutes_open_a_quarter_hour_at_a_time(demo: Page, width: int) -> None:
    at_width(demo, width, f"/history/?range=day&end={last_weekday()}", "day")
    session = demo.locator("li.session > details").first
    session.locator("> summary").click()
    groups = session.locator("li.minute-group")
    assert groups.count() > 4, "a weekday's session is hours long: its quarter hours, not its minutes"
    expect(session.locator("table.session-minutes")).to_have_count(0)

    groups.nth(1).locator("a.group-toggle").click()
    minutes = session.locator("table.session-minutes tbody tr")
    expect(minutes.first).to_be_visible()
    assert 0 < minutes.count() <= 15
    groups.nth(2).locator("a.group-toggle").click()
    expect(groups.nth(2).locator("table.session-minutes")).to_be_visible()
    expect(session.locator("table.session-minutes")).to_have_count(1)

    # The correction's toggle is a button of its own, not another "Hide minutes".
    correct = groups.nth(2).locator("details.correct > summary").first
    assert correct.evaluate("(summary) => getComputedStyle(summary, '::after').content") == "none"
    expect(correct).to_have_class(re.compile(r"\bbutton\b"))
    correct.click()
    expect(groups.nth(2).get_by_label("I felt").first).to_have_value("")
    screenshot(demo, f"day-open-{width}")
    height = demo.evaluate("() => document.documentElement.scrollHeight")
    assert height < 12_000, f"the day at {width} px is {height} px tall"


def test_a_quarter_hour_opens_in_place_with_script_and_by_its_link_without(
    demo: Page, browser: Browser, live_server: LiveServer
) -> None:
    day = f"/history/?range=day&end={last_weekday()}"
    demo.goto(day)
    demo.locator("li.session > details > summary").first.click()
    demo.evaluate("() => { window.stillThisPage = true; }")
    group = demo.locator("li.session > details").first.locator("li.minute-group").nth(1)
    group.locator("a.group-toggle").click()
    expect(group.locator("table.session-minutes")).to_be_visible()
    assert demo.evaluate("() => window.stillThisPage === true"), "swapped in place, not reloaded"
    expect(demo).to_have_url(re.compile(r"minutes=[0-9]+-[0-9]+#m-"))
    expect(group.get_by_role("link", name="Hide these minutes")).to_be_focused()

    # Without script the same link asks the server for the page with that quarter hour open.
    context = browser.new_context(
        java_script_enabled=False, base_url=live_server.url, storage_state=demo.context.storage_state()
    )
    plain = context.new_page()
    plain.goto(day)
    plain.locator("li.session > details > summary").first.click()
    link = plain.locator("li.session > details").first.locator("a.group-toggle").nth(1)
    key = link.get_attribute("data-group")
    link.click()
    expect(plain).to_have_url(re.compile(rf"minutes={key}#m-{key}$"))
    expect(plain.locator(f"#m-{key} table.session-minutes")).to_be_visible()
    context.close()
