"""Fixtures for the moods tests: the inference test images, and a real Celery worker on the inference queue."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator

import pytest

from moods.stream.workers import alive_workers
from tests.conftest import celery_worker
from tests.inference.conftest import face_jpeg, no_face_jpeg

__all__ = ["face_jpeg", "inference_worker_process", "no_face_jpeg"]


@pytest.fixture
def inference_worker_process(redis_url: str) -> Iterator[subprocess.Popen[bytes]]:
    """A real Celery worker consuming the ``inference`` queue with a thread pool (so frames batch)."""
    with celery_worker(redis_url, queues="inference", pool="threads", concurrency=4) as worker:
        # The web side publishes frames only while a worker's heartbeat is fresh.
        deadline = time.monotonic() + 120
        while not alive_workers(redis_url):
            assert worker.poll() is None, "the inference worker died"
            assert time.monotonic() < deadline, "the inference worker wrote no heartbeat within 120 s"
            time.sleep(0.2)
        yield worker
