"""The on-brand error pages: 400, 403, 404, 500 and a failed CSRF check, with the site's look and a way on."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client, RequestFactory
from django.views import defaults

from tests.factories import make_user

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


# Every address that only takes a form (POST), and the page a visit to it is sent back to.
POST_ONLY = [
    ("/data/export/", "/data/", "Your data"),
    ("/data/delete/", "/data/", "Your data"),
    ("/settings/baseline/forget/", "/settings/", "Settings"),
    ("/settings/baseline/corrections/", "/settings/", "Settings"),
    ("/self-report/", "/dashboard/", "your dashboard"),
    ("/history/windows/1/correct/", "/history/", "History"),
    ("/encouragements/1/feedback/", "/encouragements/", "Encouragement log"),
    ("/pair/decide/", "/pair/", "Pair a device"),
]


@pytest.mark.parametrize(("address", "back", "label"), POST_ONLY)
def test_a_visit_to_a_form_only_address_gets_a_page_that_leads_back(
    client: Client, address: str, back: str, label: str
) -> None:
    client.force_login(make_user())
    response = client.get(address)
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    html = response.content.decode()
    assert_branded(html, "This address only takes a form")
    assert f'<a class="button" href="{back}">Go to {label}</a>' in html


def test_the_api_keeps_its_own_json_answer_to_a_wrong_method(client: Client) -> None:
    response = client.get("/api/pair/start")
    assert response.status_code == 405
    assert response["Content-Type"].startswith("application/json")
