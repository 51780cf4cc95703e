"""Fixtures for the live tests: a dedicated Postgres database and Redis, both real (skip locally, fail in CI)."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from django.conf import settings

from tests.conftest import reachable_redis_url
from tests.integration.live import LiveDatabase, PostgresServer, created_database
from tests.integration.stack import Stack, required_nginx, running_stack
from tests.services import require_service


@pytest.fixture(scope="session")
def postgres_server() -> PostgresServer:
    """The Postgres server of ``SMILE_DATABASE_URL``, reachable; otherwise skip (or fail in CI)."""
    database = settings.DATABASES["default"]
    if "postgresql" not in database["ENGINE"]:
        require_service("Postgres", "SMILE_DATABASE_URL does not name a Postgres database")
    server = PostgresServer(
        host=database.get("HOST") or "127.0.0.1",
        port=int(database.get("PORT") or 5432),
        user=database.get("USER") or "postgres",
        password=database.get("PASSWORD") or "",
    )
    try:
        server.connect("postgres").close()
    except psycopg.Error as exc:
        require_service("Postgres", f"{server.host}:{server.port} refused a connection ({type(exc).__name__})")
    return server


@pytest.fixture(scope="session")
def live_database(postgres_server: PostgresServer) -> Iterator[LiveDatabase]:
    """One migrated database that the live processes of this session share; dropped at the end."""
    with created_database(postgres_server) as database:
        yield database


@pytest.fixture(scope="session")
def live_redis_url() -> str:
    """The configured Redis, reachable, for the whole session; otherwise skip (or fail in CI)."""
    return reachable_redis_url()


@pytest.fixture(scope="module")
def stack(
    postgres_server: PostgresServer, live_redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """The native production topology (nginx, three daphne, a supervised worker), one per test module."""
    nginx_path = required_nginx()
    with (
        created_database(postgres_server) as database,
        running_stack(
            database=database,
            redis_url=live_redis_url,
            work_dir=tmp_path_factory.mktemp("stack"),
            nginx_path=nginx_path,
        ) as running,
    ):
        yield running
