"""The metrics plumbing (issue 26): a process's own listener, bounded labels, the channel layer's retries."""

from __future__ import annotations

import asyncio
import urllib.request

import pytest
from prometheus_client import REGISTRY, Counter
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

from common.metrics import OTHER, CountingRetry, bounded, children, parse_address, serve_metrics


def retries() -> float:
    return REGISTRY.get_sample_value("smile_channel_layer_retries_total") or 0.0


@pytest.mark.parametrize(
    ("address", "parsed"),
    [("0.0.0.0:9100", ("0.0.0.0", 9100)), (":9101", ("0.0.0.0", 9101)), ("[::1]:9102", ("::1", 9102))],  # noqa: S104
)
def test_it_parses_a_metrics_address(address: str, parsed: tuple[str, int]) -> None:
    assert parse_address(address) == parsed


@pytest.mark.parametrize("address", ["9100", "host:", "host:port", "host:70000", "host:0x10"])
def test_it_refuses_a_metrics_address_without_a_port(address: str) -> None:
    with pytest.raises(ValueError, match="host:port"):
        parse_address(address)


def test_no_address_serves_nothing() -> None:
    assert serve_metrics("") is None


def test_a_process_serves_its_metrics_on_its_own_listener_once() -> None:
    host, port = serve_metrics("127.0.0.1:0") or ("", 0)
    assert serve_metrics("127.0.0.1:0") == (host, port)  # a second call reuses it
    with urllib.request.urlopen(f"http://{host}:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    assert "smile_channel_layer_retries_total" in text


def test_a_label_outside_the_known_set_counts_as_other() -> None:
    counter = Counter("smile_test_bounded_total", "A test counter.", ["reason"], registry=None)
    known = children(counter, ("busy", OTHER))
    bounded("busy", known).inc()
    bounded("alice@example.com", known).inc()
    bounded(4321, known).inc()
    samples = {s.labels["reason"]: s.value for s in next(iter(counter.collect())).samples if s.name.endswith("_total")}
    assert samples == {"busy": 1.0, OTHER: 2.0}


def test_the_channel_layers_retries_are_counted_but_not_the_last_failure() -> None:
    retry = CountingRetry(NoBackoff(), retries=2)
    calls = 0

    async def flaky() -> str:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise RedisConnectionError("Redis restarting")
        return "ok"

    async def failing() -> str:
        raise RedisConnectionError("Redis down")

    async def noted(error: Exception) -> None:
        notes.append(type(error).__name__)

    notes: list[str] = []
    before = retries()
    assert asyncio.run(retry.call_with_retry(flaky, noted)) == "ok"
    assert retries() - before == 2
    with pytest.raises(RedisConnectionError):
        asyncio.run(retry.call_with_retry(failing, noted))
    assert retries() - before == 4  # two more tries, and the third failure raised
    assert notes == ["ConnectionError"] * 5  # redis-py's failure handler still hears every failure
