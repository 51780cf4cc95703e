"""Where a device reads the face: switched by the extension (``/api/device/mode``) or on the Devices page."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from accounts import services
from accounts.models import Device, User
from accounts.pairing import revoke_device
from accounts.signals import device_mode_changed
from tests.factories import make_user, pair_device

pytestmark = pytest.mark.django_db

API = "/api/device/mode"


def api(token: str | None, body: object = None, *, method: str = "post", **headers: Any):
    client = Client(enforce_csrf_checks=True)  # the extension has no cookie and no CSRF token
    if token is not None:
        headers.setdefault("Authorization", f"Bearer {token}")
    if body is None:
        return getattr(client, method)(API, headers=headers)
    data = body if isinstance(body, str) else json.dumps(body)
    return getattr(client, method)(API, data=data, content_type="application/json", headers=headers)


def mode_url(device: Device) -> str:
    return reverse("device_mode", args=[device.pk])


# --- The service --------------------------------------------------------------------------


def test_a_new_device_reads_on_the_server() -> None:
    device, _ = pair_device(user=make_user())
    assert device.mode == "server"


def test_switching_announces_once_after_the_commit(django_capture_on_commit_callbacks: Any) -> None:
    device, _ = pair_device(user=make_user())
    heard: list[dict[str, Any]] = []

    def listener(**kwargs: Any) -> None:
        heard.append({"device_id": kwargs["device_id"], "mode": kwargs["mode"]})

    device_mode_changed.connect(listener)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            services.set_device_mode(device=device, mode="private")
            services.set_device_mode(device=device, mode="private")  # no change: nothing to announce
    finally:
        device_mode_changed.disconnect(listener)
    assert heard == [{"device_id": device.pk, "mode": "private"}]
    assert Device.objects.get(pk=device.pk).mode == "private"


def test_an_unknown_mode_is_refused() -> None:
    device, _ = pair_device(user=make_user())
    with pytest.raises(ValueError, match="mode must be one of"):
        services.set_device_mode(device=device, mode="cloud")
    assert Device.objects.get(pk=device.pk).mode == "server"


# --- The extension's API ------------------------------------------------------------------


def test_the_extension_reads_its_mode() -> None:
    device, token = pair_device(user=make_user())
    response = api(token, method="get")
    assert (response.status_code, response.json()) == (200, {"device_id": device.pk, "mode": "server"})
    assert response["Cache-Control"].startswith("max-age=0")


def test_the_extension_switches_to_private_and_back_without_re_pairing() -> None:
    device, token = pair_device(user=make_user())
    assert api(token, {"mode": "private"}).json() == {"device_id": device.pk, "mode": "private"}
    assert Device.objects.get(pk=device.pk).mode == "private"
    assert api(token, method="get").json()["mode"] == "private"
    assert api(token, {"mode": "server"}).json() == {"device_id": device.pk, "mode": "server"}
    assert Device.objects.get(pk=device.pk).mode == "server"


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        ({"mode": "cloud"}, 400, "invalid_request"),
        ({"mode": 1}, 400, "invalid_request"),
        ({}, 400, "invalid_request"),
        ("[]", 400, "invalid_request"),
        ("{not json", 400, "invalid_request"),
        ({"mode": "private", "pad": "x" * 5000}, 413, "request_too_large"),
    ],
)
def test_a_bad_mode_request_is_refused_and_changes_nothing(body: object, status: int, error: str) -> None:
    device, token = pair_device(user=make_user())
    response = api(token, body)
    assert (response.status_code, response.json()["error"]) == (status, error)
    assert response.json()["error_description"]
    assert Device.objects.get(pk=device.pk).mode == "server"


def test_a_mode_request_that_is_not_json_is_415() -> None:
    device, token = pair_device(user=make_user())
    client = Client()
    response = client.post(
        API, data="mode=private", content_type="text/plain", headers={"Authorization": f"Bearer {token}"}
    )
    assert (response.status_code, response.json()["error"]) == (415, "unsupported_media_type")
    assert Device.objects.get(pk=device.pk).mode == "server"


def test_an_unknown_or_revoked_token_cannot_switch() -> None:
    user = make_user()
    device, token = pair_device(user=user)
    assert api("not-a-token-we-issued", {"mode": "private"}).status_code == 401
    revoke_device(user=user, device=device)
    response = api(token, {"mode": "private"})
    assert (response.status_code, response.json()["error"]) == (403, "device_revoked")
    assert Device.objects.get(pk=device.pk).mode == "server"


def test_another_method_is_405() -> None:
    _, token = pair_device(user=make_user())
    response = api(token, method="delete")
    assert response.status_code == 405
    assert response["Allow"] == "GET, POST"


# --- The Devices page ---------------------------------------------------------------------


@pytest.fixture
def browser(client: Client, user: User, settings) -> Client:
    settings.SMILE_PRIVATE_MODE_OFFERED = True
    client.force_login(user)
    return client


def test_until_private_mode_is_offered_the_page_only_leads_back_to_the_server(
    browser: Client, user: User, settings
) -> None:
    settings.SMILE_PRIVATE_MODE_OFFERED = False
    laptop, _ = pair_device(user=user, name="Chrome on laptop")
    desk, _ = pair_device(user=user, name="Chrome at work")
    services.set_device_mode(device=desk, mode="private")  # by the extension itself
    page = browser.get(reverse("devices")).content.decode()
    assert "Read on its own computer</button>" not in page
    assert 'aria-label="Read on the server: Chrome at work"' in page
    response = browser.post(mode_url(laptop), {"mode": "private"}, follow=True)
    assert "not offered on this server yet" in response.content.decode()
    assert Device.objects.get(pk=laptop.pk).mode == "server"
    browser.post(mode_url(desk), {"mode": "server"})
    assert Device.objects.get(pk=desk.pk).mode == "server"


def test_the_devices_page_says_where_each_device_reads_and_offers_the_other(browser: Client, user: User) -> None:
    laptop, _ = pair_device(user=user, name="Chrome on laptop")
    desk, _ = pair_device(user=user, name="Chrome at work")
    services.set_device_mode(device=desk, mode="private")
    page = browser.get(reverse("devices")).content.decode()
    assert "On the S.M.I.L.E server" in page
    assert "On its own computer (private)" in page
    assert 'aria-label="Read on its own computer: Chrome on laptop (private)"' in page
    assert 'aria-label="Read on the server: Chrome at work"' in page
    assert f'action="{mode_url(laptop)}"' in page


def test_switching_on_the_devices_page(browser: Client, user: User) -> None:
    device, _ = pair_device(user=user, name="Chrome on laptop")
    response = browser.post(mode_url(device), {"mode": "private"}, follow=True)
    assert response.redirect_chain == [(reverse("devices"), 302)]
    assert "now reads your face on its own computer" in response.content.decode()
    assert Device.objects.get(pk=device.pk).mode == "private"
    browser.post(mode_url(device), {"mode": "server"})
    assert Device.objects.get(pk=device.pk).mode == "server"


def test_the_page_refuses_an_unknown_mode(browser: Client, user: User) -> None:
    device, _ = pair_device(user=user)
    response = browser.post(mode_url(device), {"mode": "cloud"}, follow=True)
    assert "Choose where this device reads your face" in response.content.decode()
    assert Device.objects.get(pk=device.pk).mode == "server"


def test_another_users_or_a_revoked_device_cannot_be_switched(browser: Client, user: User) -> None:
    other, _ = pair_device(user=make_user(email="grace@example.com"))
    assert browser.post(mode_url(other), {"mode": "private"}).status_code == 404
    revoked, _ = pair_device(user=user)
    revoke_device(user=user, device=revoked)
    assert browser.post(mode_url(revoked), {"mode": "private"}).status_code == 404
    assert browser.get(mode_url(pair_device(user=user)[0])).status_code == 405
    assert not Device.objects.filter(mode="private").exists()


def test_switching_on_the_page_needs_the_csrf_token(user: User) -> None:
    device, _ = pair_device(user=user)
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    assert client.post(mode_url(device), {"mode": "private"}).status_code == 403
    assert Device.objects.get(pk=device.pk).mode == "server"
