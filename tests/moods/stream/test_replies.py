"""A worker answers without waiting for Redis; a send that fails is still heard of."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest
from channels.exceptions import ChannelFull
from prometheus_client import REGISTRY

from inference.batching import FrameBatcher
from inference.classifier import FrameResult
from moods.stream import messages, replies, tasks


class SlowFullLayer:
    """A channel layer whose sends take a while and then fail, as with a full channel."""

    def __init__(self, release: threading.Event) -> None:
        self.release = release
        self.sent: list[str] = []

    async def send(self, channel: str, message: dict[str, Any]) -> None:
        while not self.release.is_set():
            await asyncio.sleep(0.01)
        self.sent.append(channel)
        raise ChannelFull


def test_send_soon_returns_before_the_send_ends_and_reports_its_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    release = threading.Event()
    layer = SlowFullLayer(release)
    monkeypatch.setattr(replies, "get_channel_layer", lambda alias=None: layer)
    sender = replies.ChannelSender()
    failures: list[BaseException] = []
    heard = threading.Event()

    def on_failure(failure: BaseException) -> None:
        failures.append(failure)
        heard.set()

    started = time.monotonic()
    sender.send_soon("specific.web!inbox", messages.inference_failed(seq=1, reason="error"), on_failure=on_failure)
    assert time.monotonic() - started < 0.5  # did not wait for the layer
    assert failures == []
    release.set()

    assert heard.wait(5)
    assert layer.sent == ["specific.web!inbox"]
    assert [type(failure) for failure in failures] == [ChannelFull]


def test_send_soon_waits_once_too_many_sends_are_in_flight(monkeypatch: pytest.MonkeyPatch) -> None:
    release = threading.Event()
    layer = SlowFullLayer(release)
    monkeypatch.setattr(replies, "get_channel_layer", lambda alias=None: layer)
    monkeypatch.setattr(replies, "MAX_SENDS_IN_FLIGHT", 2)
    monkeypatch.setattr(replies, "SEND_TIMEOUT_SECONDS", 0.3)
    sender = replies.ChannelSender()
    failures: list[BaseException] = []
    message = messages.inference_failed(seq=1, reason="error")

    for _ in range(3):
        sender.send_soon("specific.web!inbox", message, on_failure=failures.append)

    assert [type(failure) for failure in failures] == [TimeoutError]  # the third: two already waited
    release.set()


def undelivered() -> float:
    return REGISTRY.get_sample_value("smile_worker_frames_failed_total", {"reason": "undelivered"}) or 0.0


def test_answers_that_cannot_be_delivered_count_once_per_frame(monkeypatch: pytest.MonkeyPatch) -> None:
    release = threading.Event()
    release.set()
    monkeypatch.setattr(replies, "get_channel_layer", lambda alias=None: SlowFullLayer(release))
    monkeypatch.setattr(tasks, "channel_sender", replies.ChannelSender())
    batcher = FrameBatcher(lambda frames: [FrameResult(face=False)] * len(frames), max_batch=4)
    monkeypatch.setattr(tasks.frame_batcher, "get", lambda: batcher)
    before = undelivered()
    now = time.time()

    tasks.stream_frames.run([[b"a", "specific.web!a", 1, now], [b"b", "specific.web!b", 2, now]], "specific.web!inbox")
    tasks.stream_frames.run([[b"c", "specific.web!c", 3, now]], None)

    deadline = time.monotonic() + 5
    while undelivered() < before + 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert undelivered() == before + 3
