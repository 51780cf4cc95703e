"""Load test of the stream: N WebSocket clients sending F frames per second for T seconds.

    .venv/bin/python bench/stream.py --url ws://127.0.0.1:8000/ws/stream/ --token TOKEN \\
        [--clients 50] [--fps 1] [--seconds 60] [--origin http://127.0.0.1:8000] [--cafile CA.pem]

``--token`` is a paired device's access token (every client uses it; a device may hold several
sockets). ``--create-token`` instead creates a bench user and device in the database the
server uses (same SMILE_* environment) and prints nothing secret. Each client authenticates
with the first message, sends 640x480 JPEG frames of a real face at the given rate, and
matches every answer to its frame by ``seq``. Prints throughput, result latency percentiles,
drops by reason and errors by code. Traffic goes only to the given URL (use loopback).
For ``wss://`` (through nginx), ``--cafile`` names the CA to trust (``make certs`` writes one).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import ssl
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

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
    closed: Counter[str] = field(default_factory=Counter)


def face_frames(count: int) -> list[bytes]:
    from bench.inference import webcam_frames

    return webcam_frames(count)


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
    import websockets
    from websockets.typing import Origin

    await asyncio.sleep(start_delay)
    sent_at: dict[int, float] = {}
    try:
        async with websockets.connect(url, origin=Origin(origin), max_size=2**20, open_timeout=30, ssl=tls) as socket:
            await socket.send(json.dumps({"type": "auth", "token": token}))
            ready = json.loads(await asyncio.wait_for(socket.recv(), 10))
            if ready.get("type") != "ready":
                tally.closed[f"not ready: {ready}"] += 1
                return

            async def receive() -> None:
                async for raw in socket:
                    message = json.loads(raw)
                    kind = message.get("type")
                    if kind == "result":
                        tally.results += 1
                        tally.faces += bool(message.get("face"))
                        if (t := sent_at.pop(message["seq"], None)) is not None:
                            tally.latencies.append(time.perf_counter() - t)
                    elif kind == "dropped":
                        tally.dropped[message.get("reason", "?")] += 1
                        sent_at.pop(message.get("seq"), None)
                    elif kind == "error":
                        tally.errors[message.get("code", "?")] += 1
                        sent_at.pop(message.get("seq"), None)

            receiver = asyncio.create_task(receive())
            seq = 0
            deadline = time.perf_counter() + seconds
            while time.perf_counter() < deadline:
                seq += 1
                sent_at[seq] = time.perf_counter()
                await socket.send(frames[seq % len(frames)])
                tally.sent += 1
                await asyncio.sleep(1 / fps)
            await asyncio.sleep(2)  # let the last answers arrive
            receiver.cancel()
    except Exception as exc:  # a load test reports failures, it does not stop at the first
        tally.closed[type(exc).__name__] += 1


def percentile(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else float("nan")


def create_token() -> str:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smile_site.settings")
    django.setup()
    from accounts.models import Device, User
    from accounts.tokens import hash_secret, new_secret

    user, _ = User.objects.get_or_create(email="bench@smile.invalid", defaults={"display_name": "Bench"})
    token = new_secret()
    Device.objects.create(user=user, name="bench/stream.py", token_hash=hash_secret(token))
    return token


async def main_async(args: argparse.Namespace) -> None:
    frames = face_frames(20)
    tally = Tally()
    tls = ssl.create_default_context(cafile=args.cafile) if args.url.startswith("wss://") else None
    started = time.perf_counter()
    await asyncio.gather(
        *(
            run_client(
                args.url,
                args.origin,
                args.token,
                frames,
                args.fps,
                args.seconds,
                tally,
                start_delay=i / args.clients / args.fps,
                tls=tls,
            )  # spread the clients over one frame period
            for i in range(args.clients)
        )
    )
    elapsed = time.perf_counter() - started
    ordered = sorted(tally.latencies)
    print(f"clients {args.clients} x {args.fps} fps for {args.seconds:.0f} s against {args.url}")
    print(f"frames sent     {tally.sent}")
    print(f"results         {tally.results} ({tally.results / elapsed:.1f}/s), faces {tally.faces}")
    p50, p95, p99 = (percentile(ordered, q) * 1000 for q in (0.5, 0.95, 0.99))
    mean = statistics.mean(ordered) * 1000 if ordered else float("nan")
    print(f"latency         p50 {p50:.1f} ms   p95 {p95:.1f} ms   p99 {p99:.1f} ms   mean {mean:.1f} ms")
    print(f"dropped         {sum(tally.dropped.values())} {dict(tally.dropped)}")
    print(f"errors          {sum(tally.errors.values())} {dict(tally.errors)}")
    print(f"failed sockets  {sum(tally.closed.values())} {dict(tally.closed)}")


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
        args.token = create_token()
    if not args.token:
        parser.error("give --token TOKEN or --create-token")
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
