"""Shared fixtures: real services (skip or fail, see tests/services.py), fresh rate limits."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.core.cache import cache

from common import ratelimit
from moods.stream import device_rate
from tests.services import require_service

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# A whole number of hours (so of every rate's window) since the epoch: see fresh_rate_limits.
RATE_LIMIT_TIME = 1_800_000_000.0


def reachable_redis_url() -> str:
    """The configured Redis, reachable; otherwise skip (or fail in CI)."""
    url = settings.REDIS_URL
    if not url:
        require_service("Redis", "SMILE_REDIS_URL is not set")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        require_service("Redis", f"{url} did not answer PING ({type(exc).__name__})")
    return url


@pytest.fixture
def redis_url() -> str:
    return reachable_redis_url()


@contextlib.contextmanager
def celery_worker(
    redis_url: str, *, queues: str, pool: str = "solo", concurrency: int = 1
) -> Iterator[subprocess.Popen[bytes]]:
    """A real Celery worker process on ``redis_url`` consuming ``queues``, stopped on exit."""
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "smile_site",
            "worker",
            "--pool",
            pool,
            "--concurrency",
            str(concurrency),
            "--loglevel",
            "WARNING",
            "-Q",
            queues,
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
        ],
        cwd=PROJECT_ROOT,
        env={**os.environ, "SMILE_REDIS_URL": redis_url},
    )
    try:
        yield worker
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            worker.kill()


@pytest.fixture
def celery_worker_process(redis_url: str) -> Iterator[subprocess.Popen[bytes]]:
    """A real Celery worker on the ``default`` queue (health ping, housekeeping)."""
    with celery_worker(redis_url, queues="default") as worker:
        yield worker


@pytest.fixture(autouse=True)
def fast_password_hashing(settings) -> None:
    # The production hasher is deliberately slow; tests only need passwords to round-trip.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def fresh_rate_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test starts with no rate-limit hits, at the very start of every rate's window.

    Rate-limit counters live in the cache, which outlives a test. The pinned clock keeps a
    test's hits in one window, so limits and "try again in N minutes" are deterministic; tests
    that need time to pass pass ``now``.
    """
    clear_rate_limit_counters()
    device_rate.forget_local_buckets()
    monkeypatch.setattr(ratelimit, "clock", lambda: RATE_LIMIT_TIME)


def clear_rate_limit_counters() -> None:
    """Delete the counters only: on Redis, clearing the whole cache would flush the database
    the channel layer and the Celery broker share (a running worker's queue bindings too)."""
    if settings.REDIS_URL:
        client = redis.Redis.from_url(settings.REDIS_URL)
        # Rate-limit counters, and when streams closed (moods.stream.presence): both outlive a test.
        keys = [
            key
            for match in ("*smile:rl:*", "*smile:stream-closed:*")
            for key in client.scan_iter(match=match, count=1000)
        ]
        if keys:
            client.delete(*keys)
        client.close()
    else:
        cache.clear()
