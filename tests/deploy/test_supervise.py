"""``python -m deploy.supervise -- COMMAND``: the native stack's restart policy (issue 14, defect 3).

Compose restarts a dead worker (``restart: unless-stopped``); natively nothing did, so one
worker killed by a Redis restart left the site answering ``busy`` for good.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.conftest import PROJECT_ROOT

SLEEPER = [sys.executable, "-c", "import time; time.sleep(120)"]


def child_pids(pid_file: Path, timeout: float = 10) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = pid_file.read_text().strip() if pid_file.exists() else ""
        if text:
            return int(text)
        time.sleep(0.05)
    raise AssertionError("the supervisor never started its child")


def wait_for_new_child(pid_file: Path, old: int, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = pid_file.read_text().strip() if pid_file.exists() else ""
        if text and int(text) != old:
            return int(text)
        time.sleep(0.05)
    raise AssertionError(f"no new child within {timeout} s")


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie counts as dead: it has exited, only its parent has not reaped it yet.
    status = Path(f"/proc/{pid}/stat")
    return not (status.exists() and status.read_text().split()[2] == "Z")


@pytest.fixture
def supervisor(tmp_path: Path):
    pid_file = tmp_path / "child.pid"
    process = subprocess.Popen(
        [sys.executable, "-m", "deploy.supervise", "--pid-file", str(pid_file), "--", *SLEEPER],
        cwd=PROJECT_ROOT,
    )
    yield process, pid_file
    if process.poll() is None:
        process.kill()
        process.wait(10)


def test_a_killed_child_is_started_again_within_seconds(supervisor) -> None:
    process, pid_file = supervisor
    first = child_pids(pid_file)
    os.kill(first, signal.SIGKILL)
    second = wait_for_new_child(pid_file, first, timeout=5)
    assert alive(second)
    assert process.poll() is None


def test_stopping_the_supervisor_stops_its_child(supervisor) -> None:
    process, pid_file = supervisor
    child = child_pids(pid_file)
    process.terminate()
    assert process.wait(15) == 0
    deadline = time.monotonic() + 5
    while alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(child)


def test_every_long_running_compose_service_restarts() -> None:
    compose = yaml.safe_load((PROJECT_ROOT / "docker-compose.yml").read_text())
    anchors = compose["x-smile-app"]
    assert anchors["restart"] == "unless-stopped"
    for name in ("postgres", "redis", "nginx"):
        assert compose["services"][name]["restart"] == "unless-stopped", name
