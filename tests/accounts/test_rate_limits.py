"""Rate limits on logging in, password reset requests and sign-ups."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from accounts.models import User
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.django_db

LOGIN_URL = reverse("accounts:login")
RESET_URL = reverse("accounts:password_reset")
SIGNUP_URL = reverse("accounts:signup")
WRONG = "not-my-password-1"


@pytest.fixture
def user() -> User:
    return make_user()


def log_in(client: Client, email: str = "ada@example.com", password: str = WRONG, **extra: Any) -> Any:
    return client.post(LOGIN_URL, {"username": email, "password": password}, **extra)


def fail_logins(client: Client, times: int, email: str = "ada@example.com") -> None:
    for _ in range(times):
        assert log_in(client, email).status_code == 200


# --- Login --------------------------------------------------------------------------------


def test_ten_failed_logins_for_an_address_lock_it_from_that_network(client: Client, user: User) -> None:
    fail_logins(client, 10)

    refused = log_in(client, password=PASSWORD)

    assert refused.status_code == 429
    assert refused["Retry-After"] == "900"
    page = refused.content.decode()
    assert "Too many attempts. Try again in 15 minutes." in page
    assert 'role="alert"' in page
    assert "_auth_user_id" not in client.session


def test_a_refused_login_does_not_even_check_the_password(
    client: Client, user: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    fail_logins(client, 10)

    def must_not_authenticate(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the password was checked")

    monkeypatch.setattr("django.contrib.auth.forms.authenticate", must_not_authenticate)

    assert log_in(client, password=PASSWORD).status_code == 429


def test_the_lock_is_per_address_and_per_network(client: Client, user: User) -> None:
    make_user(email="grace@example.com")
    fail_logins(client, 10)

    other_address = log_in(client, "grace@example.com", PASSWORD)
    other_network = log_in(Client(), "ada@example.com", PASSWORD, REMOTE_ADDR="198.51.100.4")

    assert other_address.status_code == 302
    assert other_network.status_code == 302


def test_the_address_is_counted_whatever_its_case(client: Client, user: User) -> None:
    fail_logins(client, 5, "ada@example.com")
    fail_logins(client, 5, " ADA@Example.com")

    assert log_in(client, password=PASSWORD).status_code == 429


def test_a_successful_login_clears_the_addresses_failures(client: Client, user: User) -> None:
    fail_logins(client, 9)
    assert log_in(client, password=PASSWORD).status_code == 302
    client.logout()

    fail_logins(client, 9)

    assert log_in(client, password=PASSWORD).status_code == 302


def test_fifty_failed_logins_from_a_network_lock_every_address_from_it(client: Client, user: User) -> None:
    for number in range(50):
        log_in(client, f"guess{number}@example.com")

    refused = log_in(client, password=PASSWORD)
    elsewhere = log_in(Client(), password=PASSWORD, REMOTE_ADDR="198.51.100.4")

    assert refused.status_code == 429
    assert "Too many attempts. Try again in 15 minutes." in refused.content.decode()
    assert elsewhere.status_code == 302


def test_an_incomplete_login_form_is_not_counted(client: Client, user: User) -> None:
    for _ in range(12):
        client.post(LOGIN_URL, {"username": "ada@example.com", "password": ""})

    assert log_in(client, password=PASSWORD).status_code == 302


# --- Password reset -----------------------------------------------------------------------


def request_reset(client: Client, email: str, **extra: Any) -> Any:
    return client.post(RESET_URL, {"email": email}, **extra)


def test_five_reset_requests_per_network_an_hour(client: Client, user: User) -> None:
    for number in range(5):
        assert request_reset(client, f"someone{number}@example.com").status_code == 302

    refused = request_reset(client, "ada@example.com")

    assert refused.status_code == 429
    assert refused["Retry-After"] == "3600"
    assert "Too many password reset requests. Try again in 60 minutes." in refused.content.decode()
    assert mail.outbox == []


def test_three_reset_requests_per_address_an_hour_from_any_network(user: User) -> None:
    for number in range(3):
        assert request_reset(Client(), "ada@example.com", REMOTE_ADDR=f"198.51.100.{number + 1}").status_code == 302

    refused = request_reset(Client(), "ADA@example.com", REMOTE_ADDR="203.0.113.50")

    assert refused.status_code == 429
    assert "Too many password reset requests." in refused.content.decode()
    assert len(mail.outbox) == 3


def test_a_refused_reset_reads_the_same_whether_or_not_the_address_has_an_account(user: User) -> None:
    pages = {}
    for email in ("ada@example.com", "nobody@example.com"):
        for number in range(3):
            request_reset(Client(), email, REMOTE_ADDR=f"198.51.100.{number + 1}")
        refused = request_reset(Client(), email, REMOTE_ADDR="203.0.113.50")
        assert refused.status_code == 429
        pages[email] = refused.content.decode().replace(email, "EMAIL")
        pages[email] = pages[email].split("csrfmiddlewaretoken")[0]

    assert pages["ada@example.com"] == pages["nobody@example.com"]


def test_an_invalid_reset_address_is_not_counted(client: Client) -> None:
    for _ in range(6):
        assert request_reset(client, "not-an-address").status_code == 200

    assert request_reset(client, "ada@example.com").status_code == 302


# --- Sign-up ------------------------------------------------------------------------------


def sign_up(client: Client, email: str, **extra: Any) -> Any:
    data = {"email": email, "display_name": "", "time_zone": "UTC", "password1": PASSWORD, "password2": PASSWORD}
    return client.post(SIGNUP_URL, data, **extra)


def test_ten_sign_ups_per_network_an_hour(client: Client) -> None:
    for number in range(10):
        assert sign_up(Client(), f"person{number}@example.com").status_code == 302

    refused = sign_up(client, "eleventh@example.com")
    elsewhere = sign_up(Client(), "elsewhere@example.com", REMOTE_ADDR="198.51.100.4")

    assert refused.status_code == 429
    assert refused["Retry-After"] == "3600"
    page = refused.content.decode()
    assert "Too many sign-ups from your network. Try again in 60 minutes." in page
    assert 'value="eleventh@example.com"' in page
    assert not User.objects.filter(email="eleventh@example.com").exists()
    assert elsewhere.status_code == 302


def test_probing_taken_addresses_counts_like_signing_up(client: Client, user: User) -> None:
    for _ in range(10):
        assert "already exists" in sign_up(client, "ada@example.com").content.decode()

    refused = sign_up(client, "ada@example.com")

    assert refused.status_code == 429
    assert "already exists" not in refused.content.decode()


def test_sign_up_mistakes_are_not_counted(client: Client) -> None:
    for _ in range(12):
        client.post(SIGNUP_URL, {"email": "new@example.com", "time_zone": "UTC", "password1": "x", "password2": "y"})

    assert sign_up(client, "new@example.com").status_code == 302
