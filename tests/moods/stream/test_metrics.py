"""The stream's metrics (issue 26): what a socket's frames do is counted, by bounded labels only.

Each test reads the default registry before and after a real session through the ASGI
application (with the fast stand-in classifier of ``test_consumer``), so it counts only its own.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from prometheus_client import REGISTRY

from inference.classifier import FrameResult, classify_frames
from moods.stream import dispatch, metrics, windows
from moods.stream.aggregator import ClosedWindow
from tests.factories import make_user, pair_device
from tests.inference.conftest import face_jpeg as face_jpeg
from tests.inference.conftest import no_face_jpeg as no_face_jpeg
from tests.moods.stream.test_consumer import closed_with, open_socket, use_dispatcher
from tests.moods.stream.test_consumer import in_process_inference as in_process_inference

pytestmark = pytest.mark.django_db(transaction=True)


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


class Counts:
    """The change of every stream metric since it was made."""

    NAMES = (
        ("smile_stream_frames_received_total", {}),
        ("smile_stream_results_sent_total", {}),
        ("smile_stream_result_latency_seconds_count", {}),
        ("smile_stream_sockets_open", {}),
        ("smile_stream_windows_stored_total", {}),
        *(("smile_stream_drops_total", {"reason": reason}) for reason in metrics.DROP_REASONS),
        *(("smile_stream_errors_total", {"code": code}) for code in metrics.ERROR_CODES),
        *(("smile_stream_closes_total", {"code": code}) for code in metrics.CLOSE_CODES),
    )

    def __init__(self) -> None:
        self.before = {self.key(name, labels): value(name, **labels) for name, labels in self.NAMES}

    @staticmethod
    def key(name: str, labels: dict[str, str]) -> str:
        return name + "".join(f"|{label}={text}" for label, text in labels.items())

    def changed(self) -> dict[str, float]:
        after = {self.key(name, labels): value(name, **labels) for name, labels in self.NAMES}
        return {key: after[key] - self.before[key] for key in after if after[key] != self.before[key]}


async def authenticated() -> WebsocketCommunicator:
    user = await database_sync_to_async(make_user)()
    _, token = await database_sync_to_async(pair_device)(user=user)
    communicator = await open_socket()
    await communicator.send_json_to({"type": "auth", "token": token})
    assert (await communicator.receive_json_from(timeout=5))["type"] == "ready"
    return communicator


async def test_a_session_counts_its_frames_results_drops_errors_and_close(settings) -> None:
    settings.SMILE_MAX_FPS = 2
    counts = Counts()
    stream = await authenticated()
    assert counts.changed() == {"smile_stream_sockets_open": 1}
    await stream.send_to(bytes_data=b"face")  # a result
    assert (await stream.receive_json_from(timeout=5))["type"] == "result"
    await stream.send_to(bytes_data=b"junk")  # invalid_image
    assert (await stream.receive_json_from(timeout=5))["code"] == "invalid_image"
    await stream.send_to(bytes_data=b"face")  # the bucket of 2 is empty: rate_limited
    assert (await stream.receive_json_from(timeout=5))["reason"] == "rate_limited"
    await stream.send_to(bytes_data=b"x" * (settings.SMILE_MAX_FRAME_BYTES + 1))
    assert (await stream.receive_json_from(timeout=5))["code"] == "frame_too_large"
    await stream.send_json_to({"type": "nonsense"})
    assert (await stream.receive_json_from(timeout=5))["code"] == "bad_message"
    await stream.disconnect(code=1001)
    await asyncio.sleep(0.1)
    assert counts.changed() == {
        "smile_stream_frames_received_total": 4,
        "smile_stream_results_sent_total": 1,
        "smile_stream_result_latency_seconds_count": 1,
        "smile_stream_drops_total|reason=rate_limited": 1,
        "smile_stream_errors_total|code=invalid_image": 1,
        "smile_stream_errors_total|code=frame_too_large": 1,
        "smile_stream_errors_total|code=bad_message": 1,
        "smile_stream_closes_total|code=1001": 1,
        "smile_stream_windows_stored_total": 1,  # the open window, with its one face, stored on close
    }


async def test_a_full_process_and_a_failed_frame_count_busy_and_unavailable(token: str) -> None:
    def failing(frames: object) -> list[FrameResult]:
        raise ValueError("the network failed")

    use_dispatcher(failing, max_pending=1)
    counts = Counts()
    stream = await open_socket()
    await stream.send_json_to({"type": "auth", "token": token})
    await stream.receive_json_from(timeout=5)
    await stream.send_to(bytes_data=b"face")
    assert (await stream.receive_json_from(timeout=5))["reason"] == "unavailable"
    dispatch.get_dispatcher()._slots.acquire()  # another connection holds the only slot
    await asyncio.sleep(0.6)  # the token bucket refills
    await stream.send_to(bytes_data=b"face")
    assert (await stream.receive_json_from(timeout=5))["reason"] == "busy"
    await stream.disconnect()
    changed = counts.changed()
    assert changed["smile_stream_drops_total|reason=unavailable"] == 1
    assert changed["smile_stream_drops_total|reason=busy"] == 1


@pytest.fixture
def token() -> str:
    return pair_device(user=make_user())[1]


async def test_a_refused_token_counts_its_close_code() -> None:
    counts = Counts()
    communicator = await open_socket()
    await communicator.send_json_to({"type": "auth", "token": "not-a-token"})
    assert await closed_with(communicator) == 4401
    await communicator.disconnect(code=4401)
    await asyncio.sleep(0.1)
    assert counts.changed()["smile_stream_closes_total|code=4401"] == 1
    assert "smile_stream_sockets_open" not in counts.changed()


async def test_a_close_code_outside_the_known_set_counts_as_other() -> None:
    counts = Counts()
    communicator = await open_socket()
    await communicator.disconnect(code=3999)
    await asyncio.sleep(0.1)
    assert counts.changed() == {"smile_stream_closes_total|code=other": 1}


def test_a_stored_window_is_counted_once() -> None:
    user = make_user()
    start = datetime(2026, 1, 1, 12, tzinfo=UTC)
    scores = {"angry": 0, "disgust": 0, "fear": 0, "happy": 0.9, "sad": 0.05, "surprise": 0, "neutral": 0.05}
    window = ClosedWindow(
        start=start, end=start + timedelta(seconds=60), frames=10, faces=8, scores=scores, dominant="happy"
    )
    counts = Counts()
    assert windows.record_window(user_id=user.pk, device_id=None, window=window) is not None
    no_face = replace(window, faces=0, key=uuid4())
    assert windows.record_window(user_id=user.pk, device_id=None, window=no_face) is None
    assert counts.changed() == {"smile_stream_windows_stored_total": 1}


def test_the_worker_frame_path_times_each_stage(face_jpeg: bytes, no_face_jpeg: bytes) -> None:
    names: tuple[str, ...] = ("frames_scored_total", "faces_found_total", "batch_size_count", "batch_size_sum")
    names += ("decode_seconds_count", "detect_seconds_count", "score_seconds_count")
    before = {name: value(f"smile_worker_{name}") for name in names}
    results = classify_frames([face_jpeg, no_face_jpeg, b"not an image"], stages=metrics.STAGES)
    assert [result.face for result in results] == [True, False, False]
    changed = {name: value(f"smile_worker_{name}") - before[name] for name in names}
    assert changed == {
        "frames_scored_total": 3,
        "faces_found_total": 1,
        "batch_size_count": 1,
        "batch_size_sum": 3,
        "decode_seconds_count": 2,  # the third frame fails to decode
        "detect_seconds_count": 2,
        "score_seconds_count": 1,  # one network call for the batch's one face
    }


def test_a_frame_that_waited_past_its_deadline_counts_as_expired() -> None:
    from moods.stream.tasks import STREAM_DEADLINE_SECONDS, stream_frames

    before = value("smile_worker_frames_failed_total", reason="expired")
    stream_frames.run([[b"face", "specific.nobody!gone", 1, time.time() - STREAM_DEADLINE_SECONDS - 1]], None)
    assert value("smile_worker_frames_failed_total", reason="expired") == before + 1


def test_any_failed_celery_task_is_counted() -> None:
    from celery.signals import task_failure

    before = value("smile_worker_tasks_failed_total")
    task_failure.send(sender=None, task_id="t", exception=ValueError("x"))
    assert value("smile_worker_tasks_failed_total") == before + 1


def test_the_inference_queues_depth_is_read_from_redis_when_scraped(redis_url: str) -> None:
    import redis

    queue = f"test-inference-{uuid4().hex}"
    client = redis.Redis.from_url(redis_url)
    client.rpush(queue, b"a", b"b", b"c")
    try:
        [family] = metrics.QueueDepth(url=redis_url, queue=queue).collect()
        assert family.samples[0].value == 3.0
    finally:
        client.delete(queue)
    [down] = metrics.QueueDepth(url="redis://127.0.0.1:1/0", queue=queue).collect()
    assert down.samples[0].value == -1.0


def test_the_embedded_mode_times_its_frame_path_like_a_worker(settings, face_jpeg: bytes) -> None:
    settings.SMILE_INFERENCE_EXECUTOR = "thread"
    dispatch.reset_dispatcher()
    try:
        embedded = dispatch.get_dispatcher()
        assert isinstance(embedded, dispatch.ThreadPoolDispatcher)
        before = value("smile_worker_frames_scored_total"), value("smile_worker_faces_found_total")
        [result] = embedded._classify([face_jpeg])
    finally:
        dispatch.reset_dispatcher()
    assert result.face
    after = value("smile_worker_frames_scored_total"), value("smile_worker_faces_found_total")
    assert (after[0] - before[0], after[1] - before[1]) == (1, 1)
