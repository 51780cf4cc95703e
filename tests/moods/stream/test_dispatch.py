"""Frame dispatch: one interface, a thread pool or Celery behind it, the answer on the reply channel."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured
from prometheus_client import REGISTRY

from inference.batching import FrameBatcher
from inference.classifier import FrameResult
from inference.emotions import EMOTIONS
from moods.stream import dispatch, tasks
from moods.stream.config import stream_config
from moods.stream.dispatch import CeleryDispatcher, DispatchBusy, ThreadPoolDispatcher
from tests.conftest import celery_worker

# The first frame of a test process loads TensorFlow and the weights: allow for a busy machine.
FIRST_ANSWER_TIMEOUT = 120


@pytest.fixture(autouse=True)
def fresh_dispatcher() -> Iterator[None]:
    dispatch.reset_dispatcher()
    yield
    dispatch.reset_dispatcher()


def receive(layer: Any, channel: str, count: int = 1, timeout: float = 10) -> list[dict[str, Any]]:
    async def gather() -> list[dict[str, Any]]:
        return [await asyncio.wait_for(layer.receive(channel), timeout) for _ in range(count)]

    return async_to_sync(gather)()


class GatedClassifier:
    """A fake ``classify_frames`` that holds each call until released, answering ``dominant=<frame text>``."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.calls: list[list[bytes]] = []

    def __call__(self, frames: Sequence[bytes]) -> list[FrameResult]:
        self.calls.append(list(frames))
        assert self.release.wait(10), "the test never released the classifier"
        return [
            FrameResult(face=True, scores=dict.fromkeys(EMOTIONS, 0.0), dominant=frame.decode()) for frame in frames
        ]


# --- The thread pool (embedded mode) ------------------------------------------------------


def test_the_thread_pool_answers_a_real_frame_on_the_reply_channel(settings, face_jpeg: bytes) -> None:
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    settings.SMILE_INFERENCE_EXECUTOR = "thread"
    layer = get_channel_layer()
    assert isinstance(layer, InMemoryChannelLayer)

    async def stream() -> dict[str, Any]:
        channel = await layer.new_channel()
        dispatch.submit(frame=face_jpeg, reply_channel=channel, seq=7)
        return await asyncio.wait_for(layer.receive(channel), FIRST_ANSWER_TIMEOUT)

    message = async_to_sync(stream)()

    assert isinstance(dispatch.get_dispatcher(), ThreadPoolDispatcher)
    assert set(message) == {"type", "seq", "result", "latency_ms"}
    assert (message["type"], message["seq"]) == ("inference.result", 7)
    assert message["result"]["face"] is True
    assert message["result"]["dominant"] == "happy"
    assert list(message["result"]["scores"]) == list(EMOTIONS)
    assert message["latency_ms"] > 0


def test_the_thread_pool_answers_every_frame_with_its_seq(face_jpeg: bytes, no_face_jpeg: bytes) -> None:
    layer = InMemoryChannelLayer()
    dispatcher = ThreadPoolDispatcher(max_workers=2, max_pending=8, channel_layer=layer)

    async def stream() -> list[dict[str, Any]]:
        channel = await layer.new_channel()
        for seq, frame in enumerate((face_jpeg, no_face_jpeg, b"not an image"), start=1):
            dispatcher.submit(frame=frame, reply_channel=channel, seq=seq)
        return [await asyncio.wait_for(layer.receive(channel), FIRST_ANSWER_TIMEOUT) for _ in range(3)]

    try:
        messages = sorted(async_to_sync(stream)(), key=lambda message: message["seq"])
    finally:
        dispatcher.shutdown()

    assert [message["result"] for message in messages[1:]] == [{"face": False}, {"error": "invalid_image"}]
    assert messages[0]["result"]["dominant"] == "happy"


def test_submit_returns_at_once_and_refuses_frames_beyond_the_limit() -> None:
    classifier = GatedClassifier()
    layer = InMemoryChannelLayer()
    dispatcher = ThreadPoolDispatcher(max_workers=1, max_pending=2, classify=classifier, channel_layer=layer)

    async def stream() -> list[dict[str, Any]]:
        channel = await layer.new_channel()
        dispatcher.submit(frame=b"one", reply_channel=channel, seq=1)
        dispatcher.submit(frame=b"two", reply_channel=channel, seq=2)
        with pytest.raises(DispatchBusy):
            dispatcher.submit(frame=b"three", reply_channel=channel, seq=3)
        classifier.release.set()
        answers = [await asyncio.wait_for(layer.receive(channel), 10) for _ in range(2)]
        dispatcher.submit(frame=b"four", reply_channel=channel, seq=4)
        answers.append(await asyncio.wait_for(layer.receive(channel), 10))
        return answers

    try:
        answers = async_to_sync(stream)()
    finally:
        dispatcher.shutdown()

    assert [(answer["seq"], answer["result"]["dominant"]) for answer in answers] == [
        (1, "one"),
        (2, "two"),
        (4, "four"),
    ]


def test_a_failed_classification_still_answers_the_frame() -> None:
    def broken(frames: Sequence[bytes]) -> list[FrameResult]:
        raise RuntimeError("out of memory")

    layer = InMemoryChannelLayer()
    dispatcher = ThreadPoolDispatcher(max_workers=1, max_pending=1, classify=broken, channel_layer=layer)

    async def stream() -> list[dict[str, Any]]:
        channel = await layer.new_channel()
        answers = []
        for seq in (1, 2):  # the slot is free again after a failure
            dispatcher.submit(frame=b"frame", reply_channel=channel, seq=seq)
            answers.append(await asyncio.wait_for(layer.receive(channel), 10))
        return answers

    try:
        answers = async_to_sync(stream)()
    finally:
        dispatcher.shutdown()

    assert answers == [
        {"type": "inference.failed", "seq": 1, "reason": "error"},
        {"type": "inference.failed", "seq": 2, "reason": "error"},
    ]


class RecordingLayer(InMemoryChannelLayer):
    """Records what is sent, and from which thread, instead of queueing it."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[tuple[str, dict[str, Any], str]] = []
        self.delivered = threading.Event()

    async def send(self, channel: str, message: dict[str, Any]) -> None:
        self.sent.append((channel, message, threading.current_thread().name))
        self.delivered.set()


def test_frames_submitted_outside_an_event_loop_are_answered_from_the_senders_loop() -> None:
    classifier = GatedClassifier()
    classifier.release.set()
    layer = RecordingLayer()
    dispatcher = ThreadPoolDispatcher(max_workers=1, max_pending=1, classify=classifier, channel_layer=layer)

    try:
        dispatcher.submit(frame=b"sync", reply_channel="specific.test!sync", seq=1)
        assert layer.delivered.wait(10)
    finally:
        dispatcher.shutdown()

    [(channel, message, thread)] = layer.sent
    assert (channel, message["seq"], message["result"]["dominant"]) == ("specific.test!sync", 1, "sync")
    assert thread == "smile-channel-sender"


# --- Choosing the executor --------------------------------------------------------------


def test_the_executor_follows_redis_unless_forced(settings) -> None:
    settings.SMILE_INFERENCE_EXECUTOR = ""
    settings.REDIS_URL = ""
    assert stream_config().executor == "thread"
    settings.REDIS_URL = "redis://127.0.0.1:6379/5"
    assert stream_config().executor == "celery"
    assert isinstance(dispatch.get_dispatcher(), CeleryDispatcher)
    settings.SMILE_INFERENCE_EXECUTOR = "thread"
    assert stream_config().executor == "thread"
    settings.SMILE_INFERENCE_EXECUTOR = "gpu"
    with pytest.raises(ImproperlyConfigured):
        stream_config()


def test_the_dispatcher_is_built_once_per_process(settings) -> None:
    settings.SMILE_INFERENCE_EXECUTOR = "thread"

    assert dispatch.get_dispatcher() is dispatch.get_dispatcher()


# --- The Celery executor ----------------------------------------------------------------


def test_celery_frames_travel_as_msgpack_bytes_that_no_log_shows(monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[dict[str, Any]] = []
    published = threading.Event()

    def apply_async(**options: Any) -> None:
        sent.append(options)
        published.set()

    monkeypatch.setattr(tasks.stream_frames, "apply_async", apply_async)
    dispatcher = CeleryDispatcher(max_pending=1, queue="inference", workers_alive=lambda: True)
    try:
        dispatcher.submit(frame=b"\xff\xd8 secret pixels", reply_channel="specific.abc!def", seq=3)
        assert published.wait(10)
    finally:
        dispatcher.shutdown()

    [options] = sent
    [[frame, reply_channel, seq, submitted_at]], inbox = options["args"]
    assert inbox is None  # submitted outside an event loop: answered on the reply channel itself
    assert (frame, reply_channel, seq) == (b"\xff\xd8 secret pixels", "specific.abc!def", 3)
    assert abs(submitted_at - time.time()) < 10
    assert (options["queue"], options["serializer"], options["expires"]) == ("inference", "msgpack", 5)
    assert "secret" not in options["argsrepr"]
    assert "<1 frame(s), 16 bytes>" in options["argsrepr"]


def published_batch(name: str) -> float:
    return REGISTRY.get_sample_value(f"smile_stream_published_batch_frames_{name}") or 0.0


def test_frames_submitted_within_the_linger_travel_as_one_task_of_at_most_max_batch(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sent: list[list[int]] = []

    def apply_async(**options: Any) -> None:
        sent.append([seq for _, _, seq, _ in options["args"][0]])

    monkeypatch.setattr(tasks.stream_frames, "apply_async", apply_async)
    before = (published_batch("count"), published_batch("sum"))
    dispatcher = CeleryDispatcher(
        max_pending=8, queue="inference", max_batch=3, linger_seconds=0.3, workers_alive=lambda: True
    )

    async def stream() -> None:
        for seq in range(1, 6):  # on the event loop, as a consumer submits
            dispatcher.submit(frame=b"frame", reply_channel="specific.abc!def", seq=seq)
        await asyncio.sleep(0.6)
        # A lone frame waits out the linger, then goes by itself.
        dispatcher.submit(frame=b"frame", reply_channel="specific.abc!def", seq=6)
        await asyncio.sleep(0.6)

    try:
        async_to_sync(stream)()
        wait_until(lambda: len(sent) == 3)
    finally:
        dispatcher.shutdown()

    assert sent == [[1, 2, 3], [4, 5], [6]]
    assert (published_batch("count"), published_batch("sum")) == (before[0] + 3, before[1] + 6)


def test_frames_waiting_for_a_slow_publisher_go_together_up_to_max_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[list[int]] = []
    publishing, first_publish_may_end = threading.Event(), threading.Event()

    def apply_async(**options: Any) -> None:
        if not publishing.is_set():
            publishing.set()
            first_publish_may_end.wait(10)  # Redis slow: the next frames wait for the thread
        sent.append([seq for _, _, seq, _ in options["args"][0]])

    monkeypatch.setattr(tasks.stream_frames, "apply_async", apply_async)
    dispatcher = CeleryDispatcher(max_pending=8, queue="inference", max_batch=3, workers_alive=lambda: True)
    try:
        dispatcher.submit(frame=b"frame", reply_channel="specific.abc!def", seq=1)
        assert publishing.wait(10)
        for seq in range(2, 6):
            dispatcher.submit(frame=b"frame", reply_channel="specific.abc!def", seq=seq)
        first_publish_may_end.set()
        wait_until(lambda: sum(map(len, sent)) == 5)
    finally:
        dispatcher.shutdown()

    assert sent == [[1], [2, 3, 4], [5]]


def test_a_frame_celery_cannot_queue_is_answered_as_failed(monkeypatch: pytest.MonkeyPatch) -> None:
    def apply_async(**options: Any) -> None:
        raise ConnectionError("redis is down")

    monkeypatch.setattr(tasks.stream_frames, "apply_async", apply_async)
    layer = InMemoryChannelLayer()
    dispatcher = CeleryDispatcher(max_pending=1, queue="inference", channel_layer=layer, workers_alive=lambda: True)

    async def stream() -> dict[str, Any]:
        channel = await layer.new_channel()
        dispatcher.submit(frame=b"frame", reply_channel=channel, seq=5)
        return await asyncio.wait_for(layer.receive(channel), 10)

    try:
        assert async_to_sync(stream)() == {"type": "inference.failed", "seq": 5, "reason": "error"}
    finally:
        dispatcher.shutdown()


def test_the_stream_task_is_routed_and_acknowledged_late() -> None:
    task = tasks.stream_frames
    assert task.name == "inference.stream_frames"
    assert django_settings.CELERY_TASK_ROUTES[task.name] == {"queue": "inference"}
    assert task.acks_late
    assert task.reject_on_worker_lost
    assert task.ignore_result
    assert (task.soft_time_limit, task.time_limit) == (10, 15)


# --- The worker's batcher ---------------------------------------------------------------


def classify_from_threads(batcher: FrameBatcher, frames: Sequence[bytes]) -> tuple[list[threading.Thread], dict]:
    answers: dict[bytes, str | None] = {}

    def work(frame: bytes) -> None:
        answers[frame] = batcher.classify_many([frame], timeout=10)[0].dominant

    threads = [threading.Thread(target=work, args=(frame,)) for frame in frames]
    for thread in threads:
        thread.start()
    return threads, answers


def wait_until(condition: Any, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def test_frames_that_wait_together_are_scored_in_one_call() -> None:
    classifier = GatedClassifier()
    batcher = FrameBatcher(classifier, max_batch=16)
    first, answers = classify_from_threads(batcher, [b"a"])
    wait_until(lambda: len(classifier.calls) == 1)
    waiting, more_answers = classify_from_threads(batcher, [b"b", b"c", b"d"])
    wait_until(lambda: batcher._queue.qsize() == 3)

    classifier.release.set()
    for thread in first + waiting:
        thread.join(10)

    assert classifier.calls[0] == [b"a"]
    assert sorted(classifier.calls[1]) == [b"b", b"c", b"d"]
    assert batcher.batch_sizes == [1, 3]
    assert {**answers, **more_answers} == {b"a": "a", b"b": "b", b"c": "c", b"d": "d"}


def test_a_batch_never_exceeds_its_bound() -> None:
    classifier = GatedClassifier()
    batcher = FrameBatcher(classifier, max_batch=2)
    first, _ = classify_from_threads(batcher, [b"a"])
    wait_until(lambda: len(classifier.calls) == 1)
    waiting, _ = classify_from_threads(batcher, [b"b", b"c", b"d"])
    wait_until(lambda: batcher._queue.qsize() == 3)

    classifier.release.set()
    for thread in first + waiting:
        thread.join(10)

    assert batcher.batch_sizes == [1, 2, 1]


def test_with_two_threads_a_second_batch_is_scored_while_the_first_is_still_running() -> None:
    classifier = GatedClassifier()
    batcher = FrameBatcher(classifier, max_batch=16, threads=2)
    first, _ = classify_from_threads(batcher, [b"a"])
    wait_until(lambda: len(classifier.calls) == 1)
    second, answers = classify_from_threads(batcher, [b"b"])

    wait_until(lambda: len(classifier.calls) == 2)  # one thread would wait for the first call to end
    classifier.release.set()
    for thread in first + second:
        thread.join(10)

    assert classifier.calls == [[b"a"], [b"b"]]
    assert answers == {b"b": "b"}


def test_a_failed_batch_fails_every_frame_in_it() -> None:
    def broken(frames: Sequence[bytes]) -> list[FrameResult]:
        raise RuntimeError("model not loaded")

    batcher = FrameBatcher(broken, max_batch=4)

    with pytest.raises(RuntimeError, match="model not loaded"):
        batcher.classify_many([b"frame"], timeout=10)
    # The batching thread survives a failure.
    with pytest.raises(RuntimeError, match="model not loaded"):
        batcher.classify_many([b"frame"], timeout=10)


# --- A real worker ------------------------------------------------------------------------


@pytest.mark.services
def test_a_real_worker_answers_stream_frames_on_the_reply_channel(
    inference_worker_process, face_jpeg: bytes, no_face_jpeg: bytes
) -> None:
    assert "msgpack" in django_settings.CELERY_ACCEPT_CONTENT, "CELERY_ACCEPT_CONTENT must accept msgpack frames"
    from smile_site.celery import ping

    # The worker consumes the inference queue once it answers there.
    assert ping.apply_async(queue="inference").get(timeout=FIRST_ANSWER_TIMEOUT) == "pong"
    layer = get_channel_layer()
    # A long linger: the four frames travel as one task, and each comes back on its own.
    dispatcher = CeleryDispatcher(max_pending=8, queue="inference", linger_seconds=1.0)

    async def stream() -> list[dict[str, Any]]:
        channel = await layer.new_channel()
        for seq, frame in enumerate((face_jpeg, no_face_jpeg, b"not an image", face_jpeg), start=1):
            dispatcher.submit(frame=frame, reply_channel=channel, seq=seq)
        return [await asyncio.wait_for(layer.receive(channel), FIRST_ANSWER_TIMEOUT) for _ in range(4)]

    try:
        messages = sorted(async_to_sync(stream)(), key=lambda message: message["seq"])
    finally:
        dispatcher.shutdown()

    assert [message["type"] for message in messages] == ["inference.result"] * 4
    assert [message["seq"] for message in messages] == [1, 2, 3, 4]
    assert messages[0]["result"]["dominant"] == "happy"
    assert messages[3]["result"] == messages[0]["result"]
    assert messages[1]["result"] == {"face": False}
    assert messages[2]["result"] == {"error": "invalid_image"}
    assert all(message["latency_ms"] > 0 for message in messages)


@pytest.mark.services
def test_a_real_worker_reports_an_expired_frame_instead_of_scoring_it(inference_worker_process) -> None:
    assert "msgpack" in django_settings.CELERY_ACCEPT_CONTENT, "CELERY_ACCEPT_CONTENT must accept msgpack frames"
    from smile_site.celery import ping

    assert ping.apply_async(queue="inference").get(timeout=FIRST_ANSWER_TIMEOUT) == "pong"
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()

    tasks.stream_frames.apply_async(
        args=([[b"stale frame", channel, 11, time.time()], [b"stale too", channel, 12, time.time()]], None),
        queue="inference",
        serializer="msgpack",
        expires=datetime.now(UTC) - timedelta(seconds=1),
    )

    answers = receive(layer, channel, count=2, timeout=60)
    assert sorted(answers, key=lambda answer: answer["seq"]) == [
        {"type": "inference.failed", "seq": 11, "reason": "expired"},
        {"type": "inference.failed", "seq": 12, "reason": "expired"},
    ]


@pytest.mark.services
def test_a_prefork_worker_loads_the_model_after_fork_and_answers(redis_url: str, face_jpeg: bytes) -> None:
    # The parent never loads TensorFlow; each forked child does (worker_process_init). A child
    # that inherited a loaded runtime would hang here instead of answering.
    from smile_site.celery import ping

    with celery_worker(redis_url, queues="inference", pool="prefork", concurrency=1):
        assert ping.apply_async(queue="inference").get(timeout=FIRST_ANSWER_TIMEOUT) == "pong"
        layer = get_channel_layer()
        dispatcher = CeleryDispatcher(max_pending=2, queue="inference")

        async def stream() -> dict[str, Any]:
            channel = await layer.new_channel()
            dispatcher.submit(frame=face_jpeg, reply_channel=channel, seq=1)
            return await asyncio.wait_for(layer.receive(channel), FIRST_ANSWER_TIMEOUT)

        try:
            message = async_to_sync(stream)()
        finally:
            dispatcher.shutdown()
    assert message["type"] == "inference.result"
    assert message["result"]["dominant"] == "happy"
