"""Pairing in a real Chromium: a device asks (the API), the person approves on /pair/, then revokes it.

Set ``SMILE_SCREENSHOT_DIR`` to keep screenshots of both pairing steps and the devices page.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from accounts.device_auth import authenticate_device
from tests.browser.test_account_flows import screenshot
from tests.factories import PASSWORD, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def call_api(live_server: LiveServer, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(  # noqa: S310 - the URL is the test's own live server
        f"{live_server.url}{path}",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - as above
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_a_person_pairs_a_device_by_its_code_and_then_revokes_it(live_server: LiveServer, page: Page) -> None:
    make_user(email="mira@example.com")
    status, started = call_api(live_server, "/api/pair/start", {"device_name": "Chrome on Mira's laptop"})
    assert status == 200
    assert call_api(live_server, "/api/pair/token", {"device_code": started["device_code"]}) == (
        400,
        {"error": "authorization_pending", "error_description": "Waiting for the user to approve the request."},
    )

    # The link the extension shows leads through the login page to the prefilled code.
    page.goto(started["verification_uri_complete"])
    page.get_by_label("E-mail address").fill("mira@example.com")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_label("Pairing code")).to_have_value(started["user_code"])
    screenshot(page, "pair-code")

    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Approve this device?")
    expect(page.get_by_text(started["user_code"], exact=True)).to_be_visible()
    expect(page.get_by_text("Chrome on Mira's laptop")).to_be_visible()
    screenshot(page, "pair-confirm")

    page.get_by_role("button", name="Approve").click()
    expect(page).to_have_url(f"{live_server.url}/devices/")
    expect(page.get_by_role("status")).to_contain_text("You approved “Chrome on Mira's laptop”.")

    status, token = call_api(live_server, "/api/pair/token", {"device_code": started["device_code"]})
    assert status == 200
    device = authenticate_device(token["access_token"]).active
    assert device is not None

    page.reload()
    row = page.get_by_role("row", name=re.compile("Chrome on Mira's laptop"))
    expect(row).to_contain_text("Active")
    screenshot(page, "devices")

    row.get_by_role("link", name="Revoke Chrome on Mira's laptop").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Revoke “Chrome on Mira's laptop”?")
    page.get_by_role("button", name="Revoke device").click()
    expect(page.get_by_role("status")).to_contain_text("“Chrome on Mira's laptop” was revoked.")
    expect(page.get_by_role("row", name=re.compile("Chrome on Mira's laptop"))).to_contain_text("Revoked")
    assert authenticate_device(token["access_token"]).active is None
