"""The signed-in navigation on a phone folds behind a Menu button; on a laptop it is always open."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from tests.browser.conftest import sign_up_new_person

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_on_a_phone_the_menu_opens_leads_on_and_closes_with_escape(live_server: LiveServer, page: Page) -> None:
    sign_up_new_person(page, base_url=live_server.url, display_name="Sami", time_zone="UTC")
    nav = page.get_by_role("navigation", name="Main")
    menu = nav.get_by_role("button", name="Menu")
    history = nav.get_by_role("link", name="History")

    page.set_viewport_size({"width": 390, "height": 844})
    expect(menu).to_be_visible()
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(history).to_be_hidden()

    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(history).to_be_visible()
    page.keyboard.press("Escape")
    expect(history).to_be_hidden()
    expect(menu).to_be_focused()

    menu.click()
    history.click()
    expect(page).to_have_url(re.compile(r"/history/$"))
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="History")).to_be_hidden()

    page.set_viewport_size({"width": 1280, "height": 900})
    expect(menu).to_be_hidden()
    expect(nav.get_by_role("link", name="Settings")).to_be_visible()
