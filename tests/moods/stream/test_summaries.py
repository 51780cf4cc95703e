"""Private mode's window summaries: every bad case refused with its own code, good ones stored like the server's."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import DatabaseError

from accounts import services as account_services
from accounts.models import Device, User
from moods.models import EncouragementSettings, MoodEvent
from moods.stream import summaries
from moods.stream.aggregator import ClosedWindow
from moods.stream.summaries import Refusal, Summary, check_summary, store_summary
from moods.stream.windows import create_event
from tests.factories import make_user, pair_device

NOW = datetime(2026, 12, 6, 10, 0, tzinfo=UTC)
SAD = {"angry": 0.02, "disgust": 0.01, "fear": 0.02, "happy": 0.05, "sad": 0.7, "surprise": 0.0, "neutral": 0.2}
KEY = "6f1d3c2e-8a4b-4c5d-9e6f-7a8b9c0d1e2f"


def summary(**changes: Any) -> dict[str, Any]:
    """A good summary of a minute that ended 10 s before ``NOW``, changed as asked (None removes a field)."""
    message: dict[str, Any] = {
        "type": "summary",
        "v": 1,
        "key": KEY,
        "start": (NOW - timedelta(seconds=70)).isoformat(),
        "end": (NOW - timedelta(seconds=10)).isoformat(),
        "frames": 60,
        "faces": 58,
        "scores": dict(SAD),
        "uncertain": False,
        "baseline": False,
    }
    message.update(changes)
    return {name: value for name, value in message.items() if value is not None}


def check(message: dict[str, Any], *, max_fps: float = 1.0) -> Summary | Refusal:
    return check_summary(message, window_seconds=60, max_fps=max_fps, now=NOW)


def refusal_code(message: dict[str, Any], **kwargs: Any) -> str:
    checked = check(message, **kwargs)
    assert isinstance(checked, Refusal), checked
    assert checked.detail
    return checked.code


def test_a_good_summary_becomes_the_window_the_server_would_have_closed() -> None:
    checked = check(summary())
    assert isinstance(checked, Summary)
    assert checked.key == KEY
    window = checked.window
    assert (window.frames, window.faces, window.dominant, window.uncertain) == (60, 58, "sad", False)
    assert window.scores == SAD
    assert window.end - window.start == timedelta(seconds=60)


@pytest.mark.parametrize("version", [None, 0, 2, "1", 1.0, True])
def test_another_protocol_version_is_unsupported(version: object) -> None:
    assert refusal_code(summary(v=version)) == "unsupported_version"


@pytest.mark.parametrize(
    "changes",
    [
        {"key": None},
        {"key": "not-a-uuid"},
        {"key": KEY.replace("-", "")},  # a UUID, but not in its 36-character form
        {"key": 12},
        {"start": None},
        {"end": "yesterday"},
        {"start": "2026-12-06T09:58:50"},  # no UTC offset
        {"end": "2026-12-06T09:59:50+00:00" + " " * 40},
        {"frames": 60.0},
        {"faces": True},
        {"frames": -1},
        {"uncertain": "no"},
        {"baseline": None},
    ],
)
def test_a_malformed_field_is_a_bad_summary(changes: dict[str, Any]) -> None:
    assert refusal_code(summary(**changes)) == "bad_summary"


@pytest.mark.parametrize(
    "scores",
    [
        None,
        [0.1] * 7,
        {**SAD, "contempt": 0.0},
        {name: value for name, value in SAD.items() if name != "fear"},
        {**SAD, "sad": 0.8},  # sums to 1.1
        {**SAD, "sad": 0.6},  # sums to 0.9
        {**SAD, "sad": float("nan")},
        {**SAD, "sad": float("inf")},
        {**SAD, "sad": 1.2, "neutral": -0.3},
        {**SAD, "sad": "0.7"},
        {**SAD, "sad": True},
    ],
)
def test_scores_that_are_not_a_distribution_are_refused(scores: object) -> None:
    assert refusal_code(summary(scores=scores)) == "bad_scores"


def test_scores_summing_to_one_within_the_tolerance_are_taken() -> None:
    assert isinstance(check(summary(scores={**SAD, "sad": 0.7004})), Summary)


@pytest.mark.parametrize(
    "changes",
    [
        {"end": (NOW - timedelta(seconds=70)).isoformat()},  # lasts nothing
        {"end": (NOW - timedelta(seconds=80)).isoformat()},  # ends before it starts
        {"start": (NOW - timedelta(seconds=80)).isoformat()},  # 70 s: longer than a window (+5 s)
        {"faces": 0},  # windows without a face are never stored, so never sent
        {"faces": 61},  # more faces than frames
        {"frames": 62},  # 60 s at 1 frame/s allows 60, plus a burst of 1
        {"uncertain": True},  # 58 faces, 70% sad: certain by the window rules
    ],
)
def test_a_window_the_devices_rate_and_rules_cannot_make_is_impossible(changes: dict[str, Any]) -> None:
    assert refusal_code(summary(**changes)) == "impossible_window"


def test_frames_are_counted_against_the_frame_rate_the_server_allows() -> None:
    assert isinstance(check(summary(frames=61)), Summary)
    assert isinstance(check(summary(frames=121), max_fps=2.0), Summary)
    assert refusal_code(summary(frames=123), max_fps=2.0) == "impossible_window"


def test_an_uncertain_window_says_so_and_is_taken() -> None:
    few = check(summary(faces=2, frames=40, uncertain=True))
    assert isinstance(few, Summary)
    assert few.window.uncertain
    mixed = {"angry": 0.15, "disgust": 0.1, "fear": 0.15, "happy": 0.15, "sad": 0.15, "surprise": 0.1, "neutral": 0.2}
    unsure = check(summary(scores=mixed, uncertain=True))
    assert isinstance(unsure, Summary)
    assert unsure.window.uncertain
    assert refusal_code(summary(scores=mixed, uncertain=False)) == "impossible_window"


def test_a_window_ending_in_the_future_is_refused_beyond_the_clock_skew() -> None:
    late = summary(start=(NOW - timedelta(seconds=56)).isoformat(), end=(NOW + timedelta(seconds=4)).isoformat())
    assert isinstance(check(late), Summary)
    future = summary(start=(NOW - timedelta(seconds=50)).isoformat(), end=(NOW + timedelta(seconds=10)).isoformat())
    assert refusal_code(future) == "window_in_future"


def test_a_window_older_than_a_day_is_refused() -> None:
    old_start = NOW - timedelta(days=1, minutes=1)
    old = summary(start=old_start.isoformat(), end=(old_start + timedelta(seconds=60)).isoformat())
    assert refusal_code(old) == "window_too_old"


# --- storing ------------------------------------------------------------------------------


@pytest.fixture
def user(db: None) -> User:
    return make_user()


@pytest.fixture
def private_device(user: User) -> Device:
    device = pair_device(user=user)[0]
    return account_services.set_device_mode(device=device, mode="private")


def checked(**changes: Any) -> Summary:
    result = check_summary(summary(**changes), window_seconds=60, max_fps=1.0, now=NOW)
    assert isinstance(result, Summary)
    return result


def store(user: User, device: Device, **changes: Any) -> summaries.Stored | Refusal:
    return store_summary(user_id=user.pk, device_id=device.pk, summary=checked(**changes), now=NOW)


def test_a_summary_is_stored_as_the_devices_mood_event(user: User, private_device: Device) -> None:
    stored = store(user, private_device, baseline=True)
    assert isinstance(stored, summaries.Stored)
    event = MoodEvent.objects.get(user=user)
    assert event.device_id == private_device.pk
    assert (event.frames, event.faces, event.dominant, event.sad) == (60, 58, "sad", 0.7)
    assert (event.baseline_applied, event.uncertain) == (True, False)
    assert event.started_at == NOW - timedelta(seconds=70)
    assert event.window_key == summaries.stored_key(device_id=private_device.pk, key=KEY)
    assert stored.window.key == event.window_key


def test_the_same_key_twice_is_already_stored_and_stored_once(user: User, private_device: Device) -> None:
    assert isinstance(store(user, private_device), summaries.Stored)
    again = store(user, private_device)
    assert isinstance(again, Refusal)
    assert again.code == "already_stored"
    assert again.key == KEY
    assert MoodEvent.objects.count() == 1


def test_another_devices_key_names_no_window_of_this_one(user: User, private_device: Device) -> None:
    other_user = make_user(email="eve@example.com")
    other = account_services.set_device_mode(device=pair_device(user=other_user)[0], mode="private")
    assert isinstance(store(user, private_device), summaries.Stored)
    # Eve replays Ada's key: it is a key of Eve's device, so it stores Eve's own window, never answers Ada's.
    assert isinstance(store(other_user, other), summaries.Stored)
    assert MoodEvent.objects.filter(user=other_user).count() == 1


def test_a_window_overlapping_one_stored_for_the_device_is_refused(user: User, private_device: Device) -> None:
    assert isinstance(store(user, private_device), summaries.Stored)
    shifted = store(
        user,
        private_device,
        key=str(uuid.uuid4()),
        start=(NOW - timedelta(seconds=40)).isoformat(),
        end=(NOW - timedelta(seconds=5)).isoformat(),
        frames=30,
        faces=30,
    )
    assert isinstance(shifted, Refusal)
    assert shifted.code == "window_overlaps"
    following = store(
        user,
        private_device,
        key=str(uuid.uuid4()),
        start=(NOW - timedelta(seconds=10)).isoformat(),
        end=(NOW - timedelta(seconds=1)).isoformat(),
        frames=9,
        faces=9,
    )
    assert isinstance(following, summaries.Stored)
    assert MoodEvent.objects.count() == 2


def test_a_window_overlapping_one_the_server_read_for_the_device_is_refused(user: User, private_device: Device) -> None:
    server_window = ClosedWindow(
        start=NOW - timedelta(seconds=100),
        end=NOW - timedelta(seconds=40),
        frames=3,
        faces=3,
        scores=SAD,
        dominant="sad",
    )
    create_event(user_id=user.pk, device_id=private_device.pk, window=server_window)
    refused = store(user, private_device)
    assert isinstance(refused, Refusal)
    assert refused.code == "window_overlaps"


def test_a_device_in_server_mode_stores_no_summary(user: User) -> None:
    device = pair_device(user=user)[0]
    refused = store(user, device)
    assert isinstance(refused, Refusal)
    assert refused.code == "not_private_mode"
    assert not MoodEvent.objects.exists()


def test_a_summary_runs_the_encouragement_rule_like_a_server_window(user: User, private_device: Device) -> None:
    EncouragementSettings.objects.create(user=user, enabled=True, sadness_threshold=0.3, sustain_minutes=3)
    for minute in range(4, 1, -1):
        start = NOW - timedelta(minutes=minute, seconds=10)
        stored = store(
            user,
            private_device,
            key=str(uuid.uuid4()),
            start=start.isoformat(),
            end=(start + timedelta(seconds=60)).isoformat(),
        )
        assert isinstance(stored, summaries.Stored)
    last = store(user, private_device)
    assert isinstance(last, summaries.Stored)
    assert last.encourage is not None
    assert last.encourage["type"] == "encourage"


def test_a_database_failure_stores_nothing_and_says_unavailable(
    user: User, private_device: Device, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(**_: Any) -> None:
        raise DatabaseError("server closed the connection")

    monkeypatch.setattr(summaries, "create_event", broken)
    refused = store(user, private_device)
    assert isinstance(refused, Refusal)
    assert refused.code == "unavailable"
    assert not MoodEvent.objects.exists()
