"""Paired devices: the /devices/ page, revocation, device tokens, and what account deletion removes."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import reverse

from accounts import pairing, services
from accounts.device_auth import authenticate_device
from accounts.models import Device, PairingRequest, User
from accounts.pairing import revoke_device, start_pairing
from accounts.signals import device_revoked
from tests.accounts.conftest import Clock
from tests.factories import PASSWORD, make_user, pair_device

pytestmark = pytest.mark.django_db

DEVICES_URL = reverse("devices")


def revoke_url(device: Device) -> str:
    return reverse("device_revoke", args=[device.pk])


# --- Tokens -------------------------------------------------------------------------------


def test_a_device_token_authenticates_its_device_with_its_user(user: User, clock: Clock) -> None:
    device, token = pair_device(user=user)

    found = authenticate_device(token).active

    assert found == device
    assert found is not None
    assert found.user == user
    assert found.last_seen_at == clock.now


def test_last_seen_is_written_at_most_once_a_minute(user: User, clock: Clock) -> None:
    device, token = pair_device(user=user)
    first_seen = clock.now
    authenticate_device(token)

    clock.advance(seconds=59)
    authenticate_device(token)
    device.refresh_from_db()
    assert device.last_seen_at == first_seen

    clock.advance(seconds=1)
    authenticate_device(token)
    device.refresh_from_db()
    assert device.last_seen_at == clock.now


@pytest.mark.parametrize("token", ["", "nope", "x" * 43, "x" * 10_000])
def test_unknown_tokens_do_not_authenticate(user: User, token: str) -> None:
    pair_device(user=user)

    assert authenticate_device(token).active is None


def test_a_token_of_a_disabled_account_does_not_authenticate(user: User) -> None:
    _, token = pair_device(user=user)
    User.objects.filter(pk=user.pk).update(is_active=False)

    assert authenticate_device(token).active is None


# --- Revocation ---------------------------------------------------------------------------


def test_a_revoked_device_no_longer_authenticates_but_is_still_known(user: User, clock: Clock) -> None:
    device, token = pair_device(user=user)

    revoke_device(user=user, device=device)

    assert device.revoked_at == clock.now
    assert authenticate_device(token).active is None
    # The stream tells "revoked" (4403) from "unknown" (4401) by finding the device anyway.
    revoked = authenticate_device(token, note_seen=False).device
    assert revoked == device
    assert revoked is not None
    assert not revoked.is_active


def test_revoking_another_users_device_is_refused(user: User) -> None:
    device, token = pair_device(user=user)

    with pytest.raises(PermissionDenied):
        revoke_device(user=make_user(email="mallory@example.com"), device=device)

    assert authenticate_device(token).active == device


def test_revoking_twice_announces_once(user: User, django_capture_on_commit_callbacks: Any) -> None:
    device, _ = pair_device(user=user)

    announced: list[tuple[int, int]] = []

    def listener(*, user_id: int, device_id: int, **_: Any) -> None:
        announced.append((user_id, device_id))

    device_revoked.connect(listener)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            revoke_device(user=user, device=device)
            first = device.revoked_at
            revoke_device(user=user, device=device)
    finally:
        device_revoked.disconnect(listener)

    assert announced == [(user.pk, device.pk)]
    assert device.revoked_at == first


# --- The devices page ---------------------------------------------------------------------


def test_the_devices_page_requires_login(client: Client) -> None:
    response = client.get(DEVICES_URL)

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('accounts:login')}?next={DEVICES_URL}"


def test_the_devices_page_explains_how_to_pair_when_empty(browser: Client) -> None:
    page = browser.get(DEVICES_URL).content.decode()

    assert "No devices yet" in page
    assert f'href="{reverse("pair")}"' in page


def test_the_devices_page_lists_only_the_users_devices_with_their_state(
    browser: Client, user: User, clock: Clock
) -> None:
    laptop, laptop_token = pair_device(user=user, name="Chrome on laptop")
    clock.advance(minutes=1)
    old, _ = pair_device(user=user, name="Old desktop")
    revoke_device(user=user, device=old)
    authenticate_device(laptop_token)
    clock.advance(minutes=5)
    pair_device(user=make_user(email="grace@example.com"), name="Grace's phone")

    page = browser.get(DEVICES_URL).content.decode()

    assert "Chrome on laptop" in page
    assert "Old desktop" in page
    assert "Grace&#x27;s phone" not in page
    assert page.index("Chrome on laptop") < page.index("Old desktop")  # active first
    assert '<span class="badge badge-active">Active</span>' in page
    assert '<span class="badge badge-revoked">Revoked</span>' in page
    assert "5\xa0minutes ago" in page
    assert "Never" in page
    assert page.count(">Revoke…</a>") == 1
    assert 'aria-label="Revoke Chrome on laptop">Revoke…</a>' in page
    assert f'href="{revoke_url(laptop)}"' in page
    assert f'href="{revoke_url(old)}"' not in page


def test_the_revoke_page_asks_for_confirmation(browser: Client, user: User) -> None:
    device, token = pair_device(user=user, name="Chrome on laptop")

    page = browser.get(revoke_url(device)).content.decode()

    assert "Revoke “Chrome on laptop”?" in page
    assert "disconnects it at once" in page
    assert '<form method="post">' in page
    assert authenticate_device(token).active == device


def test_revoking_from_the_page_disconnects_the_device(browser: Client, user: User) -> None:
    device, token = pair_device(user=user, name="Chrome on laptop")

    response = browser.post(revoke_url(device), follow=True)

    assert response.redirect_chain == [(DEVICES_URL, 302)]
    assert "“Chrome on laptop” was revoked." in response.content.decode()
    assert authenticate_device(token).active is None
    device.refresh_from_db()
    assert device.revoked_at is not None


def test_revoking_an_already_revoked_device_says_so(browser: Client, user: User) -> None:
    device, _ = pair_device(user=user, name="Chrome on laptop")
    revoke_device(user=user, device=device)

    response = browser.post(revoke_url(device), follow=True)

    assert "“Chrome on laptop” was already revoked." in response.content.decode()


def test_another_users_device_cannot_be_revoked_or_seen(browser: Client) -> None:
    device, token = pair_device(user=make_user(email="grace@example.com"))

    assert browser.get(revoke_url(device)).status_code == 404
    assert browser.post(revoke_url(device)).status_code == 404
    assert authenticate_device(token).active == device


def test_revoking_needs_the_csrf_token(user: User) -> None:
    device, token = pair_device(user=user)
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)

    assert client.post(revoke_url(device)).status_code == 403
    assert authenticate_device(token).active == device


def test_staff_see_devices_read_only_in_the_admin(client: Client, user: User) -> None:
    pair_device(user=user, name="Chrome on laptop")
    client.force_login(User.objects.create_superuser(email="root@example.com", password=PASSWORD))

    listing = client.get(reverse("admin:accounts_device_changelist")).content.decode()

    assert "Chrome on laptop" in listing
    assert client.get(reverse("admin:accounts_device_add")).status_code == 403


# --- Deleting the account -----------------------------------------------------------------


def test_deleting_the_account_deletes_its_devices_and_pairing_requests(user: User) -> None:
    pair_device(user=user)
    denied, _ = start_pairing(device_name="Denied", ip=None)
    pairing.deny_pairing(request=denied, user=user)
    other_device, _ = pair_device(user=make_user(email="grace@example.com"))

    services.delete_account(user=user)

    assert list(Device.objects.all()) == [other_device]
    assert list(PairingRequest.objects.values_list("device_id", flat=True)) == [other_device.pk]
