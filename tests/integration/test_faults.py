"""Faults against the native production stack (issue 14): slow, so marked ``slow`` and ``services``.

nginx (TLS) in front of three daphne and a supervised Celery worker (tests/integration/stack.py),
against a fresh Postgres database reached through a TCP proxy that can refuse or freeze
(tests/integration/tcp_proxy.py) and a Redis of this module's own (tests/integration/redis_server.py)
that a test may kill: the machine's shared Redis is never touched. Run with
``.venv/bin/python -m pytest tests/integration/test_faults.py`` (about 5 minutes).

Each test prints the figures docs/reliability.md quotes.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import http.client
import json
import math
import os
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import websockets

from moods.stream.consumer import REJOIN_GROUPS_SECONDS
from moods.stream.messages import CLOSE_REVOKED
from tests.inference.conftest import encode, webcam_frame_with_face
from tests.integration.live import (
    START_TIMEOUT,
    WINDOW_SECONDS,
    LiveDatabase,
    PairedDevice,
    PostgresServer,
    StreamClient,
    _spawn,
    _wait_until_healthy,
    created_database,
    open_stream,
    pair_through_the_pages,
    revoke_on_the_devices_page,
)
from tests.integration.redis_server import RedisServer, redis_server_binary
from tests.integration.stack import WEB_SERVICES, Stack, daphne_args, required_nginx, running_stack
from tests.integration.tcp_proxy import TcpProxy
from tests.integration.test_monitoring import total
from tests.services import require_service

pytestmark = [pytest.mark.services, pytest.mark.slow]

IDLE_SECONDS = 125.0
FIRST_ANSWER_TIMEOUT = 120.0
# The issue asks results back within 10 s of a worker's death (6.2 s measured on the shared
# 2-core machine: TensorFlow import and model load included); some slack for a loaded CI host.
RESUME_TIMEOUT = 15.0
# The promises, as they are.
REDIS_RESUME_SECONDS = 10.0
RECONNECT_READY_SECONDS = 3.0
HEALTH_SECONDS = 2.0
FAULT_P95_SECONDS = 1.0
DATABASE_FAULT_SECONDS = 20.0
# How long a window's writes may take to land once the database is back (retries, the pending buffer).
WRITES_SETTLE_SECONDS = 30.0


# --- The stack, against a Redis and a database path this module may break -------------------


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A redis-server of this module's own (the shared one is never restarted)."""
    binary = redis_server_binary()
    if binary is None:
        require_service("redis-server", "no redis-server binary on PATH (apt-get install redis-server)")
    with RedisServer(tmp_path_factory.mktemp("redis"), binary=binary) as server:
        yield server


@pytest.fixture(scope="module")
def stack_database(postgres_server: PostgresServer) -> Iterator[LiveDatabase]:
    """The stack's database, reached directly (the test counts its rows here, never through the proxy)."""
    with created_database(postgres_server) as database:
        yield database


@pytest.fixture(scope="module")
def postgres_proxy(postgres_server: PostgresServer) -> Iterator[TcpProxy]:
    """Every connection of the stack to Postgres goes through this proxy."""
    with TcpProxy(postgres_server.host, postgres_server.port) as proxy:
        yield proxy


@pytest.fixture(scope="module")
def stack(
    stack_database: LiveDatabase,
    postgres_proxy: TcpProxy,
    redis_server: RedisServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Stack]:
    """This module's production stack (overrides conftest's): its own Redis, Postgres behind the proxy."""
    nginx_path = required_nginx()
    behind_proxy = LiveDatabase(
        server=dataclasses.replace(stack_database.server, host=postgres_proxy.host, port=postgres_proxy.port),
        name=stack_database.name,
    )
    with running_stack(
        database=behind_proxy,
        redis_url=redis_server.url,
        work_dir=tmp_path_factory.mktemp("stack"),
        nginx_path=nginx_path,
    ) as running:
        yield running


def health(stack: Stack) -> tuple[int, dict[str, str]]:
    connection = http.client.HTTPSConnection("localhost", stack.https_port, timeout=5, context=stack.site.ssl_context)
    started = time.monotonic()
    connection.request("GET", "/healthz")
    response = connection.getresponse()
    body = json.loads(response.read())
    assert time.monotonic() - started < 2.0, "/healthz must answer within 2 s"
    return response.status, body


def worker_pid(stack: Stack) -> int:
    return int((stack.nginx_dir.parent / "worker.pid").read_text())


async def test_idle_and_paused_sockets_stay_open_through_nginx_for_two_minutes(stack: Stack) -> None:
    device = await asyncio.to_thread(pair_through_the_pages, stack.site)
    async with (
        open_stream(stack.site, token=device.token) as idle,
        open_stream(stack.site, token=device.token) as paused,
    ):
        assert idle.of_type("ready")
        assert paused.of_type("ready")
        await paused.send_json({"type": "pause"})
        await paused.wait_for(lambda: paused.of_type("paused") != [], timeout=30, what="paused")

        await asyncio.sleep(IDLE_SECONDS)

        for stream in (idle, paused):
            assert not stream.closed, f"closed with {stream.close_code}"
            await stream.send_json({"type": "ping"})
        await idle.wait_for(lambda: idle.of_type("pong") != [], timeout=30, what="pong (idle)")
        await paused.wait_for(lambda: paused.of_type("pong") != [], timeout=30, what="pong (paused)")


async def test_a_killed_worker_is_restarted_results_resume_and_no_window_is_lost_or_doubled(
    stack: Stack, stack_database: LiveDatabase
) -> None:
    [device] = await paired_devices(stack, 1)
    frame = encode(webcam_frame_with_face())
    async with open_stream(stack.site, token=device.token) as stream:
        feed = await started_feed(stream, frame, interval=1.0)
        await asyncio.sleep(WINDOW_SECONDS + 1)  # a window closed before the kill
        assert health(stack)[0] == 200

        victim = worker_pid(stack)
        os.kill(victim, signal.SIGKILL)
        killed_at = time.monotonic()

        # The supervisor starts a new worker (under the same node name, so its heartbeat takes
        # over the dead one's key, usually before that expires: tests/moods/stream/test_workers.py
        # shows a dead worker's key expiring). Frames sent once a second get results again, and
        # /healthz answers within 2 s throughout.
        while (resumed_at := feed.first_result_sent_after(killed_at)) is None:
            assert time.monotonic() - killed_at < RESUME_TIMEOUT, stream.messages[-10:]
            health(stack)
            await asyncio.sleep(0.5)
        assert worker_pid(stack) != victim
        assert resumed_at - killed_at < RESUME_TIMEOUT
        print(f"results resumed {resumed_at - killed_at:.1f} s after the worker was killed")
        await asyncio.sleep(WINDOW_SECONDS + 1)  # a window closed after the new worker took over
        await feed.drain(timeout=30)
        await pause(stream)
        assert not stream.closed
        assert health(stack) == (200, {"status": "ok", "database": "ok", "redis": "ok", "workers": "ok"})
        assert Path(f"/proc/{worker_pid(stack)}").exists()

    # The windows live in daphne, not the worker: frames lost with it only thin a window out.
    await assert_windows_stored_once(stack, stack_database, device.device_id, stream, at_least=2)


# --- Streams that keep sending frames --------------------------------------------------------


def timed_health(stack: Stack) -> tuple[int, dict[str, str], float]:
    """/healthz through nginx: its status, body and how long it took (a connect error counts as 0)."""
    connection = http.client.HTTPSConnection("localhost", stack.https_port, timeout=5, context=stack.site.ssl_context)
    started = time.monotonic()
    try:
        connection.request("GET", "/healthz")
        response = connection.getresponse()
        body = json.loads(response.read())
        return response.status, body, time.monotonic() - started
    except (OSError, http.client.HTTPException, ValueError):
        return 0, {}, time.monotonic() - started
    finally:
        connection.close()


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[math.ceil(0.95 * len(ordered)) - 1]


@dataclass
class Feed:
    """Frames sent to one stream at a steady pace; when each left (``sent_at[seq - 1]``)."""

    stream: StreamClient
    frame: bytes
    interval: float
    sent_at: list[float] = field(default_factory=list)
    task: asyncio.Task[None] | None = None

    def start(self) -> Feed:
        self.task = asyncio.create_task(self._run())
        return self

    async def _run(self) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            while not self.stream.closed:
                self.sent_at.append(time.monotonic())
                await self.stream.send_frame(self.frame)
                await asyncio.sleep(self.interval)

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task

    def answer(self, seq: int) -> tuple[dict[str, Any], float] | None:
        """The first answer to frame ``seq`` and when it arrived."""
        for message, arrived in zip(self.stream.messages, self.stream.arrived, strict=True):
            if message.get("seq") == seq:
                return message, arrived
        return None

    def sent_between(self, start: float, end: float) -> list[int]:
        return [seq for seq, sent in enumerate(self.sent_at, start=1) if start <= sent < end]

    def first_result_sent_after(self, moment: float) -> float | None:
        """When the first result came for a frame sent at or after ``moment``."""
        for seq in self.sent_between(moment, math.inf):
            answered = self.answer(seq)
            if answered is not None and answered[0]["type"] == "result":
                return answered[1]
        return None

    def latencies(self, start: float, end: float) -> tuple[list[float], list[str]]:
        """Seconds to each result for frames sent in [start, end); what the others got instead."""
        seconds, others = [], []
        for seq in self.sent_between(start, end):
            answered = self.answer(seq)
            if answered is None:
                others.append("nothing")
            elif answered[0]["type"] != "result":
                others.append(str(answered[0].get("reason", answered[0].get("code", answered[0]["type"]))))
            else:
                seconds.append(answered[1] - self.sent_at[seq - 1])
        return seconds, others

    async def drain(self, *, timeout: float) -> None:
        """Stop sending, then wait until every frame sent has its answer."""
        await self.stop()
        count = len(self.sent_at)
        await self.stream.wait_for(
            lambda: all(self.answer(seq) is not None for seq in range(1, count + 1)),
            timeout=timeout,
            what=f"answers to all {count} frames",
        )


async def started_feed(stream: StreamClient, frame: bytes, *, interval: float) -> Feed:
    """A feed whose first frame got its result (the worker is warm)."""
    assert stream.of_type("ready"), stream.messages
    feed = Feed(stream, frame, interval).start()
    answer = await stream.answer_to(1, timeout=FIRST_ANSWER_TIMEOUT)
    assert answer["type"] == "result", answer
    return feed


async def paired_devices(stack: Stack, count: int) -> list[PairedDevice]:
    """``count`` devices (each has its own frame rate), paired at once."""
    return list(
        await asyncio.gather(
            *(
                asyncio.to_thread(pair_through_the_pages, stack.site, device_name=f"Chrome {index} on the fault test")
                for index in range(count)
            )
        )
    )


# --- Redis restarted ----------------------------------------------------------------------


async def test_a_restarted_redis_resumes_streams_within_10_s_without_closing_them(
    stack: Stack, redis_server: RedisServer
) -> None:
    device = await asyncio.to_thread(pair_through_the_pages, stack.site, device_name="Chrome on the Redis test")
    frame = encode(webcam_frame_with_face())
    async with open_stream(stack.site, token=device.token) as stream:
        feed = await started_feed(stream, frame, interval=0.5)
        assert (await asyncio.to_thread(timed_health, stack))[0] == 200

        redis_server.kill()
        killed_at = time.monotonic()
        await asyncio.sleep(1.0)
        redis_server.start()  # the same port, empty: no queue, group, heartbeat or script survived
        restarted_at = time.monotonic()

        while (resumed_at := feed.first_result_sent_after(restarted_at)) is None:
            assert not stream.closed, f"the socket closed with {stream.close_code}"
            assert time.monotonic() - restarted_at < REDIS_RESUME_SECONDS, (
                f"no result within {REDIS_RESUME_SECONDS} s of Redis's restart: "
                f"{[message.get('reason', message['type']) for message in stream.messages]}\n{stack.site.log_tail()}"
            )
            await asyncio.sleep(0.1)
        print(
            f"results resumed {resumed_at - restarted_at:.1f} s after Redis restarted "
            f"({resumed_at - killed_at:.1f} s after it was killed, down 1 s)"
        )
        # The channel layer's reconnects were retries, and they are counted (smile_channel_layer_retries_total).
        assert total(stack, WEB_SERVICES, "smile_channel_layer_retries_total") > 0

        healthy_at = None
        while healthy_at is None:
            status, body, seconds = await asyncio.to_thread(timed_health, stack)
            assert 0 < seconds < HEALTH_SECONDS, f"/healthz took {seconds:.2f} s"
            if status == 200:
                healthy_at = time.monotonic()
            else:
                assert time.monotonic() - restarted_at < REDIS_RESUME_SECONDS, (status, body)
                await asyncio.sleep(0.5)
        print(f"/healthz 200 again {healthy_at - restarted_at:.1f} s after Redis restarted")

        # The socket stayed open throughout and still works both ways.
        await feed.stop()
        assert not stream.closed, f"the socket closed with {stream.close_code}"
        await stream.send_json({"type": "ping"})
        await stream.wait_for(lambda: stream.of_type("pong") != [], timeout=10, what="pong")

        # The restarted Redis forgot the socket's groups; it has joined them again since, so a
        # revocation reaches it at once (the periodic re-check would take 30 s).
        await asyncio.sleep(max(0.0, restarted_at + REJOIN_GROUPS_SECONDS + 1 - time.monotonic()))
        revoked_at = time.monotonic()
        page = await asyncio.to_thread(revoke_on_the_devices_page, device)
        assert page.status == 200
        assert await stream.closed_with(timeout=RECONNECT_READY_SECONDS) == CLOSE_REVOKED
        print(f"a revocation after the restart closed the socket in {time.monotonic() - revoked_at:.2f} s")


# --- kill -9 of one daphne -----------------------------------------------------------------


def restart_web(stack: Stack, name: str) -> None:
    """Start a dead daphne again on its port (compose's ``restart: unless-stopped``)."""
    site = stack.site
    log = site.log_dir / f"{name}.log"
    log.replace(site.log_dir / f"{name}-{int(time.time() * 1000)}.log")
    _spawn(site, name, daphne_args(stack.web_ports[name]))
    _wait_until_healthy(site, time.monotonic() + START_TIMEOUT, base_url=f"http://127.0.0.1:{stack.web_ports[name]}")


async def test_a_killed_daphne_drops_only_its_sockets_and_a_reconnect_is_ready_within_3_s(stack: Stack) -> None:
    devices = await paired_devices(stack, 3)
    frame = encode(webcam_frame_with_face())
    victim = stack.site.processes["web1"]
    async with contextlib.AsyncExitStack() as sockets:
        # Three clients through nginx (least_conn: one on each daphne, as the stack has no other
        # open socket), a frame a second each.
        streams = [await sockets.enter_async_context(open_stream(stack.site, token=device.token)) for device in devices]
        feeds = [await started_feed(stream, frame, interval=1.0) for stream in streams]
        try:
            os.kill(victim.pid, signal.SIGKILL)
            killed_at = time.monotonic()
            await asyncio.to_thread(victim.wait, 10)
            while not any(stream.closed for stream in streams) and time.monotonic() - killed_at < 5:
                await asyncio.sleep(0.05)
            closed_after = time.monotonic() - killed_at
            await asyncio.sleep(1.0)  # any other socket that were to close, too
            dropped = [stream for stream in streams if stream.closed]
            kept = [feed for feed in feeds if not feed.stream.closed]
            codes = [stream.close_code for stream in dropped]
            print(f"kill -9 of web1 closed {len(dropped)} of 3 sockets {closed_after:.2f} s after (codes {codes})")
            assert len(dropped) == 1, "exactly the socket on the killed daphne closes"

            # The client reconnects through nginx at once: nginx finds web1 refusing and takes another.
            reconnected_at = time.monotonic()
            token = devices[streams.index(dropped[0])].token
            async with open_stream(stack.site, token=token) as again:
                ready_after = time.monotonic() - reconnected_at
                assert again.of_type("ready"), again.messages
                print(f"a reconnect through nginx got ready {ready_after:.2f} s after it started")
                assert ready_after < RECONNECT_READY_SECONDS
                await again.send_frame(frame)
                assert (await again.answer_to(1, timeout=10))["type"] == "result"
            # It did meet the dead daphne first (least_conn: web1 had no socket left) and went on.
            refused = "(111: Connection refused) while connecting to upstream"
            dead = f'upstream: "http://127.0.0.1:{stack.web_ports["web1"]}/ws/stream/"'
            errors = (stack.nginx_dir / "error.log").read_text().splitlines()
            assert any(refused in line and dead in line for line in errors), "nginx never tried the dead daphne"

            # The other sockets never noticed: open, and every frame sent since the kill has its result.
            for feed in kept:
                await feed.drain(timeout=10)
                seconds, others = feed.latencies(killed_at, math.inf)
                assert seconds
                assert not others, others
                assert not feed.stream.closed
            slowest = max(max(feed.latencies(killed_at, math.inf)[0]) for feed in kept)
            print(f"the other sockets' results since the kill: slowest {slowest:.2f} s")
        finally:
            for feed in feeds:
                await feed.stop()
            await asyncio.to_thread(restart_web, stack, "web1")


# --- Postgres refusing, or frozen ----------------------------------------------------------


def stored_windows(database: LiveDatabase, device_id: int) -> list[tuple[datetime, datetime]]:
    rows = database.rows(
        "SELECT started_at, ended_at FROM moods_moodevent WHERE device_id = %s ORDER BY started_at", device_id
    )
    return [(started, ended) for started, ended in rows]


def windows_sent(stream: StreamClient) -> list[tuple[datetime, datetime]]:
    """The windows the client was told of that hold a face (only those are stored)."""
    return sorted(
        (datetime.fromisoformat(mood["start"]), datetime.fromisoformat(mood["end"]))
        for mood in stream.of_type("mood")
        if mood["faces"]
    )


async def assert_windows_stored_once(
    stack: Stack, database: LiveDatabase, device_id: int, stream: StreamClient, *, at_least: int
) -> None:
    """Every window the client was told of (with a face) is stored once, no more, no fewer, and stays so."""
    expected = windows_sent(stream)
    assert len(expected) >= at_least, f"too few windows with a face to tell: {stream.of_type('mood')}"
    deadline = time.monotonic() + WRITES_SETTLE_SECONDS
    while (stored := await asyncio.to_thread(stored_windows, database, device_id)) != expected:
        assert time.monotonic() < deadline, (
            f"device {device_id}: {len(expected)} windows sent, {len(stored)} stored "
            f"({len(set(stored))} distinct)\nsent {expected}\nstored {stored}\n{stack.site.log_tail()}"
        )
        await asyncio.sleep(0.5)
    # And nothing more arrives later (a retry that wrote twice).
    await asyncio.sleep(2.0)
    assert await asyncio.to_thread(stored_windows, database, device_id) == expected
    print(f"device {device_id}: {len(expected)} windows sent, each stored once")


async def pause(stream: StreamClient) -> None:
    """Pause: the open window is closed and told (a window flushed on disconnect is stored but never sent)."""
    await stream.send_json({"type": "pause"})
    await stream.wait_for(lambda: stream.of_type("paused") != [], timeout=30, what="paused")
    assert not stream.closed


async def stream_through_a_database_fault(
    stack: Stack, database: LiveDatabase, *, fault: Callable[[], None], recover: Callable[[], None], what: str
) -> None:
    """Two clients stream at 1 fps while ``fault`` lasts 20 s; results, /healthz and every window checked."""
    devices = await paired_devices(stack, 2)
    frame = encode(webcam_frame_with_face())
    health_during: list[tuple[int, dict[str, str], float]] = []
    async with (
        open_stream(stack.site, token=devices[0].token) as first,
        open_stream(stack.site, token=devices[1].token) as second,
    ):
        feeds = [await started_feed(stream, frame, interval=1.0) for stream in (first, second)]
        try:
            await asyncio.sleep(WINDOW_SECONDS + 1)  # a window stored before the fault
            fault()
            fault_at = time.monotonic()
            while time.monotonic() - fault_at < DATABASE_FAULT_SECONDS:
                health_during.append(await asyncio.to_thread(timed_health, stack))
                await asyncio.sleep(1.0)
            # The fault is real: windows closed during it are not in the database yet.
            told = sum(len(windows_sent(stream)) for stream in (first, second))
            stored_count = 0
            for device in devices:
                stored_count += len(await asyncio.to_thread(stored_windows, database, device.device_id))
            print(f"at the end of the fault: {told} windows told, {stored_count} stored")
            assert stored_count < told
        finally:
            recover()
        recovered_at = time.monotonic()
        # Windows closed after the recovery: the first write that succeeds also writes the
        # windows waiting in memory.
        await asyncio.sleep(2 * WINDOW_SECONDS + 1)
        for feed in feeds:
            await feed.drain(timeout=30)
        # Every window closes and is told before the sockets close, so the clients can count them.
        for stream in (first, second):
            await pause(stream)
        status_after, body_after, _ = await asyncio.to_thread(timed_health, stack)

    latencies, others = [], []
    for feed in feeds:
        seconds, missed = feed.latencies(fault_at, recovered_at)
        latencies += seconds
        others += missed
    assert latencies, "no frame was sent during the fault"
    print(
        f"Postgres {what} for {recovered_at - fault_at:.0f} s: {len(latencies)} results during the fault, "
        f"p95 {p95(latencies):.3f} s, max {max(latencies):.3f} s; other answers: {others}"
    )
    assert not others, f"every frame sent during the fault gets its result: {others}"
    assert p95(latencies) < FAULT_P95_SECONDS

    slowest = max(seconds for _, _, seconds in health_during)
    statuses = sorted({(status, body.get("database", "")) for status, body, _ in health_during})
    print(f"/healthz during the fault: slowest {slowest:.2f} s, answers {statuses}")
    assert all(0 < seconds < HEALTH_SECONDS for _, _, seconds in health_during), health_during
    assert (503, "down") in statuses, "the fault must show: /healthz says the database is down"
    assert (status_after, body_after.get("database")) == (200, "ok"), body_after

    for device, stream in zip(devices, (first, second), strict=True):
        await assert_windows_stored_once(stack, database, device.device_id, stream, at_least=4)


async def test_postgres_refusing_for_20_s_leaves_results_health_and_windows_whole(
    stack: Stack, stack_database: LiveDatabase, postgres_proxy: TcpProxy
) -> None:
    await stream_through_a_database_fault(
        stack, stack_database, fault=postgres_proxy.refuse, recover=postgres_proxy.forward, what="refusing"
    )


async def test_postgres_frozen_for_20_s_leaves_results_health_and_windows_whole(
    stack: Stack, stack_database: LiveDatabase, postgres_proxy: TcpProxy
) -> None:
    await stream_through_a_database_fault(
        stack, stack_database, fault=postgres_proxy.freeze, recover=postgres_proxy.forward, what="frozen"
    )


async def test_a_window_whose_commit_answer_is_lost_is_stored_once(
    stack: Stack, stack_database: LiveDatabase, postgres_proxy: TcpProxy
) -> None:
    [device] = await paired_devices(stack, 1)
    frame = encode(webcam_frame_with_face())
    async with open_stream(stack.site, token=device.token) as stream:
        feed = await started_feed(stream, frame, interval=1.0)
        cut_before = postgres_proxy.commits_cut
        # The next window's transaction reaches Postgres and commits; its connection is cut before
        # the answer, so the writer sees a connection error and cannot know the window is stored.
        postgres_proxy.cut_after_commit(b'INSERT INTO "moods_moodevent"')
        deadline = time.monotonic() + 3 * WINDOW_SECONDS
        while postgres_proxy.commits_cut == cut_before:
            assert time.monotonic() < deadline, "no window was written"
            await asyncio.sleep(0.1)
        await asyncio.sleep(WINDOW_SECONDS + 1)  # one more window after it
        await feed.drain(timeout=30)
        await pause(stream)

    await assert_windows_stored_once(stack, stack_database, device.device_id, stream, at_least=2)
