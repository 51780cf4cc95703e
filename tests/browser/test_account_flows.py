"""The account pages in a real Chromium: every form a person fills in, from sign-up to deletion.

Set ``SMILE_SCREENSHOT_DIR`` to keep screenshots of the landing page, the sign-up errors and the dashboard.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from django.core import mail
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from accounts.models import User
from tests.browser.conftest import fill_sign_up

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

EMAIL = "mira@example.com"
FIRST_PASSWORD = "gentle-harbour-lights-31"
SECOND_PASSWORD = "amber-meadow-breeze-58"
THIRD_PASSWORD = "silver-lantern-tides-94"


def screenshot(page: Page, name: str) -> None:
    if directory := os.environ.get("SMILE_SCREENSHOT_DIR"):
        Path(directory).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(directory) / f"{name}.png"), full_page=True)


def fill_mira_sign_up(page: Page, *, password: str, confirmation: str) -> None:
    fill_sign_up(
        page,
        email=EMAIL.upper(),
        display_name="Mira",
        time_zone="Europe/Paris",
        password=password,
        confirmation=confirmation,
    )


def log_in(page: Page, password: str) -> None:
    page.get_by_label("E-mail address").fill(EMAIL)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Log in").click()


def log_out(page: Page) -> None:
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("A kinder way to notice how you feel.")
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Log in")).to_be_visible()


def test_a_person_signs_up_logs_in_changes_and_resets_the_password_then_deletes_the_account(
    live_server: LiveServer, page: Page
) -> None:
    nav = page.get_by_role("navigation", name="Main")
    page.goto(live_server.url)
    expect(page.get_by_text("No video frames.")).to_be_visible()
    screenshot(page, "landing")

    # Sign-up: each bad input is explained next to its field, then a good sign-up logs in.
    nav.get_by_role("link", name="Sign up").click()
    expect(page).to_have_title(re.compile("Sign up"))
    fill_mira_sign_up(page, password=FIRST_PASSWORD, confirmation="something-else-entirely-1")
    expect(page.locator("#id_password2_error")).to_have_text(re.compile("The two passwords do not match."))
    expect(page.get_by_label("Confirm password")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_role("alert")).to_contain_text("Please check the form")

    fill_mira_sign_up(page, password="Sh0rt!pw", confirmation="Sh0rt!pw")
    expect(page.locator("#id_password1_error")).to_have_text(re.compile("This password is too short."))
    expect(page.get_by_label("Password", exact=True)).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("E-mail address")).to_have_value(EMAIL.upper())
    screenshot(page, "signup-errors")
    assert not User.objects.exists()

    fill_mira_sign_up(page, password=FIRST_PASSWORD, confirmation=FIRST_PASSWORD)
    expect(page).to_have_url(f"{live_server.url}/dashboard/")
    expect(page.get_by_role("status")).to_contain_text("Welcome to S.M.I.L.E, Mira!")
    expect(page.get_by_role("heading", name="No mood data yet")).to_be_visible()
    screenshot(page, "dashboard")
    assert User.objects.get().email == EMAIL

    log_out(page)

    # Log in: a wrong password is refused with a clear message, the right one works.
    nav.get_by_role("link", name="Log in").click()
    log_in(page, "not-my-password-9")
    expect(page.get_by_role("alert")).to_contain_text("That e-mail address and password do not match an account.")
    log_in(page, FIRST_PASSWORD)
    expect(page).to_have_url(f"{live_server.url}/dashboard/")

    # Change the password from the account page.
    nav.get_by_role("link", name="Account").click()
    expect(page.get_by_label("Time zone")).to_have_value("Europe/Paris")
    page.get_by_role("link", name="Change password").click()
    page.get_by_label("Old password").fill(FIRST_PASSWORD)
    page.get_by_label("New password", exact=True).fill(SECOND_PASSWORD)
    page.get_by_label("New password confirmation").fill(SECOND_PASSWORD)
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_role("heading", name="Password changed")).to_be_visible()
    log_out(page)

    # Forgotten password: the e-mailed link sets a new one, which then logs in.
    nav.get_by_role("link", name="Log in").click()
    page.get_by_role("link", name="Forgot your password?").click()
    page.get_by_label("E-mail address").fill(EMAIL)
    page.get_by_role("button", name="Send reset link").click()
    expect(page.get_by_role("heading", name="Check your e-mail")).to_be_visible()
    assert len(mail.outbox) == 1
    link = re.search(r"https?://\S+/accounts/reset/\S+/", str(mail.outbox[0].body))
    assert link, mail.outbox[0].body
    page.goto(link.group(0))
    expect(page.get_by_role("heading", name="Choose a new password")).to_be_visible()
    page.get_by_label("New password", exact=True).fill(THIRD_PASSWORD)
    page.get_by_label("New password confirmation").fill(THIRD_PASSWORD)
    page.get_by_role("button", name="Set new password").click()
    expect(page.get_by_role("heading", name="Your new password is set")).to_be_visible()
    page.get_by_role("main").get_by_role("link", name="Log in").click()
    log_in(page, SECOND_PASSWORD)
    expect(page.get_by_role("alert")).to_be_visible()
    log_in(page, THIRD_PASSWORD)
    expect(page).to_have_url(f"{live_server.url}/dashboard/")

    # Delete the account: the password is asked for, then everything is gone.
    nav.get_by_role("link", name="Account").click()
    page.get_by_role("link", name="Delete account").click()
    page.get_by_label("Current password").fill(THIRD_PASSWORD)
    page.get_by_role("button", name="Delete my account and data").click()
    expect(page).to_have_url(f"{live_server.url}/")
    expect(page.get_by_role("status")).to_contain_text("Your account and all its data were deleted.")
    expect(nav.get_by_role("link", name="Sign up")).to_be_visible()
    assert not User.objects.exists()
