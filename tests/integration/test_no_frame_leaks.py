"""No frame is ever written anywhere: not to a log, not to the database, not to a file (DESIGN.md).

Frames that carry a random marker are streamed through a live site: faces (the marker in a JPEG
comment segment, which decoders skip), an invalid image and an oversized frame (the marker at
both ends), a truncated JPEG, and a frame sent before authenticating. Afterwards the marker, in
clear, hex or base64 at any alignment, and the base64 of the frames themselves must appear in no
output of the processes (logging at DEBUG), no row of any table, no file created or modified under
the project folder, /tmp and the database's data directory during the run and, in production,
nowhere in Redis.
"""

from __future__ import annotations

import asyncio
import base64
import os
import secrets
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from psycopg import sql

from tests.conftest import PROJECT_ROOT
from tests.inference.conftest import encode, webcam_frame_with_face
from tests.integration.live import (
    MODES,
    WINDOW_SECONDS,
    LiveDatabase,
    LiveSite,
    Mode,
    open_stream,
    pair_through_the_pages,
    running_site,
)

FIRST_ANSWER_TIMEOUT = 120.0
ANSWER_TIMEOUT = 30.0
MAX_FRAME_BYTES = 262_144
CHUNK_BYTES = 8 * 1024 * 1024


def marked_jpeg(jpeg: bytes, marker: bytes) -> bytes:
    """``jpeg`` with ``marker`` in a comment segment (COM) right after SOI: decoders skip it."""
    assert jpeg.startswith(b"\xff\xd8")
    comment = b"\xff\xfe" + (len(marker) + 2).to_bytes(2, "big") + marker
    return jpeg[:2] + comment + jpeg[2:]


def needles(marker: bytes, frames: Iterable[bytes]) -> dict[str, bytes]:
    """What a leak would look like: the marker in clear, hex and base64 (any alignment), a frame's base64."""
    found = {"marker": marker, "marker as hex": marker.hex().encode()}
    for offset in range(3):
        # In a longer base64 text, the marker's bytes from a multiple of 3 on encode identically.
        aligned = marker[offset : offset + 3 * ((len(marker) - offset) // 3)]
        found[f"marker in base64 (offset {offset})"] = base64.b64encode(aligned)
        found[f"marker in url-safe base64 (offset {offset})"] = base64.urlsafe_b64encode(aligned)
    for index, frame in enumerate(frames):
        found[f"frame {index} in base64"] = base64.b64encode(frame[:96])
    return found


def leaks_in(data: bytes, patterns: dict[str, bytes]) -> list[str]:
    return [name for name, pattern in patterns.items() if pattern in data]


def leaks_in_file(path: Path, patterns: dict[str, bytes]) -> list[str]:
    overlap = max(len(pattern) for pattern in patterns.values())
    found: set[str] = set()
    with path.open("rb") as file:
        tail = b""
        while chunk := file.read(CHUNK_BYTES):
            found.update(leaks_in(tail + chunk, patterns))
            tail = chunk[-overlap:]
    return sorted(found)


def files_changed_since(roots: Iterable[Path], since: float) -> Iterator[Path]:
    for root in roots:
        for directory, _, names in os.walk(root):
            for name in names:
                path = Path(directory, name)
                try:
                    if path.is_file() and not path.is_symlink() and path.stat().st_mtime >= since:
                        yield path
                except OSError:
                    continue


def leaking_files(roots: Iterable[Path], since: float, patterns: dict[str, bytes]) -> dict[str, list[str]]:
    leaks: dict[str, list[str]] = {}
    for path in files_changed_since(roots, since):
        try:
            found = leaks_in_file(path, patterns)
        except OSError:  # gone meanwhile, a socket, or not readable
            continue
        if found:
            leaks[str(path)] = found
    return leaks


def leaking_tables(database: LiveDatabase, patterns: dict[str, bytes]) -> dict[str, list[str]]:
    """Every row of every table of the live database, as COPY writes it."""
    leaks: dict[str, list[str]] = {}
    with database.connect() as connection:
        tables = connection.execute(
            "SELECT table_schema, table_name FROM information_schema.tables"
            " WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')"
        ).fetchall()
        assert ("public", "moods_moodevent") in tables
        for schema, table in tables:
            dump = bytearray()
            with connection.cursor().copy(sql.SQL("COPY {} TO STDOUT").format(sql.Identifier(schema, table))) as copy:
                for block in copy:
                    dump += block
            if found := leaks_in(bytes(dump), patterns):
                leaks[f"{schema}.{table}"] = found
    return leaks


def leaking_redis_keys(url: str, patterns: dict[str, bytes]) -> dict[str, list[str]]:
    """Every value in the live Redis database (queues, unacknowledged messages, channel layer)."""
    client = redis.Redis.from_url(url)
    leaks: dict[str, list[str]] = {}
    try:
        for key in client.scan_iter(count=1000):
            kind = client.type(key)
            values: list[Any] = []
            if kind == b"string":
                values = [client.get(key) or b""]
            elif kind == b"list":
                values = list(client.lrange(key, 0, -1))
            elif kind == b"hash":
                values = [item for pair in client.hgetall(key).items() for item in pair]
            elif kind == b"set":
                values = list(client.smembers(key))
            elif kind == b"zset":
                values = list(client.zrange(key, 0, -1))
            if found := leaks_in(b"\n".join(values), patterns):
                leaks[key.decode(errors="replace")] = found
    finally:
        client.close()
    return leaks


@pytest.mark.parametrize(
    ("prefix", "encoder"), [(b"", base64.b64encode), (b"x", base64.b64encode), (b"xy", base64.urlsafe_b64encode)]
)
def test_the_leak_patterns_find_a_marker_base64_encoded_at_any_offset(prefix: bytes, encoder: Any) -> None:
    marker = b"SMILE-LEAK-" + secrets.token_hex(32).encode()
    patterns = needles(marker, [])

    assert leaks_in(b'{"body": "' + encoder(prefix + b"frame " + marker + b" rest") + b'"}', patterns) != []
    assert leaks_in(encoder(prefix + b"frame without it"), patterns) == []


@pytest.mark.services
@pytest.mark.parametrize("mode", MODES)
async def test_no_frame_reaches_a_log_the_database_or_a_file(
    mode: Mode, live_database: LiveDatabase, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    redis_url = request.getfixturevalue("live_redis_url") if mode == "production" else None
    marker = f"SMILE-LEAK-{secrets.token_hex(32)}".encode()
    face = marked_jpeg(encode(webcam_frame_with_face()), marker)
    invalid = marker + b" is not an image " + marker
    truncated = face[: len(face) // 2]
    oversized = face + marker * (MAX_FRAME_BYTES // len(marker) + 1)  # ends with the marker
    frames = [face, invalid, truncated, oversized]
    patterns = needles(marker, frames)
    [(data_directory,)] = live_database.rows("SHOW data_directory")
    roots = [PROJECT_ROOT, Path(tempfile.gettempdir()), Path(data_directory)]

    # DEBUG: the most any log says (production logs at INFO, a subset).
    with running_site(
        mode=mode, database=live_database, redis_url=redis_url, log_dir=tmp_path / "logs", SMILE_LOG_LEVEL="DEBUG"
    ) as site:
        started_at = site.started_at
        await stream_marked_frames(site, face=face, invalid=invalid, truncated=truncated, oversized=oversized)
    # The processes have stopped: their output is complete.

    assert site.logs(), "the processes' output was captured"
    assert leaks_in(site.logs(), patterns) == []
    assert live_database.rows(
        "SELECT count(*) FROM moods_moodevent WHERE ended_at >= to_timestamp(%s)", started_at
    ) != [(0,)], "the run stored mood windows"
    assert leaking_tables(live_database, patterns) == {}
    if redis_url is not None:
        assert leaking_redis_keys(redis_url, patterns) == {}
    assert leaking_files(roots, started_at - 1, patterns) == {}


async def stream_marked_frames(
    site: LiveSite, *, face: bytes, invalid: bytes, truncated: bytes, oversized: bytes
) -> None:
    device = await asyncio.to_thread(pair_through_the_pages, site)
    async with open_stream(site, token=device.token) as stream:
        assert stream.of_type("ready") != []
        await stream.send_frame(face)
        first = await stream.answer_to(1, timeout=FIRST_ANSWER_TIMEOUT)
        assert (first["type"], first["face"]) == ("result", True), "the marked frame is a real, readable face"
        # One frame a second (the rate limit allows two) for longer than a window, misfits among them.
        sent = [face, invalid, face, truncated, face, oversized, face, face]
        for frame in sent:
            await asyncio.sleep(1.0)
            await stream.send_frame(frame)
        seqs = range(1, 2 + len(sent))
        await stream.wait_for(
            lambda: all(stream.answers(seq) for seq in seqs) and stream.of_type("mood") != [],
            timeout=ANSWER_TIMEOUT + WINDOW_SECONDS,
            what="an answer to every frame and a mood window",
        )
        assert stream.answers(3) == [{"type": "error", "seq": 3, "code": "invalid_image"}]
        assert stream.answers(7) == [{"type": "error", "seq": 7, "code": "frame_too_large"}]
    async with open_stream(site) as unauthenticated:
        await unauthenticated.send_frame(face)
        assert await unauthenticated.closed_with(timeout=ANSWER_TIMEOUT) == 4401
    site.assert_running()
