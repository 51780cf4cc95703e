"""Settings in Chromium: quiet hours said in words, range errors that match the help, a checkbox beside its label."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from moods.models import EncouragementSettings
from tests.browser.conftest import sign_up_new_person

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_quiet_hours_past_midnight_and_bad_minutes_are_said_plainly(live_server: LiveServer, page: Page) -> None:
    sign_up_new_person(page, base_url=live_server.url, display_name="Yuki", time_zone="Asia/Tokyo")
    page.goto(f"{live_server.url}/settings/")
    words = page.locator("#quiet-words")
    expect(words).to_have_text("No quiet hours: a nudge may come at any time of day.")

    page.get_by_label("Quiet hours from").fill("22:00")
    page.get_by_label("Quiet hours until").fill("07:30")
    expect(words).to_have_text("No nudges from 22:00 until 07:30 the next day: 9 hours 30 minutes of quiet every day.")
    page.get_by_label("Quiet hours from").fill("09:00")
    page.get_by_label("Quiet hours until").fill("08:00")
    expect(words).to_have_text(
        "No nudges from 09:00 until 08:00 the next day: 23 hours of quiet every day. "
        "That is most of the day: check that the times are the right way round."
    )
    page.get_by_label("Quiet hours until").fill("17:00")
    expect(words).to_have_text("No nudges from 09:00 until 17:00: 8 hours of quiet every day.")

    # The label is the click target of its checkbox.
    page.get_by_text("Send me encouragements").click()
    expect(page.get_by_label("Send me encouragements")).to_be_checked()

    sustain = page.get_by_label("Sustained for (minutes)")
    sustain.fill("-5")
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_role("alert")).to_contain_text("Enter a whole number of minutes from 1 to 240.")
    expect(sustain).to_have_attribute("aria-invalid", "true")
    assert not EncouragementSettings.objects.exists()

    page.get_by_label("Sustained for (minutes)").fill("20")
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_role("status")).to_contain_text("Your settings are saved.")
    saved = EncouragementSettings.objects.get()
    assert (saved.enabled, saved.sustain_minutes, str(saved.quiet_hours_start), str(saved.quiet_hours_end)) == (
        True,
        20,
        "09:00:00",
        "17:00:00",
    )
