"""Prometheus plumbing every process shares: its own ``/metrics`` listener, bounded labels, retries counted.

Each daphne and each Celery worker is a separate process that Prometheus scrapes on its own
(``docs/operations.md``), so each serves the default registry of ``prometheus-client`` from a
listener thread on an internal address (``SMILE_METRICS_ADDRESS``), never the site's port: nginx
proxies the site's port only, so no metric is reachable from the internet. Label values come
from fixed, known sets (``children``), so no user, device, token, address or face ever becomes a
label and a series count cannot grow with traffic.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Final, TypeVar

from prometheus_client import Counter, start_http_server
from redis.asyncio.retry import Retry

logger = logging.getLogger(__name__)

OTHER: Final = "other"

M = TypeVar("M")
T = TypeVar("T")

_started: dict[tuple[str, int], Any] = {}
_start_lock = threading.Lock()


def parse_address(address: str) -> tuple[str, int]:
    """``"host:port"`` (``"0.0.0.0:9100"``, ``"[::]:9100"``, ``":9100"``) as (host, port); raises ``ValueError``.

    Port 0 lets the system choose (tests).
    """
    host, sep, port = address.strip().rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) < 65536:
        raise ValueError(f"a metrics address is host:port, got {address!r}")
    return host.strip("[]") or "0.0.0.0", int(port)  # noqa: S104 (an internal network's listener)


def serve_metrics(address: str) -> tuple[str, int] | None:
    """Serve ``/metrics`` on ``address`` from a daemon thread, once per process; None when ``address`` is empty."""
    if not address.strip():
        return None
    host, port = parse_address(address)
    with _start_lock:
        server = _started.get((host, port))
        if server is None:
            server, _thread = start_http_server(port, addr=host)
            _started[(host, port)] = server
            logger.info("metrics served on %s:%d", host, server.server_port)
        return host, int(server.server_port)  # port 0 (tests): the one the system chose


def children(metric: M, values: Iterable[str]) -> dict[str, M]:
    """One labelled child per allowed value, made once: the hot path looks one up and counts."""
    labelled: Callable[[str], M] = metric.labels  # type: ignore[attr-defined]  # every labelled metric has it
    return {value: labelled(value) for value in values}


def bounded(value: object, allowed: dict[str, T]) -> T:
    """The child for ``value``, or the ``other`` child for a value outside the known set."""
    return allowed.get(str(value)) or allowed[OTHER]


# --- The channel layer's Redis retries --------------------------------------------------------

CHANNEL_LAYER_RETRIES = Counter(
    "smile_channel_layer_retries_total",
    "Redis commands of the channel layer retried after a connection error or timeout.",
)


class CountingRetry(Retry):
    """redis-py's retry, counting every try it makes again (``smile_channel_layer_retries_total``)."""

    async def call_with_retry(
        self,
        do: Callable[[], Awaitable[T]],
        fail: Callable[..., Any],
        is_retryable: Callable[[Exception], bool] | None = None,
        with_failure_count: bool = False,
    ) -> T:
        async def fail_and_count(error: Exception, failures: int) -> None:
            if self._retries < 0 or failures <= self._retries:  # the last failure is raised, not retried
                CHANNEL_LAYER_RETRIES.inc()
            handled = fail(error, failures) if with_failure_count else fail(error)
            if isinstance(handled, Awaitable):
                await handled

        return await super().call_with_retry(do, fail_and_count, is_retryable, with_failure_count=True)
