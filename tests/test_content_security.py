"""Django sends the site's Content-Security-Policy on its own pages, in every mode (issue 27).

Only the nginx template sent one before, so a deployment behind another proxy (or the embedded
mode) served pages without it. The policy is defined once (``smile_site/content_security.py``);
nginx's copy is compared word for word in ``tests/deploy/test_csp.py``.
"""

from __future__ import annotations

import pytest
from django.test import Client

from smile_site import content_security
from tests.factories import make_user
from tests.test_private_pages import SITE_PATHS

pytestmark = pytest.mark.django_db

POLICY = content_security.parse(content_security.header_value())


def policy_of(response: object) -> dict[str, list[str]]:
    return content_security.parse(response["Content-Security-Policy"])  # type: ignore[index]


@pytest.mark.parametrize("path", SITE_PATHS)
def test_every_page_carries_the_policy_signed_out_and_in(client: Client, path: str) -> None:
    assert policy_of(client.get(path)) == POLICY, path
    client.force_login(make_user())
    assert policy_of(client.get(path)) == POLICY, path


@pytest.mark.parametrize("debug", [True, False])
def test_the_policy_is_sent_in_every_mode(client: Client, settings: object, debug: bool) -> None:
    settings.DEBUG = debug  # type: ignore[attr-defined]

    assert policy_of(client.get("/accounts/login/")) == POLICY


def test_error_pages_and_refusals_carry_it_in_production(client: Client) -> None:
    # pytest-django runs with DEBUG off, as production does: the site's own 404 page.
    assert policy_of(client.get("/no-such-page/")) == POLICY
    assert policy_of(client.post("/api/pair/start", "{}", content_type="application/json")) == POLICY


def test_the_policy_lets_pages_load_only_the_sites_own_files() -> None:
    assert POLICY["script-src"] == ["'self'"]
    assert POLICY["style-src"] == ["'self'"]
    assert POLICY["connect-src"] == ["'self'"]
    assert POLICY["frame-ancestors"] == ["'none'"]
