"""A tiny supervisor: ``python -m deploy.supervise [--pid-file F] -- COMMAND ...``.

The native production stack's restart policy, as compose's ``restart: unless-stopped`` is the
containers': COMMAND runs as a child and is started again whenever it exits, after a pause
that doubles from ``--min-delay`` up to ``--max-delay`` while it keeps dying quickly (back to
the minimum once it has run for a minute). SIGTERM or SIGINT stops the child (SIGTERM, then
SIGKILL after ``--stop-timeout``) and then the supervisor, with status 0. ``--pid-file``
holds the current child's pid (for operators and the fault tests).
"""

from __future__ import annotations

import argparse
import logging
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from common.jsonlog import JsonFormatter

logger = logging.getLogger("smile.supervise")

STABLE_AFTER_SECONDS = 60.0


def parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m deploy.supervise", description=__doc__.splitlines()[0])
    parser.add_argument("--pid-file", type=Path)
    parser.add_argument("--min-delay", type=float, default=0.5)
    parser.add_argument("--max-delay", type=float, default=10.0)
    parser.add_argument("--stop-timeout", type=float, default=10.0)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    if args.command[:1] == ["--"]:
        args.command = args.command[1:]
    if not args.command:
        parser.error("give the command to supervise after --")
    return args


def supervise(args: argparse.Namespace) -> int:
    stopping = threading.Event()
    child: subprocess.Popen[bytes] | None = None

    def stop(signum: int, _: FrameType | None) -> None:
        logger.info("supervise: signal %d, stopping", signum)
        stopping.set()
        if child is not None and child.poll() is None:
            child.terminate()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    delay = args.min_delay
    while not stopping.is_set():
        started = time.monotonic()
        child = subprocess.Popen(args.command)  # noqa: S603 - the operator's own command line
        if args.pid_file is not None:
            args.pid_file.write_text(f"{child.pid}\n")
        logger.info("supervise: started %s (pid %d)", args.command[0], child.pid)
        try:
            status = child.wait()
        except KeyboardInterrupt:
            stopping.set()
            status = child.wait()
        if stopping.is_set():
            break
        ran = time.monotonic() - started
        delay = args.min_delay if ran >= STABLE_AFTER_SECONDS else min(args.max_delay, delay * 2)
        logger.warning(
            "supervise: pid %d exited with %s after %.1f s; restarting in %.1f s", child.pid, status, ran, delay
        )
        stopping.wait(delay)
    if child is not None and child.poll() is None:
        try:
            child.wait(args.stop_timeout)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    # One JSON object per line, like the processes it runs (their output shares its stdout).
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter())
    logging.basicConfig(level=logging.INFO, handlers=[handler])
    return supervise(parse(sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":
    sys.exit(main())
