"""The e-mail address is the key to the account (issue 27).

Changing it needs the current password and tells the old address; recovering the account by a
password reset signs out every other session and unpairs every device; a password change
signs out the other sessions and may unpair the devices too.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from accounts.device_auth import authenticate_device
from accounts.models import User
from accounts.signals import device_revoked
from tests.factories import PASSWORD, make_user, pair_device

pytestmark = pytest.mark.django_db

PROFILE_URL = reverse("accounts:profile")
PASSWORD_CHANGE_URL = reverse("accounts:password_change")
NEW_PASSWORD = "quiet-forest-morning-77"


@pytest.fixture
def user() -> User:
    return make_user(time_zone="Europe/Berlin")


@pytest.fixture
def announced() -> Iterator[list[int]]:
    """The device ids whose revocation was announced to the stream (their open sockets close)."""
    ids: list[int] = []

    def listen(*, device_id: int, **_: Any) -> None:
        ids.append(device_id)

    device_revoked.connect(listen, dispatch_uid="tests.announced")
    yield ids
    device_revoked.disconnect(dispatch_uid="tests.announced")


def logged_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def is_signed_in(client: Client) -> bool:
    return client.get(reverse("dashboard")).status_code == 200


def change_email(client: Client, email: str, **extra: str) -> Any:
    return client.post(PROFILE_URL, {"email": email, "display_name": "Ada", "time_zone": "Europe/Berlin", **extra})


# --- Changing the e-mail address ----------------------------------------------------------


def test_an_email_change_without_the_current_password_is_refused(user: User) -> None:
    response = change_email(logged_in(user), "mallory@example.com")

    assert response.status_code == 200
    assert "Enter your current password to change your e-mail address." in response.content.decode()
    user.refresh_from_db()
    assert user.email == "ada@example.com"
    assert mail.outbox == []


def test_an_email_change_with_a_wrong_password_is_refused(user: User) -> None:
    response = change_email(logged_in(user), "mallory@example.com", password="not-the-password-1")

    assert response.status_code == 200
    assert "That is not your current password." in response.content.decode()
    user.refresh_from_db()
    assert user.email == "ada@example.com"
    assert mail.outbox == []


def test_the_password_a_refused_change_typed_is_not_shown_again(user: User) -> None:
    page = change_email(logged_in(user), "mallory@example.com", password="not-the-password-1").content.decode()

    assert "not-the-password-1" not in page


def test_an_email_change_with_the_password_tells_the_old_address(
    user: User, django_capture_on_commit_callbacks: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    moment = datetime(2026, 11, 24, 8, 30, tzinfo=UTC)
    monkeypatch.setattr("accounts.services.timezone.now", lambda: moment)
    client = logged_in(user)

    with django_capture_on_commit_callbacks(execute=True):
        response = change_email(client, "Ada.New@Example.com", password=PASSWORD)

    assert response.status_code == 302
    user.refresh_from_db()
    assert user.email == "ada.new@example.com"
    [notice] = mail.outbox
    assert notice.to == ["ada@example.com"]
    assert notice.subject == "The e-mail address of your S.M.I.L.E account was changed"
    # What changed, when (in the user's time zone), and what to do if it was not them.
    assert "from: ada@example.com" in notice.body
    assert "to:   ada.new@example.com" in notice.body
    assert "24 November 2026, 09:30 (Europe/Berlin)" in notice.body
    assert "If it was not you" in notice.body
    assert "http://testserver/accounts/login/" in notice.body
    assert "Also unpair all my devices" in notice.body
    assert PASSWORD not in notice.body
    page = client.get(PROFILE_URL).content.decode()
    assert "You now log in with ada.new@example.com; a notice went to ada@example.com." in page


def test_a_name_or_time_zone_change_needs_no_password_and_sends_nothing(
    user: User, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = logged_in(user).post(
            PROFILE_URL, {"email": "ADA@example.com", "display_name": "Ada L.", "time_zone": "Asia/Tokyo"}
        )

    assert response.status_code == 302
    user.refresh_from_db()
    assert (user.email, user.display_name, user.time_zone) == ("ada@example.com", "Ada L.", "Asia/Tokyo")
    assert mail.outbox == []


def test_an_email_change_keeps_sessions_and_devices(user: User, django_capture_on_commit_callbacks: Any) -> None:
    elsewhere = logged_in(user)
    _, token = pair_device(user=user)

    with django_capture_on_commit_callbacks(execute=True):
        change_email(logged_in(user), "ada.new@example.com", password=PASSWORD)

    assert is_signed_in(elsewhere)
    assert authenticate_device(token).active is not None


def test_a_reset_link_sent_to_the_old_address_stops_working(client: Client, user: User) -> None:
    client.post(reverse("accounts:password_reset"), {"email": "ada@example.com"})
    link = reset_link(mail.outbox[0].body)
    change_email(logged_in(user), "ada.new@example.com", password=PASSWORD)

    page = client.get(link, follow=True).content.decode()

    assert "Reset link not valid" in page


def test_a_notice_that_cannot_be_sent_leaves_the_change_saved(
    user: User, django_capture_on_commit_callbacks: Any, settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 1  # nothing listens

    with django_capture_on_commit_callbacks(execute=True):
        response = change_email(logged_in(user), "ada.new@example.com", password=PASSWORD)

    assert response.status_code == 302
    user.refresh_from_db()
    assert user.email == "ada.new@example.com"
    assert "could not send the e-mail change notice" in caplog.text
    assert "ada" not in caplog.text


def reset_link(body: object) -> str:
    match = re.search(r"https?://[^/\s]+(/accounts/reset/[^/\s]+/[^/\s]+/)", str(body))
    assert match, body
    return match.group(1)


# --- Recovering the account: password reset -----------------------------------------------


def reset_password(client: Client) -> Any:
    client.post(reverse("accounts:password_reset"), {"email": "ada@example.com"})
    set_url = client.get(reset_link(mail.outbox[-1].body), follow=True).redirect_chain[-1][0]
    return client.post(set_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})


def test_a_refused_reset_leaves_sessions_and_devices(client: Client, user: User) -> None:
    elsewhere = logged_in(user)
    _, token = pair_device(user=user)
    client.post(reverse("accounts:password_reset"), {"email": "ada@example.com"})
    set_url = client.get(reset_link(mail.outbox[-1].body), follow=True).redirect_chain[-1][0]

    response = client.post(set_url, {"new_password1": NEW_PASSWORD, "new_password2": "something-else-88"})

    assert response.status_code == 200
    assert is_signed_in(elsewhere)
    assert authenticate_device(token).active is not None


def test_a_password_reset_signs_out_every_session_and_unpairs_every_device(
    client: Client, user: User, announced: list[int], django_capture_on_commit_callbacks: Any
) -> None:
    elsewhere = logged_in(user)
    first, first_token = pair_device(user=user)
    second, second_token = pair_device(user=user, name="Chrome at work")
    someone_else = make_user(email="bob@example.com")
    theirs, their_token = pair_device(user=someone_else)

    with django_capture_on_commit_callbacks(execute=True):
        done = reset_password(client)

    assert done["Location"] == reverse("accounts:password_reset_complete")
    assert not is_signed_in(elsewhere)
    assert authenticate_device(first_token).refusal == "revoked"
    assert authenticate_device(second_token).refusal == "revoked"
    assert sorted(announced) == sorted([first.pk, second.pk])  # their open sockets close
    assert authenticate_device(their_token).active == theirs


# --- Changing the password ----------------------------------------------------------------


def change_password(client: Client, **extra: str) -> Any:
    return client.post(
        PASSWORD_CHANGE_URL,
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD, **extra},
        follow=True,
    )


def test_a_refused_password_change_unpairs_nothing(user: User) -> None:
    _, token = pair_device(user=user)

    response = logged_in(user).post(
        PASSWORD_CHANGE_URL,
        {
            "old_password": "wrong-password-1",
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
            "unpair_devices": "on",
        },
    )

    assert response.status_code == 200
    assert authenticate_device(token).active is not None


def test_the_password_change_page_offers_to_unpair_every_device(user: User) -> None:
    page = logged_in(user).get(PASSWORD_CHANGE_URL).content.decode()

    assert 'name="unpair_devices"' in page
    assert "Also unpair all my devices" in page
    assert "Every other browser where you are logged in is signed out" in page


def test_a_password_change_signs_out_other_sessions_and_keeps_devices_by_default(
    user: User, announced: list[int], django_capture_on_commit_callbacks: Any
) -> None:
    here, elsewhere = logged_in(user), logged_in(user)
    _, token = pair_device(user=user)

    with django_capture_on_commit_callbacks(execute=True):
        change_password(here)

    assert is_signed_in(here)
    assert not is_signed_in(elsewhere)
    assert authenticate_device(token).active is not None
    assert announced == []


def test_a_password_change_may_unpair_every_device(
    user: User, announced: list[int], django_capture_on_commit_callbacks: Any
) -> None:
    here = logged_in(user)
    device, token = pair_device(user=user)

    with django_capture_on_commit_callbacks(execute=True):
        response = change_password(here, unpair_devices="on")

    assert "1 device was unpaired. Pair each extension again to use it." in response.content.decode()
    assert is_signed_in(here)
    assert authenticate_device(token).refusal == "revoked"
    assert announced == [device.pk]


# --- Guessing the current password from an open browser -----------------------------------


def test_ten_wrong_current_passwords_lock_the_email_change_even_with_the_right_one(user: User) -> None:
    client = logged_in(user)
    for _ in range(10):
        assert change_email(client, "mallory@example.com", password="guess-guess-1").status_code == 200

    refused = change_email(client, "mallory@example.com", password=PASSWORD)

    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    assert "Too many wrong passwords. Try again in" in refused.content.decode()
    user.refresh_from_db()
    assert user.email == "ada@example.com"
    assert mail.outbox == []


def test_wrong_passwords_count_across_the_deletion_and_password_pages(user: User) -> None:
    client = logged_in(user)
    for _ in range(10):
        client.post(reverse("accounts:delete"), {"password": "guess-guess-1"})

    change = client.post(
        PASSWORD_CHANGE_URL, {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    deletion = client.post(reverse("accounts:delete"), {"password": PASSWORD})

    assert change.status_code == deletion.status_code == 429
    user.refresh_from_db()
    assert user.check_password(PASSWORD)
    assert User.objects.filter(pk=user.pk).exists()


def test_right_passwords_and_other_people_do_not_count(user: User) -> None:
    client = logged_in(user)
    for number in range(12):
        assert change_email(client, f"ada{number}@example.com", password=PASSWORD).status_code == 302
    bob = make_user(email="bob@example.com")
    for _ in range(10):
        change_email(logged_in(bob), "mallory@example.com", password="guess-guess-1")

    assert change_email(client, "ada@example.com", password=PASSWORD).status_code == 302
