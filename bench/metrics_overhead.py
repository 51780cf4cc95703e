"""What the metrics cost on the per-frame path, in microseconds per call (issue 26).

    .venv/bin/python bench/metrics_overhead.py [--calls 200000]

Times, on one thread, each call the stream makes per frame: the daphne side (a frame received,
its result sent with its latency observed, a drop, a message that counts nothing) and the
worker side (a batch of one, decode, detect and score observed, plus the clock reads that time
them). Best of five repeats. A frame costs about 4 ms of daphne CPU and 5 ms of worker CPU
(docs/performance.md), for scale.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import timeit
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smile_site.settings")


def best_us(call: Callable[[], object], calls: int) -> float:
    return min(timeit.repeat(call, number=calls, repeat=5)) / calls * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200_000)
    args = parser.parse_args()
    import django

    django.setup()
    from moods.stream import metrics

    result = {"type": "result", "seq": 1, "face": True, "latency_ms": 123.4}
    dropped = {"type": "dropped", "seq": 2, "reason": "busy"}
    pong = {"type": "pong"}
    stages = metrics.STAGES

    def worker_frame() -> None:
        started = time.perf_counter()
        stages.batch(1)
        decoded = time.perf_counter()
        stages.decoded(decoded - started)
        stages.detected(time.perf_counter() - decoded)
        stages.scored(time.perf_counter() - started, faces=1)

    timings = {
        "daphne: frame received": metrics.frame_received,
        "daphne: result sent (counter + latency histogram)": lambda: metrics.message_sent(result),  # type: ignore[arg-type]
        "daphne: dropped sent (labelled counter)": lambda: metrics.message_sent(dropped),  # type: ignore[arg-type]
        "daphne: other message (nothing counted)": lambda: metrics.message_sent(pong),  # type: ignore[arg-type]
        "worker: one frame's stages (4 clock reads, 4 observations)": worker_frame,
    }
    for name, call in timings.items():
        print(f"{best_us(call, args.calls):7.2f} us  {name}")
    per_frame = best_us(metrics.frame_received, args.calls) + best_us(lambda: metrics.message_sent(result), args.calls)  # type: ignore[arg-type]
    print(f"{per_frame:7.2f} us  daphne per scored frame (received + result)")


if __name__ == "__main__":
    main()
