"""Scoring the frames that wait at the same time in one network call.

A per-process batcher for executors that run several frame tasks at once (a Celery worker
with ``--pool threads``): each task hands its frames over and waits for their results.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future

from inference.classifier import FrameResult


class FrameBatcher:
    """Scores the frames that wait at the same time in one network call.

    The simplest correct design that batches on the worker: each task hands its frames to this
    per-process batcher and waits for their results. A batching thread takes the first waiting
    frame, then every frame already waiting (up to ``max_batch``), and classifies them
    together; frames that arrive meanwhile form the next batch. ``threads`` such threads share
    the queue: decoding, detection and the network release the GIL, so one process scores on
    every core it is given instead of one frame path at a time. There is no flush timer: a
    lone frame goes at once (no added latency), and batches form by themselves when frames
    arrive faster than they are scored. A batch holds one task's frames (a web process's
    publish batch) plus those of the other tasks running at once in this process: run the
    worker with ``--pool threads --concurrency N``. Under ``prefork`` or ``solo`` each process
    runs one task at a time, so a batch holds that task's frames only: still correct.

    Bounded: only the frames of the tasks running wait (a task carries at most the web
    process's publish batch). A frame whose task stopped waiting (its
    ``timeout``) is dropped unscored. Frames stay in memory.
    """

    def __init__(
        self, classify: Callable[[Sequence[bytes]], list[FrameResult]], *, max_batch: int, threads: int = 1
    ) -> None:
        self.classify_batch = classify
        self.max_batch = max_batch
        self.batch_sizes: list[int] = []  # the last few, for tests and debugging
        self._queue: queue.SimpleQueue[tuple[bytes, Future[FrameResult]]] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._thread_count = threads
        self._lock = threading.Lock()

    def classify_many(self, frames: Sequence[bytes], *, timeout: float) -> list[FrameResult]:
        """These frames' results, in order; raises ``TimeoutError`` if any is not scored within ``timeout``."""
        futures: list[Future[FrameResult]] = []
        for frame in frames:
            futures.append(Future())
            self._queue.put((frame, futures[-1]))
        self._ensure_thread()
        deadline = time.monotonic() + timeout
        try:
            return [future.result(timeout=max(0.0, deadline - time.monotonic())) for future in futures]
        except TimeoutError:
            for future in futures:
                future.cancel()  # those still waiting: the batching thread skips them (nobody wants their result)
            raise

    def _ensure_thread(self) -> None:
        # Started on first use, so a forked worker child starts its own.
        with self._lock:
            self._threads = [thread for thread in self._threads if thread.is_alive()]
            while len(self._threads) < self._thread_count:
                self._threads.append(threading.Thread(target=self._run, name="smile-frame-batcher", daemon=True))
                self._threads[-1].start()

    def _run(self) -> None:
        while True:
            batch = [self._queue.get()]
            while len(batch) < self.max_batch:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            # A frame whose task gave up (timed out) is cancelled: never scored afterwards.
            batch = [(frame, future) for frame, future in batch if future.set_running_or_notify_cancel()]
            if not batch:
                continue
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
