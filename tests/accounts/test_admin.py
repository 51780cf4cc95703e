"""The admin site: closed to everyone but staff, and usable with the e-mail based user."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import User
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.django_db

USERS_URL = reverse("admin:accounts_user_changelist")


@pytest.fixture
def admin_client_(client: Client) -> Client:
    admin = User.objects.create_superuser(email="root@example.com", password=PASSWORD)
    client.force_login(admin)
    return client


def test_admin_sends_an_anonymous_visitor_to_the_admin_login(client: Client) -> None:
    response = client.get("/admin/")

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_admin_is_closed_to_a_normal_user(client: Client) -> None:
    client.force_login(make_user())

    index = client.get("/admin/")
    users = client.get(USERS_URL)

    assert index.status_code == 302
    assert index["Location"].startswith(reverse("admin:login"))
    assert users.status_code == 302


def test_admin_lists_and_searches_users_for_a_superuser(admin_client_: Client) -> None:
    make_user(email="ada@example.com")
    make_user(email="grace@example.com", display_name="Grace")

    listing = admin_client_.get(USERS_URL).content.decode()
    search = admin_client_.get(USERS_URL, {"q": "grace"}).content.decode()

    assert "ada@example.com" in listing
    assert "grace@example.com" in listing
    assert "grace@example.com" in search
    assert "ada@example.com" not in search


def test_admin_adds_a_user_with_a_lower_case_email(admin_client_: Client) -> None:
    response = admin_client_.post(
        reverse("admin:accounts_user_add"),
        {
            "email": "New.Person@Example.com",
            "display_name": "New",
            "time_zone": "Europe/Lisbon",
            "usable_password": "true",
            "password1": PASSWORD,
            "password2": PASSWORD,
        },
    )

    assert response.status_code == 302
    user = User.objects.get(email="new.person@example.com")
    assert user.time_zone == "Europe/Lisbon"
    assert user.check_password(PASSWORD)


def test_admin_change_page_shows_the_users_fields(admin_client_: Client) -> None:
    user = make_user()

    page = admin_client_.get(reverse("admin:accounts_user_change", args=[user.pk])).content.decode()

    assert 'value="ada@example.com"' in page
    assert "Time zone" in page


def test_admin_password_change_page_renders_with_the_site_template(admin_client_: Client) -> None:
    # The site's registration/password_change_form.html overrides the admin's; it must still work there.
    response = admin_client_.get(reverse("admin:password_change"))

    assert response.status_code == 200
    assert "Change your password" in response.content.decode()
