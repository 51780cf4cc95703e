"""The figures in docs/reliability.md, measured on this machine.

    SMILE_REDIS_URL=redis://127.0.0.1:6379/11 .venv/bin/python bench/reliability_figures.py

Needs a reachable Redis (it uses the database number in the URL for a few short-lived keys).
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smile_site.settings")

import django  # noqa: E402

django.setup()

from channels_redis.core import RedisChannelLayer  # noqa: E402
from django.conf import settings  # noqa: E402

from inference import images  # noqa: E402
from moods.stream import device_rate  # noqa: E402
from tests.hostile_frames import lying_jpeg  # noqa: E402
from tests.inference.conftest import encode, webcam_frame_with_face  # noqa: E402


async def idle_receive(hosts: list[object], label: str) -> None:
    layer = RedisChannelLayer(hosts=hosts)
    channel = await layer.new_channel()
    started = time.monotonic()
    try:
        await asyncio.wait_for(layer.receive(channel), 20)
    except TimeoutError:
        print(f"{label}: still waiting after {time.monotonic() - started:.1f} s, no error")
    except Exception as exc:
        print(f"{label}: {type(exc).__name__} after {time.monotonic() - started:.2f} s")


async def device_rate_latency() -> None:
    latencies = []
    for i in range(2000):
        started = time.perf_counter()
        await device_rate.take_frame_token(999_000 + i % 50, max_fps=1000)
        latencies.append(time.perf_counter() - started)
    latencies.sort()
    print(f"device rate check: p50 {latencies[1000] * 1e6:.0f} us, p99 {latencies[1980] * 1e6:.0f} us per frame")


def image_checks() -> None:
    face = encode(webcam_frame_with_face())
    count = 5000
    started = time.perf_counter()
    for _ in range(count):
        images.image_size(face)
    print(f"header walk, {len(face)} B 640x480 JPEG: {(time.perf_counter() - started) / count * 1e6:.1f} us")
    lying = lying_jpeg()
    started = time.perf_counter()
    try:
        images.decode_grayscale(lying)
    except images.FrameError as error:
        print(
            f"lying 32000x32000 JPEG ({len(lying)} B): {error.code} in {(time.perf_counter() - started) * 1e6:.0f} us"
        )


def silent_connect() -> None:
    import psycopg

    # The settings' options when they configure Postgres (SMILE_DATABASE_URL), else the same timeout.
    timeout = 3
    if settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        timeout = int(settings.DATABASES["default"]["OPTIONS"]["connect_timeout"])
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        started = time.monotonic()
        try:
            psycopg.connect(
                host="127.0.0.1", port=silent.getsockname()[1], user="x", dbname="x", connect_timeout=timeout
            )
        except psycopg.OperationalError:
            elapsed = time.monotonic() - started
            print(f"connect to a silent Postgres (connect_timeout {timeout}): failed after {elapsed:.1f} s")


def supervisor_restart() -> None:
    with tempfile.TemporaryDirectory() as folder:
        pid_file = Path(folder) / "child.pid"
        command = [sys.executable, "-c", "import time; time.sleep(60)"]
        supervisor = subprocess.Popen(
            [sys.executable, "-m", "deploy.supervise", "--pid-file", str(pid_file), "--", *command],
            cwd=ROOT,
            stderr=subprocess.DEVNULL,
        )
        try:
            while not pid_file.exists() or not pid_file.read_text().strip():
                time.sleep(0.01)
            first = int(pid_file.read_text())
            os.kill(first, signal.SIGKILL)
            started = time.monotonic()
            while int(pid_file.read_text().strip() or first) == first:
                time.sleep(0.01)
            print(f"supervised child killed with SIGKILL: running again after {time.monotonic() - started:.2f} s")
        finally:
            supervisor.terminate()
            supervisor.wait(15)


def main() -> None:
    url = settings.REDIS_URL
    if not url:
        sys.exit("set SMILE_REDIS_URL")
    asyncio.run(idle_receive([url], "channel layer, host as a bare URL (before issue 14)"))
    hosts: list[object] = settings.CHANNEL_LAYERS["default"]["CONFIG"]["hosts"]  # type: ignore[index]
    asyncio.run(idle_receive(hosts, "channel layer, settings"))
    asyncio.run(device_rate_latency())
    image_checks()
    silent_connect()
    supervisor_restart()


if __name__ == "__main__":
    main()
