"""Inference workers announce themselves; ``/healthz`` says 503 when none is alive (issue 14, defect 3).

A Redis restart once killed the only worker while ``/healthz`` kept answering 200, so nothing
noticed and every frame was answered ``busy``. Each worker on the inference queue now writes a
short-lived heartbeat key in Redis; in Celery mode ``/healthz`` counts them.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
import redis
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.test import Client

from moods.stream import workers
from moods.stream.dispatch import CeleryDispatcher

pytestmark = [pytest.mark.services, pytest.mark.django_db]


@pytest.fixture
def clean_heartbeats(redis_url: str) -> redis.Redis:
    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter(match=f"{workers.HEARTBEAT_PREFIX}*"):
        client.delete(key)
    return client


@pytest.fixture
def celery_mode(settings) -> None:
    settings.SMILE_INFERENCE_EXECUTOR = "celery"


@pytest.mark.usefixtures("celery_mode")
def test_healthz_is_503_when_no_inference_worker_is_alive(client: Client, clean_heartbeats: redis.Redis) -> None:
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "down", "database": "ok", "redis": "ok", "workers": "down"}


@pytest.mark.usefixtures("celery_mode")
def test_healthz_counts_a_fresh_heartbeat_and_forgets_an_old_one(
    client: Client, clean_heartbeats: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    workers.beat(clean_heartbeats, "worker@test", ttl=1)
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["workers"] == "ok"
    time.sleep(1.5)
    assert client.get("/healthz").json()["workers"] == "down"


def test_healthz_in_thread_mode_has_no_workers_to_report(client: Client, settings) -> None:
    settings.SMILE_INFERENCE_EXECUTOR = "thread"
    assert "workers" not in client.get("/healthz").json()


def test_a_real_inference_worker_keeps_a_heartbeat(
    clean_heartbeats: redis.Redis, inference_worker_process, redis_url: str
) -> None:
    deadline = time.monotonic() + 60
    while workers.alive_workers(redis_url) < 1:
        assert inference_worker_process.poll() is None, "the worker died"
        assert time.monotonic() < deadline, "no heartbeat from the worker within 60 s"
        time.sleep(0.25)
    inference_worker_process.kill()
    inference_worker_process.wait(10)
    deadline = time.monotonic() + workers.HEARTBEAT_TTL_SECONDS + 5
    while workers.alive_workers(redis_url) > 0:
        assert time.monotonic() < deadline, "a dead worker's heartbeat outlived its TTL"
        time.sleep(0.5)


def inference_queue_length(client: redis.Redis) -> int:
    return sum(int(client.llen(key)) for key in client.scan_iter(match="inference*") if client.type(key) == b"list")


def test_without_a_live_worker_frames_are_answered_at_once_and_never_queued(clean_heartbeats: redis.Redis) -> None:
    for key in clean_heartbeats.scan_iter(match="inference*"):
        clean_heartbeats.delete(key)
    layer = get_channel_layer()
    dispatcher = CeleryDispatcher(max_pending=4, queue="inference")

    async def stream() -> dict[str, Any]:
        channel = await layer.new_channel()
        dispatcher.submit(frame=b"frame", reply_channel=channel, seq=3)
        return await asyncio.wait_for(layer.receive(channel), 5)

    try:
        answer = async_to_sync(stream)()
        assert answer == {"type": "inference.failed", "seq": 3, "reason": "error"}
        assert inference_queue_length(clean_heartbeats) == 0

        # With a heartbeat the frame is queued for the worker.
        workers.beat(clean_heartbeats, "worker@test")
        time.sleep(0.3)  # past the "no worker" answer's short cache
        dispatcher.submit(frame=b"frame", reply_channel="specific.nobody!x", seq=4)
        deadline = time.monotonic() + 5
        while inference_queue_length(clean_heartbeats) == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert inference_queue_length(clean_heartbeats) == 1
    finally:
        dispatcher.shutdown()
        for key in clean_heartbeats.scan_iter(match="inference*"):
            clean_heartbeats.delete(key)
