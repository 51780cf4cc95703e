"""Each process's metrics, wired in: HTTP requests by route, the health checks, where ``/metrics`` is served.

- daphne (``smile_site.asgi``) serves ``/metrics`` on ``SMILE_METRICS_ADDRESS`` (compose: ``0.0.0.0:9100``
  on the internal network) and exports its health checks as ``smile_health_up{check}``;
- a Celery worker does the same from ``worker_init`` and exports the inference queue's depth;
- the embedded mode (``make run``, ``SMILE_DEBUG=1``) also answers ``/metrics`` on the site itself.

Metric names and labels: ``docs/operations.md``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, Final

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from common.jsonlog import REQUEST_ID, new_id, usable_id
from common.metrics import serve_metrics
from smile_site import health

logger = logging.getLogger(__name__)

UNMATCHED: Final = "unmatched"
# Status codes the site answers with; any other is counted by its class ("5xx").
KNOWN_STATUSES: Final = frozenset(
    {200, 201, 204, 301, 302, 304, 400, 401, 403, 404, 405, 409, 410, 413, 415, 429, 500, 502, 503}
)
HTTP_BUCKETS: Final = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

HTTP_REQUESTS = Counter(
    "smile_http_requests_total",
    "HTTP requests answered, by route (the URL pattern's name) and status.",
    ["route", "status"],
)
HTTP_LATENCY = Histogram(
    "smile_http_request_duration_seconds", "HTTP request to response, by route.", ["route"], buckets=HTTP_BUCKETS
)


def route_of(request: HttpRequest) -> str:
    """The URL pattern's name (``accounts:login``), never the path: a path can carry anything."""
    match = getattr(request, "resolver_match", None)
    if match is None or not match.view_name:
        return UNMATCHED
    return str(match.view_name)


def status_of(response: HttpResponseBase) -> str:
    code = int(response.status_code)
    return str(code) if code in KNOWN_STATUSES else f"{code // 100}xx"


# Probes every few seconds: counted, never logged at INFO.
QUIET_ROUTES: Final = frozenset({"healthz"})


def observe_request(request: HttpRequest, response: HttpResponseBase, started: float) -> None:
    route, status = route_of(request), status_of(response)
    seconds = time.perf_counter() - started
    HTTP_REQUESTS.labels(route, status).inc()
    HTTP_LATENCY.labels(route).observe(seconds)
    # The route's name and the status only: a path or query can carry a code, a token or an address.
    level = logging.DEBUG if route in QUIET_ROUTES else logging.INFO
    logger.log(level, "http %s %s %s %.1f ms", request.method, route, status, seconds * 1000)


class HttpMetricsMiddleware:
    """Counts, times and logs every request by route and status, under a request id for its log lines.

    The id is nginx's ``$request_id`` (``X-Request-ID``) when it looks like one, else a new one.
    Sync and async: daphne serves the site async.
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if self.is_async:
            return self.__acall__(request)
        token = None if REQUEST_ID.get() else REQUEST_ID.set(usable_id(request.headers.get("X-Request-ID")) or new_id())
        try:
            started = time.perf_counter()
            response = self.get_response(request)
            observe_request(request, response, started)
            return response
        finally:
            if token is not None:
                REQUEST_ID.reset(token)

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        token = None if REQUEST_ID.get() else REQUEST_ID.set(usable_id(request.headers.get("X-Request-ID")) or new_id())
        try:
            started = time.perf_counter()
            get_response: Callable[[HttpRequest], Awaitable[HttpResponseBase]] = self.get_response
            response = await get_response(request)
            observe_request(request, response, started)
            return response
        finally:
            if token is not None:
                REQUEST_ID.reset(token)


class HealthCollector(Collector):
    """``/healthz``'s checks as gauges, run when Prometheus scrapes: 1 up, 0 down (within 1.5 s)."""

    def collect(self) -> list[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "smile_health_up",
            "What this process reaches: database, redis, workers (an inference worker's heartbeat); 1 up, 0 down.",
            labels=["check"],
        )
        for check, state in health.run_checks().items():
            if state != "not configured":
                family.add_metric([check], 1.0 if state == "ok" else 0.0)
        return [family]


_health_registered: list[HealthCollector] = []


def export_health() -> None:
    """Export the health checks from this process (once)."""
    if not _health_registered:
        collector = HealthCollector()
        REGISTRY.register(collector)
        _health_registered.append(collector)


def start_web_metrics() -> tuple[str, int] | None:
    """In a daphne (or runserver) process: the health gauges, and ``/metrics`` on ``SMILE_METRICS_ADDRESS``."""
    export_health()
    return serve_metrics(settings.SMILE_METRICS_ADDRESS)


def start_worker_metrics(*, consumes: set[str]) -> tuple[str, int] | None:
    """In a Celery worker: the inference queue's depth (if it consumes it), and ``/metrics``."""
    from moods.stream.metrics import watch_queue

    if settings.SMILE_INFERENCE_QUEUE in consumes:
        watch_queue(url=settings.REDIS_URL or "", queue=settings.SMILE_INFERENCE_QUEUE)
    return serve_metrics(settings.SMILE_METRICS_ADDRESS)


@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    """``/metrics`` on the site itself in the embedded mode only (``SMILE_DEBUG=1``); 404 in production.

    Production serves each process's metrics on ``SMILE_METRICS_ADDRESS``, a port nginx never
    proxies: through nginx, ``/metrics`` reaches this view and finds nothing.
    """
    if not settings.DEBUG:
        raise Http404
    return HttpResponse(generate_latest(REGISTRY), content_type=CONTENT_TYPE_LATEST)
