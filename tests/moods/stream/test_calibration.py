"""Calibrating to the resting face over the stream: the per-connection state, and the protocol through the consumer."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from accounts.models import User
from inference.baseline import build_baseline
from inference.classifier import FrameResult
from inference.emotions import EMOTIONS
from moods.models import MoodEvent, PersonalBaseline
from moods.personal.services import forget_baseline, load_baseline, save_baseline
from moods.stream import dispatch
from moods.stream.calibration import Calibration
from smile_site.asgi import application
from tests.factories import make_user, pair_device

ORIGIN = (b"origin", b"http://127.0.0.1:8000")
RESTING = {"angry": 0.02, "disgust": 0.01, "fear": 0.02, "happy": 0.0, "sad": 0.5, "surprise": 0.0, "neutral": 0.45}
SMILING = {"angry": 0.0, "disgust": 0.0, "fear": 0.0, "happy": 0.85, "sad": 0.0, "surprise": 0.05, "neutral": 0.1}


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


# --- The per-connection state ----------------------------------------------------------------


def test_a_calibration_collects_raw_faces_for_its_seconds_then_builds_the_baseline() -> None:
    clock = Clock()
    calibration = Calibration(None, seconds=20, min_faces=3, clock=clock)
    assert calibration.start() == {"type": "calibration_progress", "seconds_left": 20.0, "faces": 0}
    for _ in range(3):
        clock.now += 5
        progress = calibration.observe(RESTING)
    assert progress == {"type": "calibration_progress", "seconds_left": 5.0, "faces": 3}
    assert calibration.observe(None) == {"type": "calibration_progress", "seconds_left": 5.0, "faces": 3}
    assert calibration.finish_if_due() is None
    clock.now += 5
    finished = calibration.finish_if_due()
    assert finished is not None
    assert finished.refusal is None
    assert finished.baseline == build_baseline([[RESTING[e] for e in EMOTIONS]] * 3, min_faces=3)
    assert calibration.baseline is finished.baseline
    assert not calibration.collecting
    assert calibration.observe(RESTING) is None


def test_the_baseline_adjusts_outcomes_and_says_it_did() -> None:
    calibration = Calibration(build_baseline([[RESTING[e] for e in EMOTIONS]] * 10), seconds=20)
    outcome = calibration.adjust({"face": True, "scores": RESTING, "dominant": "sad"})
    assert outcome["dominant"] == "neutral"
    assert outcome["scores"]["sad"] < RESTING["sad"]
    assert calibration.take_applied() is True
    assert calibration.take_applied() is False
    assert calibration.adjust({"face": False}) == {"face": False}
    assert calibration.take_applied() is False
    assert (
        Calibration(None, seconds=20).adjust({"face": True, "scores": RESTING, "dominant": "sad"})["dominant"] == "sad"
    )


def test_refusals_and_cancel_keep_the_old_baseline() -> None:
    clock = Clock()
    old = build_baseline([[RESTING[e] for e in EMOTIONS]] * 10)
    calibration = Calibration(old, seconds=1, min_faces=3, clock=clock)
    calibration.start()
    calibration.observe(SMILING)
    clock.now += 2
    finished = calibration.finish_if_due()
    assert finished is not None
    assert finished.refusal is not None
    assert finished.refusal["code"] == "too_few_faces"
    calibration.start()
    for _ in range(4):
        calibration.observe(SMILING)
    clock.now += 2
    finished = calibration.finish_if_due()
    assert finished is not None
    assert finished.refusal is not None
    assert finished.refusal["code"] == "not_at_rest"
    assert "at rest" in finished.refusal["message"]
    assert calibration.cancel() is None
    calibration.start()
    cancelled = calibration.cancel()
    assert cancelled is not None
    assert cancelled["code"] == "cancelled"
    assert calibration.baseline is old


# --- Through the consumer --------------------------------------------------------------------


def fake_classify(frames: Sequence[bytes]) -> list[FrameResult]:
    """b"rest": a sad-looking resting face; b"smile": a smile; anything else: no face."""
    results = []
    for frame in frames:
        if frame == b"rest":
            results.append(FrameResult(face=True, scores=RESTING, dominant="sad"))
        elif frame == b"smile":
            results.append(FrameResult(face=True, scores=SMILING, dominant="happy"))
        else:
            results.append(FrameResult(face=False))
    return results


@pytest.fixture
def fast_calibration(settings) -> Iterator[None]:
    settings.SMILE_INFERENCE_EXECUTOR = "thread"
    settings.SMILE_CALIBRATION_SECONDS = 1.5
    settings.SMILE_CALIBRATION_MIN_FACES = 2
    dispatch.reset_dispatcher()
    dispatch._dispatcher.set(dispatch.ThreadPoolDispatcher(max_workers=2, max_pending=32, classify=fake_classify))
    yield
    dispatch.reset_dispatcher()


async def open_stream(user: User) -> WebsocketCommunicator:
    _, token = await database_sync_to_async(pair_device)(user=user)
    communicator = WebsocketCommunicator(application, "/ws/stream/", headers=[ORIGIN])
    connected, _ = await communicator.connect(timeout=5)
    assert connected
    await communicator.send_json_to({"type": "auth", "token": token})
    assert (await communicator.receive_json_from(timeout=5))["type"] == "ready"
    return communicator


async def messages_until(communicator: WebsocketCommunicator, kinds: set[str]) -> list[dict[str, Any]]:
    seen = []
    while True:
        message = await communicator.receive_json_from(timeout=5)
        seen.append(message)
        if message["type"] in kinds:
            return seen


async def send_frames(communicator: WebsocketCommunicator, frame: bytes, count: int) -> None:
    for _ in range(count):
        await communicator.send_to(bytes_data=frame)
        await asyncio.sleep(0.55)  # under the 2 frames/s limit


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("fast_calibration")
async def test_calibrating_stores_a_baseline_and_the_resting_face_then_reads_neutral() -> None:
    user = await database_sync_to_async(make_user)()
    stream = await open_stream(user)
    await stream.send_json_to({"type": "calibrate_start"})
    assert await stream.receive_json_from(timeout=5) == {
        "type": "calibration_progress",
        "seconds_left": 1.5,
        "faces": 0,
    }
    await send_frames(stream, b"rest", 3)
    seen = await messages_until(stream, {"calibrated", "calibration_refused"})
    assert seen[-1]["type"] == "calibrated"
    assert seen[-1]["faces"] >= 2
    assert any(message["type"] == "calibration_progress" and message["faces"] >= 1 for message in seen)
    row = await database_sync_to_async(PersonalBaseline.objects.get)(user=user)
    assert row.faces == seen[-1]["faces"]
    assert len(row.log_scores) == 7

    await stream.send_to(bytes_data=b"rest")
    result = (await messages_until(stream, {"result"}))[-1]
    assert result["dominant"] == "neutral"
    assert result["scores"]["sad"] < 0.2
    await stream.disconnect()
    event = await database_sync_to_async(MoodEvent.objects.filter(user=user).latest)("started_at")
    assert event.baseline_applied is True


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("fast_calibration")
async def test_a_smiling_calibration_is_refused_and_changes_nothing() -> None:
    user = await database_sync_to_async(make_user)()
    stream = await open_stream(user)
    await stream.send_json_to({"type": "calibrate_start"})
    await send_frames(stream, b"smile", 3)
    refused = (await messages_until(stream, {"calibrated", "calibration_refused"}))[-1]
    assert refused["type"] == "calibration_refused"
    assert refused["code"] == "not_at_rest"
    assert await database_sync_to_async(PersonalBaseline.objects.filter(user=user).exists)() is False
    await stream.disconnect()


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("fast_calibration")
async def test_a_calibration_without_faces_is_refused_and_one_can_be_cancelled() -> None:
    user = await database_sync_to_async(make_user)()
    stream = await open_stream(user)
    await stream.send_json_to({"type": "calibrate_start"})
    await stream.receive_json_from(timeout=5)
    refused = (await messages_until(stream, {"calibrated", "calibration_refused"}))[-1]  # the timer ends it
    assert refused["code"] == "too_few_faces"
    await stream.send_json_to({"type": "calibrate_start"})
    await stream.receive_json_from(timeout=5)
    await stream.send_json_to({"type": "calibrate_cancel"})
    cancelled = await stream.receive_json_from(timeout=5)
    assert cancelled["type"] == "calibration_refused"
    assert cancelled["code"] == "cancelled"
    await stream.disconnect()


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("fast_calibration")
async def test_a_stored_baseline_is_applied_from_connect() -> None:
    user = await database_sync_to_async(make_user)()
    baseline = build_baseline([[RESTING[e] for e in EMOTIONS]] * 10)
    await database_sync_to_async(save_baseline)(user_id=user.pk, baseline=baseline)
    loaded = await database_sync_to_async(load_baseline)(user_id=user.pk)
    assert loaded is not None
    assert loaded.faces == 10
    assert loaded.log_scores == pytest.approx(baseline.log_scores, abs=1e-6)
    stream = await open_stream(user)
    await stream.send_to(bytes_data=b"rest")
    result = await stream.receive_json_from(timeout=5)
    assert result["dominant"] == "neutral"
    await stream.disconnect()


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("fast_calibration")
async def test_forgetting_the_baseline_reaches_an_open_stream() -> None:
    user = await database_sync_to_async(make_user)()
    await database_sync_to_async(save_baseline)(
        user_id=user.pk, baseline=build_baseline([[RESTING[e] for e in EMOTIONS]] * 10)
    )
    stream = await open_stream(user)
    await stream.send_to(bytes_data=b"rest")
    assert (await stream.receive_json_from(timeout=5))["dominant"] == "neutral"
    assert await database_sync_to_async(forget_baseline)(user_id=user.pk) is True
    await asyncio.sleep(0.3)  # the channel layer delivers baseline.changed
    await asyncio.sleep(0.3)  # under the frame rate limit
    await stream.send_to(bytes_data=b"rest")
    assert (await messages_until(stream, {"result"}))[-1]["dominant"] == "sad"
    await stream.disconnect()
