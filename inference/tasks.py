"""Celery side of inference: load the model in each worker process after fork.

TensorFlow hangs in forked children that inherit an initialised runtime, so the parent never
loads the model; each worker child loads it once at start (a ``--pool threads`` worker has
no children: it loads the model on its first frame). The stream's task, ``stream_frame``,
scores frames through a per-process ``FrameBatcher`` and answers on the channel layer.
"""

from __future__ import annotations

import asyncio
import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Any

from celery import shared_task
from celery.signals import task_revoked, worker_process_init
from channels import DEFAULT_CHANNEL_LAYER
from channels.layers import BaseChannelLayer, get_channel_layer

from inference.classifier import FrameResult, classify_frames, get_classifier

logger = logging.getLogger(__name__)


@worker_process_init.connect
def load_model_in_worker(**_: Any) -> None:
    get_classifier()
    logger.info("emotion model loaded in worker process")


# --- The stream's frames -----------------------------------------------------------------

STREAM_TASK = "inference.stream_frame"
# The dispatcher names the queue on each message (Celery deprecates a task-level queue).
STREAM_QUEUE = "inference"
# A frame older than this is no longer live: the worker discards it instead of scoring it.
STREAM_EXPIRES_SECONDS = 5
STREAM_SOFT_TIME_LIMIT = 10
STREAM_TIME_LIMIT = 15
# Most frames one worker process scores in one network call (SMILE_INFERENCE_BATCH_SIZE).
DEFAULT_BATCH_SIZE = 16


class FrameBatcher:
    """Scores the frames that wait at the same time in one network call.

    The simplest correct design that batches on the worker: each ``stream_frame`` task hands
    its frame to this per-process batcher and waits for its own result. One thread takes
    the first waiting frame, then every frame already waiting (up to ``max_batch``), and
    classifies them together; frames that arrive meanwhile form the next batch. There is no
    flush timer: a lone frame goes at once (no added latency), and batches form by
    themselves when frames arrive faster than they are scored. Batches need several tasks
    running at once in one process: run the worker with ``--pool threads --concurrency N``
    (TensorFlow and OpenCV release the GIL). Under ``prefork`` or ``solo`` each process
    runs one task at a time, so every batch holds one frame: still correct, just unbatched.

    Bounded: at most one frame per task thread waits, and the acknowledgement happens after
    the task returns (``acks_late``), so the broker keeps the rest. Frames stay in memory.
    """

    def __init__(self, classify: Callable[[Sequence[bytes]], list[FrameResult]], *, max_batch: int) -> None:
        self.classify_batch = classify
        self.max_batch = max_batch
        self.batch_sizes: list[int] = []  # the last few, for tests and debugging
        self._queue: queue.SimpleQueue[tuple[bytes, Future[FrameResult]]] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def classify(self, frame: bytes, *, timeout: float) -> FrameResult:
        """This frame's result, scored with whatever else waits; raises ``TimeoutError`` after ``timeout``."""
        future: Future[FrameResult] = Future()
        self._queue.put((frame, future))
        self._ensure_thread()
        return future.result(timeout=timeout)

    def _ensure_thread(self) -> None:
        # Started on first use, so a forked worker child starts its own.
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="smile-frame-batcher", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            batch = [self._queue.get()]
            while len(batch) < self.max_batch:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            self.batch_sizes = [*self.batch_sizes[-31:], len(batch)]
            try:
                results = self.classify_batch([frame for frame, _ in batch])
                if len(results) != len(batch):
                    raise RuntimeError(f"{len(results)} results for {len(batch)} frames")
            except Exception as exc:  # every waiting task must learn of the failure
                for _, future in batch:
                    future.set_exception(exc)
            else:
                for (_, future), result in zip(batch, results, strict=True):
                    future.set_result(result)
            del batch


class ChannelSender:
    """Sends channel-layer messages from any thread over one event loop owned by this object.

    ``async_to_sync`` would start a fresh event loop per message, and the Redis channel layer
    a fresh connection per loop; one long-lived loop keeps one connection pool per process.
    """

    def __init__(self, layer_alias: str = DEFAULT_CHANNEL_LAYER) -> None:
        self.layer_alias = layer_alias
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pid = 0
        self._lock = threading.Lock()

    def send(
        self,
        channel: str,
        message: dict[str, Any],
        *,
        layer: BaseChannelLayer | None = None,
        timeout: float = 5.0,
    ) -> None:
        """Send and wait for the layer to take the message (raises what ``layer.send`` raises)."""
        layer = layer or get_channel_layer(self.layer_alias)
        asyncio.run_coroutine_threadsafe(layer.send(channel, message), self._ensure_loop()).result(timeout)

    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            # A forked child inherits the loop object but not the thread that runs it.
            if self._loop is None or self._loop.is_closed() or self._pid != os.getpid():
                loop = asyncio.new_event_loop()
                threading.Thread(target=loop.run_forever, name="smile-channel-sender", daemon=True).start()
                self._loop, self._pid = loop, os.getpid()
            return self._loop


_batcher: FrameBatcher | None = None
_batcher_lock = threading.Lock()
channel_sender = ChannelSender()


def frame_batcher() -> FrameBatcher:
    global _batcher
    if _batcher is None:
        with _batcher_lock:
            if _batcher is None:
                from django.conf import settings

                max_batch = max(1, int(getattr(settings, "SMILE_INFERENCE_BATCH_SIZE", DEFAULT_BATCH_SIZE)))
                _batcher = FrameBatcher(classify_frames, max_batch=max_batch)
    return _batcher


def result_message(*, seq: int, result: dict[str, Any], latency_ms: float) -> dict[str, Any]:
    """The channel-layer message that carries one frame's result to its stream consumer."""
    return {"type": "inference.result", "seq": seq, "result": result, "latency_ms": round(latency_ms, 1)}


def failed_message(*, seq: int, reason: str) -> dict[str, Any]:
    """The message for a frame that got no result (``expired``, ``error``): the consumer frees its slot."""
    return {"type": "inference.failed", "seq": seq, "reason": reason}


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
    is the web process's ``time.time()``: the latency includes the queue wait.
    """
    payload: dict[str, Any] | None
    try:
        payload = frame_batcher().classify(bytes(frame), timeout=STREAM_SOFT_TIME_LIMIT).as_message()
    except Exception as exc:  # SoftTimeLimitExceeded too: the consumer must hear back
        logger.warning("stream frame %s not classified: %s", seq, type(exc).__name__)
        payload = None
    try:
        if payload is None:
            channel_sender.send(reply_channel, failed_message(seq=seq, reason="error"))
        else:
            latency_ms = max(0.0, (time.time() - submitted_at) * 1000)
            channel_sender.send(reply_channel, result_message(seq=seq, result=payload, latency_ms=latency_ms))
    except Exception as exc:  # the consumer is gone or its channel is full: nothing to retry
        logger.warning("stream frame %s answer not delivered: %s", seq, type(exc).__name__)


@task_revoked.connect
def tell_the_consumer_of_an_expired_frame(sender: Any = None, request: Any = None, **_: Any) -> None:
    """An expired frame is discarded unscored; its consumer still gets an answer for that ``seq``."""
    if getattr(sender, "name", None) != STREAM_TASK or request is None:
        return
    try:
        _, reply_channel, seq, _ = request.args
        channel_sender.send(reply_channel, failed_message(seq=seq, reason="expired"))
    except Exception as exc:  # a signal handler must not break the worker
        logger.warning("could not report an expired stream frame: %s", type(exc).__name__)
