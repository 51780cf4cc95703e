"""A revoked device's open sockets are told to close: the stream listens to accounts' ``device_revoked``."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from accounts.device_auth import authenticate_device
from accounts.models import User
from accounts.pairing import revoke_device
from moods.stream import notify
from tests.factories import make_user, pair_device

pytestmark = pytest.mark.django_db


@pytest.fixture
def user() -> User:
    return make_user()


def receive(channel: str) -> dict[str, Any]:
    async def wait() -> dict[str, Any]:
        message: dict[str, Any] = await asyncio.wait_for(get_channel_layer().receive(channel), timeout=5)
        return message

    return async_to_sync(wait)()


def test_revoking_tells_the_devices_open_sockets_after_the_commit(
    user: User, django_capture_on_commit_callbacks: Any
) -> None:
    device, _ = pair_device(user=user)
    layer = get_channel_layer()
    socket = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(f"user-{user.pk}", socket)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        revoke_device(user=user, device=device)
    assert len(callbacks) == 1  # nothing is sent before the commit
    with django_capture_on_commit_callbacks(execute=True):  # the signal, then the notice it queues
        callbacks[0]()

    assert receive(socket) == {"type": "device.revoked", "device_id": device.pk}
    async_to_sync(layer.group_discard)(f"user-{user.pk}", socket)


def test_an_unreachable_channel_layer_does_not_undo_the_revocation(
    user: User, django_capture_on_commit_callbacks: Any, monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    device, token = pair_device(user=user)

    class BrokenLayer:
        async def group_send(self, group: str, message: dict[str, Any]) -> None:
            raise ConnectionError("redis is down")

    monkeypatch.setattr(notify, "get_channel_layer", BrokenLayer)
    with django_capture_on_commit_callbacks(execute=True):
        revoke_device(user=user, device=device)

    assert authenticate_device(token).active is None
    assert f"could not tell the streams of user {user.pk} about device.revoked" in caplog.text
