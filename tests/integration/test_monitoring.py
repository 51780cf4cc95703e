"""Metrics, alerts and logs on the native production stack (issue 26), live.

The stack (tests/integration/stack.py) runs docker-compose.yml's commands, each daphne and the
worker with ``SMILE_METRICS_ADDRESS`` on a loopback port of its own. A real Prometheus (Debian's
package) scrapes them with monitoring/alerts.yml's rules, the same expressions with every
``for:`` cut to seconds; then the worker is killed and the ``NoInferenceWorker`` alert must
fire. The tests run in file order; the last one kills the worker for good.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import PROJECT_ROOT
from tests.inference.conftest import encode, webcam_frame_with_face
from tests.integration.live import free_port, open_stream, pair_through_the_pages
from tests.integration.stack import WEB_SERVICES, Stack
from tests.integration.test_production_stack import https
from tests.services import require_service

pytestmark = pytest.mark.services

ANSWER_TIMEOUT = 120.0
LINE_FIELDS = {"time", "level", "process", "pid", "logger", "event"}


def scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """One process's /metrics, as {(sample name, sorted labels): value}."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        text = response.read().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def total(stack: Stack, names: tuple[str, ...], sample: str, **labels: str) -> float:
    wanted = tuple(sorted(labels.items()))
    return sum(scrape(stack.metrics_ports[name]).get((sample, wanted), 0.0) for name in names)


def test_every_process_serves_its_metrics_and_nginx_serves_none(stack: Stack) -> None:
    for name in WEB_SERVICES:
        samples = scrape(stack.metrics_ports[name])
        assert samples[("smile_health_up", (("check", "database"),))] == 1.0, name
        assert samples[("smile_health_up", (("check", "workers"),))] == 1.0, name
        assert ("smile_stream_sockets_open", ()) in samples, name
    worker = scrape(stack.metrics_ports["worker"])
    assert worker[("smile_inference_queue_depth", ())] >= 0
    assert ("smile_worker_frames_scored_total", ()) in worker
    # Through nginx, /metrics is nginx's own 404; on a daphne's site port, Django's (production).
    response, _ = https(stack, "GET", "/metrics")
    assert response.status == 404
    # (As nginx would send it: HTTPS, else the app redirects there first.)
    direct = urllib.request.Request(
        f"http://127.0.0.1:{stack.web_ports['web1']}/metrics", headers={"X-Forwarded-Proto": "https"}
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(direct, timeout=10)  # noqa: S310 (loopback)
    assert refused.value.code == 404


async def test_a_stream_through_nginx_is_counted_and_every_log_line_is_json_without_personal_data(
    stack: Stack,
) -> None:
    site = stack.site
    device = await asyncio.to_thread(pair_through_the_pages, site)
    scored_before = total(stack, ("worker",), "smile_worker_frames_scored_total")
    async with open_stream(site, token=device.token) as stream:
        await stream.send_frame(encode(webcam_frame_with_face()))
        result = await stream.answer_to(1, timeout=ANSWER_TIMEOUT)
        assert (result["type"], result["face"]) == ("result", True), result
        await stream.send_frame(b"\xff\xd8 not a jpeg")
        assert (await stream.answer_to(2, timeout=ANSWER_TIMEOUT))["code"] == "invalid_image"
    async with open_stream(site, token="not-a-token") as refused:
        assert await refused.closed_with(timeout=ANSWER_TIMEOUT) == 4401
    await asyncio.sleep(1)  # daphne hands the consumer its disconnect
    # Closes are counted by the code the socket ended with, the server's own 4401 included.
    assert total(stack, WEB_SERVICES, "smile_stream_closes_total", code="1000") >= 1
    assert total(stack, WEB_SERVICES, "smile_stream_closes_total", code="4401") >= 1
    assert total(stack, WEB_SERVICES, "smile_stream_sockets_open") == 0
    assert total(stack, WEB_SERVICES, "smile_stream_results_sent_total") >= 1
    assert total(stack, WEB_SERVICES, "smile_stream_result_latency_seconds_count") >= 1
    assert total(stack, WEB_SERVICES, "smile_stream_errors_total", code="invalid_image") >= 1
    assert total(stack, WEB_SERVICES, "smile_http_requests_total", route="api:pair_start", status="200") >= 1
    assert total(stack, ("worker",), "smile_worker_frames_scored_total") - scored_before >= 2
    assert total(stack, ("worker",), "smile_worker_faces_found_total") >= 1
    assert total(stack, ("worker",), "smile_worker_decode_seconds_count") >= 1

    await asyncio.sleep(1)  # the socket's close is logged
    for name in (*WEB_SERVICES, "worker"):
        text = (site.log_dir / f"{name}.log").read_text(errors="replace")
        lines = [json.loads(line) for line in text.splitlines()]  # every line is one JSON object
        assert lines, name
        for line in lines:
            assert set(line) >= LINE_FIELDS, line
            assert set(line) <= LINE_FIELDS | {"request", "socket", "error"}, line
        assert device.token not in text, name
        assert device.email not in text, name
        assert device.email.split("@")[0] not in text, name
    web = [json.loads(line) for name in WEB_SERVICES for line in stack.web_log(name).splitlines()]
    opened = [line for line in web if line["event"] == "stream socket opened"]
    assert opened
    assert all(len(line["socket"]) == 16 for line in opened)
    # HTTP lines carry nginx's request id ($request_id: 32 hex digits).
    requests = [line for line in web if line["event"].startswith("http POST api:pair_start")]
    assert requests
    assert all(len(line["request"]) == 32 for line in requests), requests


@pytest.fixture
def prometheus(stack: Stack, tmp_path: Path) -> Iterator[str]:
    """Debian's Prometheus scraping the stack every second with the project's rules (``for:`` in seconds)."""
    binary = shutil.which("prometheus")
    if binary is None:
        require_service("prometheus", "no prometheus binary on PATH (apt-get install prometheus)")
    rules = yaml.safe_load((PROJECT_ROOT / "monitoring" / "alerts.yml").read_text())
    for group in rules["groups"]:
        for rule in group["rules"]:
            if "for" in rule:
                rule["for"] = "2s"
    (tmp_path / "alerts.yml").write_text(yaml.safe_dump(rules))
    compose_config = yaml.safe_load((PROJECT_ROOT / "monitoring" / "prometheus.yml").read_text())
    config = {
        "global": {"scrape_interval": "1s", "scrape_timeout": "900ms", "evaluation_interval": "1s"},
        "rule_files": [str(tmp_path / "alerts.yml")],
        # The compose file's jobs, with each process's loopback port instead of Docker's DNS.
        "scrape_configs": [
            {
                "job_name": job["job_name"],
                "static_configs": [
                    {
                        "targets": [
                            f"127.0.0.1:{stack.metrics_ports[name]}"
                            for sd in job["dns_sd_configs"]
                            for name in sd["names"]
                            if name in stack.metrics_ports
                        ]
                    }
                ],
            }
            for job in compose_config["scrape_configs"]
        ],
    }
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    with (tmp_path / "prometheus.log").open("wb") as log:
        process = subprocess.Popen(
            [
                binary,
                f"--config.file={tmp_path / 'prometheus.yml'}",
                f"--storage.tsdb.path={tmp_path / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def api(base: str, path: str) -> Any:
    with urllib.request.urlopen(f"{base}/api/v1/{path}", timeout=5) as response:  # noqa: S310 (loopback)
        return json.loads(response.read())["data"]


def wait_for(condition: Any, *, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        try:
            found = condition()
        except (OSError, urllib.error.URLError):
            found = None
        if found:
            return found
        assert time.monotonic() < deadline, f"{what} within {timeout} s"
        time.sleep(0.5)


def alert_states(base: str) -> dict[str, str]:
    return {alert["labels"]["alertname"]: alert["state"] for alert in api(base, "alerts")["alerts"]}


def test_prometheus_scrapes_every_process_and_the_worker_alert_fires_when_it_dies(
    stack: Stack, prometheus: str
) -> None:
    def every_target_up() -> list[dict[str, Any]] | None:
        targets = api(prometheus, "targets")["activeTargets"]
        return targets if len(targets) == 4 and all(target["health"] == "up" for target in targets) else None

    targets = wait_for(every_target_up, timeout=60, what="Prometheus scraping 3 daphne and the worker")
    assert sorted(target["labels"]["job"] for target in targets) == ["smile-web"] * 3 + ["smile-worker"]
    time.sleep(5)  # several evaluations with everything up
    assert "NoInferenceWorker" not in alert_states(prometheus)

    # The supervisor (compose's restart policy) stops with its worker: no worker comes back.
    supervisor = stack.site.processes["worker"]
    supervisor.terminate()
    supervisor.wait(timeout=60)
    wait_for(
        lambda: alert_states(prometheus).get("NoInferenceWorker") == "firing",
        timeout=60,
        what="NoInferenceWorker firing",
    )
