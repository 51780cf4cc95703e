"""Capacity of the production topology: N paired devices streaming real faces through nginx over wss.

    SMILE_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python bench/capacity.py [--redis-url redis://127.0.0.1:6379/0] \\
        [--clients 20 | --ramp 10,20,40,80] [--fps 1] [--seconds 60] [--window-seconds 60] [--json]

Starts the stack of ``bench/native_stack.py`` (tests/integration/stack.py: nginx with TLS, three
daphne, a supervised Celery worker, a fresh database on the Postgres server of
``SMILE_DATABASE_URL``, dropped on exit, and the given Redis), then for each step creates one bench
user and paired device per client in that database (tokens stored hashed, as pairing stores
them) and runs ``bench/stream.py``'s client for each: frames at ``--fps`` for ``--seconds``, then
the answers still in flight, a ``pause`` (the server announces the open window) and a close.

Prints, per step: results/s, client-side result latency p50/p95/p99, drops by reason, errors by
code, socket closes by close code, the mood windows written (``MoodEvent`` rows of the step's
devices, once the writes settle) against the windows the clients were told about and against
what the duration allows, CPU ms per result and the peak RSS of each server process
(``/proc/PID/status`` VmRSS every second: daphne x3, the worker, nginx master and workers
summed). One step also prints each process's RSS at its start (idle), 10%, 50% and end.
``--ramp`` prints one line a step and the most clients whose p95 stayed under
``--target-p95-ms`` with at least 99% of their frames scored.

``--private N`` runs N more devices in private mode beside them (``bench/stream.py``
``run_private_client``: no frame, one window summary every ``--window-seconds`` and a ping every
20 s, as the extension sends them) and prints their summaries sent, acknowledged and stored, the
summaries' round trip and errors. With ``--clients 0`` the server's CPU is theirs alone: it prints
CPU ms per summary and per private client and minute, and how many private clients two cores hold
at that cost.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.native_stack import bench_stack  # noqa: E402
from bench.stream import Tally, create_devices, figures, percentile, print_figures, run_clients  # noqa: E402

# After the clients close, the windows they stored are written by each daphne's writer thread.
SETTLE_SECONDS = 20.0
# A ramp step meets the target only if at least this share of its frames got a result.
ANSWERED = 0.99


# --- Memory of the server processes ---------------------------------------------------------


TICKS = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[str] | None:
    """``/proc/PID/stat`` from its third field on (the command name may hold spaces and parentheses)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def _parents() -> dict[int, int]:
    parents = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit() and (fields := _stat_fields(int(entry.name))) is not None:
            parents[int(entry.name)] = int(fields[1])
    return parents


def cpu_seconds(pid: int) -> float | None:
    """User plus system CPU time of one process so far; None once it is gone."""
    fields = _stat_fields(pid)
    return None if fields is None else (int(fields[11]) + int(fields[12])) / TICKS


def rss_mib(pid: int) -> float | None:
    """VmRSS of one process in MiB; None once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def tree(root: int, parents: dict[int, int]) -> list[int]:
    """A process and its descendants (nginx: the master and its workers)."""
    pids, frontier = [root], [root]
    while frontier:
        children = [pid for pid, parent in parents.items() if parent in frontier]
        pids += children
        frontier = children
    return pids


def summed(measure: Callable[[int], float | None], pids: list[int]) -> float | None:
    found = [value for value in map(measure, pids) if value is not None]
    return sum(found) if found else None


@dataclass
class MemorySampler:
    """Samples each named server process's RSS (and CPU time) every ``interval`` s on a thread of its own."""

    roots: Callable[[], dict[str, tuple[int, bool]]]  # name -> (pid, with its descendants)
    interval: float = 1.0
    samples: list[tuple[float, dict[str, float]]] = field(default_factory=list)
    cpu: list[tuple[float, dict[str, float]]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def sample(self) -> None:
        parents = _parents()
        row, cpu = {}, {}
        for name, (root, with_children) in self.roots().items():
            pids = tree(root, parents) if with_children else [root]
            if (value := summed(rss_mib, pids)) is not None:
                row[name] = round(value, 1)
            if (seconds := summed(cpu_seconds, pids)) is not None:
                cpu[name] = seconds
        now = time.monotonic()
        self.samples.append((now, row))
        self.cpu.append((now, cpu))

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    @contextmanager
    def running(self) -> Iterator[MemorySampler]:
        self.sample()
        thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            thread.join()
            self.sample()

    def between(self, start: float, end: float) -> list[dict[str, float]]:
        return [row for at, row in self.samples if start <= at <= end]

    def cpu_used(self, start: float, end: float) -> dict[str, float]:
        """CPU seconds each process used between two moments (a restarted worker counts from its start)."""
        rows = [row for at, row in self.cpu if start <= at <= end]
        if len(rows) < 2:
            return {}
        return {name: max(0.0, rows[-1][name] - rows[0].get(name, 0.0)) for name in rows[-1]}


def peaks(rows: list[dict[str, float]]) -> dict[str, float]:
    found: dict[str, float] = {}
    for row in rows:
        for name, value in row.items():
            found[name] = max(found.get(name, 0.0), value)
    return found


def at_fraction(rows: list[dict[str, float]], fraction: float) -> dict[str, float]:
    return rows[min(len(rows) - 1, int(fraction * (len(rows) - 1)))] if rows else {}


# --- One step -------------------------------------------------------------------------------


def expected_by_duration(*, clients: int, seconds: float, window_seconds: int) -> tuple[int, int]:
    """The fewest and most windows ``clients`` streaming ``seconds`` can close.

    A window closes on the socket's 1 s tick once it has lasted ``window_seconds`` (so it lasts
    up to a second longer), and the closing ``pause`` stores the open one if it holds a frame.
    """
    fewest = max(1, int(seconds // (window_seconds + 1)))
    most = int(seconds // window_seconds) + 1
    return clients * fewest, clients * most


def windows_written(device_ids: list[int], *, want: int, settle: float = SETTLE_SECONDS) -> int:
    """``MoodEvent`` rows of these devices, once the count reaches ``want`` or stops moving for ``settle`` s."""
    from moods.models import MoodEvent

    deadline = time.monotonic() + settle
    while True:
        count = MoodEvent.objects.filter(device_id__in=device_ids).count()
        if count >= want or time.monotonic() > deadline:
            return count
        time.sleep(0.5)


def private_figures(
    tally: Tally, *, written: int, cpu: dict[str, float], clients: int, seconds: float
) -> dict[str, Any]:
    """The private-mode clients' figures; CPU per summary only when they ran alone (``--clients 0``)."""
    ordered = sorted(tally.summary_latencies)
    total_cpu = sum(cpu.values())
    figures_: dict[str, Any] = {
        "private_clients": clients,
        "summaries_sent": tally.summaries_sent,
        "summaries_saved": tally.summaries_saved,
        "summaries_stored": written,
        "summary_p50_ms": round(percentile(ordered, 0.5) * 1000, 1),
        "summary_p95_ms": round(percentile(ordered, 0.95) * 1000, 1),
        "private_errors": dict(tally.errors),
        "private_failed_sockets": dict(tally.failed),
        "private_closes": {str(code): count for code, count in sorted(tally.closes.items())},
        "server_cpu_s": round(total_cpu, 2),
    }
    if clients and tally.summaries_saved:
        per_minute = total_cpu * 1000 / (clients * seconds / 60)
        figures_["cpu_ms_per_summary"] = round(total_cpu * 1000 / tally.summaries_saved, 2)
        figures_["cpu_ms_per_private_client_minute"] = round(per_minute, 2)
        # Two cores give 120 000 CPU ms a minute.
        figures_["private_clients_per_two_cores"] = int(120_000 / per_minute) if per_minute else None
    return figures_


def run_step(
    *,
    stack: Any,
    sampler: MemorySampler,
    clients: int,
    fps: float,
    seconds: float,
    window_seconds: int,
    private: int = 0,
) -> dict[str, Any]:
    devices = create_devices(clients, label="bench/capacity.py")
    private_devices = create_devices(private, label="bench/capacity.py private", mode="private")
    private_tally = Tally()
    started = time.monotonic()
    tally, elapsed = asyncio.run(
        run_clients(
            url=stack.site.ws_url,
            origin=stack.site.origin,
            tokens=[token for _, token in devices],
            fps=fps,
            seconds=seconds,
            cafile=str(stack.ca_cert),
            private_tokens=[token for _, token in private_devices],
            window_seconds=window_seconds,
            private_tally=private_tally,
        )
    )
    told = tally.windows_told + tally.windows_untold
    written = windows_written([device_id for device_id, _ in devices], want=told)
    private_written = windows_written(
        [device_id for device_id, _ in private_devices], want=private_tally.summaries_saved, settle=2.0
    )
    finished = time.monotonic()
    rows = sampler.between(started, finished)
    cpu = sampler.cpu_used(started, finished)
    fewest, most = expected_by_duration(clients=clients, seconds=seconds, window_seconds=window_seconds)
    private_part = (
        private_figures(
            private_tally, written=private_written, cpu=cpu if not clients else {}, clients=private, seconds=seconds
        )
        if private
        else {}
    )
    return {
        **private_part,
        "clients": clients,
        "fps": fps,
        "seconds": seconds,
        "window_seconds": window_seconds,
        **figures(tally, elapsed),
        "windows_written": written,
        "windows_expected": told,
        "windows_by_duration": [fewest, most],
        "cpu_ms_per_result": {
            name: round(seconds * 1000 / tally.results, 2) if tally.results else None for name, seconds in cpu.items()
        },
        "peak_rss_mib": peaks(rows),
        "rss_mib": {f"{fraction:.0%}": at_fraction(rows, fraction) for fraction in (0.0, 0.1, 0.5, 1.0)},
    }


def print_step(step: dict[str, Any]) -> None:
    print(
        f"clients {step['clients']} x {step['fps']} fps for {step['seconds']:.0f} s, "
        f"windows of {step['window_seconds']} s, through nginx (wss)"
    )
    print_figures(step)
    fewest, most = step["windows_by_duration"]
    print(
        f"windows         written {step['windows_written']}, told {step['windows_told']}"
        f" (+{step['windows_untold']} stored untold) = expected {step['windows_expected']};"
        f" the duration allows {fewest}-{most}"
    )
    cpu = step["cpu_ms_per_result"]
    print("CPU ms/result   " + "  ".join(f"{name} {value}" for name, value in cpu.items()))
    if step.get("private_clients"):
        print(
            f"private mode    {step['private_clients']} clients: summaries sent {step['summaries_sent']}, "
            f"saved {step['summaries_saved']}, stored {step['summaries_stored']}; round trip "
            f"p50 {step['summary_p50_ms']} ms p95 {step['summary_p95_ms']} ms; errors {step['private_errors']} "
            f"failed {step['private_failed_sockets']} closes {step['private_closes']}"
        )
        if "cpu_ms_per_summary" in step:
            print(
                f"private CPU     {step['server_cpu_s']} s in all: {step['cpu_ms_per_summary']} ms/summary, "
                f"{step['cpu_ms_per_private_client_minute']} ms per client-minute: "
                f"~{step['private_clients_per_two_cores']} private clients per two cores"
            )
    print("peak RSS MiB    " + "  ".join(f"{name} {value:.0f}" for name, value in step["peak_rss_mib"].items()))
    for moment, row in step["rss_mib"].items():
        print(f"RSS MiB at {moment:>4} " + "  ".join(f"{name} {value:.0f}" for name, value in row.items()))
    if step["rss_mib"]:
        warm, end = step["rss_mib"]["10%"], step["rss_mib"]["100%"]
        growth = {name: end[name] - warm[name] for name in end if name in warm}
        changes = "  ".join(f"{name} {value:+.0f}" for name, value in growth.items())
        print(f"RSS growth MiB  {changes} (10% -> end)")


def meets_target(step: dict[str, Any], *, target_p95_ms: float) -> bool:
    """p95 under the target, with (nearly) every frame scored: shedding load must not pass for speed."""
    return step["p95_ms"] < target_p95_ms and step["results"] >= ANSWERED * step["sent"]


def ramp_line(step: dict[str, Any]) -> str:
    peak, cpu = step["peak_rss_mib"], step["cpu_ms_per_result"]
    web_cpu = sum(value or 0.0 for name, value in cpu.items() if name.startswith("web"))
    return (
        f"{step['clients']:>4} clients  {step['results_per_s']:6.1f} results/s  "
        f"p50 {step['p50_ms']:7.1f}  p95 {step['p95_ms']:7.1f}  p99 {step['p99_ms']:7.1f} ms  "
        f"dropped {sum(step['dropped'].values()):>5}  errors {sum(step['errors'].values()):>3}  "
        f"closes {step['closes']}  failed {sum(step['failed_sockets'].values())}  "
        f"windows {step['windows_written']}/{step['windows_expected']}  "
        f"peak RSS daphne {max((v for k, v in peak.items() if k.startswith('web')), default=0):.0f} "
        f"worker {peak.get('worker', 0):.0f} nginx {peak.get('nginx', 0):.0f} MiB  "
        f"CPU ms/result daphne x3 {web_cpu:.2f} worker {cpu.get('worker') or 0.0:.2f} "
        f"nginx {cpu.get('nginx') or 0.0:.2f}"
    )


# --- The stack -----------------------------------------------------------------------------


def stack_roots(stack: Any) -> Callable[[], dict[str, tuple[int, bool]]]:
    """The server processes to sample: the three daphne, the current worker (under its supervisor), nginx."""
    pid_file = stack.nginx_dir.parent / "worker.pid"

    def roots() -> dict[str, tuple[int, bool]]:
        found = {name: (stack.site.processes[name].pid, False) for name in ("web1", "web2", "web3")}
        with suppress(OSError, ValueError):  # between a worker's death and its restart
            found["worker"] = (int(pid_file.read_text()), False)
        found["nginx"] = (stack.site.processes["nginx"].pid, True)
        return found

    return roots


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--ramp", help="comma-separated client counts, one step each (instead of --clients)")
    parser.add_argument("--fps", type=float, default=1.0)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--window-seconds", type=int, default=60, help="mood window length (production: 60; min 5)")
    parser.add_argument("--target-p95-ms", type=float, default=300.0)
    parser.add_argument("--pause-seconds", type=float, default=5.0, help="rest between ramp steps")
    parser.add_argument("--json", action="store_true", help="also print every step as one JSON line")
    parser.add_argument("--private", type=int, default=0, help="devices in private mode beside the clients")
    args = parser.parse_args()
    steps = [int(part) for part in args.ramp.split(",")] if args.ramp else [args.clients]

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    results = []
    with (
        bench_stack(redis_url=args.redis_url, window_seconds=args.window_seconds) as stack,
        MemorySampler(stack_roots(stack)).running() as sampler,
    ):
        for index, clients in enumerate(steps):
            if index:
                time.sleep(args.pause_seconds)
            step = run_step(
                stack=stack,
                sampler=sampler,
                clients=clients,
                fps=args.fps,
                seconds=args.seconds,
                window_seconds=args.window_seconds,
                private=args.private,
            )
            results.append(step)
            stack.site.assert_running()
            if args.ramp:
                print(ramp_line(step), flush=True)
            else:
                print_step(step)
            if args.json:
                print(json.dumps(step), flush=True)
    if args.ramp:
        best = None
        for step in results:  # the last step before the first that misses the target
            if not meets_target(step, target_p95_ms=args.target_p95_ms):
                break
            best = step["clients"]
        print(
            f"most clients at {args.fps} fps with p95 < {args.target_p95_ms:.0f} ms "
            f"and at least {ANSWERED:.0%} of frames answered with a result: {best}"
        )


if __name__ == "__main__":
    main()
