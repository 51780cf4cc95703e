"""The public landing page and the signed-in dashboard."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import make_user

pytestmark = pytest.mark.django_db


def test_landing_page_explains_the_product_and_its_privacy_promises(client: Client) -> None:
    page = client.get(reverse("home")).content.decode()

    assert "Chrome extension" in page
    assert "only while you allow it" in page
    assert "mood per minute" in page
    assert "opt-in" in page
    for promise in ("No video frames", "No images", "No face crops", "tokens are stored hashed"):
        assert promise in page
    assert "export and delete your data" in page


def test_landing_page_offers_sign_up_and_log_in_to_visitors(client: Client) -> None:
    page = client.get(reverse("home")).content.decode()

    assert f'href="{reverse("accounts:signup")}"' in page
    assert f'href="{reverse("accounts:login")}"' in page
    assert "Log out" not in page


def test_every_page_has_a_skip_link_and_the_stylesheet(client: Client) -> None:
    page = client.get(reverse("home")).content.decode()

    assert '<a class="skip-link" href="#main">' in page
    assert '<main id="main"' in page
    assert "/static/css/site.css" in page


def test_dashboard_requires_login(client: Client) -> None:
    response = client.get(reverse("dashboard"))

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('accounts:login')}?next={reverse('dashboard')}"


def test_dashboard_shows_the_empty_state_and_first_run_guide(client: Client) -> None:
    client.force_login(make_user(display_name="Ada"))

    page = client.get(reverse("dashboard")).content.decode()

    assert "Hello, Ada" in page
    assert "No mood data yet" in page
    for step in ("Install the extension", "Pair it with your account", "Start a session"):
        assert step in page
    assert "Log out" in page
