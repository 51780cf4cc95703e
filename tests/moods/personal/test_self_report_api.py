"""POST /api/self-report: "How do you feel?" from the extension's popup, behind the device token."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from accounts.pairing import revoke_device
from moods.models import SelfReport
from tests.factories import make_user, pair_device

pytestmark = pytest.mark.django_db

URL = "/api/self-report"


def post(token: str | None, body: object, *, content_type: str = "application/json"):
    headers = {"authorization": f"Bearer {token}"} if token else {}
    data = body if isinstance(body, str) else json.dumps(body)
    return Client(enforce_csrf_checks=True).post(URL, data=data, content_type=content_type, headers=headers)


def test_a_paired_device_reports_for_its_owner() -> None:
    user = make_user()
    _, token = pair_device(user=user)
    response = post(token, {"emotion": "sad", "note": " long day "})
    assert response.status_code == 201
    assert response.json()["emotion"] == "sad"
    report = SelfReport.objects.get(user=user)
    assert (report.emotion, report.note, report.event) == ("sad", "long day", None)
    assert response.json()["id"] == report.pk


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"emotion": "bored"}, "Choose one of"),
        ({}, "Choose what you felt"),
        ({"emotion": "happy", "note": "x" * 201}, "200 characters or fewer"),
        ("[1, 2]", "The body must be a JSON object."),
    ],
)
def test_bad_reports_are_400_with_a_clear_error(body: object, message: str) -> None:
    user = make_user()
    _, token = pair_device(user=user)
    response = post(token, body)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert message in response.json()["error_description"]
    assert not SelfReport.objects.exists()


def test_no_token_a_revoked_device_or_a_form_post_is_refused() -> None:
    user = make_user()
    device, token = pair_device(user=user)
    assert post(None, {"emotion": "happy"}).status_code == 401
    assert post(token, "emotion=happy", content_type="application/x-www-form-urlencoded").status_code == 415
    assert Client().get(URL, headers={"authorization": f"Bearer {token}"}).status_code == 405
    revoke_device(user=user, device=device)
    assert post(token, {"emotion": "happy"}).status_code == 403
    assert not SelfReport.objects.exists()
