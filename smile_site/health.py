"""``/healthz``: whether this process reaches its database and Redis, and (in Celery mode)
whether any inference worker is alive, as JSON, within 2 s.

Each check runs on a small pool of its own threads and counts as ``down`` when it has not
answered by ``CHECK_DEADLINE_SECONDS``: a frozen database (a partition) must not hang the
probe. The pool is bounded, so checks stuck on a frozen service cannot pile up threads.
"""

from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Final

import redis
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from moods.stream.config import stream_config
from moods.stream.workers import alive_workers

logger = logging.getLogger(__name__)

# The probe answers within this, whatever the services do (the orchestrator's timeout is 5 s).
CHECK_DEADLINE_SECONDS: Final = 1.5
_checks = ThreadPoolExecutor(max_workers=4, thread_name_prefix="smile-health")


def query_database() -> None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    finally:
        connection.close()  # this pool thread's own connection: never left open


def database_status() -> str:
    try:
        query_database()
    except Exception as exc:  # any driver error means "down"; the type goes to the log
        logger.warning("health: database unreachable: %s", type(exc).__name__)
        return "down"
    return "ok"


def redis_status() -> str:
    if not settings.REDIS_URL:
        return "not configured"
    try:
        client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1)
        client.ping()
        client.close()
    except redis.RedisError as exc:
        logger.warning("health: redis unreachable: %s", type(exc).__name__)
        return "down"
    return "ok"


def workers_status() -> str:
    """``ok`` when at least one inference worker's heartbeat is fresh (``moods.stream.workers``)."""
    try:
        return "ok" if alive_workers(settings.REDIS_URL) else "down"
    except redis.RedisError as exc:
        logger.warning("health: worker heartbeats unreadable: %s", type(exc).__name__)
        return "down"


def run_checks() -> dict[str, str]:
    """Each check's state (``ok``, ``down``, ``not configured``), within ``CHECK_DEADLINE_SECONDS``.

    ``/healthz`` answers with it, and each daphne exports it as ``smile_health_up`` (``smile_site.metrics``).
    """
    pending: dict[str, Future[str]] = {
        "database": _checks.submit(database_status),
        "redis": _checks.submit(redis_status),
    }
    if stream_config().executor == "celery":
        pending["workers"] = _checks.submit(workers_status)
    wait(pending.values(), timeout=CHECK_DEADLINE_SECONDS)
    checks = {name: future.result() if future.done() else "down" for name, future in pending.items()}
    for name, future in pending.items():
        if not future.done():
            logger.warning("health: %s did not answer within %.1f s", name, CHECK_DEADLINE_SECONDS)
    return checks


@require_GET
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    checks = run_checks()
    healthy = all(state in {"ok", "not configured"} for state in checks.values())
    return JsonResponse({"status": "ok" if healthy else "down", **checks}, status=200 if healthy else 503)
