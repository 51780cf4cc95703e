"""Hostile clients against the production topology: do they slow other users, or grow the servers?

    SMILE_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python bench/hostile.py [--redis-url redis://127.0.0.1:6379/0] \\
        [--clients 20] [--seconds 30] [--json]

Starts the stack of ``bench/capacity.py`` (nginx with TLS, three daphne, a supervised Celery
worker, a fresh database) and runs ``--clients`` well-behaved paired devices at 1 fps through
phases of ``--seconds`` each: calm, beside each hostile kind alone, beside all of them at once,
and calm again. The hostile clients, each on its own device and reconnecting half a second
after it is closed (issue 14's list):

- ``flood``: one device on three sockets, real face frames at 30 fps each (its cap is 2 fps);
- ``lying_jpeg``: 4 KB JPEGs whose header reads 320x240 to a naive walk, 32000x32000 to libjpeg;
- ``png_bomb``: 25 megapixels of black in a 25 KB PNG;
- ``random``: 200 KB of random bytes as frames;
- ``deep_json``: 4,000-deep nested JSON texts;
- ``huge``: 1 MiB text messages;
- ``before_auth``: a frame before the token.

Prints, a line a phase, the well-behaved clients' result latency (p50, p95 and p95 against the
mean of the two calm phases), how many frames were scored, and the servers' peak RSS; under it
what each hostile kind was answered (message types, error codes, close codes); last each server
process's RSS at the start and at the end. The load generator shares the machine: on a small
one, part of any slowdown is the hostile clients' own CPU (TLS, 90 frames/s for the flood).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import ssl
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.capacity import MemorySampler, peaks, stack_roots  # noqa: E402
from bench.native_stack import bench_stack  # noqa: E402
from bench.stream import create_devices, face_frames, figures, run_clients  # noqa: E402

KINDS = ("flood", "lying_jpeg", "png_bomb", "random", "deep_json", "huge", "before_auth")
FLOOD_SOCKETS = 3
FLOOD_FPS = 30.0
HOSTILE_FPS = 2.0
RECONNECT_PAUSE = 0.5


def payloads() -> dict[str, list[str | bytes]]:
    from tests.hostile_frames import lying_jpeg, png_bomb

    return {
        "flood": list(face_frames(5)),
        "lying_jpeg": [lying_jpeg()],
        "png_bomb": [png_bomb()],
        "random": [os.urandom(200_000) for _ in range(3)],
        "deep_json": ["[" * 4000 + "]" * 4000, '{"a":' * 4000 + "1" + "}" * 4000],
        "huge": ["x" * (1 << 20)],
        "before_auth": list(face_frames(1)),
    }


async def hostile_socket(
    kind: str,
    *,
    url: str,
    origin: str,
    tls: ssl.SSLContext,
    token: str,
    messages: list[str | bytes],
    fps: float,
    deadline: float,
    answers: Counter[str],
) -> None:
    """Sends ``messages`` in turn at ``fps`` until ``deadline``, reconnecting whenever closed."""
    import websockets
    from websockets.typing import Origin

    sent = 0
    while time.monotonic() < deadline:
        try:
            async with websockets.connect(
                url, origin=Origin(origin), ssl=tls, max_size=2**20, open_timeout=30
            ) as socket:
                if kind != "before_auth":
                    await socket.send(json.dumps({"type": "auth", "token": token}))

                async def receive() -> None:
                    async for raw in socket:
                        message = json.loads(raw)
                        detail = message.get("reason") or message.get("code") or ""
                        answers[f"{message.get('type')}{':' + str(detail) if detail else ''}"] += 1

                receiver = asyncio.create_task(receive())
                try:
                    while time.monotonic() < deadline and not receiver.done():
                        await socket.send(messages[sent % len(messages)])
                        sent += 1
                        await asyncio.sleep(1 / fps)
                finally:
                    receiver.cancel()
                    await asyncio.gather(receiver, return_exceptions=True)
                await socket.close()
                answers[f"close:{socket.close_code}"] += 1
        except websockets.ConnectionClosed as closed:
            answers[f"close:{closed.rcvd.code if closed.rcvd else 1006}"] += 1
        except Exception as exc:  # a bench reports failures, it does not stop at the first
            answers[f"failed:{type(exc).__name__}"] += 1
        await asyncio.sleep(RECONNECT_PAUSE)
    answers["sent"] += sent


async def attack(stack: Any, tokens: dict[str, str], kinds: tuple[str, ...], seconds: float) -> dict[str, Counter[str]]:
    """The given hostile kinds at once for ``seconds``; what each was answered."""
    tls = ssl.create_default_context(cafile=str(stack.ca_cert))
    deadline = time.monotonic() + seconds
    found = payloads()
    answers = {kind: Counter[str]() for kind in kinds}
    await asyncio.gather(
        *(
            hostile_socket(
                kind,
                url=stack.site.ws_url,
                origin=stack.site.origin,
                tls=tls,
                token=tokens[kind],
                messages=found[kind],
                fps=FLOOD_FPS if kind == "flood" else HOSTILE_FPS,
                deadline=deadline,
                answers=answers[kind],
            )
            for kind in kinds
            for _ in range(FLOOD_SOCKETS if kind == "flood" else 1)
        )
    )
    return answers


async def phase(
    stack: Any, tokens: list[str], seconds: float, hostile: dict[str, str], kinds: tuple[str, ...]
) -> tuple[dict[str, Any], dict[str, Counter[str]]]:
    """The well-behaved clients for ``seconds``, beside the hostile ``kinds`` (none: calm)."""
    benign = run_clients(
        url=stack.site.ws_url,
        origin=stack.site.origin,
        tokens=tokens,
        fps=1.0,
        seconds=seconds,
        cafile=str(stack.ca_cert),
    )
    (tally, elapsed), answers = await asyncio.gather(benign, attack(stack, hostile, kinds, seconds))
    return figures(tally, elapsed), answers


# Calm first and last (the machine's own drift), each kind alone, then all of them at once.
PHASES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("calm", ()),
    *((kind, (kind,)) for kind in KINDS),
    ("all at once", KINDS),
    ("calm again", ()),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30.0, help="length of each phase")
    parser.add_argument("--json", action="store_true", help="also print every phase as one JSON line")
    args = parser.parse_args()

    with bench_stack(redis_url=args.redis_url, window_seconds=60) as stack:
        benign = [token for _, token in create_devices(args.clients, label="bench/hostile.py")]
        devices = create_devices(len(KINDS), label="bench/hostile.py")
        hostile = dict(zip(KINDS, (token for _, token in devices), strict=True))
        print(f"{args.clients} well-behaved clients at 1 fps, {args.seconds:.0f} s a phase, through nginx (wss)")
        report: list[dict[str, Any]] = []
        with MemorySampler(stack_roots(stack)).running() as sampler:
            for name, kinds in PHASES:
                started = time.monotonic()
                found, answers = asyncio.run(phase(stack, benign, args.seconds, hostile, kinds))
                rows = sampler.between(started, time.monotonic())
                report.append(
                    {
                        "phase": name,
                        **found,
                        "peak_rss_mib": peaks(rows),
                        "rss_mib_at_end": rows[-1] if rows else {},
                        "answers": {kind: dict(count) for kind, count in answers.items()},
                    }
                )
                stack.site.assert_running()
        calm = (report[0]["p95_ms"] + report[-1]["p95_ms"]) / 2
        for step in report:
            peak = step["peak_rss_mib"]
            print(
                f"{step['phase']:<12} p50 {step['p50_ms']:6.1f}  p95 {step['p95_ms']:6.1f} ms"
                f" (x{step['p95_ms'] / calm:.2f} calm)"
                f"  results {step['results']}/{step['sent']}  errors {sum(step['errors'].values())}"
                f"  peak RSS daphne {max((v for k, v in peak.items() if k.startswith('web')), default=0):.0f}"
                f" worker {peak.get('worker', 0):.0f} nginx {peak.get('nginx', 0):.0f} MiB"
            )
            for kind, count in step["answers"].items():
                print(f"    {kind:<12} " + ", ".join(f"{key} {value}" for key, value in sorted(count.items())))
            if args.json:
                print(json.dumps(step))
        first, last = sampler.samples[0][1], sampler.samples[-1][1]
        print("RSS MiB start -> end  " + "  ".join(f"{k} {first.get(k, 0):.0f}->{v:.0f}" for k, v in last.items()))


if __name__ == "__main__":
    main()
