"""The production topology, natively, until Ctrl-C: for a browser, or for ``bench/stream.py`` through nginx.

    SMILE_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python bench/native_stack.py [--redis-url redis://127.0.0.1:6379/0] [--window-seconds 60]

The same stack the tests run (tests/integration/stack.py): Debian's nginx with the project's
template and a fresh certificate, three daphne and a Celery worker with docker-compose.yml's
commands, a fresh database on the Postgres server of ``SMILE_DATABASE_URL`` (dropped on exit)
and the given Redis. Prints the site's URL, the CA to trust and the database URL (for
``bench/stream.py --create-token``). ``bench_stack`` is that stack for the other bench scripts
(``bench/capacity.py``, ``bench/hostile.py``).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


@contextmanager
def bench_stack(*, redis_url: str, window_seconds: int) -> Iterator[Any]:
    """The native production stack on a fresh database of ``SMILE_DATABASE_URL``'s server (dropped
    after); this process's database connection points at that database meanwhile, to create the
    bench devices and count their windows (as Django's test runner retargets its connection)."""
    import dj_database_url
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smile_site.settings")
    django.setup()
    from django.db import connections

    from tests.integration.live import PostgresServer, created_database
    from tests.integration.stack import nginx_binary, running_stack

    parsed = dj_database_url.parse(os.environ.get("SMILE_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres"))
    server = PostgresServer(
        host=str(parsed.get("HOST") or "127.0.0.1"),
        port=int(parsed.get("PORT") or 5432),
        user=str(parsed.get("USER") or "postgres"),
        password=str(parsed.get("PASSWORD") or ""),
    )
    binary = nginx_binary()
    if binary is None:
        sys.exit("no nginx (apt-get install nginx-light)")
    with (
        tempfile.TemporaryDirectory(prefix="smile-bench-") as work,
        created_database(server) as database,
        running_stack(
            database=database,
            redis_url=redis_url,
            work_dir=Path(work),
            nginx_path=binary,
            window_seconds=window_seconds,
        ) as stack,
    ):
        connections["default"].close()
        connections["default"].settings_dict["NAME"] = database.name
        print(f"stack           {stack.site.origin} (database {database.name}, logs {stack.site.log_dir})", flush=True)
        try:
            yield stack
        finally:
            connections["default"].close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--window-seconds", type=int, default=60, help="mood window length (production: 60)")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even when started in the background
    with bench_stack(redis_url=args.redis_url, window_seconds=args.window_seconds) as stack:
        print(f"site        {stack.site.origin}/  (logs in {stack.site.log_dir})")
        print(f"trust       {stack.ca_cert}")
        print(f"database    SMILE_DATABASE_URL={stack.site.database.url}")
        print("Ctrl-C stops everything.", flush=True)
        try:
            while all(process.poll() is None for process in stack.site.processes.values()):
                time.sleep(1)
            print("a process exited:\n" + stack.site.log_tail(), file=sys.stderr)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
