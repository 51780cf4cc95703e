"""The `monitoring` compose profile, checked without Docker (issue 26).

Prometheus's configuration and alert rules pass Debian's ``promtool`` (``check config``,
``check rules``) and the rules' unit tests (``monitoring/alerts.test.yml``: every alert fires on
synthetic series when it should, and not before); every compose service that serves metrics is
scraped on the port it serves them on; nginx never proxies a metric. The same rules firing on a
real stack: tests/integration/test_monitoring.py.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from common.metrics import parse_address
from deploy import nginx
from tests.conftest import PROJECT_ROOT
from tests.services import require_service

MONITORING = PROJECT_ROOT / "monitoring"
ALERTS = ("StreamLatencyHigh", "NoInferenceWorker", "FramesDropped", "NoWindowStored", "DatabaseDown", "RedisDown")


def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        require_service("promtool", "no promtool on PATH (apt-get install prometheus)")
    return found


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((PROJECT_ROOT / "docker-compose.yml").read_text())
    return loaded


@pytest.fixture(scope="module")
def prometheus_config() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((MONITORING / "prometheus.yml").read_text())
    return loaded


def compose_default(value: str) -> str:
    """``${NAME:-default}`` -> default (what compose uses with the variable unset)."""
    return re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", value)


def metrics_services(compose: dict[str, Any]) -> dict[str, int]:
    """Each service that runs daphne or a Celery worker, and the port its /metrics listens on."""
    found = {}
    for name, service in compose["services"].items():
        command = [str(part) for part in service.get("command") or []]
        if command[:1] == ["daphne"] or (command[:1] == ["celery"] and "worker" in command):
            address = compose_default(str(service["environment"]["SMILE_METRICS_ADDRESS"]))
            found[name] = parse_address(address)[1]
    return found


def scraped(config: dict[str, Any]) -> dict[str, set[tuple[str, int]]]:
    """Each job's (name, port) targets, from its DNS service discovery and static targets."""
    jobs: dict[str, set[tuple[str, int]]] = {}
    for job in config["scrape_configs"]:
        targets = jobs.setdefault(job["job_name"], set())
        for sd in job.get("dns_sd_configs", []):
            assert sd["type"] == "A", "compose services resolve to A records"
            targets |= {(name, int(sd["port"])) for name in sd["names"]}
        for static in job.get("static_configs", []):
            for target in static["targets"]:
                host, port = target.rsplit(":", 1)
                targets.add((host, int(port)))
    return jobs


def test_every_daphne_and_worker_serves_metrics_and_is_scraped_there(
    compose: dict[str, Any], prometheus_config: dict[str, Any]
) -> None:
    services = metrics_services(compose)
    assert set(services) == {"web1", "web2", "web3", "worker", "worker-gpu"}
    jobs = scraped(prometheus_config)
    assert jobs["smile-web"] == {(name, services[name]) for name in ("web1", "web2", "web3")}
    assert jobs["smile-worker"] == {(name, services[name]) for name in ("worker", "worker-gpu")}


def test_the_profile_runs_prometheus_with_the_projects_config_and_rules(compose: dict[str, Any]) -> None:
    prometheus = compose["services"]["prometheus"]
    assert prometheus["profiles"] == ["monitoring"]
    mounts = {volume.split(":")[0]: volume.split(":")[1] for volume in prometheus["volumes"]}
    assert mounts["./monitoring/prometheus.yml"] == "/etc/prometheus/prometheus.yml"
    assert mounts["./monitoring/alerts.yml"] == "/etc/prometheus/alerts.yml"
    config = yaml.safe_load((MONITORING / "prometheus.yml").read_text())
    assert config["rule_files"] == ["/etc/prometheus/alerts.yml"]
    # The app's metrics port is published nowhere: only Prometheus's own UI, on loopback.
    for name in metrics_services(compose):
        assert "ports" not in compose["services"][name], name


def test_promtool_accepts_the_configuration(tmp_path: Path) -> None:
    binary = promtool()
    text = (
        (MONITORING / "prometheus.yml")
        .read_text()
        .replace("/etc/prometheus/alerts.yml", str(MONITORING / "alerts.yml"))
    )
    config = tmp_path / "prometheus.yml"
    config.write_text(text)
    done = subprocess.run([binary, "check", "config", str(config)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_promtool_accepts_the_rules_and_every_alert_is_there() -> None:
    done = subprocess.run(
        [promtool(), "check", "rules", str(MONITORING / "alerts.yml")], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr
    rules = yaml.safe_load((MONITORING / "alerts.yml").read_text())
    names = {rule["alert"] for group in rules["groups"] for rule in group["rules"]}
    assert set(ALERTS) <= names


def test_each_alert_fires_when_it_should_and_not_before() -> None:
    done = subprocess.run(
        [promtool(), "test", "rules", "alerts.test.yml"], cwd=MONITORING, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr
    tested = yaml.safe_load((MONITORING / "alerts.test.yml").read_text())
    fired = {
        case["alertname"]
        for test in tested["tests"]
        for case in test.get("alert_rule_test", [])
        if case.get("exp_alerts")
    }
    assert set(ALERTS) <= fired, "every alert has a test in which it fires"


def test_the_rule_tests_can_fail(tmp_path: Path) -> None:
    """A threshold moved (300 ms to 500 ms) fails the unit tests: they hold the rules to their numbers."""
    for name in ("alerts.yml", "alerts.test.yml"):
        shutil.copy(MONITORING / name, tmp_path / name)
    rules = tmp_path / "alerts.yml"
    rules.write_text(rules.read_text().replace("> 0.3\n", "> 0.5\n"))
    done = subprocess.run(
        [promtool(), "test", "rules", "alerts.test.yml"], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert done.returncode != 0
    assert "StreamLatencyHigh" in done.stdout + done.stderr


def test_nginx_proxies_no_metrics(compose: dict[str, Any]) -> None:
    template = nginx.TEMPLATE.read_text()
    # /metrics answers 404 from nginx itself, before any proxy_pass.
    block = re.search(r"location = /metrics \{(.*?)\}", template, flags=re.DOTALL)
    assert block is not None
    assert block.group(1).split() == ["return", "404;"]
    # nginx's upstreams are the daphne's site port, never a metrics port.
    metrics_ports = set(metrics_services(compose).values())
    upstreams = [
        value for key, value in compose["services"]["nginx"]["environment"].items() if key.startswith("NGINX_WEB")
    ]
    assert upstreams
    assert all(int(value.rsplit(":", 1)[1]) not in metrics_ports for value in upstreams)
    assert "9100" not in template


# --- The Grafana dashboard, and the names every query uses ----------------------------------

DASHBOARD = MONITORING / "grafana" / "smile-dashboard.json"


def dashboard_queries() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]


def exported_names() -> set[str]:
    """Every sample name the code exports (counters' _total, histograms' _bucket/_count/_sum)."""
    from prometheus_client import REGISTRY

    from moods.stream import metrics as stream_metrics
    from smile_site import metrics as site_metrics

    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum")}
    # A labelled metric with no sample yet still comes as a family, so every defined name is here.
    families = [*REGISTRY.collect(), *stream_metrics.QueueDepth(url="redis://127.0.0.1:1/0", queue="q").collect()]
    families += site_metrics.HealthCollector().collect()
    return {family.name + suffix for family in families for suffix in suffixes.get(family.type, ("",))}


def test_every_metric_the_alerts_and_the_dashboard_name_is_exported() -> None:
    rules = yaml.safe_load((MONITORING / "alerts.yml").read_text())
    queries = [rule["expr"] for group in rules["groups"] for rule in group["rules"]] + dashboard_queries()
    used = {name for query in queries for name in re.findall(r"\bsmile_[a-z_]+", query)}
    assert used, "the queries name the project's metrics"
    assert used - exported_names() == set()


def test_promtool_parses_every_dashboard_query(tmp_path: Path) -> None:
    queries = dashboard_queries()
    rules = {
        "groups": [
            {"name": "dashboard", "rules": [{"record": f"dashboard:q{n}", "expr": q} for n, q in enumerate(queries)]}
        ]
    }
    path = tmp_path / "dashboard-queries.yml"
    path.write_text(yaml.safe_dump(rules))
    done = subprocess.run([promtool(), "check", "rules", str(path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"SUCCESS: {len(queries)} rules found" in done.stdout
