"""Frames never reach disk, and an expired frame does not linger in the broker (issue 14, defect 4).

Frames travel through Redis twice: as Celery task messages on the inference queue, and (their
results only) through the channel layer. Redis must neither append them to a file nor snapshot
them, and a frame a worker takes must leave Redis at once (before, a dead worker's frame stayed
in Redis's ``unacked`` hash for Celery's default hour).
"""

from __future__ import annotations

from typing import Any

import yaml
from django.conf import settings

from moods.stream.tasks import STREAM_EXPIRES_SECONDS
from tests.conftest import PROJECT_ROOT


def redis_command() -> list[str]:
    compose: dict[str, Any] = yaml.safe_load((PROJECT_ROOT / "docker-compose.yml").read_text())
    return [str(part) for part in compose["services"]["redis"]["command"]]


def flag(command: list[str], name: str) -> str:
    assert command.count(name) == 1, f"{name} should appear once in {command}"
    return command[command.index(name) + 1]


def test_the_compose_redis_neither_appends_nor_snapshots() -> None:
    command = redis_command()
    assert command[0] == "redis-server"
    assert flag(command, "--appendonly") == "no"
    assert flag(command, "--save") == ""


def test_a_frame_a_worker_takes_leaves_redis_at_once() -> None:
    # No copy in an ``unacked`` hash (kombu's ack emulation): the copy would be a frame held in
    # Redis, and restoring it after a worker's death pointless (it has expired by then).
    assert settings.CELERY_BROKER_TRANSPORT_OPTIONS["ack_emulation"] is False


def test_the_stream_task_acknowledges_late_and_expires_its_frames() -> None:
    from moods.stream.tasks import stream_frames

    assert stream_frames.acks_late
    assert stream_frames.reject_on_worker_lost
    assert stream_frames.ignore_result
    assert STREAM_EXPIRES_SECONDS <= 5
