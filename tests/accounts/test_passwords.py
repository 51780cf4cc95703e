"""Changing a password, and resetting a forgotten one by e-mail."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from accounts.models import User
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "quiet-forest-morning-77"


@pytest.fixture
def user() -> User:
    return make_user()


def reset_link(body: object) -> str:
    match = re.search(r"https?://[^/\s]+(/accounts/reset/[^/\s]+/[^/\s]+/)", str(body))
    assert match, body
    return match.group(1)


def test_password_change_requires_login(client: Client) -> None:
    response = client.get(reverse("accounts:password_change"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_password_change_rejects_a_wrong_old_password(client: Client, user: User) -> None:
    client.force_login(user)

    response = client.post(
        reverse("accounts:password_change"),
        {"old_password": "not-the-old-one-1", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )

    assert response.status_code == 200
    assert "Your old password was entered incorrectly." in response.content.decode()
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_password_change_sets_the_new_password_and_keeps_the_session(client: Client, user: User) -> None:
    client.force_login(user)

    response = client.post(
        reverse("accounts:password_change"),
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
        follow=True,
    )

    assert response.redirect_chain == [(reverse("accounts:password_change_done"), 302)]
    assert "Password changed" in response.content.decode()
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert client.get(reverse("dashboard")).status_code == 200


def test_password_reset_emails_a_link_that_sets_a_new_password(client: Client, user: User) -> None:
    response = client.post(reverse("accounts:password_reset"), {"email": "ADA@example.com"})

    assert response["Location"] == reverse("accounts:password_reset_done")
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["ada@example.com"]
    assert message.subject == "Reset your S.M.I.L.E password"

    # The link redirects once to a session-bound URL that hides the token, as Django does.
    form_page = client.get(reset_link(message.body), follow=True)
    assert "Choose a new password" in form_page.content.decode()
    set_url = form_page.redirect_chain[-1][0]
    done = client.post(set_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})

    assert done["Location"] == reverse("accounts:password_reset_complete")
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    login = client.post(reverse("accounts:login"), {"username": "ada@example.com", "password": NEW_PASSWORD})
    assert login["Location"] == reverse("dashboard")


def test_password_reset_link_works_only_once(client: Client, user: User) -> None:
    client.post(reverse("accounts:password_reset"), {"email": "ada@example.com"})
    link = reset_link(mail.outbox[0].body)
    set_url = client.get(link, follow=True).redirect_chain[-1][0]
    client.post(set_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})

    again = client.get(link, follow=True)

    assert "Reset link not valid" in again.content.decode()


def test_password_reset_for_an_unknown_email_shows_the_same_page_and_sends_nothing(client: Client) -> None:
    response = client.post(reverse("accounts:password_reset"), {"email": "nobody@example.com"}, follow=True)

    assert response.redirect_chain == [(reverse("accounts:password_reset_done"), 302)]
    assert "Check your e-mail" in response.content.decode()
    assert mail.outbox == []
