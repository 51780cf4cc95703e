"""Load test of the stream: N WebSocket clients sending F frames per second for T seconds.

    .venv/bin/python bench/stream.py --url ws://127.0.0.1:8000/ws/stream/ --token TOKEN \\
        [--clients 50] [--fps 1] [--seconds 60] [--origin http://127.0.0.1:8000] [--cafile CA.pem]

``--token`` is a paired device's access token (every client uses it: a device may hold several
sockets, but they share its ``max_fps``, so more than ``max_fps`` clients get ``rate_limited``).
``--create-token`` instead creates one bench user and paired device per client in the database
the server uses (same SMILE_* environment) and prints nothing secret. Each client authenticates
with the first message, sends 640x480 JPEG frames of a real face at the given rate, and
matches every answer to its frame by ``seq``; after its last frame it waits for the answers
in flight, sends ``pause`` (the server announces the open mood window) and closes. Prints
throughput, result latency percentiles, drops by reason, errors by code, failed sockets, socket
closes by close code and the mood windows the clients were told about. Traffic goes only to
the given URL (use loopback). For ``wss://`` (through nginx), ``--cafile`` names the CA to
trust (``make certs`` writes one). ``bench/capacity.py`` runs these clients, one paired device
each, against a stack it starts, and checks the windows stored and the servers' memory.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import ssl
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


@dataclass
class Tally:
    sent: int = 0
    results: int = 0
    faces: int = 0
    latencies: list[float] = field(default_factory=list)
    dropped: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    # Sockets that failed to open or authenticate, by exception (or "not ready").
    failed: Counter[str] = field(default_factory=Counter)
    # Every socket that opened, by the code it closed with (1000: the client's own close at the end).
    closes: Counter[int] = field(default_factory=Counter)
    # Mood windows the server told the clients about, and the windows it will store without
    # telling (a face answered after the closing ``pause``, stored when the socket closes).
    windows_told: int = 0
    windows_untold: int = 0
    # Private-mode clients: summaries sent, acknowledged (``summary_saved``), and their round trips.
    summaries_sent: int = 0
    summaries_saved: int = 0
    summary_latencies: list[float] = field(default_factory=list)


def face_frames(count: int) -> list[bytes]:
    from bench.inference import webcam_frames

    return webcam_frames(count)


# After its last frame a client waits this long for the answers still in flight, then pauses
# (the server closes and announces the open window) and waits as long again for ``paused``.
DRAIN_SECONDS = 10.0


async def run_client(
    url: str,
    origin: str,
    token: str,
    frames: list[bytes],
    fps: float,
    seconds: float,
    tally: Tally,
    start_delay: float,
    tls: ssl.SSLContext | None = None,
) -> None:
    """One paired device: auth, frames at ``fps`` for ``seconds``, then drain, ``pause`` and close."""
    import websockets
    from websockets.typing import Origin

    await asyncio.sleep(start_delay)
    sent_at: dict[int, float] = {}
    paused = asyncio.Event()
    late_face = False  # a face answered after ``paused``: one more window, stored when the socket closes
    try:
        async with websockets.connect(url, origin=Origin(origin), max_size=2**20, open_timeout=30, ssl=tls) as socket:
            await socket.send(json.dumps({"type": "auth", "token": token}))
            ready = json.loads(await asyncio.wait_for(socket.recv(), 10))
            if ready.get("type") != "ready":
                tally.failed[f"not ready: {ready}"] += 1
                return

            async def receive() -> None:
                nonlocal late_face
                with contextlib.suppress(websockets.ConnectionClosed):
                    async for raw in socket:
                        message = json.loads(raw)
                        kind = message.get("type")
                        if kind == "result":
                            tally.results += 1
                            tally.faces += bool(message.get("face"))
                            late_face = late_face or (paused.is_set() and bool(message.get("face")))
                            if (t := sent_at.pop(message["seq"], None)) is not None:
                                tally.latencies.append(time.perf_counter() - t)
                        elif kind == "dropped":
                            tally.dropped[message.get("reason", "?")] += 1
                            sent_at.pop(message.get("seq"), None)
                        elif kind == "error":
                            tally.errors[message.get("code", "?")] += 1
                            sent_at.pop(message.get("seq"), None)
                        elif kind == "mood":
                            tally.windows_told += 1
                        elif kind == "paused":
                            paused.set()

            receiver = asyncio.create_task(receive())
            try:
                seq = 0
                started = next_at = time.perf_counter()
                while next_at - started < seconds and not receiver.done():
                    seq += 1
                    sent_at[seq] = time.perf_counter()
                    await socket.send(frames[seq % len(frames)])
                    tally.sent += 1
                    next_at += 1 / fps
                    await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
                drain_until = time.perf_counter() + DRAIN_SECONDS
                while sent_at and time.perf_counter() < drain_until and not receiver.done():
                    await asyncio.sleep(0.05)
                if not receiver.done():
                    await socket.send(json.dumps({"type": "pause"}))
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(paused.wait(), DRAIN_SECONDS)
                    await asyncio.sleep(0.5)  # a frame answered after the pause is still counted
            except websockets.ConnectionClosed:
                pass  # closed by the server: its code is counted below
            await socket.close()
            await receiver
            tally.closes[socket.close_code if socket.close_code is not None else 1006] += 1
            tally.windows_untold += late_face
    except Exception as exc:  # a load test reports failures, it does not stop at the first
        tally.failed[type(exc).__name__] += 1


# A private-mode client's mood: what its own reading would send (the server cannot tell).
PRIVATE_SCORES = {
    "angry": 0.02,
    "disgust": 0.01,
    "fear": 0.02,
    "happy": 0.05,
    "sad": 0.7,
    "surprise": 0.0,
    "neutral": 0.2,
}
PING_SECONDS = 20.0


async def run_private_client(
    url: str,
    origin: str,
    token: str,
    fps: float,
    seconds: float,
    window_seconds: float,
    tally: Tally,
    start_delay: float,
    tls: ssl.SSLContext | None = None,
) -> None:
    """One device in private mode: auth, then for ``seconds`` one window summary every ``window_seconds``
    (as read at ``fps`` on the computer) and a ping every 20 s, as the extension does; no frame."""
    import uuid
    from datetime import UTC, datetime, timedelta

    import websockets
    from websockets.typing import Origin

    await asyncio.sleep(start_delay)
    sent_at: dict[str, float] = {}
    try:
        async with websockets.connect(url, origin=Origin(origin), max_size=2**20, open_timeout=30, ssl=tls) as socket:
            await socket.send(json.dumps({"type": "auth", "token": token}))
            ready = json.loads(await asyncio.wait_for(socket.recv(), 10))
            if ready.get("type") != "ready" or ready.get("mode") != "private":
                tally.failed[f"not ready in private mode: {ready.get('type')}/{ready.get('mode')}"] += 1
                return

            async def receive() -> None:
                with contextlib.suppress(websockets.ConnectionClosed):
                    async for raw in socket:
                        message = json.loads(raw)
                        kind = message.get("type")
                        if kind == "summary_saved":
                            tally.summaries_saved += 1
                            if (t := sent_at.pop(message.get("key"), None)) is not None:
                                tally.summary_latencies.append(time.perf_counter() - t)
                        elif kind == "error":
                            tally.errors[message.get("code", "?")] += 1
                            sent_at.pop(message.get("key"), None)
                        elif kind == "mood":
                            tally.windows_told += 1

            window_start = datetime.now(UTC)

            async def send_window() -> None:
                nonlocal window_start
                window_end = datetime.now(UTC)
                frames = max(1, int(fps * (window_end - window_start).total_seconds()))
                key = str(uuid.uuid4())
                summary = {
                    "type": "summary",
                    "v": 1,
                    "key": key,
                    "start": window_start.isoformat(),
                    "end": window_end.isoformat(),
                    "frames": frames,
                    "faces": frames,
                    "scores": PRIVATE_SCORES,
                    "uncertain": frames < 3,
                    "baseline": False,
                }
                sent_at[key] = time.perf_counter()
                await socket.send(json.dumps(summary))
                tally.summaries_sent += 1
                window_start = window_end + timedelta(milliseconds=1)

            receiver = asyncio.create_task(receive())
            try:
                started = time.perf_counter()
                window_start = datetime.now(UTC)
                next_window = started + window_seconds
                next_ping = started + PING_SECONDS
                while time.perf_counter() - started < seconds and not receiver.done():
                    now = time.perf_counter()
                    if now >= next_window:
                        await send_window()
                        next_window += window_seconds
                    if now >= next_ping:
                        await socket.send(json.dumps({"type": "ping"}))
                        next_ping += PING_SECONDS
                    await asyncio.sleep(max(0.0, min(next_window, next_ping, started + seconds) - time.perf_counter()))
                if not receiver.done():  # Stop: the open window goes too, as the extension sends it
                    await send_window()
                drain_until = time.perf_counter() + DRAIN_SECONDS
                while sent_at and time.perf_counter() < drain_until and not receiver.done():
                    await asyncio.sleep(0.05)
            except websockets.ConnectionClosed:
                pass
            await socket.close()
            await receiver
            tally.closes[socket.close_code if socket.close_code is not None else 1006] += 1
    except Exception as exc:  # a load test reports failures, it does not stop at the first
        tally.failed[type(exc).__name__] += 1


def percentile(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else float("nan")


def create_devices(count: int, *, label: str = "bench/stream.py", mode: str = "server") -> list[tuple[int, str]]:
    """``count`` paired devices, each of its own bench user, in the configured database: (device id, token).

    Tokens are stored only as their hash (``accounts.tokens``), as pairing stores them.
    """
    import secrets

    from django.db import transaction

    from accounts.models import Device, User
    from accounts.tokens import hash_secret, new_secret

    run = secrets.token_hex(4)
    devices = []
    with transaction.atomic():
        for index in range(count):
            user = User.objects.create_user(email=f"bench-{run}-{index}@smile.invalid", display_name="Bench")
            token = new_secret()
            device = Device.objects.create(user=user, name=label, token_hash=hash_secret(token), mode=mode)
            devices.append((device.pk, token))
    return devices


def create_tokens(count: int) -> list[str]:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smile_site.settings")
    django.setup()
    return [token for _, token in create_devices(count)]


async def run_clients(
    *,
    url: str,
    origin: str,
    tokens: list[str],
    fps: float,
    seconds: float,
    cafile: str | None = None,
    private_tokens: list[str] | None = None,
    window_seconds: float = 60.0,
    private_tally: Tally | None = None,
) -> tuple[Tally, float]:
    """One client per token, started spread over one frame period; the tally and the seconds it all took.

    ``private_tokens``: devices in private mode, run beside them (one summary a window each, started
    spread over one window), tallied in ``private_tally``.
    """
    frames = face_frames(20) if tokens else []
    tally = Tally()
    private = private_tokens or []
    private_tally = private_tally if private_tally is not None else Tally()
    tls = ssl.create_default_context(cafile=cafile) if url.startswith("wss://") else None
    started = time.perf_counter()
    await asyncio.gather(
        *(
            run_client(url, origin, token, frames, fps, seconds, tally, start_delay=i / len(tokens) / fps, tls=tls)
            for i, token in enumerate(tokens)
        ),
        *(
            run_private_client(
                url,
                origin,
                token,
                fps,
                seconds,
                window_seconds,
                private_tally,
                start_delay=i / len(private) * window_seconds,
                tls=tls,
            )
            for i, token in enumerate(private)
        ),
    )
    return tally, time.perf_counter() - started


def figures(tally: Tally, elapsed: float) -> dict[str, Any]:
    """The run's figures (latencies in ms), JSON-ready."""
    ordered = sorted(tally.latencies)
    return {
        "sent": tally.sent,
        "results": tally.results,
        "results_per_s": round(tally.results / elapsed, 1) if elapsed else 0.0,
        "faces": tally.faces,
        **{f"p{q}_ms": round(percentile(ordered, q / 100) * 1000, 1) for q in (50, 95, 99)},
        "mean_ms": round(statistics.mean(ordered) * 1000, 1) if ordered else float("nan"),
        "dropped": dict(tally.dropped),
        "errors": dict(tally.errors),
        "failed_sockets": dict(tally.failed),
        "closes": {str(code): count for code, count in sorted(tally.closes.items())},
        "windows_told": tally.windows_told,
        "windows_untold": tally.windows_untold,
    }


def print_figures(found: dict[str, Any]) -> None:
    print(f"frames sent     {found['sent']}")
    print(f"results         {found['results']} ({found['results_per_s']:.1f}/s), faces {found['faces']}")
    print(
        f"latency         p50 {found['p50_ms']:.1f} ms   p95 {found['p95_ms']:.1f} ms   "
        f"p99 {found['p99_ms']:.1f} ms   mean {found['mean_ms']:.1f} ms"
    )
    for name in ("dropped", "errors", "failed_sockets", "closes"):
        counts = found[name]
        print(f"{name.replace('_', ' '):<16}{sum(counts.values())} {counts}")


async def main_async(args: argparse.Namespace) -> None:
    tally, elapsed = await run_clients(
        url=args.url,
        origin=args.origin,
        tokens=args.tokens,
        fps=args.fps,
        seconds=args.seconds,
        cafile=args.cafile,
    )
    print(f"clients {args.clients} x {args.fps} fps for {args.seconds:.0f} s against {args.url}")
    found = figures(tally, elapsed)
    print_figures(found)
    print(f"windows told    {found['windows_told']} (+{found['windows_untold']} stored untold)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="ws://127.0.0.1:8000/ws/stream/")
    parser.add_argument("--origin", default="http://127.0.0.1:8000")
    parser.add_argument("--token")
    parser.add_argument("--create-token", action="store_true")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--fps", type=float, default=1.0)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--cafile", help="CA certificate to trust for wss:// (default: the system's)")
    args = parser.parse_args()
    if args.create_token:
        args.tokens = create_tokens(args.clients)
    elif args.token:
        args.tokens = [args.token] * args.clients
    else:
        parser.error("give --token TOKEN or --create-token")
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
