"""The whole product, live: daphne (and a Celery worker) as real processes, a device paired through the
real pages, real face JPEGs streamed over a real WebSocket, results, mood windows and an encouragement
back, and rows in the live database.

Two topologies, one code path: ``production`` (Redis channel layer, Celery worker on the ``inference``
queue) and ``embedded`` (in-memory channel layer, inference in daphne's thread pool; Postgres either way).
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from inference.emotions import EMOTIONS
from tests.inference.conftest import encode, webcam_frame_with_face
from tests.integration.live import (
    MODES,
    WINDOW_SECONDS,
    LiveDatabase,
    LiveSite,
    open_stream,
    pair_through_the_pages,
    revoke_on_the_devices_page,
    running_site,
)

pytestmark = pytest.mark.services

# The first frame loads TensorFlow's model (in daphne or in the worker): allow for a busy machine.
FIRST_ANSWER_TIMEOUT = 120.0
ANSWER_TIMEOUT = 30.0
# 1 fps for longer than two windows.
STREAMED_FRAMES = 12
LOAD_SHEDDING = {"busy", "unavailable"}

SEED_SAD_HISTORY = """
from datetime import timedelta
from django.utils import timezone
from accounts.models import User
from moods.models import EncouragementSettings, MoodEvent

user = User.objects.get(email=EMAIL)
EncouragementSettings.objects.update_or_create(
    user=user, defaults=dict(enabled=True, sadness_threshold=0.05, sustain_minutes=1, cooldown_minutes=5)
)
now = timezone.now()
for minutes_ago in (2, 1):
    start = now - timedelta(minutes=minutes_ago)
    MoodEvent.objects.create(
        user=user, started_at=start, ended_at=start + timedelta(minutes=1), frames=60, faces=60,
        angry=0, disgust=0, fear=0, happy=0.1, sad=0.8, surprise=0, neutral=0.1, dominant="sad",
    )
print("seeded")
"""


@pytest.fixture(scope="module", params=MODES)
def site(
    request: pytest.FixtureRequest, live_database: LiveDatabase, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveSite]:
    mode = request.param
    redis_url = request.getfixturevalue("live_redis_url") if mode == "production" else None
    with running_site(
        mode=mode, database=live_database, redis_url=redis_url, log_dir=tmp_path_factory.mktemp(f"{mode}-logs")
    ) as live:
        yield live


@pytest.fixture(scope="module")
def face_frame() -> bytes:
    """A 640x480 webcam-like JPEG of a smiling face."""
    return encode(webcam_frame_with_face())


def assert_face_result(message: dict[str, Any], *, seq: int) -> None:
    assert (message["type"], message["seq"], message["face"]) == ("result", seq, True), message
    scores = message["scores"]
    assert list(scores) == list(EMOTIONS)
    assert all(0.0 <= score <= 1.0 for score in scores.values())
    assert math.isclose(sum(scores.values()), 1.0, abs_tol=1e-3)
    assert message["dominant"] == max(EMOTIONS, key=lambda emotion: scores[emotion])
    assert message["latency_ms"] >= 0
    assert set(message) == {"type", "seq", "face", "scores", "dominant", "latency_ms"}, "nothing else (no face box)"


def assert_mood_window(message: dict[str, Any]) -> None:
    assert message["type"] == "mood"
    assert datetime.fromisoformat(message["start"]) < datetime.fromisoformat(message["end"])
    assert 1 <= message["faces"] <= message["frames"]
    assert list(message["scores"]) == list(EMOTIONS)
    assert math.isclose(sum(message["scores"].values()), 1.0, abs_tol=1e-3)
    assert message["dominant"] in EMOTIONS


async def test_a_paired_extension_streams_faces_and_gets_results_moods_and_an_encouragement(
    site: LiveSite, face_frame: bytes
) -> None:
    device = await asyncio.to_thread(pair_through_the_pages, site)

    async with open_stream(site, token=device.token) as stream:
        assert stream.messages == [
            {
                "type": "ready",
                "max_fps": 2,
                "max_frame_bytes": 262_144,
                "window_seconds": WINDOW_SECONDS,
                "capture": {"fps": 1.0, "width": 320, "height": 240},
                "mode": "server",
            }
        ]
        # The first frame waits for the model to load; the live part starts once it is answered.
        await stream.send_frame(face_frame)
        assert_face_result(await stream.answer_to(1, timeout=FIRST_ANSWER_TIMEOUT), seq=1)
        seeded = await asyncio.to_thread(site.shell, SEED_SAD_HISTORY.replace("EMAIL", json.dumps(device.email)))
        assert seeded.splitlines()[-1] == "seeded"

        live_from = len(stream.messages)
        seqs = range(2, 2 + STREAMED_FRAMES)
        for _ in seqs:
            await stream.send_frame(face_frame)
            await asyncio.sleep(1.0)
        await stream.wait_for(
            lambda: all(stream.answers(seq) for seq in seqs), timeout=ANSWER_TIMEOUT, what="an answer to every frame"
        )

        def live_moods() -> list[dict[str, Any]]:
            return [message for message in stream.messages[live_from:] if message["type"] == "mood"]

        await stream.wait_for(
            lambda: len(live_moods()) >= 2 and stream.of_type("encourage") != [],
            timeout=2 * WINDOW_SECONDS + ANSWER_TIMEOUT,
            what="two mood windows and an encouragement",
        )
        answers = [stream.answers(seq) for seq in seqs]
        assert all(len(answer) == 1 for answer in answers), "exactly one answer per frame"
        results = [answer for [answer] in answers if answer["type"] == "result"]
        for result in results:
            assert_face_result(result, seq=result["seq"])
        # A starved machine may shed load (the protocol's own answer to it), but not most frames.
        assert all(
            answer["type"] == "dropped" and answer["reason"] in LOAD_SHEDDING
            for [answer] in answers
            if answer["type"] != "result"
        )
        assert len(results) >= STREAMED_FRAMES * 3 // 4
        for mood in stream.of_type("mood"):
            assert_mood_window(mood)

        [encourage] = stream.of_type("encourage")  # the cooldown allows one
        assert isinstance(encourage["id"], int)
        assert encourage["message"]
        await stream.send_json({"type": "feedback", "id": encourage["id"], "helpful": True})
        await stream.wait_for(
            lambda: stream.of_type("feedback_saved") != [], timeout=ANSWER_TIMEOUT, what="feedback_saved"
        )
        assert stream.of_type("feedback_saved") == [{"type": "feedback_saved", "id": encourage["id"]}]
        assert not stream.closed
        moods = stream.of_type("mood")

    [(user_id,)] = site.database.rows("SELECT id FROM accounts_user WHERE email = %s", device.email)
    # Each window is stored right after it is sent.
    stored = site.database.rows(
        "SELECT started_at, frames, faces, dominant FROM moods_moodevent WHERE device_id = %s AND user_id = %s",
        device.device_id,
        user_id,
    )
    assert {
        (datetime.fromisoformat(mood["start"]), mood["frames"], mood["faces"], mood["dominant"]) for mood in moods
    } <= set(stored)
    assert site.database.rows(
        "SELECT user_id, message, feedback FROM moods_encouragement WHERE id = %s", encourage["id"]
    ) == [(user_id, encourage["message"], "helpful")]
    if site.mode == "production":
        assert b"Task inference.stream_frames[" in (site.log_dir / "worker.log").read_bytes(), "frames went via Celery"
    else:
        assert list(site.processes) == ["daphne"]
    site.assert_running()


async def test_revoking_the_device_on_the_devices_page_closes_its_open_socket_4403(site: LiveSite) -> None:
    device = await asyncio.to_thread(pair_through_the_pages, site)

    async with open_stream(site, token=device.token) as stream:
        assert stream.of_type("ready") != []
        page = await asyncio.to_thread(revoke_on_the_devices_page, device)
        assert page.status == 200
        assert "was revoked" in page.text
        assert await stream.closed_with(timeout=ANSWER_TIMEOUT) == 4403

    assert site.database.rows("SELECT revoked_at IS NOT NULL FROM accounts_device WHERE id = %s", device.device_id) == [
        (True,)
    ]
    async with open_stream(site, token=device.token) as again:
        assert await again.closed_with(timeout=ANSWER_TIMEOUT) == 4403
    site.assert_running()
