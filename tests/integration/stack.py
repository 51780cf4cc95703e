"""The production topology of ``docker-compose.yml``, run natively: nginx (TLS) in front of three daphne.

``running_stack`` starts, against a Postgres database and Redis of the caller's choosing:

- three daphne with ``web1``'s command from ``docker-compose.yml`` (only the bind address and
  port changed: 127.0.0.1 and a free port each), in production mode (``SMILE_DEBUG=0``);
- one Celery worker with ``worker``'s command (under a unique node name), under
  ``deploy.supervise`` (compose's ``restart: unless-stopped``): a dead worker comes back, and
  ``worker.pid`` in the work folder names the current one;
- Debian's nginx running ``nginx/templates/default.conf.template``, rendered as the nginx image
  renders it, listening on all addresses on two free high ports, with a certificate from
  ``deploy.certs`` (what ``make certs`` writes) in a temporary folder.

Everything nginx writes stays in that folder, so it runs as a normal user or as root. Clients
reach the site as ``https://localhost:<port>`` trusting only the generated CA
(``LiveSite.ssl_context``). Every process is stopped on exit, whatever happens.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from deploy import certs, nginx
from tests.conftest import PROJECT_ROOT
from tests.integration.live import (
    RATE_LIMITS,
    START_TIMEOUT,
    WINDOW_SECONDS,
    LiveDatabase,
    LiveSite,
    _spawn,
    _stop,
    _wait_for_log,
    _wait_until_healthy,
    free_port,
    process_env,
)
from tests.services import require_service

WEB_SERVICES = ("web1", "web2", "web3")
NGINX_CANDIDATES = ("nginx", "/usr/sbin/nginx")
SERVER_NAME = "localhost"


def compose_file() -> dict[str, Any]:
    with (PROJECT_ROOT / "docker-compose.yml").open() as file:
        loaded: dict[str, Any] = yaml.safe_load(file)
    return loaded


def nginx_binary() -> str | None:
    for candidate in NGINX_CANDIDATES:
        found = shutil.which(candidate)
        if found:
            return found
    return None


def required_nginx() -> str:
    """Debian's nginx binary; otherwise skip (or fail in CI)."""
    found = nginx_binary()
    if found is None:
        require_service("nginx", "no nginx binary on PATH or in /usr/sbin (apt-get install nginx-light)")
    return found


def run_bench_script(script: str, *, postgres_url: str, redis_url: str, args: list[str]) -> str:
    """Run ``bench/<script>`` (it starts its own stack) and return what it printed; fails on a non-zero exit."""
    required_nginx()
    command = [sys.executable, f"bench/{script}", "--redis-url", redis_url, *args]
    env = {**os.environ, "SMILE_DATABASE_URL": postgres_url}
    done = subprocess.run(command, cwd=PROJECT_ROOT, env=env, capture_output=True, timeout=400, check=False)
    output = done.stdout.decode()
    assert done.returncode == 0, output + done.stderr.decode()
    return output


def with_option(command: list[str], option: str, value: str) -> list[str]:
    """``command`` with the value after ``option`` replaced (the option must be there)."""
    index = command.index(option)
    return [*command[: index + 1], value, *command[index + 2 :]]


def daphne_args(port: int) -> list[str]:
    """web1's compose command for ``python -m``, bound to loopback on ``port``."""
    command = [str(part) for part in compose_file()["services"]["web1"]["command"]]
    assert command[0] == "daphne", command
    command = with_option(with_option(command, "-b", "127.0.0.1"), "-p", str(port))
    return ["-m", *command]


def worker_args() -> list[str]:
    """The worker's compose command for ``python -m``, under a node name of its own."""
    command = [str(part) for part in compose_file()["services"]["worker"]["command"]]
    assert command[0] == "celery", command
    return ["-m", *with_option(command, "-n", f"stack-{secrets.token_hex(4)}@%h")]


@dataclass(frozen=True)
class Stack:
    site: LiveSite
    https_port: int
    http_port: int
    web_ports: dict[str, int]
    # Where each daphne (web1..3) and the worker serve /metrics (SMILE_METRICS_ADDRESS, loopback).
    metrics_ports: dict[str, int]
    ca_cert: Path
    site_cert: Path
    nginx_dir: Path

    def web_log(self, name: str) -> str:
        return (self.site.log_dir / f"{name}.log").read_bytes().decode(errors="replace")


def _nginx_values(
    *, http_port: int, https_port: int, web_ports: dict[str, int], cert_dir: Path, static_root: Path
) -> dict[str, str]:
    return {
        "NGINX_SERVER_NAME": SERVER_NAME,
        # All addresses, as the container publishes it; the daphne stay on loopback.
        "NGINX_LISTEN_HTTP": str(http_port),
        "NGINX_LISTEN_HTTPS": str(https_port),
        "NGINX_HTTPS_PORT": str(https_port),
        **{f"NGINX_WEB{index}": f"127.0.0.1:{web_ports[name]}" for index, name in enumerate(WEB_SERVICES, start=1)},
        "NGINX_CERT_DIR": str(cert_dir),
        "NGINX_STATIC_ROOT": str(static_root),
    }


def prepare_nginx(
    *, prefix: Path, http_port: int, https_port: int, web_ports: dict[str, int], cert_dir: Path, static_root: Path
) -> Path:
    """Render the project's template and a main config under ``prefix``; the main config's path."""
    for folder in ("conf.d", "temp"):
        (prefix / folder).mkdir(parents=True, exist_ok=True)
    site_config = prefix / "conf.d" / "default.conf"
    values = _nginx_values(
        http_port=http_port, https_port=https_port, web_ports=web_ports, cert_dir=cert_dir, static_root=static_root
    )
    site_config.write_text(nginx.render(nginx.TEMPLATE.read_text(), values))
    main = prefix / "nginx.conf"
    main.write_text(nginx.native_main_config(prefix=prefix, site_config=site_config))
    return main


def nginx_command(binary: str, prefix: Path, main: Path, *extra: str) -> list[str]:
    # -e: the startup error log goes to our folder too, not /var/log/nginx.
    return [binary, "-p", str(prefix), "-c", str(main), "-e", str(prefix / "error.log"), *extra]


def metrics_env(port: int) -> dict[str, str]:
    """compose gives every daphne and worker ``SMILE_METRICS_ADDRESS=0.0.0.0:9100``; natively, a loopback port each."""
    compose_value = str(compose_file()["services"]["web1"]["environment"]["SMILE_METRICS_ADDRESS"])
    assert compose_value.endswith(":-0.0.0.0:9100}"), compose_value
    return {"SMILE_METRICS_ADDRESS": f"127.0.0.1:{port}"}


def client_context(ca_cert: Path) -> ssl.SSLContext:
    """A client that trusts the generated CA and nothing else."""
    context = ssl.create_default_context(cafile=str(ca_cert))
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


@contextlib.contextmanager
def running_stack(
    *, database: LiveDatabase, redis_url: str, work_dir: Path, nginx_path: str, window_seconds: int = WINDOW_SECONDS
) -> Iterator[Stack]:
    """The stack, stopped on exit; ``window_seconds``: the mood window length (production's is 60)."""
    log_dir = work_dir / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    issued = certs.issue(work_dir / "certs")
    static_root = work_dir / "static"
    http_port, https_port = free_port(), free_port()
    web_ports = {name: free_port() for name in WEB_SERVICES}
    metrics_ports = {name: free_port() for name in (*WEB_SERVICES, "worker")}
    origin = f"https://{SERVER_NAME}:{https_port}"
    env = process_env(
        database=database,
        redis_url=redis_url,
        SMILE_DEBUG="0",
        SMILE_SECRET_KEY=secrets.token_urlsafe(64),
        # 127.0.0.1 for the health probes that go to each daphne directly.
        SMILE_ALLOWED_HOSTS=f"{SERVER_NAME},127.0.0.1",
        SMILE_SITE_ORIGINS=origin,
        SMILE_STATIC_ROOT=str(static_root),
        SMILE_WINDOW_SECONDS=str(window_seconds),
        SMILE_INFERENCE_EXECUTOR="celery",
        SMILE_PAIRING_INTERVAL_SECONDS="1",
        SMILE_RATE_LIMITS=RATE_LIMITS,
    )
    # Production settings name static files by their hash: the manifest must exist before daphne serves a page.
    collect = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        timeout=START_TIMEOUT,
        check=False,
    )
    assert collect.returncode == 0, f"collectstatic failed:\n{collect.stderr.decode()}"

    prefix = work_dir / "nginx"
    main = prepare_nginx(
        prefix=prefix,
        http_port=http_port,
        https_port=https_port,
        web_ports=web_ports,
        cert_dir=issued.paths.site_cert.parent,
        static_root=static_root,
    )
    checked = subprocess.run(
        nginx_command(nginx_path, prefix, main, "-t"), capture_output=True, timeout=30, check=False
    )
    assert checked.returncode == 0, f"nginx -t failed:\n{checked.stderr.decode()}"

    site = LiveSite(
        mode="production",
        port=https_port,
        database=database,
        env=env,
        log_dir=log_dir,
        started_at=time.time(),
        public_origin=origin,
        ssl_context=client_context(issued.paths.ca_cert),
    )
    try:
        for name, port in web_ports.items():
            _spawn(site, name, daphne_args(port), env=metrics_env(metrics_ports[name]))
        supervised = ["-m", "deploy.supervise", "--pid-file", str(work_dir / "worker.pid"), "--", sys.executable]
        _spawn(site, "worker", [*supervised, *worker_args()], env=metrics_env(metrics_ports["worker"]))
        _spawn(site, "nginx", nginx_command(nginx_path, prefix, main)[1:], program=nginx_path)
        deadline = time.monotonic() + START_TIMEOUT
        for port in web_ports.values():
            _wait_until_healthy(site, deadline, base_url=f"http://127.0.0.1:{port}")
        _wait_until_healthy(site, deadline)  # through nginx, over TLS
        _wait_for_log(site, "worker", b" ready.", deadline)
        yield Stack(
            site=site,
            https_port=https_port,
            http_port=http_port,
            web_ports=web_ports,
            metrics_ports=metrics_ports,
            ca_cert=issued.paths.ca_cert,
            site_cert=issued.paths.site_cert,
            nginx_dir=prefix,
        )
    finally:
        _stop(site.processes)
