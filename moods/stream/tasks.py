"""The stream's Celery task: one frame in, its result sent to the consumer that submitted it.

The model loads in each worker process after fork: a runtime's threads do not survive a fork,
so a parent that forks never loads it (a ``--pool threads`` worker has no children: it loads
the model on its first frame). Frames are scored through a per-process ``FrameBatcher``, so
the frames that wait together share one network call. The task is a thin shell: it knows
the channel it answers on and the message it sends, not how a face is read.
"""

from __future__ import annotations

import logging
import time
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
__all__ = ["start_heartbeat", "stream_frame"]

# The wire name predates the move into moods; workers and the route keep it.
STREAM_TASK: Final = "inference.stream_frame"
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
    lambda: FrameBatcher(partial(classify_frames, stages=metrics.STAGES), max_batch=stream_config().batch_size)
)


@worker_process_init.connect
def load_model_in_worker(**_: Any) -> None:
    get_classifier()
    logger.info("emotion model loaded in worker process")


@shared_task(
    name=STREAM_TASK,
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    soft_time_limit=STREAM_SOFT_TIME_LIMIT,
    time_limit=STREAM_TIME_LIMIT,
)
def stream_frame(frame: bytes, reply_channel: str, seq: int, submitted_at: float) -> None:
    """Classify one stream frame and send its result to the consumer's channel.

    Sent with the msgpack serializer (the frame travels as raw bytes, no base64) and an
    ``argsrepr`` that hides the frame, so no log or event carries its bytes. ``submitted_at``
    is the web process's ``time.time()``: the latency includes the queue wait. Acknowledged
    after it returns (``acks_late``), so the broker keeps the frames a busy worker has not taken.
    """
    message: messages.ChannelMessage
    remaining = STREAM_DEADLINE_SECONDS - max(0.0, time.time() - submitted_at)
    if remaining <= 0:  # waited in the queue for its whole deadline: not worth scoring
        message = messages.inference_failed(seq=seq, reason="expired")
        metrics.frame_failed("expired")
    else:
        try:
            result = frame_batcher.get().classify(bytes(frame), timeout=remaining)
        except Exception as exc:  # TimeoutError, SoftTimeLimitExceeded too: the consumer must hear back
            logger.warning("stream frame %s not classified: %s", seq, type(exc).__name__)
            message = messages.inference_failed(seq=seq, reason="error")
            metrics.frame_failed("error")
        else:
            latency_ms = max(0.0, (time.time() - submitted_at) * 1000)
            outcome = messages.frame_outcome(result)
            message = messages.inference_result(seq=seq, outcome=outcome, latency_ms=latency_ms)
    try:
        channel_sender.send(reply_channel, message)
    except Exception as exc:  # the consumer is gone or its channel is full: nothing to retry
        logger.warning("stream frame %s answer not delivered: %s", seq, type(exc).__name__)
        metrics.frame_failed("undelivered")


@task_revoked.connect
def tell_the_consumer_of_an_expired_frame(sender: Any = None, request: Any = None, **_: Any) -> None:
    """An expired frame is discarded unscored; its consumer still gets an answer for that ``seq``."""
    if getattr(sender, "name", None) != STREAM_TASK or request is None:
        return
    try:
        _, reply_channel, seq, _ = request.args
        channel_sender.send(reply_channel, messages.inference_failed(seq=seq, reason="expired"))
        metrics.frame_failed("expired")
    except Exception as exc:  # a signal handler must not break the worker
        logger.warning("could not report an expired stream frame: %s", type(exc).__name__)
