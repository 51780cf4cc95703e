"""The stream's Celery task: the frames a web process sent together in, each result sent to its consumer.

The model loads in each worker process after fork: a runtime's threads do not survive a fork,
so a parent that forks never loads it (a ``--pool threads`` worker has no children: it loads
the model on its first frame). Frames are scored through a per-process ``FrameBatcher``, so
the frames that wait together share one network call. The task is a thin shell: it knows
the channel it answers on and the message it sends, not how a face is read.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, Final

from celery import shared_task
from celery.signals import task_revoked, worker_process_init

from common.lazy import Lazy
from inference.batching import FrameBatcher
from inference.classifier import classify_frames, get_classifier
from moods.stream import messages, metrics
from moods.stream.config import stream_config
from moods.stream.replies import channel_sender
from moods.stream.workers import start_heartbeat

logger = logging.getLogger(__name__)
# Imported for its signal handler: a worker that loads this task announces itself (``/healthz``).
__all__ = ["start_heartbeat", "stream_frames"]

# The wire name predates the move into moods (``inference.``); the route keeps it.
STREAM_TASK: Final = "inference.stream_frames"
# A frame older than this is no longer live: the worker discards it instead of scoring it.
STREAM_EXPIRES_SECONDS: Final = 5
# Celery's time limits only act in pools that can interrupt a task (prefork); the production
# worker runs ``--pool threads``, where they do nothing. So the task enforces its own deadline:
# a frame is answered (``error`` or ``expired``) at most this long after it was submitted,
# and the batcher never scores a frame its task stopped waiting for. A network call that
# hangs cannot be interrupted in a thread: its frames are answered ``error`` meanwhile.
STREAM_DEADLINE_SECONDS: Final = 10
STREAM_SOFT_TIME_LIMIT: Final = 10
STREAM_TIME_LIMIT: Final = 15

frame_batcher: Lazy[FrameBatcher] = Lazy(
    lambda: FrameBatcher(
        partial(classify_frames, stages=metrics.STAGES),
        max_batch=stream_config().batch_size,
        threads=stream_config().inference_threads,
    )
)


@worker_process_init.connect
def load_model_in_worker(**_: Any) -> None:
    get_classifier()
    logger.info("emotion model loaded in worker process")


@dataclass(frozen=True)
class StreamFrame:
    """One frame of a ``stream_frames`` task, as the web process sent it."""

    frame: bytes
    reply_channel: str
    seq: int
    submitted_at: float  # the web process's time.time(): the latency includes the queue wait

    @classmethod
    def from_wire(cls, item: Sequence[Any]) -> StreamFrame:
        frame, reply_channel, seq, submitted_at = item
        return cls(bytes(frame), str(reply_channel), int(seq), float(submitted_at))


@shared_task(
    name=STREAM_TASK,
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    soft_time_limit=STREAM_SOFT_TIME_LIMIT,
    time_limit=STREAM_TIME_LIMIT,
)
def stream_frames(frames: list[list[Any]], inbox: str | None) -> None:
    """Classify the frames one web process sent together; answer them in one message to its inbox.

    Each item is ``[frame, reply_channel, seq, submitted_at]``. The answers go in one
    ``inference.answers`` message to ``inbox`` (``moods.stream.inbox``), or without an inbox
    each to its consumer's channel. Sent with the msgpack serializer (frames travel as raw
    bytes, no base64 of their own) and an ``argsrepr`` that hides them, so no log or event
    carries their bytes. Acknowledged after it returns (``acks_late``), so the broker keeps the
    frames a busy worker has not taken.
    """
    batch = [StreamFrame.from_wire(item) for item in frames]
    now = time.time()
    answers: list[messages.FrameAnswer] = []
    live: list[StreamFrame] = []
    for item in batch:
        if now - item.submitted_at >= STREAM_DEADLINE_SECONDS:  # waited its whole deadline: not worth scoring
            answers.append((item.reply_channel, messages.inference_failed(seq=item.seq, reason="expired")))
            metrics.frame_failed("expired")
        else:
            live.append(item)
    if live:
        # The oldest frame's deadline bounds the wait: the batch was sent within a linger of it.
        remaining = STREAM_DEADLINE_SECONDS - max(0.0, now - min(item.submitted_at for item in live))
        try:
            results = frame_batcher.get().classify_many([item.frame for item in live], timeout=remaining)
        except Exception as exc:  # TimeoutError, SoftTimeLimitExceeded too: each consumer must hear back
            logger.warning("%d stream frame(s) not classified: %s", len(live), type(exc).__name__)
            for item in live:
                answers.append((item.reply_channel, messages.inference_failed(seq=item.seq, reason="error")))
                metrics.frame_failed("error")
        else:
            done = time.time()
            for item, result in zip(live, results, strict=True):
                outcome = messages.frame_outcome(result)
                latency_ms = max(0.0, (done - item.submitted_at) * 1000)
                message = messages.inference_result(seq=item.seq, outcome=outcome, latency_ms=latency_ms)
                answers.append((item.reply_channel, message))
    _send(answers, inbox)


def _send(answers: list[messages.FrameAnswer], inbox: str | None) -> None:
    """Send the answers without waiting for Redis: in one message to the inbox, else each to its channel."""
    if inbox is not None:
        count = len(answers)
        channel_sender.send_soon(
            inbox, messages.inference_answers(answers), on_failure=lambda failure: _undelivered(failure, count)
        )
        return
    for channel, message in answers:
        channel_sender.send_soon(channel, message, on_failure=lambda failure: _undelivered(failure, 1))


def _undelivered(failure: BaseException, frames: int) -> None:
    # The web process or consumer is gone, or its channel is full: nothing to retry.
    logger.warning("%d stream frame answer(s) not delivered: %s", frames, type(failure).__name__)
    for _frame in range(frames):
        metrics.frame_failed("undelivered")


@task_revoked.connect
def tell_the_consumers_of_expired_frames(sender: Any = None, request: Any = None, **_: Any) -> None:
    """Expired frames are discarded unscored; each consumer still gets an answer for its ``seq``."""
    if getattr(sender, "name", None) != STREAM_TASK or request is None:
        return
    try:
        frames, inbox = request.args
        expired = [StreamFrame.from_wire(frame) for frame in frames]
        answers: list[messages.FrameAnswer] = [
            (item.reply_channel, messages.inference_failed(seq=item.seq, reason="expired")) for item in expired
        ]
        _send(answers, inbox)
        for _frame in expired:
            metrics.frame_failed("expired")
    except Exception as exc:  # a signal handler must not break the worker
        logger.warning("could not report expired stream frames: %s", type(exc).__name__)
