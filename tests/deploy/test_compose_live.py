"""``docker compose up``, for real: the production stack in containers serves a streamed session.

A private Docker engine (tests/deploy/engine.py: vfs storage, everything under a temporary
folder) gets stand-ins for the official base images, built from Debian (tests/deploy/standins/,
no registry is reachable here). Then, in a copy of the project, exactly the README's production
steps: ``cp .env.example .env`` with the secrets set, ``make certs``, ``docker-compose build``
(with the host's own CA certificates as ``EXTRA_CA_CERTS``, as behind a TLS-inspecting proxy)
and ``docker-compose up -d``. Through nginx's published HTTPS port, trusting only the generated
CA, a person signs up and pairs a device, and the device streams real face frames over wss://;
the mood event lands in the containerised Postgres. The promises are checked on the running
containers: only nginx publishes ports, the app runs unprivileged, the web, worker and database
containers sit on the internal network only, a crashed worker comes back, and no frame reaches
a volume or a container's log. Last, ``docker-compose down -v`` and the engine's folder gone.

Every docker-compose command runs with ``--profile monitoring``, as the README's
``docker compose --profile monitoring up -d``: Prometheus (a stand-in built from Debian's
Prometheus 2.42, not prom/prometheus v3) must scrape every daphne and worker that
monitoring/prometheus.yml names and the stack runs, found through Docker's DNS, with the
compose file's own intervals; when the worker container is killed for good (``docker kill``:
no restart), ``NoInferenceWorker`` must reach ``firing`` within its ``for:`` plus the scrape
and evaluation intervals. Its TSDB volume is scanned for frames like the others.

Docker's classic builder and Debian's docker-compose 1.29 do the work (Compose v2 and BuildKit
are not installable here); the tests run in file order on one stack. Skipped where no engine
can be started (not root, docker.io, docker-compose or debootstrap missing); a failure under
SMILE_REQUIRE_SERVICES=1.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import PROJECT_ROOT
from tests.deploy.engine import (
    Engine,
    EngineUnavailable,
    build_standins,
    compose_file,
    official_images,
    private_engine,
    remove_engine_folder,
)
from tests.inference.conftest import encode, webcam_frame_with_face
from tests.integration.live import PairedDevice, WebClient, free_port, open_stream, pair_through_the_pages
from tests.integration.stack import client_context
from tests.integration.test_no_frame_leaks import leaking_files, leaks_in, marked_jpeg, needles
from tests.services import require_service

# Building the images and starting the stack takes minutes (the first test pays for it).
pytestmark = [pytest.mark.slow, pytest.mark.services, pytest.mark.timeout(2400)]

PROJECT = "smile"  # the copy's folder name, so Compose's project name, as in a clone called smile
SERVICES = ("postgres", "redis", "migrate", "web1", "web2", "web3", "worker", "beat", "nginx")
WEB_SERVICES = ("web1", "web2", "web3")
APP_SERVICES = ("migrate", *WEB_SERVICES, "worker", "beat")
WITH_HEALTHCHECK = ("postgres", "redis", *WEB_SERVICES, "worker")
APP_UID = 10001
# The compose profiles the test turns on, and what they add.
PROFILES = ("monitoring",)
MONITORING_SERVICES = ("prometheus",)
MONITORING = PROJECT_ROOT / "monitoring"
# Where Debian keeps locally added CAs: a TLS-inspecting proxy's among them.
LOCAL_CA_FOLDER = Path("/usr/local/share/ca-certificates")
MIRROR_HOST = "deb.debian.org"
BUILD_TIMEOUT = 2400.0
UP_TIMEOUT = 900.0
HEALTH_TIMEOUT = 420.0
FIRST_ANSWER_TIMEOUT = 180.0
ANSWER_TIMEOUT = 60.0
STOP_TIMEOUT = 180.0


@dataclass
class Streamed:
    """One streamed session: the paired device, the frames (with their marker) and the answers."""

    device: PairedDevice
    marker: bytes
    frames: list[bytes]
    answers: list[dict[str, Any]]
    started_at: float


@dataclass
class ComposeStack:
    engine: Engine
    project: Path
    http_port: int
    https_port: int
    prometheus_port: int
    ca_cert: Path
    log: Path
    streamed: Streamed | None = None
    down: bool = False
    timings: dict[str, float] = field(default_factory=dict)

    # --- What a client sees (tests.integration.live.Site) ---

    @property
    def origin(self) -> str:
        return f"https://localhost:{self.https_port}"

    @property
    def ws_url(self) -> str:
        return f"wss://localhost:{self.https_port}/ws/stream/"

    @property
    def ssl_context(self) -> ssl.SSLContext:
        return client_context(self.ca_cert)

    def web_client(self) -> WebClient:
        return WebClient(self.origin, ssl_context=self.ssl_context)

    # --- docker-compose and the containers ---

    def compose(self, *args: str, timeout: float = 300.0, check: bool = True) -> subprocess.CompletedProcess[str]:
        # docker-compose 1.29 leaves a profile's services out of every command (down and stop
        # included) unless the profile is named on that command.
        profiles = [option for profile in PROFILES for option in ("--profile", profile)]
        done = self.engine.run("docker-compose", *profiles, *args, cwd=self.project, timeout=timeout, check=False)
        with self.log.open("a") as log:
            log.write(f"$ docker-compose {' '.join(args)[:300]}\n{done.stdout}{done.stderr}\n")
        if check:
            assert done.returncode == 0, (
                f"docker-compose {args[0]} exited {done.returncode}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
            )
        return done

    def container_id(self, service: str) -> str:
        found = self.engine.docker(
            "ps",
            "--all",
            "--quiet",
            "--filter",
            f"label=com.docker.compose.project={PROJECT}",
            "--filter",
            f"label=com.docker.compose.service={service}",
        ).stdout.split()
        assert len(found) == 1, (service, found)
        return found[0]

    def container(self, service: str) -> dict[str, Any]:
        return self.engine.inspect(self.container_id(service))[0]

    def exec(self, service: str, *command: str, timeout: float = 60.0) -> str:
        return self.compose("exec", "-T", service, *command, timeout=timeout).stdout

    def psql(self, query: str) -> list[list[str]]:
        out = self.exec("postgres", "psql", "-U", "smile", "-d", "smile", "-At", "-F", "\t", "-c", query)
        return [line.split("\t") for line in out.splitlines() if line]

    def logs(self, *services: str) -> str:
        return self.compose("logs", "--no-color", *services).stdout

    def logs_tail(self, *services: str) -> str:
        return self.compose("logs", "--no-color", "--tail", "40", *services, check=False).stdout[-6000:]

    def health(self) -> dict[str, str]:
        states = {}
        for service in SERVICES:
            state = self.container(service)["State"]
            states[service] = state.get("Health", {}).get("Status") or state["Status"]
        return states


def local_ca_certificates() -> str:
    """The PEM text of the machine's locally added CAs (a TLS-inspecting proxy's among them), or ""."""
    if not LOCAL_CA_FOLDER.is_dir():
        return ""
    return "".join(path.read_text() for path in sorted(LOCAL_CA_FOLDER.rglob("*.crt")))


def copy_project(destination: Path) -> None:
    """The working tree as a fresh clone has it: tracked and not-ignored files only."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        timeout=60,
        check=True,
    )
    for name in listed.stdout.decode().split("\0"):
        source = PROJECT_ROOT / name
        if name and source.is_file():
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)


def write_dotenv(project: Path, values: dict[str, str]) -> None:
    """``cp .env.example .env``, then the values set, as the README tells an operator."""
    text = (project / ".env.example").read_text()
    for name, value in values.items():
        text, count = re.subn(rf"^{name}=.*$", f"{name}={value}", text, flags=re.MULTILINE)
        assert count == 1, f"{name} is not in .env.example"
    (project / ".env").write_text(text)


def wait_for(condition: Any, *, timeout: float, what: str, interval: float = 2.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what}: not within {timeout:.0f} s"
        time.sleep(interval)


def healthz(stack: ComposeStack) -> int | None:
    try:
        request = urllib.request.Request(stack.origin + "/healthz")  # noqa: S310 - our own https:// origin
        with urllib.request.urlopen(request, timeout=10, context=stack.ssl_context) as response:  # noqa: S310
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)
    except OSError:
        return None


@pytest.fixture(scope="module")
def engine() -> Iterator[Engine]:
    try:
        with private_engine() as running:
            yield running
    except EngineUnavailable as exc:
        require_service("Docker engine", str(exc))


@pytest.fixture(scope="module")
def stack(engine: Engine, request: pytest.FixtureRequest) -> Iterator[ComposeStack]:
    timings: dict[str, float] = {}
    started = time.monotonic()
    log = engine.root / "compose.log"
    build_standins(
        engine, official_images(compose_file(), (PROJECT_ROOT / "Dockerfile").read_text(), profiles=PROFILES), log
    )
    timings["stand-in images"] = time.monotonic() - started

    project = engine.root / PROJECT
    copy_project(project)
    http_port, https_port, prometheus_port = free_port(), free_port(), free_port()
    write_dotenv(
        project,
        {
            "SMILE_SECRET_KEY": secrets.token_urlsafe(64),
            "SMILE_POSTGRES_PASSWORD": secrets.token_urlsafe(32),
            "SMILE_HTTP_PORT": str(http_port),
            "SMILE_HTTPS_PORT": str(https_port),
            "SMILE_PROMETHEUS_PORT": str(prometheus_port),
            # .env.example: with an HTTPS port other than 443, the site's origin for the stream.
            "SMILE_SITE_ORIGINS": f"https://localhost:{https_port}",
        },
    )
    # make certs (the copy has no .venv: this interpreter runs the same module).
    certs = subprocess.run(
        [sys.executable, "-m", "deploy.certs"], cwd=project, capture_output=True, text=True, timeout=120, check=False
    )
    assert certs.returncode == 0, certs.stderr
    running = ComposeStack(
        engine=engine,
        project=project,
        http_port=http_port,
        https_port=https_port,
        prometheus_port=prometheus_port,
        ca_cert=project / "certs" / "ca" / "smile-local-ca.pem",
        log=log,
        timings=timings,
    )
    try:
        step = time.monotonic()
        ca = local_ca_certificates()
        running.compose("build", *(["--build-arg", f"EXTRA_CA_CERTS={ca}"] if ca else []), timeout=BUILD_TIMEOUT)
        timings["docker-compose build"] = time.monotonic() - step
        step = time.monotonic()
        try:
            running.compose("up", "-d", timeout=UP_TIMEOUT)
            wait_for(lambda: healthz(running) == 200, timeout=HEALTH_TIMEOUT, what="/healthz through nginx")
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{running.logs_tail()}") from None
        timings["docker-compose up -d until /healthz answers"] = time.monotonic() - step
        yield running
    finally:
        if not running.down:
            running.compose("down", "-v", "--timeout", "20", timeout=STOP_TIMEOUT, check=False)
        timings["total"] = time.monotonic() - started
        seconds = json.dumps({name: round(value) for name, value in timings.items()})
        reporter = request.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(f"\ncompose test timings (s, {engine.driver} storage): {seconds}")


# --- Up ------------------------------------------------------------------------------------


def test_every_service_comes_up_healthy_and_nginx_answers_over_https_trusting_only_the_generated_ca(
    stack: ComposeStack,
) -> None:
    def all_up() -> bool:
        states = stack.health()
        return states["migrate"] == "exited" and all(
            states[name] == ("healthy" if name in WITH_HEALTHCHECK else "running")
            for name in SERVICES
            if name != "migrate"
        )

    try:
        # The worker's first health check comes a minute after it starts (its interval).
        wait_for(all_up, timeout=HEALTH_TIMEOUT, what="every service healthy", interval=5)
    except AssertionError as exc:
        raise AssertionError(f"{exc}: {stack.health()}\n{stack.logs_tail()}") from None
    assert stack.container("migrate")["State"]["ExitCode"] == 0
    for service in MONITORING_SERVICES:  # no health check of its own: the scrape test asks its API
        assert stack.container(service)["State"]["Status"] == "running", (service, stack.logs_tail(service))
    # The stand-in behind the real name: nginx serves the project's template, not the image's page.
    page = stack.web_client().get("/")
    assert page.status == 200
    assert "S.M.I.L.E" in page.text


def test_only_nginx_publishes_ports_and_prometheus_its_api_on_loopback_only(stack: ComposeStack) -> None:
    published = {}
    for service in (*SERVICES, *MONITORING_SERVICES):
        ports = stack.container(service)["NetworkSettings"]["Ports"] or {}
        bound = {
            port: sorted({(b["HostIp"], int(b["HostPort"])) for b in bindings})
            for port, bindings in ports.items()
            if bindings
        }
        if bound:
            published[service] = bound
    nginx = published.pop("nginx")
    assert {port: sorted({number for _, number in bindings}) for port, bindings in nginx.items()} == {
        "80/tcp": [stack.http_port],
        "443/tcp": [stack.https_port],
    }
    assert published == {"prometheus": {"9090/tcp": [("127.0.0.1", stack.prometheus_port)]}}

    request = urllib.request.Request(f"http://localhost:{stack.http_port}/devices/")

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    with pytest.raises(urllib.error.HTTPError) as redirect:
        urllib.request.build_opener(NoRedirect).open(request, timeout=30)
    assert redirect.value.code == 301
    assert redirect.value.headers["Location"] == f"https://localhost:{stack.https_port}/devices/"


def test_the_app_runs_as_an_unprivileged_user(stack: ComposeStack) -> None:
    for service in APP_SERVICES:
        assert stack.container(service)["Config"]["User"] == "smile:smile", service
    for service in (*WEB_SERVICES, "worker", "beat"):
        status = stack.exec(service, "cat", "/proc/1/status")
        [uids] = [line.split()[1:] for line in status.splitlines() if line.startswith("Uid:")]
        assert uids == [str(APP_UID)] * 4, (service, uids)
        assert stack.exec(service, "id", "-u").strip() == str(APP_UID), service


def test_web_worker_and_database_sit_on_the_internal_network_only(stack: ComposeStack) -> None:
    expected = {
        "postgres": {"internal"},
        "redis": {"internal"},
        "migrate": {"internal"},
        "worker": {"internal"},
        "beat": {"internal"},
        # outbound publishes nothing: the way to the SMTP server.
        **{name: {"internal", "outbound"} for name in WEB_SERVICES},
        "nginx": {"internal", "edge"},
        # monitoring only so that its loopback port can be published.
        "prometheus": {"internal", "monitoring"},
    }
    for service, networks in expected.items():
        joined = set(stack.container(service)["NetworkSettings"]["Networks"])
        assert joined == {f"{PROJECT}_{name}" for name in networks}, service
    [internal] = stack.engine.inspect(f"{PROJECT}_internal")
    assert internal["Internal"] is True
    # No way out of the internal network, while the web services' outbound network has one: one
    # TCP connection each to Debian's mirror (a host this machine may reach), by address.
    mirror = str(socket.getaddrinfo(MIRROR_HOST, 80, socket.AF_INET, socket.SOCK_STREAM)[0][4][0])
    assert reaches(stack, "web1", mirror), "the outbound network reaches out (else this check proves nothing)"
    assert not reaches(stack, "worker", mirror), "the worker, on the internal network only, reached out"


def reaches(stack: ComposeStack, service: str, address: str) -> bool:
    code = "import socket, sys; socket.create_connection((sys.argv[1], 80), timeout=10).close()"
    done = stack.compose("exec", "-T", service, "python", "-c", code, address, timeout=60, check=False)
    return done.returncode == 0


# --- Prometheus (the monitoring profile) ----------------------------------------------------


def duration(text: str) -> float:
    """A Prometheus duration of one unit (``15s``, ``1m``) in seconds."""
    match = re.fullmatch(r"(\d+)(ms|s|m|h)", str(text))
    assert match, f"not a one-unit duration: {text}"
    return int(match.group(1)) * {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}[match.group(2)]


def prometheus_config() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((MONITORING / "prometheus.yml").read_text())
    return loaded


def alert_rule(name: str) -> dict[str, Any]:
    rules = yaml.safe_load((MONITORING / "alerts.yml").read_text())
    [rule] = [rule for group in rules["groups"] for rule in group["rules"] if rule.get("alert") == name]
    return dict(rule)


def prometheus_api(stack: ComposeStack, path: str) -> Any:
    """One answer of Prometheus's HTTP API, through its loopback-published port."""
    url = f"http://127.0.0.1:{stack.prometheus_port}/api/v1/{path}"
    with urllib.request.urlopen(url, timeout=10) as response:
        body = json.loads(response.read())
    assert body["status"] == "success", body
    return body["data"]


def poll(condition: Any, *, timeout: float, what: str, interval: float = 1.0) -> Any:
    """``condition()``'s first true answer; the last answer (or error) in the failure otherwise."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        try:
            last = condition()
        except OSError as exc:  # Prometheus not answering yet
            last = exc
        else:
            if last:
                return last
        assert time.monotonic() < deadline, f"{what}: not within {timeout:.0f} s (last seen: {last})"
        time.sleep(interval)


def scraped_targets(stack: ComposeStack) -> dict[tuple[str, str], str]:
    """{(job, the compose name Prometheus resolved): health} of every active target."""
    targets = prometheus_api(stack, "targets?state=active")["activeTargets"]
    return {
        (target["labels"]["job"], target["discoveredLabels"]["__meta_dns_name"]): target["health"] for target in targets
    }


def alert_states(stack: ComposeStack) -> dict[str, str]:
    return {alert["labels"]["alertname"]: alert["state"] for alert in prometheus_api(stack, "alerts")["alerts"]}


def test_prometheus_scrapes_every_daphne_and_worker_the_stack_runs(stack: ComposeStack) -> None:
    config = prometheus_config()
    # Each name monitoring/prometheus.yml lists whose service this stack runs (worker-gpu is
    # in the gpu profile, off here: its name does not resolve and yields no target).
    expected = {
        (job["job_name"], name)
        for job in config["scrape_configs"]
        for sd in job["dns_sd_configs"]
        for name in sd["names"]
        if name in SERVICES
    }
    assert expected >= {("smile-web", name) for name in WEB_SERVICES} | {("smile-worker", "worker")}
    # Bound: a name that did not resolve yet is looked up again after its refresh_interval, and
    # a found target is scraped within a scrape_interval; twice that, as the containers started
    # together with Prometheus (by now they have been up for minutes: this normally passes at once).
    intervals = config["global"]
    refresh = max(duration(sd["refresh_interval"]) for job in config["scrape_configs"] for sd in job["dns_sd_configs"])
    timeout = 2 * (refresh + duration(intervals["scrape_interval"]))

    seen: dict[tuple[str, str], str] = {}

    def all_up() -> bool:
        seen.clear()
        seen.update(scraped_targets(stack))
        return set(seen) == expected and set(seen.values()) == {"up"}

    try:
        poll(all_up, timeout=timeout, what="Prometheus scraping every daphne and worker, all up")
    except AssertionError as exc:
        found = f"expected {sorted(expected)}, scraped {seen}"
        raise AssertionError(f"{exc}\n{found}\n{stack.logs_tail('prometheus')}") from None
    # The rules loaded from the mounted alerts.yml, every one of them.
    loaded = {rule["name"] for group in prometheus_api(stack, "rules")["groups"] for rule in group["rules"]}
    in_file = yaml.safe_load((MONITORING / "alerts.yml").read_text())
    assert loaded == {rule["alert"] for group in in_file["groups"] for rule in group["rules"]}


# --- A streamed session --------------------------------------------------------------------


async def stream(stack: ComposeStack) -> Streamed:
    """Sign up, pair and stream marked face frames through nginx, once per run."""
    if stack.streamed is not None:
        return stack.streamed
    started_at = time.time()
    marker = f"SMILE-LEAK-{secrets.token_hex(32)}".encode()
    face = marked_jpeg(encode(webcam_frame_with_face()), marker)
    invalid = marker + b" is not an image " + marker
    frames = [face, face, invalid, face]
    device = await asyncio.to_thread(pair_through_the_pages, stack, device_name="Chrome on the compose test")
    async with open_stream(stack, token=device.token) as client:
        assert client.of_type("ready") != [], client.messages
        for seq, frame in enumerate(frames, start=1):
            await client.send_frame(frame)
            await client.answer_to(seq, timeout=FIRST_ANSWER_TIMEOUT if seq == 1 else ANSWER_TIMEOUT)
            await asyncio.sleep(0.6)  # inside the default 2 frames a second
        answers = [client.answers(seq)[0] for seq in range(1, len(frames) + 1)]
    stack.streamed = Streamed(device=device, marker=marker, frames=frames, answers=answers, started_at=started_at)
    return stack.streamed


def mood_events(stack: ComposeStack, device_id: int) -> list[list[str]]:
    query = f"SELECT frames, faces FROM moods_moodevent WHERE device_id = {int(device_id)}"  # noqa: S608 - an int
    return stack.psql(query)


async def test_a_person_signs_up_pairs_and_streams_faces_over_wss_into_the_containerised_postgres(
    stack: ComposeStack,
) -> None:
    streamed = await stream(stack)
    first, second, invalid, fourth = streamed.answers
    assert (first["type"], first["face"]) == ("result", True), first
    assert (second["type"], second["face"]) == ("result", True), second
    assert invalid == {"type": "error", "seq": 3, "code": "invalid_image"}
    assert (fourth["type"], fourth["face"]) == ("result", True), fourth
    # The partial window is stored when the socket closes.
    deadline = time.monotonic() + ANSWER_TIMEOUT
    while not (rows := mood_events(stack, streamed.device.device_id)):
        assert time.monotonic() < deadline, "no mood event row in Postgres"
        await asyncio.sleep(1)
    frames, faces = (int(value) for value in rows[0])
    assert faces >= 3, rows
    assert frames >= faces
    assert "Task inference.stream_frames[" in stack.logs("worker"), "frames went to the worker through Redis"


async def test_a_killed_worker_is_restarted_and_serves_frames_again(stack: ComposeStack) -> None:
    streamed = await stream(stack)
    before = stack.container("worker")["State"]
    assert before["Running"]
    restarts = stack.container("worker")["RestartCount"]
    ready_before = stack.logs("worker").count(" ready.")
    os.kill(before["Pid"], signal.SIGKILL)  # as the kernel's OOM killer would

    def back() -> bool:
        info = stack.container("worker")
        return bool(
            info["State"]["Running"] and info["RestartCount"] > restarts and info["State"]["Pid"] != before["Pid"]
        )

    wait_for(back, timeout=120, what="the worker restarted by its restart policy")
    wait_for(lambda: stack.logs("worker").count(" ready.") > ready_before, timeout=180, what="the worker ready again")
    async with open_stream(stack, token=streamed.device.token) as client:
        await client.send_frame(streamed.frames[0])
        answer = await client.answer_to(1, timeout=FIRST_ANSWER_TIMEOUT)
    assert (answer["type"], answer["face"]) == ("result", True), answer


def test_no_inference_worker_fires_when_the_worker_container_is_killed(stack: ComposeStack) -> None:
    """``docker kill``: Docker counts it as a manual stop, so the restart policy brings nothing back.

    Last of the tests that need a worker: the ones after it only stop the stack and read it.
    """
    config = prometheus_config()["global"]
    scrape, scrape_timeout = duration(config["scrape_interval"]), duration(config["scrape_timeout"])
    evaluation = duration(config["evaluation_interval"])
    pending_for = duration(alert_rule("NoInferenceWorker")["for"])
    # Before: the worker is scraped and the alert is neither pending nor firing. The restarted
    # worker (the test before) may have missed a scrape, or come back on a new address that the
    # next DNS refresh finds: bounded by a refresh, two scrapes and an evaluation.
    settle = max(
        duration(sd["refresh_interval"])
        for job in prometheus_config()["scrape_configs"]
        for sd in job["dns_sd_configs"]
        if "worker" in sd["names"]
    )
    poll(
        lambda: (
            scraped_targets(stack).get(("smile-worker", "worker")) == "up"
            and "NoInferenceWorker" not in alert_states(stack)
        ),
        timeout=settle + 2 * scrape + evaluation + 15,
        what="the worker scraped and NoInferenceWorker inactive",
    )

    killed_at = time.monotonic()
    stack.engine.docker("kill", stack.container_id("worker"))
    assert not stack.container("worker")["State"]["Running"]
    # Bound: the next scrape fails (or the next DNS refresh drops the name) within a scrape
    # interval and its timeout; the next evaluation makes the alert pending; it fires at the
    # first evaluation once it has been pending for its `for:`; 15 s more for this machine's load
    # and the one-second polling.
    bound = scrape + scrape_timeout + 2 * evaluation + pending_for + 15
    try:
        poll(
            lambda: alert_states(stack).get("NoInferenceWorker") == "firing",
            timeout=bound,
            what="NoInferenceWorker firing after the worker was killed",
        )
    except AssertionError as exc:
        raise AssertionError(f"{exc}: alerts {alert_states(stack)}\n{stack.logs_tail('prometheus')}") from None
    took = time.monotonic() - killed_at
    # It was inactive before the kill, so it cannot fire sooner than its `for:` after it.
    assert took >= pending_for, took
    stack.timings["NoInferenceWorker firing after docker kill"] = took
    assert not stack.container("worker")["State"]["Running"], "the restart policy brought the worker back"


# --- Nothing kept ---------------------------------------------------------------------------


async def test_no_frame_reaches_a_volume_the_database_or_a_container_log(stack: ComposeStack) -> None:
    streamed = await stream(stack)
    patterns = needles(streamed.marker, streamed.frames)
    # The README's backup, in plain SQL: every row of every table.
    dump = stack.exec("postgres", "pg_dump", "-U", "smile", "smile", timeout=120)
    assert "moods_moodevent" in dump
    assert leaks_in(dump.encode(), patterns) == []

    # Stopped: Redis and Postgres have written whatever they write on shutdown.
    stack.compose("stop", "--timeout", "30", timeout=STOP_TIMEOUT)
    volumes = stack.engine.docker("volume", "ls", "-q", "--filter", f"label=com.docker.compose.project={PROJECT}")
    names = set(volumes.stdout.split())
    assert names == {f"{PROJECT}_{name}" for name in ("postgres-data", "redis-data", "static", "prometheus-data")}
    volumes_at = {
        volume["Name"]: Path(volume["Mountpoint"])
        for volume in stack.engine.inspect("--type", "volume", *sorted(names))
    }
    mountpoints = list(volumes_at.values())
    assert all(path.is_relative_to(stack.engine.data_root) for path in mountpoints)
    assert any((path / "PG_VERSION").exists() for path in mountpoints), "the scan sees the database's files"
    # Prometheus's TSDB (its write-ahead log at least, after a clean stop) is among the files scanned.
    tsdb = volumes_at[f"{PROJECT}_prometheus-data"]
    assert any(path.is_file() for path in (tsdb / "wal").iterdir()), "the scan sees Prometheus's TSDB"
    # Every file on every volume, whatever its age; and anything the engine wrote since the
    # stream began (container logs, the containers' own layers).
    assert leaking_files(mountpoints, 0, patterns) == {}
    assert leaking_files([stack.engine.data_root], streamed.started_at - 1, patterns) == {}


def test_down_removes_the_containers_and_volumes_and_the_engine_leaves_nothing(
    stack: ComposeStack, engine: Engine
) -> None:
    stack.compose("down", "-v", "--timeout", "20", timeout=STOP_TIMEOUT)
    stack.down = True
    assert engine.docker("ps", "-aq").stdout.split() == []
    assert engine.docker("volume", "ls", "-q").stdout.split() == []
    # The engine stops and its folder goes now (the fixture's exit does it again, harmlessly).
    engine.process.send_signal(signal.SIGTERM)
    engine.process.wait(timeout=60)
    remove_engine_folder(engine.root)
    assert not engine.root.exists()
