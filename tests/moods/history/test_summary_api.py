"""GET /api/summary/today: the popup's summary of the device owner's day, behind the device token."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.test import Client

from accounts.pairing import revoke_device
from inference.emotions import EMOTIONS
from moods.history import rollup
from moods.history.aggregates import day_summary
from moods.models import MoodEvent
from tests.clock import pin_local_midday
from tests.factories import make_user, pair_device

pytestmark = pytest.mark.django_db

URL = "/api/summary/today"


def window(user, start: datetime, *, faces: int, frames: int = 10, seconds: int = 60, **scores: float) -> MoodEvent:
    values = dict.fromkeys(EMOTIONS, 0.0) | scores
    return rollup.insert_event(
        MoodEvent(
            user=user,
            started_at=start,
            ended_at=start + timedelta(seconds=seconds),
            seconds=seconds,
            frames=frames,
            faces=faces,
            dominant=max(EMOTIONS, key=lambda emotion: values[emotion]),
            **values,
        )
    )


def get(token: str | None, *, method: str = "get", **headers: str):
    client = Client(enforce_csrf_checks=True)
    if token is not None:
        headers.setdefault("Authorization", f"Bearer {token}")
    return getattr(client, method)(URL, headers=headers)


def test_the_summary_weights_each_window_by_its_length_on_the_local_day() -> None:
    # The same weighting as the dashboard and history pages: observed time, not faces.
    user = make_user(time_zone="Europe/Paris")
    paris = ZoneInfo("Europe/Paris")
    day = date(2026, 3, 10)
    window(user, datetime(2026, 3, 10, 0, 30, tzinfo=paris), faces=3, happy=1.0)
    window(user, datetime(2026, 3, 10, 12, 0, tzinfo=paris), faces=1, seconds=20, happy=1.0)  # a short window
    window(user, datetime(2026, 3, 10, 23, 0, tzinfo=paris), faces=8, sad=1.0)
    window(user, datetime(2026, 3, 9, 23, 59, tzinfo=paris), faces=5, angry=1.0)  # the day before (local)
    window(user, datetime(2026, 3, 11, 0, 0, tzinfo=paris), faces=5, angry=1.0)  # the day after
    summary = day_summary(user_id=user.pk, tz=paris, day=day)
    assert summary == {
        "date": "2026-03-10",
        "windows": 3,
        "frames": 30,
        "faces": 12,
        "minutes": 2,
        "scores": {**dict.fromkeys(EMOTIONS, 0.0), "happy": 0.5714, "sad": 0.4286},
        "dominant": "happy",
    }
    other = make_user(email="bo@example.com")
    assert day_summary(user_id=other.pk, tz=paris, day=day) == {
        "date": "2026-03-10",
        "windows": 0,
        "frames": 0,
        "faces": 0,
        "minutes": 0,
        "scores": None,
        "dominant": None,
    }


def test_a_paired_device_gets_its_owners_day_and_nothing_is_cached(monkeypatch: pytest.MonkeyPatch) -> None:
    user = make_user()
    now = pin_local_midday(monkeypatch, user.zone)
    _, token = pair_device(user=user)
    window(user, now - timedelta(minutes=2), faces=2, frames=4, neutral=0.6, happy=0.4)
    response = get(token)
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    body = response.json()
    assert body["date"] == now.date().isoformat()
    assert (body["windows"], body["frames"], body["faces"], body["dominant"]) == (1, 4, 2, "neutral")
    assert body["scores"]["happy"] == pytest.approx(0.4)
    assert body["time_zone"] == "UTC"
    # Someone else's windows never show.
    stranger = make_user(email="eve@example.com")
    _, stranger_token = pair_device(user=stranger)
    assert get(stranger_token).json()["windows"] == 0


@pytest.mark.parametrize(
    "authorization",
    ["", "Basic abc", "Bearer", "Bearer ", "bearer " + "x" * 300, "Token abc"],
)
def test_a_missing_or_malformed_token_is_401(authorization: str) -> None:
    response = get(None, Authorization=authorization) if authorization else get(None)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_token"
    assert response["WWW-Authenticate"] == 'Bearer error="invalid_token"'


def test_an_unknown_token_is_401_and_a_revoked_one_403() -> None:
    user = make_user()
    device, token = pair_device(user=user)
    unknown = get("not-a-token-we-issued")
    assert (unknown.status_code, unknown.json()["error"]) == (401, "invalid_token")
    assert "Pair the extension again" in unknown.json()["error_description"]
    revoke_device(user=user, device=device)
    revoked = get(token)
    assert (revoked.status_code, revoked.json()["error"]) == (403, "device_revoked")


def test_only_get_and_head() -> None:
    user = make_user()
    _, token = pair_device(user=user)
    response = get(token, method="post")
    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"
    assert get(token, method="head").status_code == 200


def test_calls_from_one_network_are_limited(settings) -> None:
    settings.SMILE_RATE_LIMITS = {"device-api-ip": "3/600"}
    user = make_user()
    _, token = pair_device(user=user)
    assert [get(token).status_code for _ in range(3)] == [200, 200, 200]
    refused = get(token)
    assert refused.status_code == 429
    assert refused.json() == {"error": "rate_limited", "retry_after": int(refused["Retry-After"])}
    # Bad tokens count too: guessing is limited like everything else.
    assert get("guess").status_code == 429
