"""Every page works under the Content-Security-Policy Django now sends itself (issue 27).

Chromium enforces the policy from the live server's own responses (no nginx in front): a blocked
script, style, image or socket fires ``securitypolicyviolation``, which an init script records
on every document. Pages with data (the demo account's 90 days) and the live page, whose script
opens the stream socket, are among them.
"""

from __future__ import annotations

import re

import pytest
from django.core.management import call_command
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from smile_site import content_security
from tests.browser.test_every_page import DEMO_EMAIL, DEMO_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(event.violatedDirective + " blocked " + (event.blockedURI || "inline"));
});
"""

PAGES = (
    "/",
    "/accounts/login/",
    "/accounts/signup/",
    "/accounts/password/reset/",
    "/dashboard/",
    "/history/?range=day",
    "/history/?range=week",
    "/history/?range=year",
    "/live/",
    "/settings/",
    "/encouragements/",
    "/data/",
    "/devices/",
    "/pair/",
    "/accounts/profile/",
    "/accounts/password/change/",
    "/accounts/delete/",
    "/no-such-page/",
)


def test_every_page_loads_without_a_policy_violation(live_server: LiveServer, page: Page) -> None:
    call_command("seed_demo")
    page.context.add_init_script(RECORD_VIOLATIONS)
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("E-mail address").fill(DEMO_EMAIL)
    page.get_by_label("Password", exact=True).fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/dashboard/$"))

    found: list[str] = []
    for path in PAGES:
        response = page.goto(f"{live_server.url}{path}")
        assert response is not None
        policy = response.header_value("content-security-policy") or ""
        assert content_security.parse(policy) == content_security.DIRECTIVES, path
        page.wait_for_load_state("networkidle")
        found.extend(f"{path}: {line}" for line in page.evaluate("() => window.__cspViolations"))

    assert found == []


def test_the_policy_does_block_what_it_forbids(live_server: LiveServer, page: Page) -> None:
    # The check above could pass with a policy the browser ignores: an inline script must be blocked.
    page.context.add_init_script(RECORD_VIOLATIONS)
    page.goto(f"{live_server.url}/accounts/login/")

    page.evaluate(
        """() => {
          const script = document.createElement("script");
          script.textContent = "window.__ranInline = true;";
          document.body.append(script);
        }"""
    )

    assert page.evaluate("() => window.__ranInline === true") is False
    assert any("script-src" in line for line in page.evaluate("() => window.__cspViolations"))
