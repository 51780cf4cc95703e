"""Faults against the native production stack (issue 14): slow, so marked ``slow`` and ``services``.

nginx (TLS) in front of three daphne and a supervised Celery worker (tests/integration/stack.py),
against a fresh Postgres database and the real Redis. Run with
``.venv/bin/python -m pytest tests/integration/test_faults.py`` (about 4 minutes).
"""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import signal
import time
from pathlib import Path

import pytest

from tests.inference.conftest import encode, webcam_frame_with_face
from tests.integration.live import open_stream, pair_through_the_pages
from tests.integration.stack import Stack

pytestmark = [pytest.mark.services, pytest.mark.slow]

IDLE_SECONDS = 125.0
FIRST_ANSWER_TIMEOUT = 120.0
# The issue asks results back within 10 s of a worker's death (6.2 s measured on the shared
# 2-core machine: TensorFlow import and model load included); some slack for a loaded CI host.
RESUME_TIMEOUT = 15.0


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


async def test_a_killed_worker_is_restarted_and_results_resume(stack: Stack) -> None:
    device = await asyncio.to_thread(pair_through_the_pages, stack.site, device_name="Chrome on the fault test")
    frame = encode(webcam_frame_with_face())
    async with open_stream(stack.site, token=device.token) as stream:
        await stream.send_frame(frame)
        assert (await stream.answer_to(1, timeout=FIRST_ANSWER_TIMEOUT))["type"] == "result"
        assert health(stack)[0] == 200

        victim = worker_pid(stack)
        os.kill(victim, signal.SIGKILL)
        killed_at = time.monotonic()

        # The supervisor starts a new worker (under the same node name, so its heartbeat takes
        # over the dead one's key, usually before that expires: tests/moods/stream/test_workers.py
        # shows a dead worker's key expiring). Frames sent once a second get results again, and
        # /healthz answers within 2 s throughout.
        resumed_at = None
        while time.monotonic() - killed_at < RESUME_TIMEOUT and resumed_at is None:
            await stream.send_frame(frame)
            health(stack)
            await asyncio.sleep(1.0)
            if any(message.get("type") == "result" and message.get("seq", 0) > 1 for message in stream.messages):
                resumed_at = time.monotonic()
        assert worker_pid(stack) != victim
        assert resumed_at is not None, [message.get("reason", message["type"]) for message in stream.messages]
        print(f"results resumed {resumed_at - killed_at:.1f} s after the worker was killed")
        assert not stream.closed
        assert health(stack) == (200, {"status": "ok", "database": "ok", "redis": "ok", "workers": "ok"})
        assert Path(f"/proc/{worker_pid(stack)}").exists()
