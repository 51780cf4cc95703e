"""Deleting an account."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import User
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.django_db

DELETE_URL = reverse("accounts:delete")


@pytest.fixture
def user() -> User:
    return make_user()


def test_account_deletion_requires_login(client: Client) -> None:
    response = client.post(DELETE_URL, {"password": PASSWORD})

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_account_deletion_with_a_wrong_password_keeps_the_account(client: Client, user: User) -> None:
    client.force_login(user)

    response = client.post(DELETE_URL, {"password": "not-my-password-1"})

    assert response.status_code == 200
    assert "That is not your current password." in response.content.decode()
    assert User.objects.filter(pk=user.pk).exists()
    assert client.session["_auth_user_id"] == str(user.pk)


def test_account_deletion_with_the_password_removes_the_user_and_logs_out(client: Client, user: User) -> None:
    client.force_login(user)

    response = client.post(DELETE_URL, {"password": PASSWORD}, follow=True)

    assert response.redirect_chain == [(reverse("home"), 302)]
    assert "Your account and all its data were deleted." in response.content.decode()
    assert not User.objects.filter(pk=user.pk).exists()
    assert "_auth_user_id" not in client.session
    assert client.get(reverse("dashboard")).status_code == 302
