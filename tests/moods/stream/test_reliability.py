"""The stream off the happy path (issue 14): idle sockets, crashes, lost revocations, hostile text.

Each test here failed on the code before its fix. The Redis tests use the channel layer exactly
as ``smile_site/settings.py`` configures it for production (``SMILE_REDIS_URL`` set).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.layers import channel_layers, get_channel_layer
from channels.testing import WebsocketCommunicator
from django.conf import settings as django_settings
from django.utils import timezone

from accounts.models import Device, User
from moods.models import MoodEvent
from moods.stream import consumer, messages, windows
from moods.stream.session import parse_control
from tests.factories import make_user, pair_device
from tests.moods.stream.test_consumer import fake_classify, open_socket, use_dispatcher

pytestmark = pytest.mark.django_db(transaction=True)

# Longer than both channels_redis's 5 s BZPOPMIN and redis-py's default 5 s socket timeout.
IDLE_SECONDS = 16.0


@pytest.fixture(autouse=True)
def in_process_inference(settings) -> None:
    settings.SMILE_INFERENCE_EXECUTOR = "thread"
    use_dispatcher(fake_classify)


@pytest.fixture
def user() -> User:
    return make_user()


async def authenticated(token: str) -> WebsocketCommunicator:
    communicator = await open_socket()
    await communicator.send_json_to({"type": "auth", "token": token})
    ready = await communicator.receive_json_from(timeout=5)
    assert ready["type"] == "ready"
    return communicator


@pytest.fixture
def redis_channel_layer(redis_url: str) -> None:
    """The production channel layer (settings with ``SMILE_REDIS_URL``), fresh for this test's loop."""
    assert django_settings.CHANNEL_LAYERS["default"]["BACKEND"] == "smile_site.channel_layer.RedisChannelLayer"
    channel_layers.backends.clear()


@pytest.mark.services
@pytest.mark.usefixtures("redis_channel_layer")
async def test_idle_and_paused_sockets_stay_open_on_the_redis_layer(user: User) -> None:
    idle = await authenticated((await database_sync_to_async(pair_device)(user=user))[1])
    paused = await authenticated((await database_sync_to_async(pair_device)(user=user))[1])
    await paused.send_json_to({"type": "pause"})
    assert (await paused.receive_json_from(timeout=5))["type"] == "paused"

    await asyncio.sleep(IDLE_SECONDS)

    for communicator in (idle, paused):
        await communicator.send_json_to({"type": "ping"})
        assert await communicator.receive_json_from(timeout=5) == {"type": "pong"}
    await paused.send_json_to({"type": "resume"})
    assert (await paused.receive_json_from(timeout=5))["type"] == "resumed"
    await idle.send_to(bytes_data=b"face")
    assert (await idle.receive_json_from(timeout=5))["type"] == "result"
    for communicator in (idle, paused):
        await communicator.disconnect()


def window_timers() -> list[asyncio.Task[object]]:
    return [
        task
        for task in asyncio.all_tasks()
        if not task.done() and "close_windows_when_due" in getattr(task.get_coro(), "__qualname__", "")
    ]


async def test_a_crashed_consumer_still_cancels_its_timer_and_leaves_its_groups(
    settings, user: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    _, token = await database_sync_to_async(pair_device)(user=user)
    communicator = await authenticated(token)
    assert len(window_timers()) == 1

    def explode() -> messages.Pong:
        raise RuntimeError("a bug in a handler")

    monkeypatch.setattr(messages, "pong", explode)
    await communicator.send_json_to({"type": "ping"})
    with pytest.raises(RuntimeError, match="a bug in a handler"):
        await communicator.receive_output(timeout=5)

    await asyncio.sleep(0.1)
    assert window_timers() == []
    layer = get_channel_layer()
    group = messages.user_group(user.pk)
    assert not layer.groups.get(group), f"a dead channel stayed in {group}"


async def test_a_socket_joins_its_groups_again_after_the_layer_forgot_them(
    settings, user: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A restarted Redis (no persistence) forgets every group: revocations and encouragements
    # reached no open socket until it reconnected.
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    monkeypatch.setattr(consumer, "REJOIN_GROUPS_SECONDS", 1.0)
    device, token = await database_sync_to_async(pair_device)(user=user)
    communicator = await authenticated(token)
    layer = get_channel_layer()
    layer.groups.clear()

    await asyncio.sleep(2.5)
    await layer.group_send(messages.user_group(user.pk), messages.device_revoked(device_id=device.pk))
    assert await closed_with(communicator, timeout=5) == 4403


async def test_a_device_revoked_without_its_message_is_closed_4403_by_the_periodic_recheck(
    settings, user: User
) -> None:
    settings.SMILE_DEVICE_RECHECK_SECONDS = 1
    device, token = await database_sync_to_async(pair_device)(user=user)
    communicator = await authenticated(token)
    # Revoked in the database only: the channel-layer message is lost.
    await database_sync_to_async(Device.objects.filter(pk=device.pk).update)(revoked_at=timezone.now())
    started = time.monotonic()
    assert await closed_with(communicator, timeout=5) == 4403
    assert time.monotonic() - started < 3.5


async def test_a_disabled_account_is_closed_4403_by_the_periodic_recheck(settings, user: User) -> None:
    settings.SMILE_DEVICE_RECHECK_SECONDS = 1
    communicator = await authenticated((await database_sync_to_async(pair_device)(user=user))[1])
    await database_sync_to_async(User.objects.filter(pk=user.pk).update)(is_active=False)
    assert await closed_with(communicator, timeout=5) == 4403


async def test_an_active_device_stays_open_across_rechecks(settings, user: User) -> None:
    settings.SMILE_DEVICE_RECHECK_SECONDS = 1
    communicator = await authenticated((await database_sync_to_async(pair_device)(user=user))[1])
    await asyncio.sleep(2.5)
    await communicator.send_json_to({"type": "ping"})
    assert await communicator.receive_json_from(timeout=5) == {"type": "pong"}
    await communicator.disconnect()


async def closed_with(communicator: WebsocketCommunicator, *, timeout: float) -> int:
    message = await communicator.receive_output(timeout=timeout)
    assert message["type"] == "websocket.close"
    return int(message["code"])


DEEP_JSON = "[" * 4000 + "]" * 4000  # under the 4 KiB text limit, deeper than Python's recursion limit
DEEP_OBJECT = '{"type": "ping", "x": ' + "[" * 2000 + "]" * 2000 + "}"


@pytest.mark.parametrize("text", [DEEP_JSON[:4000], DEEP_OBJECT])
def test_parse_control_refuses_deeply_nested_json(text: str) -> None:
    assert parse_control(text) is None


async def test_deeply_nested_json_before_auth_closes_4401() -> None:
    communicator = await open_socket()
    await communicator.send_to(text_data=DEEP_JSON[:4000])
    assert await closed_with(communicator, timeout=5) == 4401


async def test_deeply_nested_json_after_auth_is_a_bad_message_and_the_socket_stays_open(user: User) -> None:
    communicator = await authenticated((await database_sync_to_async(pair_device)(user=user))[1])
    await communicator.send_to(text_data=DEEP_OBJECT)
    assert await communicator.receive_json_from(timeout=5) == {"type": "error", "seq": None, "code": "bad_message"}
    await communicator.send_json_to({"type": "ping"})
    assert await communicator.receive_json_from(timeout=5) == {"type": "pong"}
    await communicator.disconnect()


async def test_one_devices_sockets_share_its_frame_rate(user: User) -> None:
    # Reconnecting (or opening several sockets) must not multiply max_fps (2): each socket's own
    # bucket would accept 2 frames at once, 6 in all; the device's shared bucket accepts 2.
    token = (await database_sync_to_async(pair_device)(user=user))[1]
    sockets = [await authenticated(token) for _ in range(3)]
    for communicator in sockets:
        for _ in range(4):
            await communicator.send_to(bytes_data=b"face")
    answers = [await communicator.receive_json_from(timeout=5) for communicator in sockets for _ in range(4)]
    results = [answer for answer in answers if answer["type"] == "result"]
    assert len(results) <= 3, [answer.get("reason", answer["type"]) for answer in answers]
    assert {answer["reason"] for answer in answers if answer["type"] == "dropped"} <= {"rate_limited", "busy"}
    for communicator in sockets:
        await communicator.disconnect()


async def test_another_devices_rate_is_its_own(user: User) -> None:
    first = await authenticated((await database_sync_to_async(pair_device)(user=user))[1])
    second = await authenticated((await database_sync_to_async(pair_device)(user=user))[1])
    for communicator in (first, second):
        await communicator.send_to(bytes_data=b"face")
        assert (await communicator.receive_json_from(timeout=5))["type"] == "result"
        await communicator.disconnect()


@pytest.fixture
def frozen_window_writes(monkeypatch: pytest.MonkeyPatch) -> Iterator[threading.Event]:
    """Every window write blocks (a frozen database) until the test releases it."""
    release = threading.Event()
    started = threading.Event()
    real = windows.store_window

    def frozen(**kwargs: Any) -> Any:
        started.set()
        release.wait(30)
        return real(**kwargs)

    monkeypatch.setattr(windows, "store_window", frozen)
    release.started = started  # type: ignore[attr-defined]
    yield release
    release.set()
    assert windows.window_writer.get().wait_idle(10)


async def test_a_frozen_window_write_does_not_hold_up_results_pauses_or_new_sockets(
    settings, user: User, frozen_window_writes: threading.Event
) -> None:
    settings.SMILE_WINDOW_SECONDS = 1
    first = await authenticated((await database_sync_to_async(pair_device)(user=user))[1])
    await first.send_to(bytes_data=b"face")
    assert (await first.receive_json_from(timeout=5))["type"] == "result"
    assert (await first.receive_json_from(timeout=5))["type"] == "mood"  # its window closes: the write freezes
    started: threading.Event = frozen_window_writes.started  # type: ignore[attr-defined]
    assert await asyncio.to_thread(started.wait, 5)

    # Results keep flowing, a pause (which flushes the window) answers at once, and a new
    # socket authenticates: none of it waits on the frozen write.
    await first.send_to(bytes_data=b"face")
    assert (await first.receive_json_from(timeout=2))["type"] == "result"
    await first.send_json_to({"type": "pause"})
    answers = [(await first.receive_json_from(timeout=2))["type"] for _ in range(2)]
    assert answers == ["mood", "paused"]  # the pause flushes the open window first
    second = await asyncio.wait_for(authenticated((await database_sync_to_async(pair_device)(user=user))[1]), 3)
    await second.send_to(bytes_data=b"face")
    assert (await second.receive_json_from(timeout=2))["type"] == "result"

    frozen_window_writes.set()
    for communicator in (first, second):
        await communicator.disconnect()


async def test_every_window_is_written_once_after_a_frozen_write_thaws(
    settings, user: User, frozen_window_writes: threading.Event
) -> None:
    settings.SMILE_WINDOW_SECONDS = 1
    communicator = await authenticated((await database_sync_to_async(pair_device)(user=user))[1])
    for _ in range(3):
        await communicator.send_to(bytes_data=b"face")
        assert (await communicator.receive_json_from(timeout=5))["type"] == "result"
        assert (await communicator.receive_json_from(timeout=5))["type"] == "mood"
    frozen_window_writes.set()
    await communicator.disconnect()

    async def stored() -> int:
        return await database_sync_to_async(MoodEvent.objects.filter(user=user).count)()

    deadline = time.monotonic() + 10
    while await stored() < 3 and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    assert await stored() == 3
