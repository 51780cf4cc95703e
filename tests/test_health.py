"""``/healthz`` under faults (issue 14): it answers within 2 s and says what is down.

A frozen database (a partition: connections that neither answer nor fail) hung the probe
itself, so the orchestrator could not tell a stuck process from a slow one.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
from django.test import Client

from smile_site import health
from tests.test_platform import run_manage

HEALTH_DEADLINE_SECONDS = 2.0


@pytest.fixture
def frozen_database(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    release = threading.Event()

    def hang() -> None:
        release.wait(30)

    monkeypatch.setattr(health, "query_database", hang)
    yield
    release.set()


@pytest.mark.django_db
@pytest.mark.usefixtures("frozen_database")
def test_healthz_answers_within_2_s_and_names_a_frozen_database(client: Client) -> None:
    started = time.monotonic()
    response = client.get("/healthz")
    elapsed = time.monotonic() - started

    assert elapsed < HEALTH_DEADLINE_SECONDS
    assert response.status_code == 503
    assert response.json()["status"] == "down"
    assert response.json()["database"] == "down"


def test_postgres_connections_give_up_after_a_connect_timeout() -> None:
    # A partition must fail a connect within seconds, not hang it (libpq's default waits forever).
    result = run_manage(
        "shell",
        "-c",
        "from django.conf import settings; print(settings.DATABASES['default']['OPTIONS'].get('connect_timeout'))",
        env={"SMILE_DATABASE_URL": "postgres://smile@127.0.0.1:5432/smile"},
    )
    assert result.returncode == 0, result.stderr
    assert 1 <= int(result.stdout.strip().splitlines()[-1]) <= 5


def test_a_database_that_accepts_but_never_answers_fails_the_connect_in_time(settings) -> None:
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        pytest.skip("the connect timeout is a Postgres setting")
    import psycopg

    # A listening socket that never accepts: the TCP handshake completes, the server never speaks.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        options = settings.DATABASES["default"]["OPTIONS"]
        started = time.monotonic()
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(host="127.0.0.1", port=silent.getsockname()[1], user="smile", dbname="smile", **options)
        assert time.monotonic() - started < options["connect_timeout"] + 2


def test_a_redis_that_accepts_but_never_answers_fails_a_cache_call_in_time(settings) -> None:
    """Rate limits and presence read the cache on every request: a silent Redis must fail them, not hang them."""
    cache_settings = settings.CACHES["default"]
    if not cache_settings["BACKEND"].endswith("RedisCache"):
        pytest.skip("the embedded cache is in memory")
    import redis
    from django.core.cache.backends.redis import RedisCache

    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        cache = RedisCache(
            f"redis://127.0.0.1:{silent.getsockname()[1]}/0", {"OPTIONS": cache_settings.get("OPTIONS", {})}
        )
        started = time.monotonic()
        with pytest.raises(redis.TimeoutError):
            cache.get("smile:any")
        assert time.monotonic() - started < settings.CACHE_SOCKET_TIMEOUT + 1.5
