"""The on-brand error pages: 400, 403, 404, 500 and a failed CSRF check, with the site's look and a way on."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client, RequestFactory
from django.views import defaults

pytestmark = pytest.mark.django_db


def assert_branded(html: str, heading: str) -> None:
    assert heading in html
    assert "/static/css/theme.css" in html, "the page uses the site's look"
    assert 'href="/"' in html, "the logo leads back to the start page"
    assert "Traceback" not in html


def test_an_unknown_address_gets_the_sites_404_page(client: Client) -> None:
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert_branded(response.content.decode(), "We could not find that page")


def test_a_server_error_gets_the_500_page_without_needing_a_request_context() -> None:
    # Django renders 500.html with no context processors: the page must not depend on them.
    response = defaults.server_error(RequestFactory().get("/"))
    assert response.status_code == 500
    assert_branded(response.content.decode(), "Something went wrong on our side")


def test_a_bad_request_gets_the_400_page() -> None:
    response = defaults.bad_request(RequestFactory().get("/"), exception=ValueError("unreadable"))
    assert response.status_code == 400
    assert_branded(response.content.decode(), "Your browser sent something we could not read")


def test_a_forbidden_page_gets_the_403_page() -> None:
    response = defaults.permission_denied(RequestFactory().get("/"), exception=PermissionDenied())
    assert response.status_code == 403
    assert_branded(response.content.decode(), "This page is not yours to open")


def test_a_form_sent_without_its_csrf_token_says_it_expired() -> None:
    client = Client(enforce_csrf_checks=True)
    response = client.post("/accounts/login/", {"username": "someone@example.com", "password": "whatever-1"})
    assert response.status_code == 403
    html = response.content.decode()
    assert_branded(html, "This form has expired")
    assert "Nothing was saved." in html
