"""Self-reports and corrections are limited per user, form and API together; the API takes strings only (issue 27)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from accounts.conf import rate
from moods.models import SelfReport
from tests.factories import make_user, pair_device
from tests.moods.history.test_history import event

pytestmark = pytest.mark.django_db

API_URL = "/api/self-report"


@pytest.fixture
def three_per_window(settings: Any) -> None:
    settings.SMILE_RATE_LIMITS = {"self-report-user": "3/600"}


def api_post(token: str, body: object) -> Any:
    return Client().post(
        API_URL, data=json.dumps(body), content_type="application/json", headers={"authorization": f"Bearer {token}"}
    )


def test_the_default_limit_is_the_apis_120_per_10_minutes() -> None:
    assert (rate("self-report-user").limit, rate("self-report-user").window_seconds) == (120, 600)


def test_the_form_refuses_a_burst_with_a_429_that_says_when(client: Client, three_per_window: None) -> None:
    user = make_user()
    client.force_login(user)
    for _ in range(3):
        assert client.post(reverse("self_report"), {"emotion": "happy"}).status_code == 302

    refused = client.post(reverse("self_report"), {"emotion": "happy"})

    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    assert "You sent many reports in a short time. Try again in" in refused.content.decode()
    assert SelfReport.objects.filter(user=user).count() == 3


def test_the_live_pages_json_report_is_refused_as_json(client: Client, three_per_window: None) -> None:
    client.force_login(make_user())
    for _ in range(3):
        client.post(reverse("self_report"), {"emotion": "happy"}, headers={"accept": "application/json"})

    refused = client.post(reverse("self_report"), {"emotion": "happy"}, headers={"accept": "application/json"})

    assert refused.status_code == 429
    assert refused.json()["saved"] is False
    assert "Try again in" in refused.json()["errors"]["__all__"][0]


def test_corrections_and_the_api_share_the_users_budget(client: Client, three_per_window: None) -> None:
    user = make_user()
    _, token = pair_device(user=user)
    window = event(user.pk, datetime(2026, 5, 4, 10, tzinfo=UTC), sad=0.7)
    client.force_login(user)
    assert client.post(reverse("self_report"), {"emotion": "sad"}).status_code == 302
    assert client.post(reverse("correct_window", args=[window.pk]), {"emotion": "neutral"}).status_code == 302
    assert api_post(token, {"emotion": "happy"}).status_code == 201

    correction = client.post(reverse("correct_window", args=[window.pk]), {"emotion": "neutral"})
    api = api_post(token, {"emotion": "happy"})

    assert correction.status_code == 429
    assert api.status_code == 429
    assert api.json()["error"] == "rate_limited"
    assert int(api["Retry-After"]) == api.json()["retry_after"] > 0
    assert SelfReport.objects.filter(user=user).count() == 3


def test_another_users_reports_do_not_count(client: Client, three_per_window: None) -> None:
    busy = make_user(email="busy@example.com")
    client.force_login(busy)
    for _ in range(4):
        client.post(reverse("self_report"), {"emotion": "happy"})
    client.force_login(make_user())

    assert client.post(reverse("self_report"), {"emotion": "happy"}).status_code == 302


def test_invalid_reports_do_not_spend_the_budget(client: Client, three_per_window: None) -> None:
    client.force_login(make_user())
    for _ in range(5):
        assert client.post(reverse("self_report"), {"emotion": "bored"}).status_code == 400

    assert client.post(reverse("self_report"), {"emotion": "happy"}).status_code == 302


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"emotion": "sad", "note": 12345}, "note must be a string."),
        ({"emotion": "sad", "note": {"a": [1, 2]}}, "note must be a string."),
        ({"emotion": "sad", "note": ["long day"]}, "note must be a string."),
        ({"emotion": "sad", "note": True}, "note must be a string."),
        ({"emotion": ["sad"]}, "emotion must be a string."),
        ({"emotion": 4}, "emotion must be a string."),
    ],
)
def test_the_api_refuses_fields_that_are_not_strings(body: object, message: str) -> None:
    _, token = pair_device(user=make_user())

    response = api_post(token, body)

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert response.json()["error_description"] == message
    assert not SelfReport.objects.exists()


def test_the_api_still_takes_a_missing_or_null_note() -> None:
    _, token = pair_device(user=make_user())

    assert api_post(token, {"emotion": "sad"}).status_code == 201
    assert api_post(token, {"emotion": "sad", "note": None}).status_code == 201
