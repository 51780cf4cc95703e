"""Fixtures for the moods tests: the inference test images, and a real Celery worker on the inference queue."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from tests.conftest import PROJECT_ROOT
from tests.inference.conftest import face_jpeg, no_face_png

__all__ = ["face_jpeg", "inference_worker_process", "no_face_png"]


@pytest.fixture
def inference_worker_process(redis_url: str) -> Iterator[subprocess.Popen[bytes]]:
    """A real Celery worker consuming the ``inference`` queue with a thread pool (so frames batch)."""
    env = {**os.environ, "SMILE_REDIS_URL": redis_url}
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "smile_site",
            "worker",
            "--pool",
            "threads",
            "--concurrency",
            "4",
            "--loglevel",
            "WARNING",
            "-Q",
            "inference",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
        ],
        cwd=PROJECT_ROOT,
        env=env,
    )
    time.sleep(0.5)
    try:
        yield worker
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            worker.kill()
