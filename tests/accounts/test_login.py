"""Logging in and out."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import User
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.django_db

LOGIN_URL = reverse("accounts:login")
LOGOUT_URL = reverse("accounts:logout")


@pytest.fixture
def user() -> User:
    return make_user()


def test_login_with_the_right_password_goes_to_the_dashboard(client: Client, user: User) -> None:
    response = client.post(LOGIN_URL, {"username": "ada@example.com", "password": PASSWORD})

    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard")
    assert client.session["_auth_user_id"] == str(user.pk)


def test_login_ignores_the_case_of_the_email(client: Client, user: User) -> None:
    response = client.post(LOGIN_URL, {"username": "ADA@Example.com", "password": PASSWORD})

    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)


def test_login_follows_a_safe_next_parameter(client: Client, user: User) -> None:
    response = client.post(
        LOGIN_URL, {"username": "ada@example.com", "password": PASSWORD, "next": reverse("accounts:profile")}
    )

    assert response["Location"] == reverse("accounts:profile")


def test_login_with_a_wrong_password_explains_and_stays_logged_out(client: Client, user: User) -> None:
    response = client.post(LOGIN_URL, {"username": "ada@example.com", "password": "not-my-password-1"})

    assert response.status_code == 200
    assert "That e-mail address and password do not match an account." in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_logout_refuses_get_and_keeps_the_session(client: Client, user: User) -> None:
    client.force_login(user)

    response = client.get(LOGOUT_URL)

    assert response.status_code == 405
    assert client.session["_auth_user_id"] == str(user.pk)


def test_logout_by_post_ends_the_session_and_goes_home(client: Client, user: User) -> None:
    client.force_login(user)

    response = client.post(LOGOUT_URL)

    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    assert "_auth_user_id" not in client.session
    assert client.get(reverse("dashboard")).status_code == 302


def test_the_header_logs_out_with_a_post_form(client: Client, user: User) -> None:
    client.force_login(user)

    page = client.get(reverse("dashboard")).content.decode()

    assert f'<form method="post" action="{LOGOUT_URL}"' in page
    assert "csrfmiddlewaretoken" in page
