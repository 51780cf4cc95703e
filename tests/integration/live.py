"""A live S.M.I.L.E as real processes, and the clients a real extension and browser would be.

``running_site`` starts daphne (and, in production mode, a Celery worker on the ``inference``
queue) against a dedicated Postgres database, waits until ``/healthz`` answers, and always
stops them. ``WebClient`` is a cookie-keeping HTTP client that honours CSRF like a browser;
``pair_through_the_pages`` pairs a device the way a person and the extension do; ``StreamClient``
speaks the stream protocol over a real WebSocket. Every wait is bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.cookiejar
import json
import os
import secrets
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

import psycopg
import websockets
from psycopg import sql
from websockets.asyncio.client import ClientConnection
from websockets.typing import Origin

from tests.conftest import PROJECT_ROOT
from tests.factories import PASSWORD

Mode = Literal["production", "embedded"]
MODES: tuple[Mode, ...] = ("production", "embedded")

WINDOW_SECONDS = 5
# Generous: a neural network may be training on the same two cores.
START_TIMEOUT = 120.0
MIGRATE_TIMEOUT = 300.0
STOP_TIMEOUT = 15.0
HTTP_TIMEOUT = 30.0
# Tests from one address create many accounts and pairings; the real limits are tested elsewhere.
RATE_LIMITS = "signup-ip=1000/3600,pair-start-ip=1000/600,pair-code-ip=1000/600,pair-code-user=1000/600"


# --- The database -------------------------------------------------------------------------


@dataclass(frozen=True)
class PostgresServer:
    host: str
    port: int
    user: str
    password: str

    def connect(self, dbname: str, **options: Any) -> psycopg.Connection[Any]:
        return psycopg.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password or None,
            dbname=dbname,
            connect_timeout=5,
            **options,
        )

    def url(self, dbname: str) -> str:
        credentials = urllib.parse.quote(self.user, safe="")
        if self.password:
            credentials += ":" + urllib.parse.quote(self.password, safe="")
        return f"postgres://{credentials}@{self.host}:{self.port}/{dbname}"


@dataclass(frozen=True)
class LiveDatabase:
    """A database of its own that every live process shares (the test database is invisible to them)."""

    server: PostgresServer
    name: str

    @property
    def url(self) -> str:
        return self.server.url(self.name)

    def connect(self) -> psycopg.Connection[Any]:
        return self.server.connect(self.name, autocommit=True)

    def rows(self, query: str, *params: Any) -> list[tuple[Any, ...]]:
        with self.connect() as connection:
            return connection.execute(query, params).fetchall()


@contextlib.contextmanager
def created_database(server: PostgresServer) -> Iterator[LiveDatabase]:
    """A fresh database, migrated with ``manage.py migrate``; dropped afterwards, even if the test failed."""
    database = LiveDatabase(server=server, name=f"smile_live_{secrets.token_hex(6)}")
    with server.connect("postgres", autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database.name)))
    try:
        migrate = subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput"],
            cwd=PROJECT_ROOT,
            env=process_env(database=database),
            capture_output=True,
            timeout=MIGRATE_TIMEOUT,
            check=False,
        )
        assert migrate.returncode == 0, f"migrate failed:\n{migrate.stdout.decode()}\n{migrate.stderr.decode()}"
        yield database
    finally:
        with server.connect("postgres", autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database.name)))


def process_env(*, database: LiveDatabase, redis_url: str | None = None, **smile: str) -> dict[str, str]:
    """This process's environment without its ``SMILE_*`` variables, plus the live ones."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("SMILE_")}
    env.update(DJANGO_SETTINGS_MODULE="smile_site.settings", PYTHONUNBUFFERED="1", SMILE_DATABASE_URL=database.url)
    if redis_url:
        env["SMILE_REDIS_URL"] = redis_url
    env.update(smile)
    return env


# --- The processes ------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class LiveSite:
    mode: Mode
    port: int
    database: LiveDatabase
    env: dict[str, str]
    log_dir: Path
    started_at: float
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    # Behind a TLS proxy (tests/integration/stack.py): its https:// origin and the client
    # context that trusts its certificate. Unset, clients talk to daphne directly.
    public_origin: str | None = None
    ssl_context: ssl.SSLContext | None = None

    @property
    def origin(self) -> str:
        return self.public_origin or f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return self.origin

    @property
    def ws_url(self) -> str:
        scheme, _, authority = self.origin.partition("://")
        return f"{'wss' if scheme == 'https' else 'ws'}://{authority}/ws/stream/"

    def web_client(self) -> WebClient:
        return WebClient(self.base_url, ssl_context=self.ssl_context)

    def log_paths(self) -> list[Path]:
        return sorted(self.log_dir.glob("*.log"))

    def logs(self) -> bytes:
        return b"".join(path.read_bytes() for path in self.log_paths())

    def log_tail(self, characters: int = 4000) -> str:
        return "\n".join(
            f"--- {path.name}:\n{path.read_bytes().decode(errors='replace')[-characters:]}" for path in self.log_paths()
        )

    def shell(self, code: str, *, timeout: float = 60) -> str:
        """Run Python in ``manage.py shell`` against the live database; its stdout."""
        done = subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", code],
            cwd=PROJECT_ROOT,
            env=self.env,
            capture_output=True,
            timeout=timeout,
            check=False,
        )
        assert done.returncode == 0, f"manage.py shell failed:\n{done.stderr.decode()}"
        return done.stdout.decode()

    def assert_running(self) -> None:
        for name, process in self.processes.items():
            assert process.poll() is None, f"{name} exited with {process.returncode}\n{self.log_tail()}"


def _spawn(
    site: LiveSite, name: str, args: list[str], *, program: str = sys.executable, env: dict[str, str] | None = None
) -> None:
    """Start ``name`` with the site's environment (plus ``env``), its output in ``<name>.log``."""
    with (site.log_dir / f"{name}.log").open("wb") as log:
        # The child keeps its own copy of the descriptor; ours closes at once.
        site.processes[name] = subprocess.Popen(
            [program, *args], cwd=PROJECT_ROOT, env={**site.env, **(env or {})}, stdout=log, stderr=subprocess.STDOUT
        )


def _stop(processes: dict[str, subprocess.Popen[bytes]]) -> None:
    for process in processes.values():
        if process.poll() is None:
            process.terminate()
    for process in processes.values():
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=STOP_TIMEOUT)


def _wait_until_healthy(site: LiveSite, deadline: float, *, base_url: str | None = None) -> None:
    while True:
        site.assert_running()
        try:
            url = (base_url or site.base_url) + "/healthz"
            with urllib.request.urlopen(url, timeout=2, context=site.ssl_context) as response:  # noqa: S310
                if response.status == 200:
                    return
        except (OSError, urllib.error.URLError):
            pass
        assert time.monotonic() < deadline, f"/healthz did not answer 200 in time\n{site.log_tail()}"
        time.sleep(0.25)


def _wait_for_log(site: LiveSite, name: str, text: bytes, deadline: float) -> None:
    path = site.log_dir / f"{name}.log"
    while text not in path.read_bytes():
        site.assert_running()
        assert time.monotonic() < deadline, f"{name} never logged {text!r}\n{site.log_tail()}"
        time.sleep(0.25)


@contextlib.contextmanager
def running_site(
    *, mode: Mode, database: LiveDatabase, redis_url: str | None, log_dir: Path, **smile: str
) -> Iterator[LiveSite]:
    """daphne (and a Celery worker in production mode) on a free loopback port; stopped on exit, whatever happens."""
    port = free_port()
    log_dir.mkdir(parents=True, exist_ok=True)
    production = mode == "production"
    assert redis_url or not production, "production mode needs Redis"
    env = process_env(
        database=database,
        redis_url=redis_url if production else None,
        SMILE_WINDOW_SECONDS=str(WINDOW_SECONDS),
        SMILE_INFERENCE_EXECUTOR="celery" if production else "thread",
        SMILE_PAIRING_INTERVAL_SECONDS="1",
        SMILE_RATE_LIMITS=RATE_LIMITS,
        **{"SMILE_SITE_ORIGINS": f"http://127.0.0.1:{port}", **smile},
    )
    site = LiveSite(mode=mode, port=port, database=database, env=env, log_dir=log_dir, started_at=time.time())
    try:
        _spawn(site, "daphne", ["-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "smile_site.asgi:application"])
        if production:
            _spawn(
                site,
                "worker",
                [
                    "-m",
                    "celery",
                    "-A",
                    "smile_site",
                    "worker",
                    "-n",
                    f"live-{secrets.token_hex(4)}@%h",
                    "-Q",
                    "inference",
                    "--pool",
                    "threads",
                    "--concurrency",
                    "2",
                    "--loglevel",
                    "INFO",
                    "--without-heartbeat",
                    "--without-gossip",
                    "--without-mingle",
                ],
            )
        deadline = time.monotonic() + START_TIMEOUT
        _wait_until_healthy(site, deadline)
        if production:
            _wait_for_log(site, "worker", b" ready.", deadline)
        yield site
    finally:
        _stop(site.processes)


def restart_daphne(site: LiveSite) -> None:
    """Stop daphne (open sockets drop, as in a deploy or a crash) and start it again on the same port."""
    _stop({"daphne": site.processes.pop("daphne")})
    log = site.log_dir / "daphne.log"
    log.replace(site.log_dir / f"daphne-{int(time.time() * 1000)}.log")
    _spawn(site, "daphne", ["-m", "daphne", "-b", "127.0.0.1", "-p", str(site.port), "smile_site.asgi:application"])
    _wait_until_healthy(site, time.monotonic() + START_TIMEOUT)


# --- A browser ----------------------------------------------------------------------------


class Site(Protocol):
    """What a client needs of a site: its public origin, the stream's URL, a browser for it.

    A ``LiveSite`` (processes started here) or the compose stack (tests/deploy/test_compose_live.py).
    """

    @property
    def origin(self) -> str: ...

    @property
    def ws_url(self) -> str: ...

    @property
    def ssl_context(self) -> ssl.SSLContext | None: ...

    def web_client(self) -> WebClient: ...


@dataclass(frozen=True)
class Page:
    status: int
    url: str
    text: str


class WebClient:
    """Keeps cookies and sends Django's CSRF token with every form, like a browser."""

    def __init__(self, base_url: str, *, ssl_context: ssl.SSLContext | None = None) -> None:
        self.base_url = base_url
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.cookies), urllib.request.HTTPSHandler(context=ssl_context)
        )

    def request(
        self, method: str, path: str, *, body: bytes | None = None, headers: dict[str, str] | None = None
    ) -> Page:
        headers = dict(headers or {})
        if method not in {"GET", "HEAD"}:
            # Browsers send Origin with every POST; Django's CSRF check demands it (or a Referer) over HTTPS.
            headers.setdefault("Origin", self.base_url)
        request = urllib.request.Request(self.base_url + path, data=body, method=method, headers=headers)  # noqa: S310
        try:
            with self.opener.open(request, timeout=HTTP_TIMEOUT) as response:
                return Page(response.status, response.url, response.read().decode())
        except urllib.error.HTTPError as error:
            return Page(error.code, error.url or "", error.read().decode())

    def get(self, path: str) -> Page:
        return self.request("GET", path)

    def csrf_token(self) -> str:
        token = next((cookie.value for cookie in self.cookies if cookie.name == "csrftoken"), None)
        assert token, "no CSRF cookie: GET the form's page first"
        return token

    def submit(self, path: str, fields: dict[str, str]) -> Page:
        """POST a form (following the redirect after it, as a browser does)."""
        body = urllib.parse.urlencode({"csrfmiddlewaretoken": self.csrf_token(), **fields}).encode()
        return self.request("POST", path, body=body, headers={"Content-Type": "application/x-www-form-urlencoded"})

    def post_json(self, path: str, data: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        page = self.request("POST", path, body=json.dumps(data).encode(), headers={"Content-Type": "application/json"})
        return page.status, json.loads(page.text)

    def sign_up(self, email: str) -> None:
        assert self.get("/accounts/signup/").status == 200
        page = self.submit(
            "/accounts/signup/",
            {
                "email": email,
                "display_name": "Live",
                "time_zone": "UTC",
                "password1": PASSWORD,
                "password2": PASSWORD,
            },
        )
        assert page.status == 200, page.text[:2000]
        assert "/accounts/signup/" not in page.url, "sign-up was refused"


@dataclass(frozen=True)
class PairedDevice:
    browser: WebClient
    email: str
    device_id: int
    token: str


def pair_through_the_pages(site: Site, *, device_name: str = "Chrome on the live test") -> PairedDevice:
    """Sign up and pair a device as a person and the extension would: the API, the /pair/ pages, polling."""
    extension = site.web_client()
    status, started = extension.post_json("/api/pair/start", {"device_name": device_name})
    assert status == 200, started
    device_code, user_code = started["device_code"], started["user_code"]
    assert extension.post_json("/api/pair/token", {"device_code": device_code}) == (
        400,
        {
            "error": "authorization_pending",
            "error_description": "Waiting for the user to approve the request.",
        },
    )

    email = f"live-{secrets.token_hex(4)}@example.com"
    browser = site.web_client()
    browser.sign_up(email)
    verification = urllib.parse.urlsplit(started["verification_uri_complete"])
    assert browser.get(f"{verification.path}?{verification.query}").status == 200
    confirm = browser.submit("/pair/", {"code": user_code})
    assert confirm.status == 200
    assert device_name in confirm.text, "the confirmation page names the device"
    devices = browser.submit("/pair/decide/", {"code": user_code, "decision": "approve"})
    assert (devices.status, urllib.parse.urlsplit(devices.url).path) == (200, "/devices/")

    deadline = time.monotonic() + 60
    interval = float(started["interval"])
    while True:
        time.sleep(interval)  # RFC 8628: wait the interval between polls
        status, answer = extension.post_json("/api/pair/token", {"device_code": device_code})
        if status == 200:
            return PairedDevice(
                browser=browser, email=email, device_id=answer["device_id"], token=answer["access_token"]
            )
        assert answer["error"] in {"authorization_pending", "slow_down"}, answer
        interval = float(answer.get("interval", interval))
        assert time.monotonic() < deadline, "no access token in time"


def revoke_on_the_devices_page(device: PairedDevice) -> Page:
    """Revoke the device as its owner does: the list, the confirmation page, the button."""
    listing = device.browser.get("/devices/")
    assert f"/devices/{device.device_id}/revoke/" in listing.text
    assert device.browser.get(f"/devices/{device.device_id}/revoke/").status == 200
    return device.browser.submit(f"/devices/{device.device_id}/revoke/", {})


# --- The extension's stream ---------------------------------------------------------------


class StreamClient:
    """One WebSocket on ``/ws/stream/``: a reader task collects every message the server sends."""

    def __init__(self, connection: ClientConnection) -> None:
        self.connection = connection
        self.messages: list[dict[str, Any]] = []
        # When each message arrived (time.monotonic()), in the same order.
        self.arrived: list[float] = []
        self.close_code: int | None = None
        self.closed = False
        self._changed = asyncio.Condition()
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        try:
            async for raw in self.connection:
                assert isinstance(raw, str), "the server sends text only"
                async with self._changed:
                    self.messages.append(json.loads(raw))
                    self.arrived.append(time.monotonic())
                    self._changed.notify_all()
        except websockets.ConnectionClosed:
            pass
        finally:
            async with self._changed:
                self.closed = True
                self.close_code = self.connection.close_code
                self._changed.notify_all()

    async def send_json(self, message: dict[str, Any]) -> None:
        await self.connection.send(json.dumps(message))

    async def send_frame(self, frame: bytes) -> None:
        await self.connection.send(frame)

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [message for message in self.messages if message.get("type") == kind]

    async def wait_for(self, condition: Callable[[], bool], *, timeout: float, what: str) -> None:
        """Wait until ``condition()`` holds (checked on every message) or fail after ``timeout`` seconds."""
        try:
            async with asyncio.timeout(timeout), self._changed:
                await self._changed.wait_for(lambda: condition() or self.closed)
        except TimeoutError:
            pass
        assert condition(), f"{what}: not within {timeout} s (closed={self.closed} code={self.close_code}); " + (
            f"received {[message.get('type') for message in self.messages]}"
        )

    async def answer_to(self, seq: int, *, timeout: float) -> dict[str, Any]:
        await self.wait_for(lambda: self.answers(seq) != [], timeout=timeout, what=f"an answer to frame {seq}")
        return self.answers(seq)[0]

    def answers(self, seq: int) -> list[dict[str, Any]]:
        return [message for message in self.messages if message.get("seq") == seq]

    async def closed_with(self, *, timeout: float) -> int | None:
        await self.wait_for(lambda: self.closed, timeout=timeout, what="the socket closing")
        return self.close_code


@contextlib.asynccontextmanager
async def open_stream(site: Site, *, token: str | None = None) -> AsyncIterator[StreamClient]:
    """A socket with the site's own Origin; authenticated (and ``ready`` received) when ``token`` is given."""
    async with websockets.connect(
        site.ws_url,
        origin=Origin(site.origin),
        open_timeout=30,
        close_timeout=5,
        max_size=2**20,
        ssl=site.ssl_context if site.ws_url.startswith("wss:") else None,
    ) as connection:
        stream = StreamClient(connection)
        try:
            if token is not None:
                await stream.send_json({"type": "auth", "token": token})
                await stream.wait_for(
                    lambda: stream.messages != [] or stream.closed, timeout=30, what="the answer to auth"
                )
            yield stream
        finally:
            stream._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await stream._reader
