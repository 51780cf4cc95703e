"""Time zones from the browser: sign-up proposes it, the dashboard offers it when the account's zone differs."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect
from pytest_django.live_server_helper import LiveServer

from accounts.models import User
from moods.models import Encouragement, SelfReport
from tests.factories import PASSWORD, make_user
from tests.moods.history.test_history import event

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def berlin(browser: Browser) -> Iterator[Page]:
    """A page in a browser whose clock is in Europe/Berlin."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, timezone_id="Europe/Berlin")
    page = context.new_page()
    page.set_default_timeout(20_000)
    expect.set_options(timeout=20_000)
    yield page
    context.close()


def test_a_browser_in_berlin_signs_up_in_berlin_and_is_told_so(live_server: LiveServer, berlin: Page) -> None:
    berlin.goto(f"{live_server.url}/accounts/signup/")
    zone = berlin.get_by_label("Time zone")
    expect(zone).to_have_value("Europe/Berlin")
    expect(berlin.locator("#zone-from-browser")).to_have_text(
        "Set from your browser: Europe/Berlin. Change it if that is not where you are."
    )
    berlin.get_by_label("E-mail address").fill("lena@example.com")
    berlin.get_by_label("Password", exact=True).fill(PASSWORD)
    berlin.get_by_label("Confirm password").fill(PASSWORD)
    berlin.get_by_role("button", name="Sign up").click()
    expect(berlin).to_have_url(re.compile(r"/dashboard/$"))
    assert User.objects.get(email="lena@example.com").time_zone == "Europe/Berlin"
    expect(berlin.locator("#zone-prompt")).to_be_hidden()


def test_a_form_sent_back_with_errors_keeps_the_zone_the_person_chose(live_server: LiveServer, berlin: Page) -> None:
    berlin.goto(f"{live_server.url}/accounts/signup/")
    berlin.get_by_label("Time zone").select_option("Asia/Tokyo")
    berlin.get_by_role("button", name="Sign up").click()
    expect(berlin.get_by_role("alert")).to_contain_text("Please check the form")
    expect(berlin.get_by_label("Time zone")).to_have_value("Asia/Tokyo")


def log_in(page: Page, base_url: str, email: str) -> None:
    page.goto(f"{base_url}/accounts/login/")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/dashboard/$"))


def test_the_dashboard_offers_the_browsers_zone_and_settings_saves_it(live_server: LiveServer, berlin: Page) -> None:
    make_user(email="omar@example.com", display_name="Omar", time_zone="UTC")
    log_in(berlin, live_server.url, "omar@example.com")

    prompt = berlin.locator("#zone-prompt")
    expect(prompt).to_be_visible()
    expect(prompt.get_by_role("heading")).to_have_text("Are you in Europe/Berlin?")
    prompt.get_by_role("link", name="Use Europe/Berlin").click()

    expect(berlin).to_have_url(re.compile(r"/settings/\?time_zone=Europe%2FBerlin"))
    expect(berlin.locator("#id_tz-time_zone")).to_have_value("Europe/Berlin")
    expect(berlin.locator("#zone-offered")).to_contain_text("Press Save settings to keep it.")
    assert User.objects.get(email="omar@example.com").time_zone == "UTC", "nothing changes before Save"
    berlin.get_by_role("button", name="Save settings").click()
    expect(berlin.get_by_role("status")).to_contain_text("Your settings are saved.")
    assert User.objects.get(email="omar@example.com").time_zone == "Europe/Berlin"

    berlin.goto(f"{live_server.url}/dashboard/")
    expect(berlin.get_by_role("heading", level=1)).to_have_text("Hello, Omar")
    expect(prompt).to_be_hidden()


def test_keeping_the_accounts_zone_hides_the_prompt_for_good(live_server: LiveServer, berlin: Page) -> None:
    make_user(email="ava@example.com", display_name="Ava", time_zone="America/New_York")
    log_in(berlin, live_server.url, "ava@example.com")
    prompt = berlin.locator("#zone-prompt")
    prompt.get_by_role("button", name="Keep America/New_York").click()
    expect(prompt).to_be_hidden()
    berlin.reload()
    expect(berlin.get_by_role("heading", level=1)).to_have_text("Hello, Ava")
    expect(prompt).to_be_hidden()
    assert User.objects.get(email="ava@example.com").time_zone == "America/New_York"


def test_every_page_shows_a_moment_in_the_accounts_zone_not_the_servers_or_the_browsers(
    live_server: LiveServer, berlin: Page
) -> None:
    """A Los Angeles account seen from a browser in Berlin, on a server in UTC: a minute that began at
    17:44 in Los Angeles (01:44 UTC the next day, 02:44 in Berlin) reads 17:44 everywhere."""
    user = make_user(email="lee@example.com", display_name="Lee", time_zone="America/Los_Angeles")
    zone = ZoneInfo("America/Los_Angeles")
    start = (timezone.now() - timedelta(hours=30)).astimezone(zone).replace(hour=17, minute=44, second=0, microsecond=0)
    window = event(user.pk, start, sad=0.6)
    SelfReport.objects.create(user=user, emotion="neutral", event=window, created_at=timezone.now())
    Encouragement.objects.create(
        user=user,
        sent_at=start + timedelta(minutes=2),
        message="A kind word.",
        trigger={"mean_sadness": 0.6, "threshold": 0.5, "minutes": 1, "windows": 1, "coverage": 1.0},
    )
    day = start.date()
    log_in(berlin, live_server.url, "lee@example.com")
    berlin.locator("#zone-prompt").get_by_role("button").last.click()  # keep the account's zone

    expect(berlin.get_by_text(f"{start:%a} {day.day} {start:%b}, 17:44\N{EN DASH}17:45")).to_be_visible()
    berlin.goto(f"{live_server.url}/history/?range=day&end={day.isoformat()}")
    expect(berlin.locator(".self-reports")).to_contain_text(
        f"{start:%a} {day.day} {start:%b}, 17:44: read sad, you felt neutral"
    )
    berlin.locator(".session summary").first.click()
    row = berlin.locator(".session-minutes tbody tr").first
    expect(row.get_by_role("rowheader")).to_have_text("17:44\N{EN DASH}17:45")
    expect(row).to_contain_text("You felt neutral")
    expect(berlin.locator(".session-nudges")).to_contain_text("17:46, encouragement:")
    berlin.goto(f"{live_server.url}/encouragements/")
    expect(berlin.locator(".nudge-log time").first).to_contain_text(f"{day.day} {start:%B %Y}, 17:46")
