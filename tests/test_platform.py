"""The platform's foundation: data stores, health, Celery, and production settings."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connection
from django.test import Client

from tests.conftest import PROJECT_ROOT
from tests.services import require_service, services_required

PRODUCTION_ENV = {
    "SMILE_DEBUG": "0",
    "SMILE_SECRET_KEY": "k" + secrets.token_urlsafe(60),
    "SMILE_ALLOWED_HOSTS": "smile.example.com",
}


def run_manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SMILE_", "DJANGO_"))}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=PROJECT_ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.django_db
def test_the_database_is_postgres_when_a_database_url_is_set() -> None:
    if not os.environ.get("SMILE_DATABASE_URL"):
        require_service("Postgres", "SMILE_DATABASE_URL is not set")
    assert connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        cursor.execute("SELECT version()")
        assert "PostgreSQL" in cursor.fetchone()[0]


def test_ci_runs_with_every_service_configured() -> None:
    if not services_required():
        pytest.skip("only meaningful with SMILE_REQUIRE_SERVICES=1")
    assert settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
    assert settings.CHANNEL_LAYERS["default"]["BACKEND"] == "smile_site.channel_layer.RedisChannelLayer"


@pytest.mark.django_db
def test_healthz_reports_the_database_and_redis(client: Client, settings) -> None:
    settings.SMILE_INFERENCE_EXECUTOR = "thread"  # no workers to count (tests/moods/stream/test_workers.py)
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"] == "ok"
    assert body["redis"] == ("ok" if settings.REDIS_URL else "not configured")


@pytest.mark.django_db
def test_healthz_says_down_with_503_when_redis_is_unreachable(client: Client, settings) -> None:
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    response = client.get("/healthz")
    assert response.status_code == 503
    # Celery mode (Redis set): the workers' heartbeats live in Redis, so they are unknown too.
    assert response.json() == {"status": "down", "database": "ok", "redis": "down", "workers": "down"}


def test_healthz_only_answers_get(client: Client) -> None:
    assert client.post("/healthz").status_code == 405


@pytest.mark.services
def test_the_redis_channel_layer_delivers_a_message(redis_url: str) -> None:
    layer = get_channel_layer()
    assert type(layer).__name__ == "RedisChannelLayer"

    async def round_trip() -> dict[str, str]:
        channel = await layer.new_channel()
        await layer.send(channel, {"type": "probe", "text": "hello"})
        return await layer.receive(channel)

    assert async_to_sync(round_trip)() == {"type": "probe", "text": "hello"}


@pytest.mark.services
def test_a_real_celery_worker_answers_the_health_ping(celery_worker_process) -> None:
    from smile_site.celery import ping

    assert ping.delay().get(timeout=60) == "pong"


def test_production_refuses_to_start_without_a_secret_key() -> None:
    result = run_manage("check", env={"SMILE_DEBUG": "0", "SMILE_ALLOWED_HOSTS": "smile.example.com"})
    assert result.returncode != 0
    assert "SMILE_SECRET_KEY must be set" in result.stderr


def test_production_refuses_a_short_or_development_secret_key() -> None:
    for key in ("short", "django-insecure-" + "x" * 60):
        result = run_manage("check", env={**PRODUCTION_ENV, "SMILE_SECRET_KEY": key})
        assert result.returncode != 0
        assert "SMILE_SECRET_KEY must be set" in result.stderr


def test_production_refuses_to_start_without_allowed_hosts() -> None:
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "SMILE_ALLOWED_HOSTS"}
    result = run_manage("check", env=env)
    assert result.returncode != 0
    assert "SMILE_ALLOWED_HOSTS must list" in result.stderr


def test_a_malformed_boolean_is_a_clear_configuration_error() -> None:
    result = run_manage("check", env={"SMILE_DEBUG": "maybe"})
    assert result.returncode != 0
    assert "SMILE_DEBUG must be a boolean" in result.stderr


def test_check_deploy_is_clean_with_production_variables() -> None:
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout
    assert "WARNING" not in result.stderr


def test_a_malformed_rate_limit_override_is_a_clear_configuration_error() -> None:
    result = run_manage("check", env={"SMILE_RATE_LIMITS": "login-ip"})
    assert result.returncode != 0
    assert "SMILE_RATE_LIMITS must look like" in result.stderr


def test_a_blank_list_variable_means_its_default(monkeypatch: pytest.MonkeyPatch) -> None:
    # docker compose and .env files pass NAME= for a variable left empty.
    from smile_site.env import env_list

    monkeypatch.setenv("SMILE_PROBE_LIST", "  ")
    assert env_list("SMILE_PROBE_LIST", ["a"]) == ["a"]
    monkeypatch.setenv("SMILE_PROBE_LIST", "x, ,y")
    assert env_list("SMILE_PROBE_LIST", ["a"]) == ["x", "y"]
    monkeypatch.delenv("SMILE_PROBE_LIST")
    assert env_list("SMILE_PROBE_LIST", ["a"]) == ["a"]
