"""The account settings page."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import User
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.django_db

PROFILE_URL = reverse("accounts:profile")


@pytest.fixture
def user() -> User:
    return make_user(time_zone="Europe/Berlin")


def test_profile_requires_login(client: Client) -> None:
    response = client.get(PROFILE_URL)

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('accounts:login')}?next={PROFILE_URL}"


def test_profile_shows_the_current_settings(client: Client, user: User) -> None:
    client.force_login(user)

    page = client.get(PROFILE_URL).content.decode()

    assert 'value="ada@example.com"' in page
    assert 'value="Ada"' in page
    assert '<option value="Europe/Berlin" selected>' in page


def test_profile_update_saves_and_confirms(client: Client, user: User) -> None:
    client.force_login(user)

    response = client.post(
        PROFILE_URL,
        {"email": "Ada.L@Example.com", "password": PASSWORD, "display_name": "Ada L.", "time_zone": "Asia/Tokyo"},
        follow=True,
    )

    assert response.redirect_chain == [(PROFILE_URL, 302)]
    assert "Your account settings were saved." in response.content.decode()
    user.refresh_from_db()
    assert (user.email, user.display_name, user.time_zone) == ("ada.l@example.com", "Ada L.", "Asia/Tokyo")


def test_profile_rejects_a_bad_time_zone_and_changes_nothing(client: Client, user: User) -> None:
    client.force_login(user)

    response = client.post(PROFILE_URL, {"email": "ada@example.com", "display_name": "X", "time_zone": "Moon/Base"})

    assert response.status_code == 200
    assert "Choose a time zone from the list." in response.content.decode()
    user.refresh_from_db()
    assert (user.display_name, user.time_zone) == ("Ada", "Europe/Berlin")


def test_profile_rejects_an_email_another_account_uses(client: Client, user: User) -> None:
    make_user(email="taken@example.com")
    client.force_login(user)

    response = client.post(PROFILE_URL, {"email": "TAKEN@example.com", "display_name": "", "time_zone": "UTC"})

    assert response.status_code == 200
    assert "An account with this e-mail address already exists." in response.content.decode()
    user.refresh_from_db()
    assert user.email == "ada@example.com"


def test_profile_accepts_the_users_own_email_in_another_case(client: Client, user: User) -> None:
    client.force_login(user)

    response = client.post(PROFILE_URL, {"email": "ADA@example.com", "display_name": "Ada", "time_zone": "UTC"})

    assert response.status_code == 302
