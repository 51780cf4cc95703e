"""Open streams hear every change that concerns them at once, all through ``notify_user_streams``."""

from __future__ import annotations

from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from accounts.models import User
from accounts.pairing import revoke_device
from moods import services
from moods.models import CaptureSettings, EncouragementSettings
from smile_site.asgi import application
from tests.factories import make_user, pair_device

pytestmark = pytest.mark.django_db(transaction=True)

ORIGIN = (b"origin", b"http://127.0.0.1:8000")


async def stream_of(token: str) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(application, "/ws/stream/", headers=[ORIGIN])
    connected, _ = await communicator.connect(timeout=5)
    assert connected
    await communicator.send_json_to({"type": "auth", "token": token})
    ready = await communicator.receive_json_from(timeout=5)
    assert ready["type"] == "ready"
    return communicator


def save_settings_page(user: User, *, fps: float, resolution: str) -> None:
    """What the Settings page saves: encouragement, capture defaults and time zone together."""
    encouragement = EncouragementSettings.objects.filter(user=user).first() or EncouragementSettings()
    capture = CaptureSettings.objects.filter(user=user).first() or CaptureSettings()
    capture.fps, capture.resolution = fps, resolution
    services.save_settings(user=user, encouragement=encouragement, capture=capture, time_zone=user.time_zone)


async def test_capture_settings_saved_on_the_website_reach_an_open_stream_at_once() -> None:
    user = await database_sync_to_async(make_user)()
    _, token = await database_sync_to_async(pair_device)(user=user)
    communicator = await stream_of(token)

    await database_sync_to_async(save_settings_page)(user, fps=0.5, resolution="640x480")

    assert await communicator.receive_json_from(timeout=5) == {
        "type": "capture",
        "fps": 0.5,
        "width": 640,
        "height": 480,
    }
    await communicator.disconnect()


async def test_saving_the_settings_without_changing_the_capture_tells_the_stream_nothing() -> None:
    user = await database_sync_to_async(make_user)()
    await database_sync_to_async(save_settings_page)(user, fps=1.5, resolution="320x240")
    _, token = await database_sync_to_async(pair_device)(user=user)
    communicator = await stream_of(token)

    await database_sync_to_async(save_settings_page)(user, fps=1.5, resolution="320x240")

    assert await communicator.receive_nothing(timeout=0.5)
    await communicator.disconnect()


async def test_a_revocation_closes_the_revoked_devices_sockets_and_no_other_stream_of_the_user() -> None:
    user = await database_sync_to_async(make_user)()
    revoked, revoked_token = await database_sync_to_async(pair_device)(user=user)
    _, kept_token = await database_sync_to_async(pair_device)(user=user)
    gone, kept = await stream_of(revoked_token), await stream_of(kept_token)

    await database_sync_to_async(revoke_device)(user=user, device=revoked)

    closed: dict[str, Any] = await gone.receive_output(timeout=5)
    assert (closed["type"], closed["code"]) == ("websocket.close", 4403)
    await kept.send_json_to({"type": "ping"})
    assert await kept.receive_json_from(timeout=5) == {"type": "pong"}
    await kept.disconnect()
