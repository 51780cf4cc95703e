"""Submit a stream frame for inference; its result comes back as a channel-layer message.

One interface, two executors, chosen by settings (``conf.inference_executor``):

- ``ThreadPoolDispatcher`` (embedded mode, no Redis): a bounded pool of threads in this
  process runs ``classify_frames``.
- ``CeleryDispatcher`` (Redis configured): one publisher thread queues a ``stream_frame``
  task (``moods.stream.tasks``) per frame on the inference queue; a worker scores it
  (batching frames that wait together, see ``inference.batching.FrameBatcher``). While no
  worker's heartbeat is fresh (``moods.stream.workers``), frames are answered ``error`` at
  once instead of waiting in Redis for a worker.

Either way ``reply_channel`` then receives exactly one message per submitted frame
(``moods.stream.messages``): ``inference.result``, or ``inference.failed`` when the frame got
no result (``error``; ``expired`` when a worker found it older than 5 s). A consumer should
still time out frames in flight: a worker killed mid-frame or a lost Redis connection sends nothing.

``submit`` never blocks: it is called from the consumer's event loop. It raises
``DispatchBusy`` when this process already holds ``SMILE_INFERENCE_MAX_PENDING`` frames
(the consumer answers ``dropped``/``busy``); nothing queues without bound. Frames stay in
memory; logs name frames by ``seq`` only.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial
from typing import Any

from channels.layers import BaseChannelLayer, get_channel_layer

from common.lazy import Lazy
from inference.classifier import FrameResult, classify_frames
from moods.stream import messages, metrics
from moods.stream.config import stream_config
from moods.stream.replies import channel_sender
from moods.stream.tasks import STREAM_EXPIRES_SECONDS, stream_frame
from moods.stream.workers import WorkerPresence

logger = logging.getLogger(__name__)

# Publishing waits at most this long for a lost Redis connection: a live frame is soon stale.
PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.1, "interval_max": 0.2}


class DispatchBusy(Exception):
    """This process already holds as many frames as it may; drop this one."""


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _log_send_failure(future: Future[Any]) -> None:
    if not future.cancelled() and future.exception() is not None:
        logger.warning("inference answer not delivered: %s", type(future.exception()).__name__)


class Dispatcher(ABC):
    def __init__(self, *, max_pending: int, channel_layer: BaseChannelLayer | None = None) -> None:
        self._slots = threading.BoundedSemaphore(max_pending)
        self._channel_layer = channel_layer

    def submit(self, *, frame: bytes, reply_channel: str, seq: int) -> None:
        """Hand the frame over without blocking; raises ``DispatchBusy`` when this process is full."""
        if not self._slots.acquire(blocking=False):
            raise DispatchBusy
        try:
            self._start(frame=frame, reply_channel=reply_channel, seq=seq, loop=_running_loop())
        except BaseException:
            self._slots.release()
            raise

    @abstractmethod
    def _start(self, *, frame: bytes, reply_channel: str, seq: int, loop: asyncio.AbstractEventLoop | None) -> None:
        """Start the frame's journey; the subclass releases its slot when the frame leaves this process."""

    @abstractmethod
    def shutdown(self) -> None:
        """Stop the executor's threads (tests, settings changes)."""

    def _deliver(
        self, reply_channel: str, message: messages.ChannelMessage, loop: asyncio.AbstractEventLoop | None
    ) -> None:
        """Send on the submitter's event loop when there is one (the in-memory layer is bound to it)."""
        layer = self._channel_layer or get_channel_layer()
        if loop is None or loop.is_closed():
            try:
                channel_sender.send(reply_channel, message, layer=layer)
            except Exception as exc:  # a lost answer is logged; the consumer times the frame out
                logger.warning("inference answer not delivered: %s", type(exc).__name__)
            return
        try:
            future = asyncio.run_coroutine_threadsafe(layer.send(reply_channel, message), loop)
        except RuntimeError as exc:  # the loop closed meanwhile: its consumer is gone
            logger.debug("inference answer dropped: %s", exc)
            return
        future.add_done_callback(_log_send_failure)


class ThreadPoolDispatcher(Dispatcher):
    """Inference in this process: ``max_workers`` threads, at most ``max_pending`` frames held."""

    def __init__(
        self,
        *,
        max_workers: int,
        max_pending: int,
        classify: Callable[[Sequence[bytes]], list[FrameResult]] = classify_frames,
        channel_layer: BaseChannelLayer | None = None,
    ) -> None:
        super().__init__(max_pending=max_pending, channel_layer=channel_layer)
        self._classify = classify
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="smile-inference")

    def _start(self, *, frame: bytes, reply_channel: str, seq: int, loop: asyncio.AbstractEventLoop | None) -> None:
        self._pool.submit(self._work, frame, reply_channel, seq, time.monotonic(), loop)

    def _work(
        self, frame: bytes, reply_channel: str, seq: int, started: float, loop: asyncio.AbstractEventLoop | None
    ) -> None:
        message: messages.ChannelMessage
        try:
            [result] = self._classify([frame])
            message = messages.inference_result(
                seq=seq, outcome=messages.frame_outcome(result), latency_ms=(time.monotonic() - started) * 1000
            )
        except Exception as exc:  # the consumer must hear back about every frame
            logger.warning("stream frame %s not classified: %s", seq, type(exc).__name__)
            message = messages.inference_failed(seq=seq, reason="error")
        finally:
            self._slots.release()
        self._deliver(reply_channel, message, loop)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


class CeleryDispatcher(Dispatcher):
    """Inference on Celery workers: a publisher thread queues one task per frame, at most ``max_pending`` waiting."""

    def __init__(
        self,
        *,
        max_pending: int,
        queue: str,
        channel_layer: BaseChannelLayer | None = None,
        workers_alive: Callable[[], bool] | None = None,
    ) -> None:
        super().__init__(max_pending=max_pending, channel_layer=channel_layer)
        self._queue = queue
        # One thread: publishing takes a millisecond, and a Redis outage must not block the event loop.
        self._publisher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="smile-publish")
        # With no worker alive a frame would only wait in Redis until one returns, then expire.
        self._workers_alive = workers_alive or WorkerPresence().alive
        self.refused_without_workers = 0

    def _start(self, *, frame: bytes, reply_channel: str, seq: int, loop: asyncio.AbstractEventLoop | None) -> None:
        self._publisher.submit(self._publish, frame, reply_channel, seq, time.time(), loop)

    def _publish(
        self, frame: bytes, reply_channel: str, seq: int, submitted_at: float, loop: asyncio.AbstractEventLoop | None
    ) -> None:
        if not self._workers_alive():
            self.refused_without_workers += 1
            if self.refused_without_workers % 100 == 1:
                refused = self.refused_without_workers
                logger.warning("no inference worker alive: %d frame(s) answered unavailable", refused)
            self._slots.release()
            self._deliver(reply_channel, messages.inference_failed(seq=seq, reason="error"), loop)
            return
        try:
            # celery-types omits argsrepr/kwargsrepr, which Celery's apply_async accepts (amqp.as_task_v2).
            stream_frame.apply_async(  # type: ignore[call-arg]
                args=(frame, reply_channel, seq, submitted_at),
                queue=self._queue,
                serializer="msgpack",
                expires=STREAM_EXPIRES_SECONDS,
                retry_policy=PUBLISH_RETRY_POLICY,
                # What Celery logs and emits in events instead of the arguments: never the frame.
                argsrepr=f"(<frame of {len(frame)} bytes>, {reply_channel!r}, {seq}, {submitted_at})",
                kwargsrepr="{}",
            )
        except Exception as exc:  # the consumer must hear back about every frame
            logger.warning("stream frame %s not queued: %s", seq, type(exc).__name__)
            self._slots.release()
            self._deliver(reply_channel, messages.inference_failed(seq=seq, reason="error"), loop)
            return
        self._slots.release()

    def shutdown(self) -> None:
        self._publisher.shutdown(wait=False, cancel_futures=True)


def _build_dispatcher() -> Dispatcher:
    config = stream_config()
    if config.executor == "celery":
        return CeleryDispatcher(max_pending=config.max_pending, queue=config.queue)
    # The embedded mode scores in this process: its frame path is timed like a worker's.
    classify = partial(classify_frames, stages=metrics.STAGES)
    return ThreadPoolDispatcher(max_workers=config.inference_threads, max_pending=config.max_pending, classify=classify)


_dispatcher: Lazy[Dispatcher] = Lazy(_build_dispatcher)


def get_dispatcher() -> Dispatcher:
    """The process's dispatcher, built from settings on first use."""
    return _dispatcher.get()


def reset_dispatcher() -> None:
    """Forget the process's dispatcher (its threads stop); the next ``submit`` builds one from settings."""
    old = _dispatcher.reset()
    if old is not None:
        old.shutdown()


def submit(*, frame: bytes, reply_channel: str, seq: int) -> None:
    """Submit one frame; ``reply_channel`` receives its ``inference.result`` (or ``inference.failed``).

    Safe to call from the event loop: it never blocks. Raises ``DispatchBusy`` when full.
    """
    get_dispatcher().submit(frame=frame, reply_channel=reply_channel, seq=seq)
