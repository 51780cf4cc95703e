"""Each process's metrics (issue 26): HTTP by route, health gauges, where /metrics answers, bounded labels.

The label test drives hostile requests and sockets (paths and close codes carrying an e-mail, a
token, an address) and then holds every ``smile_*`` series of the registry to the known label
sets: nothing a client sends becomes a label.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from channels.testing import WebsocketCommunicator
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from prometheus_client import REGISTRY

from moods.stream import metrics as stream_metrics
from smile_site import metrics
from smile_site.asgi import application

pytestmark = pytest.mark.django_db(transaction=True)

HOSTILE = ("alice@example.com", "sm1le-t0ken-abcdef0123456789", "203.0.113.7", "../../etc/passwd")


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def view_names(patterns: list[URLPattern | URLResolver], namespace: str = "") -> Iterator[str]:
    """Every named route of the URLconf, as ``resolver_match.view_name`` spells it."""
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from view_names(pattern.url_patterns, inner)
        elif pattern.name:
            yield f"{namespace}{pattern.name}"
        else:
            yield f"{namespace}{pattern.lookup_str}"


def test_requests_are_counted_by_the_routes_name_and_status(client: Client, settings) -> None:
    settings.SMILE_INFERENCE_EXECUTOR = "thread"  # /healthz asks for no worker
    before = value("smile_http_requests_total", route="healthz", status="200")
    unmatched = value("smile_http_requests_total", route="unmatched", status="404")
    login = value("smile_http_request_duration_seconds_count", route="accounts:login")
    assert client.get("/healthz").status_code == 200
    assert client.get("/nothing/here/alice@example.com").status_code == 404
    assert client.get("/accounts/login/").status_code == 200
    assert value("smile_http_requests_total", route="healthz", status="200") == before + 1
    assert value("smile_http_requests_total", route="unmatched", status="404") == unmatched + 1
    assert value("smile_http_request_duration_seconds_count", route="accounts:login") == login + 1


def test_the_site_answers_metrics_only_in_the_embedded_mode(client: Client, settings) -> None:
    settings.DEBUG = False
    assert client.get("/metrics").status_code == 404
    settings.DEBUG = True
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    assert b"smile_stream_sockets_open" in response.content
    assert b"smile_http_requests_total" in response.content


def test_each_process_exports_its_health_checks(settings) -> None:
    settings.SMILE_INFERENCE_EXECUTOR = "thread"
    metrics.export_health()
    assert value("smile_health_up", check="database") == 1.0
    expected_redis = 1.0 if settings.REDIS_URL else None
    assert REGISTRY.get_sample_value("smile_health_up", {"check": "redis"}) == expected_redis


def test_a_down_database_reads_0(monkeypatch: pytest.MonkeyPatch) -> None:
    from smile_site import health

    def refused() -> None:
        raise OSError("connection refused")

    monkeypatch.setattr(health, "query_database", refused)
    metrics.export_health()
    assert value("smile_health_up", check="database") == 0.0


def test_a_bad_metrics_address_stops_the_process_at_start() -> None:
    import subprocess
    import sys

    from tests.conftest import PROJECT_ROOT

    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=PROJECT_ROOT,
        env={"DJANGO_SETTINGS_MODULE": "smile_site.settings", "SMILE_METRICS_ADDRESS": "9100", "PATH": "/usr/bin"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "SMILE_METRICS_ADDRESS" in result.stderr


async def hostile_sockets() -> None:
    for code in (1000, 3000, 4999, 4401):
        communicator = WebsocketCommunicator(
            application, f"/ws/stream/?token={HOSTILE[1]}", headers=[(b"origin", b"http://127.0.0.1:8000")]
        )
        connected, _ = await communicator.connect(timeout=5)
        assert connected
        await communicator.send_json_to({"type": "auth", "token": HOSTILE[1], "email": HOSTILE[0]})
        await communicator.receive_output(timeout=5)  # closed 4401
        await communicator.disconnect(code=code)
    await asyncio.sleep(0.1)


def test_no_label_carries_anything_a_client_sent(client: Client, settings) -> None:
    settings.SMILE_INFERENCE_EXECUTOR = "thread"
    for text in HOSTILE:
        client.get(f"/{text}")
        client.get("/healthz", {"q": text}, HTTP_X_FORWARDED_FOR=HOSTILE[2])
        client.post("/accounts/login/", {"username": HOSTILE[0], "password": text})
    asyncio.run(hostile_sockets())
    metrics.export_health()

    allowed = {
        "reason": set(stream_metrics.DROP_REASONS) | set(stream_metrics.FAILURE_REASONS),
        "code": set(stream_metrics.ERROR_CODES) | set(stream_metrics.CLOSE_CODES),
        "route": {*view_names(get_resolver().url_patterns), metrics.UNMATCHED},
        "status": {str(code) for code in metrics.KNOWN_STATUSES} | {f"{digit}xx" for digit in range(1, 6)},
        "check": {"database", "redis", "workers"},
    }
    series = 0
    for family in REGISTRY.collect():
        if not family.name.startswith("smile_"):
            continue
        for sample in family.samples:
            series += 1
            labels = {name: text for name, text in sample.labels.items() if name != "le"}
            assert set(labels) <= set(allowed), sample
            for name, text in labels.items():
                assert text in allowed[name], sample
                assert not any(hostile in text for hostile in HOSTILE), sample
    # Bounded: every series the known label values allow, and no more, whatever the traffic.
    assert series < 20 * len(allowed["route"]) * len(allowed["status"])
    assert value("smile_stream_closes_total", code="other") >= 2  # 3000 and 4999
