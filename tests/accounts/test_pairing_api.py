"""The pairing API the extension calls: /api/pair/start and /api/pair/token."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from accounts.device_auth import authenticate_device
from accounts.models import Device, PairingRequest
from tests.accounts.conftest import Clock
from tests.factories import make_user

pytestmark = pytest.mark.django_db

START_URL = "/api/pair/start"
TOKEN_URL = "/api/pair/token"


@pytest.fixture
def api() -> Client:
    # The extension has no session and no CSRF token; the API must not need them.
    return Client(enforce_csrf_checks=True)


def post_json(client: Client, url: str, body: Any, **extra: Any) -> Any:
    return client.post(url, json.dumps(body), content_type="application/json", **extra)


def start(client: Client, name: str = "Chrome on Ada's laptop") -> dict[str, Any]:
    response = post_json(client, START_URL, {"device_name": name})
    assert response.status_code == 200, response.content
    body: dict[str, Any] = response.json()
    return body


def poll(client: Client, device_code: str) -> Any:
    return post_json(client, TOKEN_URL, {"device_code": device_code})


def assert_error(response: Any, status: int, error: str, description: str = "") -> None:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["error"] == error
    assert description in body["error_description"]


# --- Starting -----------------------------------------------------------------------------


def test_start_answers_the_device_flow_fields(api: Client) -> None:
    body = start(api)

    assert set(body) == {
        "device_code",
        "user_code",
        "verification_uri",
        "verification_uri_complete",
        "expires_in",
        "interval",
    }
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", body["device_code"])
    assert re.fullmatch(r"[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}", body["user_code"])
    assert body["verification_uri"] == "http://testserver/pair/"
    assert body["verification_uri_complete"] == f"http://testserver/pair/?code={body['user_code']}"
    assert (body["expires_in"], body["interval"]) == (600, 5)
    assert PairingRequest.objects.get().user_code == body["user_code"].replace("-", "")


def test_api_responses_are_never_cached(api: Client) -> None:
    response = post_json(api, START_URL, {"device_name": "Chrome"})

    assert "no-store" in response["Cache-Control"]


def test_start_records_the_requesters_address(api: Client) -> None:
    post_json(api, START_URL, {"device_name": "Chrome"}, REMOTE_ADDR="198.51.100.23")

    assert PairingRequest.objects.get().requester_ip == "198.51.100.23"


def test_start_ignores_fields_it_does_not_know(api: Client) -> None:
    response = post_json(api, START_URL, {"device_name": "Chrome", "client_id": "smile-extension"})

    assert response.status_code == 200


def test_start_is_limited_per_network(api: Client) -> None:
    for _ in range(10):
        assert post_json(api, START_URL, {"device_name": "Chrome"}).status_code == 200

    refused = post_json(api, START_URL, {"device_name": "Chrome"})
    elsewhere = post_json(api, START_URL, {"device_name": "Chrome"}, REMOTE_ADDR="198.51.100.99")

    assert refused.status_code == 429
    assert refused.json() == {"error": "rate_limited", "retry_after": 600}
    assert refused["Retry-After"] == "600"
    assert elsewhere.status_code == 200
    assert PairingRequest.objects.count() == 11


# --- Request checks (both endpoints) ------------------------------------------------------


@pytest.mark.parametrize("url", [START_URL, TOKEN_URL])
@pytest.mark.parametrize("method", ["get", "put", "delete", "patch"])
def test_only_post_is_allowed(api: Client, url: str, method: str) -> None:
    response = getattr(api, method)(url)

    assert_error(response, 405, "method_not_allowed", "Use POST.")
    assert response["Allow"] == "POST"


@pytest.mark.parametrize("url", [START_URL, TOKEN_URL])
def test_a_form_encoded_body_is_refused_as_unsupported(api: Client, url: str) -> None:
    response = api.post(url, {"device_name": "Chrome", "device_code": "x"})

    assert_error(response, 415, "unsupported_media_type", "application/json")


@pytest.mark.parametrize("content_type", ["text/plain", "application/jsonx", "application/json; charset=latin-1"])
def test_other_content_types_and_charsets_are_refused(api: Client, content_type: str) -> None:
    response = api.post(START_URL, json.dumps({"device_name": "Chrome"}), content_type=content_type)

    assert response.status_code == 415


def test_a_json_content_type_with_utf8_charset_is_accepted(api: Client) -> None:
    body = json.dumps({"device_name": "Zoë's Chrome"}).encode()
    response = api.post(START_URL, body, content_type="application/json; charset=UTF-8")

    assert response.status_code == 200
    assert PairingRequest.objects.get().device_name == "Zoë's Chrome"


@pytest.mark.parametrize("url", [START_URL, TOKEN_URL])
def test_a_body_over_4096_bytes_is_refused(api: Client, url: str) -> None:
    body = json.dumps({"device_name": "Chrome", "padding": "x" * 4096})

    response = api.post(url, body, content_type="application/json")

    assert_error(response, 413, "request_too_large", "4096 bytes")
    assert not PairingRequest.objects.exists()


def test_a_body_of_exactly_4096_bytes_is_read(api: Client) -> None:
    body = json.dumps({"device_name": "Chrome", "padding": ""})
    body = body[:-2] + "x" * (4096 - len(body)) + '"}'
    assert len(body) == 4096

    response = api.post(START_URL, body, content_type="application/json")

    assert response.status_code == 200


def test_a_body_is_read_only_as_far_as_its_content_length(api: Client) -> None:
    body = json.dumps({"device_name": "Chrome", "padding": "x" * 5000})

    response = api.generic("POST", START_URL, body, content_type="application/json", CONTENT_LENGTH="10")

    assert_error(response, 400, "invalid_request", "not valid JSON")
    assert not PairingRequest.objects.exists()


@pytest.mark.parametrize(
    ("raw", "description"),
    [
        pytest.param(b" ", "The body is not valid JSON: Expecting value at character 1.", id="blank"),
        pytest.param(b'{"device_name": "Chrome"', "The body is not valid JSON: Expecting ',' delimiter", id="cut"),
        pytest.param(b"{'device_name': 'Chrome'}", "Expecting property name enclosed in double quotes", id="quotes"),
        pytest.param(b'{"device_name": NaN}', "NaN is not a JSON value", id="nan"),
        pytest.param(b'{"n": Infinity}', "Infinity is not a JSON value", id="infinity"),
        pytest.param(b'{"device_name": "Chr\xffome"}', "The body is not valid UTF-8.", id="not-utf8"),
        pytest.param(b"[" * 2000 + b"]" * 2000, "The body is not valid JSON", id="deeply-nested"),
        pytest.param(b'["device_name", "Chrome"]', "The body must be a JSON object.", id="array"),
        pytest.param(b'"Chrome"', "The body must be a JSON object.", id="string"),
        pytest.param(b"null", "The body must be a JSON object.", id="null"),
        pytest.param(b"{}", "device_name is required.", id="missing"),
    ],
)
def test_start_explains_a_malformed_body(api: Client, raw: bytes, description: str) -> None:
    response = api.post(START_URL, raw, content_type="application/json")

    assert_error(response, 400, "invalid_request", description)


@pytest.mark.parametrize(
    ("device_name", "description"),
    [
        pytest.param(None, "device_name must be a string.", id="null"),
        pytest.param(7, "device_name must be a string.", id="number"),
        pytest.param(True, "device_name must be a string.", id="boolean"),
        pytest.param({"name": "Chrome"}, "device_name must be a string.", id="object"),
        pytest.param("", "device_name must not be empty.", id="empty"),
        pytest.param("   ", "device_name must not be empty.", id="blank"),
        pytest.param("x" * 81, "device_name must be at most 80 characters (got 81).", id="too-long"),
        pytest.param("Chrome\r\nApproved", "device_name must not contain control characters.", id="newline"),
        pytest.param("Chrome\u0000", "device_name must not contain control characters.", id="nul"),
        pytest.param("\u202eChrome", "device_name must not contain control characters.", id="bidi"),
        pytest.param("\ud83d", "device_name must not contain control characters.", id="lone-surrogate"),
    ],
)
def test_start_validates_the_device_name(api: Client, device_name: object, description: str) -> None:
    response = post_json(api, START_URL, {"device_name": device_name})

    assert_error(response, 400, "invalid_request", description)
    assert not PairingRequest.objects.exists()


def test_start_accepts_an_80_character_name(api: Client) -> None:
    start(api, name="é" * 80)

    assert PairingRequest.objects.get().device_name == "é" * 80


@pytest.mark.parametrize(
    ("body", "description"),
    [
        pytest.param({}, "device_code is required.", id="missing"),
        pytest.param({"device_code": None}, "device_code must be a non-empty string", id="null"),
        pytest.param({"device_code": 12345}, "device_code must be a non-empty string", id="number"),
        pytest.param({"device_code": ["abc"]}, "device_code must be a non-empty string", id="list"),
        pytest.param({"device_code": ""}, "device_code must be a non-empty string", id="empty"),
        pytest.param({"device_code": "x" * 129}, "at most 128 characters", id="too-long"),
    ],
)
def test_token_validates_the_device_code(api: Client, body: dict[str, Any], description: str) -> None:
    response = post_json(api, TOKEN_URL, body)

    assert_error(response, 400, "invalid_request", description)


# --- Polling ------------------------------------------------------------------------------


def test_token_answers_authorization_pending_while_nobody_decided(api: Client) -> None:
    device_code = start(api)["device_code"]

    assert_error(poll(api, device_code), 400, "authorization_pending")


def test_token_answers_slow_down_with_the_new_interval(api: Client, clock: Clock) -> None:
    device_code = start(api)["device_code"]
    poll(api, device_code)
    clock.advance(seconds=2)

    response = poll(api, device_code)

    assert_error(response, 400, "slow_down", "Wait at least 10 seconds")
    assert response.json()["interval"] == 10


def test_token_answers_expired_token_after_ten_minutes(api: Client, clock: Clock) -> None:
    device_code = start(api)["device_code"]
    clock.advance(minutes=10)

    assert_error(poll(api, device_code), 400, "expired_token")


def test_token_answers_invalid_grant_for_an_unknown_code(api: Client) -> None:
    start(api)

    assert_error(poll(api, "x" * 43), 400, "invalid_grant", "Unknown device code")


def test_the_whole_flow_pairs_a_device_once(api: Client, clock: Clock) -> None:
    user = make_user()
    started = start(api, name="Chrome on Ada's laptop")
    assert_error(poll(api, started["device_code"]), 400, "authorization_pending")

    browser = Client(enforce_csrf_checks=False)
    browser.force_login(user)
    confirm = browser.post(reverse("pair"), {"code": started["user_code"].lower()})
    assert "Chrome on Ada&#x27;s laptop" in confirm.content.decode()
    approved = browser.post(reverse("pair_decide"), {"code": started["user_code"], "decision": "approve"})
    assert approved["Location"] == reverse("devices")

    clock.advance(seconds=5)
    success = poll(api, started["device_code"])
    clock.advance(seconds=5)
    again = poll(api, started["device_code"])

    assert success.status_code == 200
    body = success.json()
    device = Device.objects.get()
    assert body == {
        "access_token": body["access_token"],
        "token_type": "Bearer",
        "device_id": device.pk,
        "device_name": "Chrome on Ada's laptop",
    }
    assert authenticate_device(body["access_token"]).active == device
    assert device.user == user
    assert_error(again, 400, "invalid_grant", "already used")
    assert "Chrome on Ada&#x27;s laptop" in browser.get(reverse("devices")).content.decode()


def test_a_denied_device_gets_access_denied(api: Client) -> None:
    started = start(api)
    browser = Client()
    browser.force_login(make_user())

    browser.post(reverse("pair_decide"), {"code": started["user_code"], "decision": "deny"})

    assert_error(poll(api, started["device_code"]), 400, "access_denied")
    assert not Device.objects.exists()


# --- Polling is limited (issue 27) ----------------------------------------------------------


def poll_from(client: Client, device_code: str, ip: str = "198.51.100.23") -> Any:
    return post_json(client, TOKEN_URL, {"device_code": device_code}, REMOTE_ADDR=ip)


def test_polling_one_device_code_faster_than_its_interval_is_refused_before_the_database(
    api: Client, django_assert_num_queries: Any
) -> None:
    device_code = start(api)["device_code"]
    for _ in range(20):  # the first is pending, the rest slow_down: each one locks and writes the request
        assert poll_from(api, device_code).status_code == 400

    with django_assert_num_queries(0):
        refused = poll_from(api, device_code)

    assert refused.status_code == 429
    assert refused.json() == {"error": "rate_limited", "retry_after": 60}
    assert refused["Retry-After"] == "60"
    assert refused["Cache-Control"].startswith("max-age=0")
    # Another device code from the same network is still answered.
    assert poll_from(api, start(api)["device_code"]).json()["error"] == "authorization_pending"


def test_polling_from_one_network_is_limited_whatever_the_code(api: Client, settings: Any) -> None:
    settings.SMILE_RATE_LIMITS = {"pair-token-ip": "5/600"}
    for number in range(5):
        assert poll_from(api, f"made-up-code-{number}").json()["error"] == "invalid_grant"

    refused = poll_from(api, "made-up-code-5")
    elsewhere = poll_from(api, "made-up-code-5", ip="203.0.113.7")

    assert refused.status_code == 429
    assert refused.json() == {"error": "rate_limited", "retry_after": 600}
    assert elsewhere.json()["error"] == "invalid_grant"


def test_a_malformed_poll_is_answered_before_it_is_counted(api: Client, settings: Any) -> None:
    settings.SMILE_RATE_LIMITS = {"pair-token-ip": "1/600"}
    for _ in range(3):
        assert poll_from(api, "").json()["error"] == "invalid_request"

    assert poll_from(api, "made-up-code").json()["error"] == "invalid_grant"
