"""Which inference workers are alive: a heartbeat key per worker in Redis (``/healthz`` reads them).

Every Celery worker that consumes the inference queue writes ``smile:worker:alive:<node>``
every ``HEARTBEAT_INTERVAL_SECONDS``, expiring after ``HEARTBEAT_TTL_SECONDS``: a worker that
dies (``kill -9``, a crash after a Redis restart) disappears from the count within the TTL,
with nothing to clean up. The key holds the time of the beat, nothing else.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from typing import Any, Final

import redis
from celery.signals import worker_ready, worker_shutdown
from django.conf import settings

logger = logging.getLogger(__name__)

HEARTBEAT_PREFIX: Final = "smile:worker:alive:"
HEARTBEAT_INTERVAL_SECONDS: Final = 3.0
HEARTBEAT_TTL_SECONDS: Final = 10

_stop = threading.Event()


def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)


def beat(client: redis.Redis, node: str, *, ttl: int = HEARTBEAT_TTL_SECONDS) -> None:
    client.set(f"{HEARTBEAT_PREFIX}{node}", str(time.time()), ex=ttl)


def alive_workers(url: str) -> int:
    """How many inference workers beat within the TTL (raises ``redis.RedisError`` when Redis is down)."""
    client = _client(url)
    try:
        return sum(1 for _ in client.scan_iter(match=f"{HEARTBEAT_PREFIX}*", count=100))
    finally:
        client.close()


class WorkerPresence:
    """Whether any inference worker is alive, for the web process's dispatcher.

    Asks Redis at most every ``alive_ttl`` seconds while workers are alive, and every
    ``dead_ttl`` seconds while none is (so a returning worker is noticed at once). If the
    heartbeats cannot be read, it says alive: publishing the frame then succeeds or fails on
    its own.
    """

    def __init__(self, *, alive_ttl: float = 2.0, dead_ttl: float = 0.25) -> None:
        self.alive_ttl = alive_ttl
        self.dead_ttl = dead_ttl
        self._alive = True
        self._until = 0.0
        self._lock = threading.Lock()

    def alive(self) -> bool:
        with self._lock:
            now = time.monotonic()
            if now < self._until:
                return self._alive
            url = settings.REDIS_URL
            try:
                alive = not url or alive_workers(url) > 0
            except redis.RedisError:
                alive = True
            self._alive, self._until = alive, now + (self.alive_ttl if alive else self.dead_ttl)
            return alive


def _beat_forever(url: str, node: str) -> None:
    client = _client(url)
    while not _stop.is_set():
        try:
            beat(client, node)
        except redis.RedisError as exc:  # Redis restarting: the next beat retries
            logger.warning("worker heartbeat not written: %s", type(exc).__name__)
        _stop.wait(HEARTBEAT_INTERVAL_SECONDS)
    with contextlib.suppress(redis.RedisError):  # a clean stop: gone at once rather than after the TTL
        client.delete(f"{HEARTBEAT_PREFIX}{node}")


@worker_ready.connect
def start_heartbeat(sender: Any = None, **_: Any) -> None:
    """In a worker that consumes the inference queue, beat from a daemon thread until shutdown."""
    url = settings.REDIS_URL
    app = getattr(sender, "app", None)
    queues = set(app.amqp.queues.consume_from) if app is not None else set()
    if not url or settings.SMILE_INFERENCE_QUEUE not in queues:
        return
    node = str(getattr(sender, "hostname", "worker"))
    _stop.clear()
    threading.Thread(target=_beat_forever, args=(url, node), name="smile-heartbeat", daemon=True).start()
    logger.info("inference worker heartbeat started for %s", node)


@worker_shutdown.connect
def stop_heartbeat(**_: Any) -> None:
    _stop.set()
