"""A site page's socket ends with its session (issue 27): signed out elsewhere, it closes 4401 at the next re-check.

A password change or reset signs every other session out (Django compares the password hash
kept in the session), and a logout deletes the session; the live page's socket, authenticated by
that session when it opened, used to stream on into the account regardless.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.contrib.sessions.models import Session

from accounts.models import User
from moods.stream.auth import may_still_stream
from smile_site.asgi import application
from tests.factories import make_user
from tests.moods.stream.test_consumer import fake_classify, use_dispatcher
from tests.moods.stream.test_reliability import closed_with
from tests.moods.stream.test_session import SITE, connect, session_cookie

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def quick_rechecks(settings: Any) -> None:
    settings.SMILE_INFERENCE_EXECUTOR = "thread"
    settings.SMILE_DEVICE_RECHECK_SECONDS = 1
    use_dispatcher(fake_classify)


async def open_page_socket(user: User) -> Any:
    cookie = await database_sync_to_async(session_cookie)(user)
    communicator = await connect(application, [(b"origin", SITE), (b"cookie", cookie)])
    assert (await communicator.receive_json_from(timeout=5))["type"] == "ready"
    return communicator


def change_password(user: User) -> None:
    user.set_password("quiet-forest-morning-77")
    user.save(update_fields=["password"])


async def test_a_password_changed_elsewhere_closes_the_pages_socket_4401() -> None:
    user = await database_sync_to_async(make_user)()
    communicator = await open_page_socket(user)

    await database_sync_to_async(change_password)(user)

    assert await closed_with(communicator, timeout=5) == 4401


async def test_a_logout_closes_the_pages_socket_4401() -> None:
    user = await database_sync_to_async(make_user)()
    communicator = await open_page_socket(user)

    await database_sync_to_async(Session.objects.all().delete)()

    assert await closed_with(communicator, timeout=5) == 4401


async def test_a_signed_in_pages_socket_stays_open_across_rechecks() -> None:
    user = await database_sync_to_async(make_user)()
    communicator = await open_page_socket(user)

    await asyncio.sleep(2.5)
    await communicator.send_json_to({"type": "ping"})

    assert await communicator.receive_json_from(timeout=5) == {"type": "pong"}
    await communicator.disconnect()


def test_another_users_session_does_not_sign_in() -> None:
    ada, bob = make_user(), make_user(email="bob@example.com")
    session_cookie(bob)
    [bobs_session] = Session.objects.all()

    assert may_still_stream(user_id=bob.pk, device_id=None, session_key=bobs_session.session_key)
    assert not may_still_stream(user_id=ada.pk, device_id=None, session_key=bobs_session.session_key)
    assert not may_still_stream(user_id=bob.pk, device_id=None, session_key="no-such-session")
