"""POST /api/device/revoke: the extension's Unpair revokes its own token on the server."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.device_auth import authenticate_device
from accounts.models import Device
from tests.factories import make_user, pair_device

pytestmark = pytest.mark.django_db

URL = "/api/device/revoke"


def post(token: str | None, *, method: str = "post", **headers: str):
    client = Client(enforce_csrf_checks=True)  # the extension has no cookie and no CSRF token
    if token is not None:
        headers.setdefault("Authorization", f"Bearer {token}")
    return getattr(client, method)(URL, headers=headers)


def test_a_device_revokes_its_own_token() -> None:
    user = make_user()
    device, token = pair_device(user=user)
    other, other_token = pair_device(user=user, name="Chrome at work")
    response = post(token)
    assert response.status_code == 200
    assert response.json() == {"device_id": device.pk, "revoked": True}
    assert response["Cache-Control"].startswith("max-age=0")
    device.refresh_from_db()
    assert device.revoked_at is not None
    assert authenticate_device(token).active is None
    # Only that device: the person's other browsers stay paired.
    assert authenticate_device(other_token).active == other
    # The website's stream and summary refuse the token as revoked from now on.
    summary = Client().get("/api/summary/today", headers={"Authorization": f"Bearer {token}"})
    assert (summary.status_code, summary.json()["error"]) == (403, "device_revoked")


def test_revoking_twice_gives_the_same_answer_and_keeps_the_first_time() -> None:
    device, token = pair_device(user=make_user())
    assert post(token).status_code == 200
    first = Device.objects.get(pk=device.pk).revoked_at
    again = post(token)
    assert (again.status_code, again.json()) == (200, {"device_id": device.pk, "revoked": True})
    assert Device.objects.get(pk=device.pk).revoked_at == first


@pytest.mark.parametrize(
    ("headers", "description"),
    [
        ({}, "Send the device token as Authorization: Bearer <token>."),
        ({"Authorization": "Basic abc"}, "Send the device token as Authorization: Bearer <token>."),
        ({"Authorization": "Bearer " + "x" * 300}, "The device token is missing or malformed."),
        ({"Authorization": "Bearer not-a-token-we-issued"}, "This device token is unknown. Pair the extension again."),
    ],
)
def test_a_missing_malformed_or_unknown_token_is_401_and_revokes_nothing(headers: dict, description: str) -> None:
    device, _ = pair_device(user=make_user())
    response = post(None, **headers)
    assert response.status_code == 401
    assert response.json() == {"error": "invalid_token", "error_description": description}
    assert response["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    device.refresh_from_db()
    assert device.revoked_at is None


def test_only_post() -> None:
    device, token = pair_device(user=make_user())
    response = post(token, method="get")
    assert (response.status_code, response["Allow"]) == (405, "POST")
    assert response.json()["error"] == "method_not_allowed"
    device.refresh_from_db()
    assert device.revoked_at is None


def test_calls_from_one_network_are_limited(settings) -> None:
    settings.SMILE_RATE_LIMITS = {"device-api-ip": "2/600"}
    _, token = pair_device(user=make_user())
    assert [post("guess").status_code for _ in range(2)] == [401, 401]
    refused = post(token)
    assert refused.status_code == 429
    assert refused.json() == {"error": "rate_limited", "retry_after": int(refused["Retry-After"])}
