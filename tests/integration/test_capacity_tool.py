"""The capacity tool (``bench/capacity.py``) measures what it says: a short run against its own stack.

Slow (it starts the native production stack: about 20-40 s) and needs Postgres, Redis and nginx.
"""

from __future__ import annotations

import json

import pytest

from tests.integration.live import PostgresServer
from tests.integration.stack import run_bench_script

pytestmark = [pytest.mark.services, pytest.mark.slow]


def test_two_clients_get_results_and_every_window_they_were_told_about_is_written(
    postgres_server: PostgresServer, live_redis_url: str
) -> None:
    output = run_bench_script(
        "capacity.py",
        postgres_url=postgres_server.url("postgres"),
        redis_url=live_redis_url,
        args=["--clients", "2", "--seconds", "8", "--window-seconds", "5", "--json"],
    )
    step = json.loads(output.splitlines()[-1])

    assert step["sent"] >= 14  # 2 clients x 8 s at 1 fps, give or take a frame each
    assert step["results"] == step["sent"], step
    assert step["faces"] > 0
    assert step["p95_ms"] > 0
    assert (step["dropped"], step["errors"], step["failed_sockets"]) == ({}, {}, {})
    assert step["closes"] == {"1000": 2}  # both closed by the client at the end, none by the server
    # Each socket closes a 5 s window and stores the open one on its closing pause.
    assert step["windows_expected"] >= 2
    assert step["windows_written"] == step["windows_expected"]
    fewest, most = step["windows_by_duration"]
    assert fewest <= step["windows_expected"] <= most
    assert set(step["peak_rss_mib"]) == {"web1", "web2", "web3", "worker", "nginx"}
    assert all(value > 1 for value in step["peak_rss_mib"].values())
    assert "windows         written" in output


def test_private_mode_clients_send_summaries_that_are_stored_and_priced(
    postgres_server: PostgresServer, live_redis_url: str
) -> None:
    output = run_bench_script(
        "capacity.py",
        postgres_url=postgres_server.url("postgres"),
        redis_url=live_redis_url,
        args=["--clients", "0", "--private", "2", "--seconds", "12", "--window-seconds", "5", "--json"],
    )
    step = json.loads(output.splitlines()[-1])

    assert step["sent"] == 0  # no frame: private-mode devices send summaries only
    assert step["summaries_sent"] >= 2
    assert step["summaries_saved"] == step["summaries_stored"] == step["summaries_sent"], step
    assert (step["private_errors"], step["private_failed_sockets"]) == ({}, {})
    assert step["private_closes"] == {"1000": 2}
    assert step["cpu_ms_per_summary"] > 0
    assert step["private_clients_per_two_cores"] > 0
    assert "private mode    2 clients" in output
