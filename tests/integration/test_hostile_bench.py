"""The hostile bench (``bench/hostile.py``) through the real stack: a short run of every phase.

Each hostile kind must get its documented answer through nginx (``docs/protocol.md``), never a
crash (1011), while the well-behaved clients keep every frame scored. Slow (it starts the native
production stack) and needs Postgres, Redis and nginx.
"""

from __future__ import annotations

import json

import pytest

from tests.integration.live import PostgresServer
from tests.integration.stack import run_bench_script

pytestmark = [pytest.mark.services, pytest.mark.slow]

# What each kind must be answered at least once (protocol codes and close codes).
EXPECTED = {
    "flood": "dropped:rate_limited",
    "lying_jpeg": "error:invalid_image",
    "png_bomb": "error:image_too_large",
    "random": "error:invalid_image",
    "deep_json": "error:bad_message",
    "huge": "error:bad_message",
    "before_auth": "close:4401",
}


def test_every_hostile_kind_gets_its_documented_answer_and_the_others_keep_being_scored(
    postgres_server: PostgresServer, live_redis_url: str
) -> None:
    output = run_bench_script(
        "hostile.py",
        postgres_url=postgres_server.url("postgres"),
        redis_url=live_redis_url,
        args=["--clients", "2", "--seconds", "3", "--json"],
    )
    phases = {
        step["phase"]: step for step in map(json.loads, (line for line in output.splitlines() if line[:1] == "{"))
    }

    assert list(phases) == ["calm", *EXPECTED, "all at once", "calm again"]
    for name, step in phases.items():
        assert step["sent"] >= 4, (name, step)
        assert step["results"] == step["sent"], (name, step)
        assert (step["errors"], step["failed_sockets"]) == ({}, {}), (name, step)
        for kind, answers in step["answers"].items():
            assert not any(key.startswith("failed:") or key == "close:1011" for key in answers), (name, kind, answers)
    for kind, answer in EXPECTED.items():
        for name in (kind, "all at once"):
            assert phases[name]["answers"][kind].get(answer), (name, kind, phases[name]["answers"][kind])
    assert "RSS MiB start -> end" in output
