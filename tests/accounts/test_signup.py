"""Sign-up: the form's messages, and what a successful sign-up leaves behind."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import User
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.django_db

SIGNUP_URL = reverse("accounts:signup")


def sign_up(client: Client, **overrides: str) -> Any:
    data = {
        "email": "Grace@Example.com",
        "display_name": "Grace",
        "time_zone": "Europe/Paris",
        "password1": PASSWORD,
        "password2": PASSWORD,
        **overrides,
    }
    return client.post(SIGNUP_URL, data)


def test_sign_up_creates_the_account_logs_in_and_redirects_to_the_dashboard(client: Client) -> None:
    response = sign_up(client)

    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard")
    user = User.objects.get()
    assert user.email == "grace@example.com"
    assert user.display_name == "Grace"
    assert user.time_zone == "Europe/Paris"
    assert user.check_password(PASSWORD)
    assert not user.is_staff
    assert client.session["_auth_user_id"] == str(user.pk)

    dashboard = client.get(response["Location"])
    assert "Welcome to S.M.I.L.E, Grace!" in dashboard.content.decode()


def test_sign_up_offers_every_time_zone_and_defaults_to_utc(client: Client) -> None:
    page = client.get(SIGNUP_URL).content.decode()

    assert '<option value="UTC" selected>UTC</option>' in page
    assert '<option value="Asia/Tokyo">Asia/Tokyo</option>' in page
    assert '<option value="America/New_York">America/New York</option>' in page


@pytest.mark.parametrize("spelling", ["ada@example.com", "ADA@EXAMPLE.COM", "Ada@Example.Com"])
def test_sign_up_rejects_a_duplicate_email_in_any_case(client: Client, spelling: str) -> None:
    make_user(email="ada@example.com")

    response = sign_up(client, email=spelling)

    assert response.status_code == 200
    assert "An account with this e-mail address already exists." in response.content.decode()
    assert User.objects.count() == 1


@pytest.mark.parametrize(
    ("password", "message"),
    [
        pytest.param("Xy7!pq", "This password is too short. It must contain at least 10 characters.", id="short"),
        pytest.param("password123", "This password is too common.", id="common"),
        pytest.param("8037194652", "This password is entirely numeric.", id="numeric"),
        pytest.param("grace@example.com", "The password is too similar to the e-mail address.", id="like-email"),
    ],
)
def test_sign_up_rejects_a_weak_password_with_the_validators_message(
    client: Client, password: str, message: str
) -> None:
    response = sign_up(client, password1=password, password2=password)

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not User.objects.exists()
    assert "_auth_user_id" not in client.session


def test_sign_up_rejects_a_mismatched_confirmation(client: Client) -> None:
    response = sign_up(client, password2=PASSWORD + "x")

    assert response.status_code == 200
    assert "The two passwords do not match." in response.content.decode()
    assert not User.objects.exists()


def test_sign_up_rejects_an_unknown_time_zone(client: Client) -> None:
    response = sign_up(client, time_zone="Mars/Olympus_Mons")

    assert response.status_code == 200
    assert "Choose a time zone from the list." in response.content.decode()
    assert not User.objects.exists()


@pytest.mark.parametrize("email", ["not-an-address", "grace@", "@example.com", ""])
def test_sign_up_rejects_an_invalid_email(client: Client, email: str) -> None:
    response = sign_up(client, email=email)

    assert response.status_code == 200
    form = response.context["form"]
    assert form.errors["email"]
    assert not User.objects.exists()


def test_sign_up_marks_invalid_fields_for_assistive_technology(client: Client) -> None:
    page = sign_up(client, email="nope", password2="different-password-1").content.decode()

    assert 'aria-invalid="true"' in page
    assert 'aria-describedby="id_email_error"' in page
    assert 'id="id_email_error"' in page
    assert 'aria-describedby="id_password2_helptext id_password2_error"' in page
    assert 'role="alert"' in page


def test_sign_up_sends_a_signed_in_visitor_to_the_dashboard(client: Client) -> None:
    client.force_login(make_user())

    response = client.get(SIGNUP_URL)

    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard")
