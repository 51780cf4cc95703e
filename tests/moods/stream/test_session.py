"""The site's pages on the stream: session-cookie auth only from the site's Origin; capture defaults in ``ready``."""

from __future__ import annotations

from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client

from accounts.models import User
from common.origins import ExactOriginValidator, allowed_origins, is_site_origin
from moods.models import CaptureSettings
from moods.stream import consumer as consumers
from moods.stream import messages
from moods.stream.auth import session_user_id
from moods.stream.session import StreamLimits
from smile_site.asgi import application
from tests.factories import make_user, pair_device

pytestmark = pytest.mark.django_db(transaction=True)

SITE = b"http://127.0.0.1:8000"
EXTENSION = b"chrome-extension://abcdefghijklmnop"


def session_cookie(user: User) -> bytes:
    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}".encode()


async def connect(app: Any, headers: list[tuple[bytes, bytes]]) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(app, "/ws/stream/", headers=headers)
    connected, _ = await communicator.connect(timeout=5)
    assert connected
    return communicator


async def test_a_logged_in_page_of_the_site_gets_ready_at_once_with_its_capture_defaults() -> None:
    user = await database_sync_to_async(make_user)()
    await database_sync_to_async(CaptureSettings.objects.create)(user=user, fps=0.5, resolution="640x480")
    cookie = await database_sync_to_async(session_cookie)(user)

    communicator = await connect(application, [(b"origin", SITE), (b"cookie", cookie)])

    assert await communicator.receive_json_from(timeout=5) == {
        "type": "ready",
        "max_fps": 2,
        "max_frame_bytes": 262_144,
        "window_seconds": 60,
        "capture": {"fps": 0.5, "width": 640, "height": 480},
        "mode": "server",  # the site's own page reads on the server
    }
    await communicator.disconnect()


async def test_the_session_cookie_does_not_count_from_the_extensions_origin() -> None:
    # A cookie-carrying socket from any origin but the site's must still authenticate with a token.
    user = await database_sync_to_async(make_user)()
    cookie = await database_sync_to_async(session_cookie)(user)
    app = ExactOriginValidator(
        consumers.StreamConsumer.as_asgi(), allowed_origins(site_origins=[], extension_ids=["abcdefghijklmnop"])
    )
    from channels.auth import AuthMiddlewareStack

    communicator = await connect(AuthMiddlewareStack(app), [(b"origin", EXTENSION), (b"cookie", cookie)])

    assert await communicator.receive_nothing(timeout=0.5)
    await communicator.send_json_to({"type": "ping"})
    closed = await communicator.receive_output(timeout=5)
    assert (closed["type"], closed["code"]) == ("websocket.close", 4401)


async def test_a_cross_site_page_cannot_open_a_socket_with_the_users_cookie() -> None:
    user = await database_sync_to_async(make_user)()
    cookie = await database_sync_to_async(session_cookie)(user)
    communicator = WebsocketCommunicator(
        application, "/ws/stream/", headers=[(b"origin", b"https://evil.example"), (b"cookie", cookie)]
    )
    connected, _ = await communicator.connect(timeout=5)
    assert connected
    closed = await communicator.receive_output(timeout=5)
    assert (closed["type"], closed["code"]) == ("websocket.close", 4406), "closed before reading the cookie's user"


async def test_the_embedded_default_accepts_its_own_page_on_another_address() -> None:
    # make run HOST=0.0.0.0 PORT=8080, opened as http://localhost:8080: not in SMILE_SITE_ORIGINS.
    user = await database_sync_to_async(make_user)()
    cookie = await database_sync_to_async(session_cookie)(user)
    headers = [(b"origin", b"http://localhost:8080"), (b"host", b"localhost:8080"), (b"cookie", cookie)]
    communicator = await connect(application, headers)

    ready = await communicator.receive_json_from(timeout=5)

    assert ready["type"] == "ready"
    await communicator.disconnect()


async def test_a_page_on_another_host_than_the_request_is_closed_with_4406() -> None:
    user = await database_sync_to_async(make_user)()
    cookie = await database_sync_to_async(session_cookie)(user)
    headers = [(b"origin", b"http://localhost:8080"), (b"host", b"127.0.0.1:8000"), (b"cookie", cookie)]
    communicator = await connect(application, headers)

    closed = await communicator.receive_output(timeout=5)

    assert (closed["type"], closed["code"]) == ("websocket.close", 4406)


async def test_a_device_token_stream_gets_the_owners_capture_defaults() -> None:
    user = await database_sync_to_async(make_user)()
    _, token = await database_sync_to_async(pair_device)(user=user)
    await database_sync_to_async(CaptureSettings.objects.create)(user=user, fps=1.5, resolution="320x240")
    communicator = await connect(application, [(b"origin", SITE)])

    await communicator.send_json_to({"type": "auth", "token": token})

    ready = await communicator.receive_json_from(timeout=5)
    assert ready["capture"] == {"fps": 1.5, "width": 320, "height": 240}
    await communicator.disconnect()


def test_session_user_id_needs_an_active_user_and_the_sites_origin() -> None:
    user = make_user()
    site = {"headers": [(b"origin", SITE)], "user": user}

    assert session_user_id(site) == user.pk
    assert session_user_id({**site, "headers": [(b"origin", EXTENSION)]}) is None
    assert session_user_id({**site, "headers": []}) is None
    assert session_user_id({"headers": [(b"origin", SITE)]}) is None
    user.is_active = False
    assert session_user_id(site) is None


def test_is_site_origin_compares_exactly() -> None:
    sites = ["http://127.0.0.1:8000/", "https://smile.example.com"]
    assert is_site_origin({"headers": [(b"origin", b"HTTPS://smile.example.com")]}, site_origins=sites)
    assert is_site_origin({"headers": [(b"origin", SITE)]}, site_origins=sites)
    assert not is_site_origin({"headers": [(b"origin", b"https://smile.example.com.evil")]}, site_origins=sites)
    assert not is_site_origin({"headers": []}, site_origins=sites)


def test_ready_has_capture_only_when_given() -> None:
    limits = StreamLimits(max_fps=2, max_frame_bytes=262_144, max_in_flight=2, window_seconds=60)
    assert "capture" not in limits.ready_message()
    assert limits.ready_message({"fps": 1.0, "width": 320, "height": 240})["capture"]["width"] == 320


def test_capture_settings_default_to_one_fps_at_320_by_240() -> None:
    assert messages.capture_defaults(CaptureSettings()) == {"fps": 1.0, "width": 320, "height": 240}
