"""Private mode through the real ASGI application: summaries in, no frame read, switching without re-pairing."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from datetime import timedelta
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.utils import timezone

from accounts import services as account_services
from accounts.models import Device, User
from inference.baseline import Baseline
from inference.classifier import FrameResult
from moods.models import MoodEvent, PersonalBaseline
from moods.personal.services import forget_baseline, save_baseline
from moods.stream import consumer as consumers
from moods.stream import dispatch
from moods.stream.session import MAX_SUMMARIES
from tests.factories import make_user, pair_device
from tests.moods.stream.test_consumer import ORIGIN, fake_classify, open_socket, use_dispatcher

pytestmark = pytest.mark.django_db(transaction=True)

SAD = {"angry": 0.02, "disgust": 0.01, "fear": 0.02, "happy": 0.05, "sad": 0.7, "surprise": 0.0, "neutral": 0.2}
CALM = Baseline(log_scores=(-6.0, -8.0, -7.0, -4.0, -0.9, -6.0, -0.6), faces=20)

classified: list[bytes] = []


def recording_classify(frames: Sequence[bytes]) -> list[FrameResult]:
    classified.extend(frames)
    return fake_classify(frames)


@pytest.fixture(autouse=True)
def in_process_inference(settings) -> Iterator[None]:
    settings.SMILE_INFERENCE_EXECUTOR = "thread"
    classified.clear()
    use_dispatcher(recording_classify)
    yield
    dispatch.reset_dispatcher()


@pytest.fixture
def user() -> User:
    return make_user()


@pytest.fixture
def paired(user: User) -> tuple[Device, str]:
    return pair_device(user=user)


def summary(*, seconds_ago: float = 5, length: float = 60, **changes: Any) -> dict[str, Any]:
    end = timezone.now() - timedelta(seconds=seconds_ago)
    message: dict[str, Any] = {
        "type": "summary",
        "v": 1,
        "key": str(uuid.uuid4()),
        "start": (end - timedelta(seconds=length)).isoformat(),
        "end": end.isoformat(),
        "frames": 60,
        "faces": 57,
        "scores": SAD,
        "uncertain": False,
        "baseline": False,
    }
    return {**message, **changes}


async def connect(token: str) -> tuple[WebsocketCommunicator, dict[str, Any]]:
    communicator = await open_socket()
    await communicator.send_json_to({"type": "auth", "token": token})
    return communicator, await communicator.receive_json_from(timeout=5)


@pytest.fixture
async def private(paired: tuple[Device, str]) -> AsyncIterator[WebsocketCommunicator]:
    device, token = paired
    await database_sync_to_async(account_services.set_device_mode)(device=device, mode="private")
    communicator, ready = await connect(token)
    assert ready["mode"] == "private"
    yield communicator
    await communicator.disconnect()


async def events(user: User) -> list[MoodEvent]:
    return await database_sync_to_async(lambda: list(MoodEvent.objects.filter(user=user)))()


async def test_ready_tells_a_private_device_its_mode_and_that_there_is_no_baseline(paired: tuple[Device, str]) -> None:
    device, token = paired
    await database_sync_to_async(account_services.set_device_mode)(device=device, mode="private")
    communicator, ready = await connect(token)
    assert (ready["mode"], ready["baseline"]) == ("private", None)
    await communicator.disconnect()


async def test_ready_gives_a_private_device_the_baseline_it_applies(user: User, paired: tuple[Device, str]) -> None:
    device, token = paired
    await database_sync_to_async(save_baseline)(user_id=user.pk, baseline=CALM)
    await database_sync_to_async(account_services.set_device_mode)(device=device, mode="private")
    communicator, ready = await connect(token)
    excess = ready["baseline"]["excess"]
    assert list(excess) == ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]
    assert excess == {name: round(float(value), 6) for name, value in zip(excess, CALM.excess(), strict=True)}
    assert excess["sad"] > 0
    await communicator.disconnect()


async def test_a_server_mode_device_gets_no_baseline_in_ready(paired: tuple[Device, str]) -> None:
    communicator, ready = await connect(paired[1])
    assert ready["mode"] == "server"
    assert "baseline" not in ready
    await communicator.disconnect()


async def test_a_frame_from_a_private_device_is_refused_unread(private: WebsocketCommunicator) -> None:
    await private.send_to(bytes_data=b"face")
    await private.send_to(bytes_data=b"face")
    assert await private.receive_json_from(timeout=5) == {"type": "error", "seq": 1, "code": "private_mode"}
    assert await private.receive_json_from(timeout=5) == {"type": "error", "seq": 2, "code": "private_mode"}
    assert classified == []


async def test_a_summary_is_stored_shown_and_acknowledged(user: User, private: WebsocketCommunicator) -> None:
    message = summary(baseline=True)
    await private.send_json_to(message)
    mood = await private.receive_json_from(timeout=5)
    assert mood["type"] == "mood"
    assert (mood["frames"], mood["faces"], mood["dominant"], mood["uncertain"], mood["baseline"]) == (
        60,
        57,
        "sad",
        False,
        True,
    )
    assert mood["scores"] == SAD
    assert await private.receive_json_from(timeout=5) == {"type": "summary_saved", "key": message["key"]}
    [event] = await events(user)
    assert (event.frames, event.faces, event.dominant, event.baseline_applied) == (60, 57, "sad", True)
    assert event.device_id is not None


async def test_the_same_summary_sent_again_is_already_stored(user: User, private: WebsocketCommunicator) -> None:
    message = summary()
    await private.send_json_to(message)
    await private.receive_json_from(timeout=5)
    await private.receive_json_from(timeout=5)
    await private.send_json_to(message)
    refused = await private.receive_json_from(timeout=5)
    assert (refused["type"], refused["code"], refused["key"]) == ("error", "already_stored", message["key"])
    assert len(await events(user)) == 1


async def test_a_bad_summary_gets_its_code_and_stores_nothing(user: User, private: WebsocketCommunicator) -> None:
    message = summary(scores={**SAD, "sad": 0.9})
    await private.send_json_to(message)
    refused = await private.receive_json_from(timeout=5)
    assert refused["type"] == "error"
    assert (refused["seq"], refused["code"], refused["key"]) == (None, "bad_scores", message["key"])
    assert "sum to 1" in refused["detail"]
    await private.send_json_to({"type": "ping"})
    assert await private.receive_json_from(timeout=5) == {"type": "pong"}
    assert await events(user) == []


async def test_summaries_over_the_rate_are_refused(user: User, private: WebsocketCommunicator) -> None:
    for _ in range(MAX_SUMMARIES):
        await private.send_json_to(summary(v=2))
        assert (await private.receive_json_from(timeout=5))["code"] == "unsupported_version"
    await private.send_json_to(summary())
    refused = await private.receive_json_from(timeout=5)
    assert refused["code"] == "summary_rate_limited"
    assert await events(user) == []


async def test_a_server_mode_device_may_not_send_summaries(user: User, paired: tuple[Device, str]) -> None:
    communicator, _ = await connect(paired[1])
    message = summary()
    await communicator.send_json_to(message)
    refused = await communicator.receive_json_from(timeout=5)
    assert (refused["code"], refused["key"]) == ("not_private_mode", message["key"])
    assert await events(user) == []
    await communicator.disconnect()


async def test_the_sites_own_socket_may_not_send_summaries(user: User) -> None:
    communicator = WebsocketCommunicator(consumers.StreamConsumer.as_asgi(), "/ws/stream/", headers=[ORIGIN])
    communicator.scope["user"] = user
    await communicator.connect(timeout=5)
    await communicator.receive_json_from(timeout=5)
    await communicator.send_json_to(summary())
    assert (await communicator.receive_json_from(timeout=5))["code"] == "not_private_mode"
    await communicator.disconnect()


async def test_switching_modes_reaches_the_open_socket_without_re_pairing(
    user: User, paired: tuple[Device, str]
) -> None:
    device, token = paired
    communicator, ready = await connect(token)
    assert ready["mode"] == "server"
    await communicator.send_to(bytes_data=b"face")
    assert (await communicator.receive_json_from(timeout=5))["type"] == "result"

    await database_sync_to_async(account_services.set_device_mode)(device=device, mode="private")
    # The window the server read so far closes first (it had a face), then the socket switches.
    mood = await communicator.receive_json_from(timeout=5)
    assert (mood["type"], mood["faces"]) == ("mood", 1)
    assert await communicator.receive_json_from(timeout=5) == {"type": "mode", "mode": "private", "baseline": None}
    await communicator.send_to(bytes_data=b"face")
    assert (await communicator.receive_json_from(timeout=5))["code"] == "private_mode"

    await database_sync_to_async(account_services.set_device_mode)(device=device, mode="server")
    assert await communicator.receive_json_from(timeout=5) == {"type": "mode", "mode": "server"}
    await communicator.send_to(bytes_data=b"face")
    assert (await communicator.receive_json_from(timeout=5))["type"] == "result"
    await communicator.disconnect()


async def test_a_private_socket_hears_when_the_baseline_changes(user: User, private: WebsocketCommunicator) -> None:
    # Saving announces itself, as a calibration or a correction's refresh does.
    await database_sync_to_async(save_baseline)(user_id=user.pk, baseline=CALM)
    news = await private.receive_json_from(timeout=5)
    assert news["type"] == "baseline"
    assert news["baseline"]["excess"]["sad"] == pytest.approx(float(CALM.excess()[4]), abs=1e-6)
    await database_sync_to_async(forget_baseline)(user_id=user.pk)
    assert await private.receive_json_from(timeout=5) == {"type": "baseline", "baseline": None}


RESTING = [0.01, 0.0, 0.02, 0.02, 0.25, 0.0, 0.70]  # a resting face that reads a little sad
SMILING = [0.0, 0.0, 0.0, 0.9, 0.0, 0.05, 0.05]


async def test_calibrate_start_in_private_mode_only_says_how_long_the_computer_collects(
    private: WebsocketCommunicator,
) -> None:
    await private.send_json_to({"type": "calibrate_start"})
    assert await private.receive_json_from(timeout=5) == {
        "type": "calibration_progress",
        "seconds_left": 20.0,
        "faces": 0,
    }
    await private.send_json_to({"type": "ping"})  # no server-side collection runs out into a refusal
    assert await private.receive_json_from(timeout=5) == {"type": "pong"}


async def test_a_calibration_read_on_the_computer_makes_the_baseline_the_server_would(
    user: User, private: WebsocketCommunicator
) -> None:
    await private.send_json_to({"type": "calibrate_faces", "faces": [RESTING] * 12})
    calibrated = await private.receive_json_from(timeout=5)
    assert (calibrated["type"], calibrated["faces"]) == ("calibrated", 12)
    news = await private.receive_json_from(timeout=5)  # the new baseline, to apply from now on
    assert news["type"] == "baseline"
    assert news["baseline"]["excess"]["sad"] > 0
    stored = await database_sync_to_async(lambda: PersonalBaseline.objects.get(user=user).faces)()
    assert stored == 12


@pytest.mark.parametrize(
    ("faces", "code"),
    [([SMILING] * 12, "not_at_rest"), ([RESTING] * 3, "too_few_faces")],
)
async def test_a_calibration_read_on_the_computer_is_refused_as_the_servers_would_be(
    user: User, private: WebsocketCommunicator, faces: list[list[float]], code: str
) -> None:
    await private.send_json_to({"type": "calibrate_faces", "faces": faces})
    refused = await private.receive_json_from(timeout=5)
    assert (refused["type"], refused["code"]) == ("calibration_refused", code)
    assert not await database_sync_to_async(PersonalBaseline.objects.filter(user=user).exists)()


@pytest.mark.parametrize(
    ("faces", "code"),
    [
        ([[0.5, 0.5, 0.2, 0.0, 0.0, 0.0, 0.0]] * 12, "bad_scores"),
        ([[0.5, 0.5]] * 12, "bad_scores"),
        ([RESTING] * 43, "bad_summary"),  # more than 20 s at 2 frames/s (+2)
        ([], "bad_summary"),
        ("all of them", "bad_summary"),
    ],
)
async def test_a_malformed_calibration_is_refused_precisely(
    private: WebsocketCommunicator, faces: object, code: str
) -> None:
    await private.send_json_to({"type": "calibrate_faces", "faces": faces})
    refused = await private.receive_json_from(timeout=5)
    assert (refused["type"], refused["code"]) == ("error", code)


async def test_a_server_mode_device_may_not_send_a_calibrations_scores(paired: tuple[Device, str]) -> None:
    communicator, _ = await connect(paired[1])
    await communicator.send_json_to({"type": "calibrate_faces", "faces": [RESTING] * 12})
    assert (await communicator.receive_json_from(timeout=5))["code"] == "not_private_mode"
    await communicator.disconnect()
