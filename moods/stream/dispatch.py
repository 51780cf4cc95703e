"""Submit a stream frame for inference; its result comes back as a channel-layer message.

One interface, two executors, chosen by settings (``conf.inference_executor``):

- ``ThreadPoolDispatcher`` (embedded mode, no Redis): a bounded pool of threads in this
  process runs ``classify_frames``.
- ``CeleryDispatcher`` (Redis configured): one publisher thread queues the frames that wait
  together (up to ``SMILE_INFERENCE_PUBLISH_LINGER_MS``) as one ``stream_frames`` task
  (``moods.stream.tasks``) on the inference queue; a worker scores them (merged with the other
  frames waiting there, see ``inference.batching.FrameBatcher``). While no
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
from dataclasses import dataclass
from functools import partial
from queue import Empty, SimpleQueue
from typing import Any

from channels.layers import BaseChannelLayer, get_channel_layer

from common.lazy import Lazy
from inference.classifier import FrameResult, classify_frames
from moods.stream import messages, metrics
from moods.stream.config import stream_config
from moods.stream.inbox import Inboxes
from moods.stream.replies import channel_sender
from moods.stream.tasks import STREAM_EXPIRES_SECONDS, stream_frames
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


@dataclass(frozen=True)
class _Waiting:
    """A frame between ``submit`` and its broker message."""

    frame: bytes
    reply_channel: str
    seq: int
    submitted_at: float
    loop: asyncio.AbstractEventLoop | None
    inbox: str | None  # where the worker sends the answers (``moods.stream.inbox``), or each to its reply channel


class CeleryDispatcher(Dispatcher):
    """Inference on Celery workers: the frames that arrive together travel as one task.

    A broker message costs the same CPU whether it carries one frame or sixteen (the task's
    envelope, kombu's JSON and base64, Redis's round trip here; the worker's receive, request
    and trace there). So frames submitted on an event loop gather for ``linger_seconds`` after
    the first (a timer on that loop; at ``max_batch`` they go at once), and the publisher thread
    sends each gathering, merged with any others already waiting for it, as one
    ``inference.stream_frames`` task. The thread wakes once per batch, not per frame: under
    load every wake-up waits for the event loop to let go of the GIL. The worker answers a
    task's frames in one message to this process's inbox (``moods.stream.inbox``).
    """

    def __init__(
        self,
        *,
        max_pending: int,
        queue: str,
        max_batch: int = 16,
        linger_seconds: float = 0.0,
        channel_layer: BaseChannelLayer | None = None,
        workers_alive: Callable[[], bool] | None = None,
    ) -> None:
        super().__init__(max_pending=max_pending, channel_layer=channel_layer)
        self._queue = queue
        self._max_batch = max_batch
        self._linger = linger_seconds
        # With no worker alive a frame would only wait in Redis until one returns, then expire.
        self._workers_alive = workers_alive or WorkerPresence().alive
        self.refused_without_workers = 0
        self._inboxes = Inboxes()
        # Frames gathering on each loop, and the timer that sends them; touched on that loop only.
        self._gathering: dict[asyncio.AbstractEventLoop, tuple[list[_Waiting], asyncio.TimerHandle]] = {}
        # One thread: a Redis outage must not block the event loop. None tells it to stop.
        self._batches: SimpleQueue[list[_Waiting] | None] = SimpleQueue()
        self._publisher = threading.Thread(target=self._publish_batches, name="smile-publish", daemon=True)
        self._publisher.start()

    def _start(self, *, frame: bytes, reply_channel: str, seq: int, loop: asyncio.AbstractEventLoop | None) -> None:
        inbox = self._inboxes.channel_for(self._channel_layer or get_channel_layer(), loop, reply_channel)
        item = _Waiting(frame, reply_channel, seq, time.time(), loop, inbox)
        if loop is None or self._linger <= 0:
            self._batches.put([item])
            return
        gathering = self._gathering.get(loop)
        if gathering is None:
            gathering = self._gathering[loop] = ([], loop.call_later(self._linger, self._send_gathered, loop))
        gathering[0].append(item)
        if len(gathering[0]) >= self._max_batch:
            self._send_gathered(loop)

    def _send_gathered(self, loop: asyncio.AbstractEventLoop) -> None:
        gathering = self._gathering.pop(loop, None)
        if gathering is not None:
            batch, timer = gathering
            timer.cancel()
            self._batches.put(batch)

    def _publish_batches(self) -> None:
        held: list[_Waiting] | None = None  # taken off the queue but too many for the last task
        while (batch := held if held is not None else self._batches.get()) is not None:
            held, stopping = None, False
            while len(batch) < self._max_batch:  # merge what else waits: the thread fell behind
                try:
                    more = self._batches.get_nowait()
                except Empty:
                    break
                if more is None:
                    stopping = True
                    break
                if len(batch) + len(more) > self._max_batch:
                    held = more
                    break
                batch = batch + more
            for inbox in dict.fromkeys(item.inbox for item in batch):  # one loop, one inbox: in practice one task
                try:
                    self._publish([item for item in batch if item.inbox == inbox], inbox)
                except Exception:  # the thread must outlive any one batch; _publish answers its frames
                    logger.exception("stream frames not published")
            if stopping:
                return

    def _publish(self, batch: list[_Waiting], inbox: str | None) -> None:
        if not self._workers_alive():
            self.refused_without_workers += len(batch)
            if self.refused_without_workers % 100 < len(batch):
                refused = self.refused_without_workers
                logger.warning("no inference worker alive: %d frame(s) answered unavailable", refused)
            self._answer_failed(batch)
            return
        try:
            metrics.frames_published(len(batch))
            # celery-types omits argsrepr/kwargsrepr, which Celery's apply_async accepts (amqp.as_task_v2).
            stream_frames.apply_async(  # type: ignore[call-arg]
                args=([[item.frame, item.reply_channel, item.seq, item.submitted_at] for item in batch], inbox),
                queue=self._queue,
                serializer="msgpack",
                expires=STREAM_EXPIRES_SECONDS,
                retry_policy=PUBLISH_RETRY_POLICY,
                # What Celery logs and emits in events instead of the arguments: never a frame.
                argsrepr=f"(<{len(batch)} frame(s), {sum(len(item.frame) for item in batch)} bytes>, "
                f"seqs {[item.seq for item in batch]})",
                kwargsrepr="{}",
            )
        except Exception as exc:  # the consumer must hear back about every frame
            logger.warning("%d stream frame(s) not queued: %s", len(batch), type(exc).__name__)
            self._answer_failed(batch)
            return
        for _ in batch:
            self._slots.release()

    def _answer_failed(self, batch: list[_Waiting]) -> None:
        for item in batch:
            self._slots.release()
            self._deliver(item.reply_channel, messages.inference_failed(seq=item.seq, reason="error"), item.loop)

    def shutdown(self) -> None:
        self._batches.put(None)


def _build_dispatcher() -> Dispatcher:
    config = stream_config()
    if config.executor == "celery":
        return CeleryDispatcher(
            max_pending=config.max_pending,
            queue=config.queue,
            max_batch=config.batch_size,
            linger_seconds=config.publish_linger_seconds,
        )
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
