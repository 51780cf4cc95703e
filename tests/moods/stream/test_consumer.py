"""The stream consumer through the real ASGI application (origin check, auth, routing)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from datetime import timedelta
from typing import Any

import channels.consumer
import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import AsyncClient
from django.utils import timezone

from accounts import pairing
from accounts.models import User
from inference.classifier import FrameResult, classify_frames
from moods.models import Encouragement, EncouragementSettings, MoodEvent
from moods.stream import consumer as consumers
from moods.stream import dispatch, presence
from moods.stream.windows import window_writer
from smile_site.asgi import application
from tests.factories import make_user, pair_device

pytestmark = pytest.mark.django_db(transaction=True)

ORIGIN = (b"origin", b"http://127.0.0.1:8000")
HAPPY = {"angry": 0.0, "disgust": 0.0, "fear": 0.0, "happy": 0.9, "sad": 0.05, "surprise": 0.0, "neutral": 0.05}


def fake_classify(frames: Sequence[bytes]) -> list[FrameResult]:
    """Fast stand-in for the CNN: b"face" frames are happy faces, b"none" has no face, else invalid."""
    results = []
    for frame in frames:
        if frame.startswith(b"face"):
            results.append(FrameResult(face=True, scores=HAPPY, dominant="happy"))
        elif frame.startswith(b"none"):
            results.append(FrameResult(face=False))
        else:
            results.append(FrameResult(face=False, error="invalid_image"))
    return results


def use_dispatcher(classify: Callable[[Sequence[bytes]], list[FrameResult]], max_pending: int = 32) -> None:
    dispatch.reset_dispatcher()
    dispatch._dispatcher.set(dispatch.ThreadPoolDispatcher(max_workers=2, max_pending=max_pending, classify=classify))


@pytest.fixture(autouse=True)
def in_process_inference(settings) -> Iterator[None]:
    settings.SMILE_INFERENCE_EXECUTOR = "thread"
    use_dispatcher(fake_classify)
    yield
    dispatch.reset_dispatcher()


@pytest.fixture
def user() -> User:
    return make_user()


@pytest.fixture
def token(user: User) -> str:
    return pair_device(user=user)[1]


async def open_socket(headers: list[tuple[bytes, bytes]] | None = None) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(application, "/ws/stream/", headers=[ORIGIN] if headers is None else headers)
    connected, _ = await communicator.connect(timeout=5)
    assert connected
    return communicator


@pytest.fixture
async def stream(token: str) -> AsyncIterator[WebsocketCommunicator]:
    communicator = await open_socket()
    await communicator.send_json_to({"type": "auth", "token": token})
    ready = await communicator.receive_json_from(timeout=5)
    assert ready["type"] == "ready"
    yield communicator
    await communicator.disconnect()


async def closed_with(communicator: WebsocketCommunicator) -> int:
    message = await communicator.receive_output(timeout=5)
    assert message["type"] == "websocket.close"
    return int(message["code"])


async def test_it_answers_ready_with_the_limits_after_a_token(token: str) -> None:
    communicator = await open_socket()
    await communicator.send_json_to({"type": "auth", "token": token})
    assert await communicator.receive_json_from(timeout=5) == {
        "type": "ready",
        "max_fps": 2.0,
        "max_frame_bytes": 262_144,
        "window_seconds": 60,
        "capture": {"fps": 1.0, "width": 320, "height": 240},
        "mode": "server",
    }
    await communicator.disconnect()


@pytest.mark.parametrize(
    "first_message",
    [
        {"type": "auth", "token": "not-a-token"},
        {"type": "auth", "token": 42},
        {"type": "auth"},
        {"type": "ping"},
    ],
)
async def test_it_closes_4401_without_a_valid_token(first_message: dict[str, Any]) -> None:
    communicator = await open_socket()
    await communicator.send_json_to(first_message)
    assert await closed_with(communicator) == 4401


async def test_it_closes_4401_when_a_frame_comes_before_the_token() -> None:
    communicator = await open_socket()
    await communicator.send_to(bytes_data=b"face")
    assert await closed_with(communicator) == 4401


async def test_it_closes_4403_for_a_revoked_token(user: User) -> None:
    device, token = await database_sync_to_async(pair_device)(user=user)
    await database_sync_to_async(pairing.revoke_device)(user=user, device=device)
    communicator = await open_socket()
    await communicator.send_json_to({"type": "auth", "token": token})
    assert await closed_with(communicator) == 4403


async def test_it_closes_4408_when_no_auth_comes_in_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(consumers, "AUTH_TIMEOUT_SECONDS", 0.2)
    communicator = await open_socket()
    assert await closed_with(communicator) == 4408


@pytest.mark.parametrize(
    "headers",
    [
        [(b"origin", b"https://evil.example")],
        [(b"origin", b"http://127.0.0.1:8000.evil.example")],
        [(b"origin", b"chrome-extension://someoneelse")],
        [],
    ],
)
async def test_it_refuses_a_foreign_or_missing_origin_with_a_code_the_page_can_name(
    headers: list[tuple[bytes, bytes]], token: str
) -> None:
    # A refused handshake reaches a page only as 1006; 4406 lets it say "this address is not accepted".
    communicator = WebsocketCommunicator(application, "/ws/stream/", headers=[*headers, (b"host", b"127.0.0.1:8000")])
    connected, _ = await communicator.connect(timeout=5)
    assert connected
    closed = await communicator.receive_output(timeout=5)
    assert (closed["type"], closed["code"]) == ("websocket.close", 4406)


async def test_the_extension_origin_is_allowed_when_configured(token: str) -> None:
    from common.origins import ExactOriginValidator, allowed_origins

    app = ExactOriginValidator(
        consumers.StreamConsumer.as_asgi(), allowed_origins(site_origins=[], extension_ids=["abcdefghijklmnop"])
    )
    communicator = WebsocketCommunicator(
        app, "/ws/stream/", headers=[(b"origin", b"chrome-extension://abcdefghijklmnop")]
    )
    connected, _ = await communicator.connect(timeout=5)
    assert connected
    await communicator.disconnect()


async def test_the_websites_own_session_authenticates_without_a_token(user: User) -> None:
    communicator = WebsocketCommunicator(consumers.StreamConsumer.as_asgi(), "/ws/stream/", headers=[ORIGIN])
    communicator.scope["user"] = user
    connected, _ = await communicator.connect(timeout=5)
    assert connected
    assert (await communicator.receive_json_from(timeout=5))["type"] == "ready"
    await communicator.disconnect()


async def test_a_face_frame_gets_a_result_with_seven_scores(stream: WebsocketCommunicator) -> None:
    await stream.send_to(bytes_data=b"face")
    result = await stream.receive_json_from(timeout=5)
    assert result["type"] == "result"
    assert result["seq"] == 1
    assert result["face"] is True
    assert result["scores"] == HAPPY
    assert result["dominant"] == "happy"
    assert result["latency_ms"] >= 0
    assert "box" not in result


async def test_frames_and_their_results_make_no_trip_to_the_database_thread(
    stream: WebsocketCommunicator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Channels sweeps stale database connections on its one database thread before every message a
    consumer handles: two thread hops per frame, queued behind other sockets' queries. A frame and
    its result touch no database (the handlers' rare database calls sweep for themselves, as every
    ``database_sync_to_async`` call does), so they skip the sweep; control messages keep it."""
    sweeps = 0
    sweep = channels.consumer.aclose_old_connections

    async def counted_sweep() -> None:
        nonlocal sweeps
        sweeps += 1
        await sweep()

    monkeypatch.setattr(channels.consumer, "aclose_old_connections", counted_sweep)
    for seq in (1, 2):
        await stream.send_to(bytes_data=b"face")
        result = await stream.receive_json_from(timeout=5)
        assert (result["type"], result["seq"]) == ("result", seq)
    assert sweeps == 0
    await stream.send_json_to({"type": "ping"})
    assert await stream.receive_json_from(timeout=5) == {"type": "pong"}
    assert sweeps == 1


async def test_a_frame_without_a_face_says_so(stream: WebsocketCommunicator) -> None:
    await stream.send_to(bytes_data=b"none")
    assert await stream.receive_json_from(timeout=5) == {
        "type": "result",
        "seq": 1,
        "face": False,
        "latency_ms": pytest.approx(0, abs=5000),
    }


async def test_an_invalid_image_is_an_error_and_the_socket_stays_open(stream: WebsocketCommunicator) -> None:
    await stream.send_to(bytes_data=b"GIF89a...")
    assert await stream.receive_json_from(timeout=5) == {"type": "error", "seq": 1, "code": "invalid_image"}
    await stream.send_json_to({"type": "ping"})
    assert await stream.receive_json_from(timeout=5) == {"type": "pong"}


async def test_an_oversized_frame_is_refused_before_inference(stream: WebsocketCommunicator) -> None:
    await stream.send_to(bytes_data=b"face" + bytes(262_144))
    assert await stream.receive_json_from(timeout=5) == {"type": "error", "seq": 1, "code": "frame_too_large"}


async def test_frames_over_the_rate_are_dropped(stream: WebsocketCommunicator) -> None:
    for _ in range(4):
        await stream.send_to(bytes_data=b"face")
    answers = [await stream.receive_json_from(timeout=5) for _ in range(4)]
    by_seq = {answer["seq"]: answer for answer in answers}
    assert by_seq[1]["type"] == by_seq[2]["type"] == "result"
    assert by_seq[3] == {"type": "dropped", "seq": 3, "reason": "rate_limited"}
    assert by_seq[4] == {"type": "dropped", "seq": 4, "reason": "rate_limited"}


async def test_at_most_two_frames_are_in_flight(settings, token: str) -> None:
    settings.SMILE_MAX_FPS = 100
    release = threading.Event()

    def slow_classify(frames: Sequence[bytes]) -> list[FrameResult]:
        release.wait(5)
        return fake_classify(frames)

    use_dispatcher(slow_classify)
    communicator = await open_socket()
    await communicator.send_json_to({"type": "auth", "token": token})
    await communicator.receive_json_from(timeout=5)
    for _ in range(3):
        await communicator.send_to(bytes_data=b"face")
    assert await communicator.receive_json_from(timeout=5) == {"type": "dropped", "seq": 3, "reason": "busy"}
    release.set()
    seqs = sorted([(await communicator.receive_json_from(timeout=5))["seq"] for _ in range(2)])
    assert seqs == [1, 2]
    await communicator.disconnect()


async def test_a_full_process_answers_busy(token: str) -> None:
    use_dispatcher(fake_classify, max_pending=1)
    dispatch.get_dispatcher()._slots.acquire()  # another connection holds the only slot
    communicator = await open_socket()
    await communicator.send_json_to({"type": "auth", "token": token})
    await communicator.receive_json_from(timeout=5)
    await communicator.send_to(bytes_data=b"face")
    assert await communicator.receive_json_from(timeout=5) == {"type": "dropped", "seq": 1, "reason": "busy"}
    await communicator.disconnect()


async def test_pause_drops_frames_until_resume(stream: WebsocketCommunicator) -> None:
    await stream.send_json_to({"type": "pause"})
    assert await stream.receive_json_from(timeout=5) == {"type": "paused"}
    await stream.send_to(bytes_data=b"face")
    assert await stream.receive_json_from(timeout=5) == {"type": "dropped", "seq": 1, "reason": "paused"}
    await stream.send_json_to({"type": "resume"})
    assert await stream.receive_json_from(timeout=5) == {"type": "resumed"}
    await stream.send_to(bytes_data=b"face")
    assert (await stream.receive_json_from(timeout=5))["seq"] == 2


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        "[1, 2]",
        '{"kind": "ping"}',
        '{"type": "dance"}',
        '{"type": "auth", "token": "again"}',
        '{"type": "feedback", "id": "1", "helpful": true}',
        "x" * 5000,
    ],
)
async def test_bad_text_messages_get_bad_message(stream: WebsocketCommunicator, text: str) -> None:
    await stream.send_to(text_data=text)
    assert await stream.receive_json_from(timeout=5) == {"type": "error", "seq": None, "code": "bad_message"}


async def test_sustained_abuse_closes_4400(stream: WebsocketCommunicator) -> None:
    for _ in range(21):
        await stream.send_to(text_data="nonsense")
    codes = []
    for _ in range(22):  # 21 error answers, then the close
        message = await stream.receive_output(timeout=5)
        if message["type"] == "websocket.close":
            codes.append(message["code"])
            break
    assert codes == [4400]


async def test_revoking_the_device_closes_its_socket_4403(user: User) -> None:
    device, token = await database_sync_to_async(pair_device)(user=user)
    communicator = await open_socket()
    await communicator.send_json_to({"type": "auth", "token": token})
    await communicator.receive_json_from(timeout=5)
    await database_sync_to_async(pairing.revoke_device)(user=user, device=device)
    assert await closed_with(communicator) == 4403


async def test_a_closed_window_is_stored_and_sent(settings, user: User, token: str) -> None:
    settings.SMILE_WINDOW_SECONDS = 1  # below the production minimum, to close windows quickly
    communicator = await open_socket()
    await communicator.send_json_to({"type": "auth", "token": token})
    await communicator.receive_json_from(timeout=5)
    await communicator.send_to(bytes_data=b"face")
    await communicator.send_to(bytes_data=b"none")
    kinds = [await communicator.receive_json_from(timeout=5) for _ in range(3)]
    mood = next(message for message in kinds if message["type"] == "mood")
    assert mood["frames"] == 2
    assert mood["faces"] == 1
    assert mood["dominant"] == "happy"
    assert mood["scores"]["happy"] == pytest.approx(0.9)
    await communicator.disconnect()
    event = await database_sync_to_async(MoodEvent.objects.get)(user=user)
    assert (event.frames, event.faces, event.dominant) == (2, 1, "happy")


async def test_a_partial_window_is_flushed_on_disconnect(user: User, stream: WebsocketCommunicator) -> None:
    await stream.send_to(bytes_data=b"face")
    await stream.receive_json_from(timeout=5)
    await stream.disconnect()
    assert await database_sync_to_async(MoodEvent.objects.filter(user=user, faces=1).count)() == 1


async def test_a_closed_socket_is_recorded_after_its_last_window(user: User, stream: WebsocketCommunicator) -> None:
    device_id = await database_sync_to_async(lambda: user.devices.get().pk)()
    before = timezone.now()
    await stream.send_to(bytes_data=b"face")
    await stream.receive_json_from(timeout=5)
    await stream.disconnect()

    closed = presence.closed_at(user_id=user.pk, device_ids=[device_id, None])
    last = await database_sync_to_async(MoodEvent.objects.get)(user=user)
    assert set(closed) == {device_id}, "only the device whose socket closed"
    assert closed[device_id] >= last.ended_at >= before


async def test_the_dashboard_stops_saying_streaming_now_when_the_socket_closes(
    settings, user: User, token: str
) -> None:
    settings.SMILE_WINDOW_SECONDS = 1  # a stored window within a second
    dashboard = AsyncClient()
    await dashboard.aforce_login(user)
    communicator = await open_socket()
    await communicator.send_json_to({"type": "auth", "token": token})
    await communicator.receive_json_from(timeout=5)
    await communicator.send_to(bytes_data=b"face")
    kinds = {(await communicator.receive_json_from(timeout=5))["type"] for _ in range(2)}
    assert kinds == {"result", "mood"}
    # The consumer hands the window to the writer's thread right after sending "mood", with no
    # await in between, so the write is queued by now: wait for that thread instead of polling
    # the table. On SQLite's shared in-memory test database a read while the writer inserts
    # fails at once with "database table is locked" (table locks do not wait): 2 runs in 8 did.
    assert await asyncio.to_thread(window_writer.get().wait_idle, 10)
    assert await database_sync_to_async(MoodEvent.objects.filter(user=user).exists)()
    assert "streaming now" in (await dashboard.get("/dashboard/")).content.decode()

    await communicator.disconnect()  # Stop

    page = (await dashboard.get("/dashboard/")).content.decode()
    assert "streaming now" not in page
    assert "idle" in page


async def test_the_rule_sends_encourage_to_the_users_live_sockets(settings, user: User, token: str) -> None:
    now = timezone.now()

    def seed() -> None:
        EncouragementSettings.objects.create(user=user, enabled=True, sadness_threshold=0.3, sustain_minutes=5)
        for minute in range(6, 0, -1):
            start = now - timedelta(minutes=minute)
            MoodEvent.objects.create(
                user=user,
                started_at=start,
                ended_at=start + timedelta(minutes=1),
                frames=60,
                faces=60,
                angry=0,
                disgust=0,
                fear=0,
                happy=0.1,
                sad=0.8,
                surprise=0,
                neutral=0.1,
                dominant="sad",
            )

    await database_sync_to_async(seed)()
    settings.SMILE_WINDOW_SECONDS = 1  # below the production minimum, to close windows quickly
    communicator = await open_socket()
    await communicator.send_json_to({"type": "auth", "token": token})
    await communicator.receive_json_from(timeout=5)
    await communicator.send_to(bytes_data=b"face")
    messages = [await communicator.receive_json_from(timeout=5) for _ in range(3)]
    encourage = next(message for message in messages if message["type"] == "encourage")
    assert encourage["message"]
    assert await database_sync_to_async(Encouragement.objects.filter(user=user, pk=encourage["id"]).exists)()
    await communicator.send_json_to({"type": "feedback", "id": encourage["id"], "helpful": True})
    assert await communicator.receive_json_from(timeout=5) == {"type": "feedback_saved", "id": encourage["id"]}
    stored = await database_sync_to_async(Encouragement.objects.get)(pk=encourage["id"])
    assert stored.feedback == Encouragement.Feedback.HELPFUL
    await communicator.disconnect()


async def test_feedback_on_someone_elses_encouragement_is_a_bad_message(stream: WebsocketCommunicator) -> None:
    def other() -> int:
        stranger = make_user(email="eve@example.com")
        return Encouragement.objects.create(user=stranger, sent_at=timezone.now(), message="hi", trigger={}).pk

    other_id = await database_sync_to_async(other)()
    await stream.send_json_to({"type": "feedback", "id": other_id, "helpful": True})
    assert await stream.receive_json_from(timeout=5) == {"type": "error", "seq": None, "code": "bad_message"}


async def test_the_real_classifier_reads_a_real_face(stream: WebsocketCommunicator, face_jpeg: bytes) -> None:
    use_dispatcher(classify_frames)
    await stream.send_to(bytes_data=face_jpeg)
    result = await stream.receive_json_from(timeout=30)
    assert (result["face"], result["dominant"]) == (True, "happy")
    await asyncio.sleep(0)
