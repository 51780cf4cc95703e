"""A frame's deadline holds on a ``--pool threads`` worker, where Celery's time limits do nothing (issue 14).

Celery enforces ``soft_time_limit``/``time_limit`` only in pools that can interrupt a task
(prefork signals); the production worker runs ``--pool threads``. So the task and the batcher
enforce the deadline themselves: a frame is answered within ``STREAM_DEADLINE_SECONDS`` of
its submission, and a frame its task gave up on is never scored afterwards.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Any

import pytest

from inference.batching import FrameBatcher
from inference.classifier import FrameResult
from moods.stream import tasks
from tests.moods.stream.test_dispatch import GatedClassifier, classify_from_threads, wait_until


class Recorder:
    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []

    def send_soon(self, channel: str, message: dict[str, Any], **_: Any) -> None:
        self.sent.append((channel, message))


@pytest.fixture
def answers(monkeypatch: pytest.MonkeyPatch) -> Recorder:
    recorder = Recorder()
    monkeypatch.setattr(tasks, "channel_sender", recorder)
    return recorder


def no_faces(frames: Sequence[bytes]) -> list[FrameResult]:
    return [FrameResult(face=False) for _ in frames]


def hung_batcher(monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    release = threading.Event()

    def hang(frames: Sequence[bytes]) -> list[FrameResult]:
        release.wait(30)
        return [FrameResult(face=False) for _ in frames]

    batcher = FrameBatcher(hang, max_batch=4)
    monkeypatch.setattr(tasks.frame_batcher, "get", lambda: batcher)
    return release


def test_a_hung_network_call_still_answers_the_frame_by_its_deadline(
    monkeypatch: pytest.MonkeyPatch, answers: Recorder
) -> None:
    release = hung_batcher(monkeypatch)
    submitted_at = time.time() - (tasks.STREAM_DEADLINE_SECONDS - 0.5)  # queued for most of its life
    started = time.monotonic()
    tasks.stream_frames.run([[b"frame", "reply-channel", 7, submitted_at]], None)
    elapsed = time.monotonic() - started
    release.set()

    assert elapsed < 1.5
    assert answers.sent == [("reply-channel", {"type": "inference.failed", "seq": 7, "reason": "error"})]


def test_a_frame_already_past_its_deadline_is_expired_unscored(
    monkeypatch: pytest.MonkeyPatch, answers: Recorder
) -> None:
    release = hung_batcher(monkeypatch)
    release.set()
    scored: list[bytes] = []

    def record(frames: Sequence[bytes]) -> list[FrameResult]:
        scored.extend(frames)
        return [FrameResult(face=False) for _ in frames]

    monkeypatch.setattr(tasks.frame_batcher.get(), "classify_batch", record)

    tasks.stream_frames.run([[b"frame", "reply-channel", 8, time.time() - tasks.STREAM_DEADLINE_SECONDS - 1]], None)

    assert scored == []
    assert answers.sent == [("reply-channel", {"type": "inference.failed", "seq": 8, "reason": "expired"})]


def test_a_batch_expires_its_stale_frames_and_scores_the_rest_each_answered_on_its_own_channel(
    monkeypatch: pytest.MonkeyPatch, answers: Recorder
) -> None:
    scored: list[bytes] = []

    def record(frames: Sequence[bytes]) -> list[FrameResult]:
        scored.extend(frames)
        return [FrameResult(face=False) for _ in frames]

    monkeypatch.setattr(tasks.frame_batcher, "get", lambda: FrameBatcher(record, max_batch=4))
    now = time.time()
    stale = now - tasks.STREAM_DEADLINE_SECONDS - 1
    batch = [[b"one", "channel-a", 1, now], [b"old", "channel-b", 2, stale], [b"two", "channel-b", 3, now]]
    tasks.stream_frames.run(batch, None)

    assert scored == [b"one", b"two"]
    assert sorted((channel, message["seq"], message["type"]) for channel, message in answers.sent) == [
        ("channel-a", 1, "inference.result"),
        ("channel-b", 2, "inference.failed"),
        ("channel-b", 3, "inference.result"),
    ]


def test_with_an_inbox_a_tasks_answers_travel_as_one_message_to_it(
    monkeypatch: pytest.MonkeyPatch, answers: Recorder
) -> None:
    monkeypatch.setattr(tasks.frame_batcher, "get", lambda: FrameBatcher(no_faces, max_batch=4))
    now = time.time()
    stale = now - tasks.STREAM_DEADLINE_SECONDS - 1
    tasks.stream_frames.run([[b"one", "channel-a", 1, now], [b"old", "channel-b", 2, stale]], "specific.web!inbox")

    [(channel, message)] = answers.sent
    assert (channel, message["type"]) == ("specific.web!inbox", "inference.answers")
    assert sorted((reply_channel, answer["seq"], answer["type"]) for reply_channel, answer in message["answers"]) == [
        ("channel-a", 1, "inference.result"),
        ("channel-b", 2, "inference.failed"),
    ]


def test_a_frame_its_task_gave_up_on_is_never_scored_later() -> None:
    classifier = GatedClassifier()
    batcher = FrameBatcher(classifier, max_batch=4)
    first, _ = classify_from_threads(batcher, [b"a"])
    wait_until(lambda: len(classifier.calls) == 1)

    with pytest.raises(TimeoutError):
        batcher.classify_many([b"late"], timeout=0.2)
    classifier.release.set()
    for thread in first:
        thread.join(10)
    time.sleep(0.2)

    assert classifier.calls == [[b"a"]]
