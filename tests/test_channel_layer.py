"""The Redis channel layer as the site configures it: a socket's receive ends when it is cancelled.

redis-py can swallow a cancellation that lands at the wrong moment in a blocking command
(redis/redis-py#2028); channels_redis then polls ``BZPOPMIN`` again, every 5 s, forever. A
consumer whose socket closed at that moment never finished: its application stayed in daphne
and a test's event loop could not close (a CI run hung 70 minutes in
``tests/moods/stream/test_consumer.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import pytest
import redis.asyncio
from channels.layers import get_channel_layer

pytestmark = pytest.mark.services


async def test_a_receive_whose_cancellation_redis_swallowed_still_ends(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    layer = get_channel_layer()
    assert layer is not None
    if not hasattr(layer, "_brpop_with_clean"):
        pytest.fail("with SMILE_REDIS_URL set the channel layer is the Redis one")
    monkeypatch.setattr(layer, "brpop_timeout", 1)
    real_bzpopmin = redis.asyncio.Redis.bzpopmin
    swallowed: list[bool] = []

    async def bzpopmin_that_swallows_one_cancel(self: redis.asyncio.Redis, *args: Any, **kwargs: Any) -> Any:
        try:
            return await real_bzpopmin(self, *args, **kwargs)
        except asyncio.CancelledError:
            if swallowed:
                raise
            swallowed.append(True)  # what redis-py does when the cancel lands at the wrong moment
            return None

    monkeypatch.setattr(redis.asyncio.Redis, "bzpopmin", bzpopmin_that_swallows_one_cancel)
    channel = await layer.new_channel()
    receive = asyncio.ensure_future(layer.receive(channel))
    await asyncio.sleep(0.3)  # inside BZPOPMIN

    receive.cancel()
    await asyncio.wait({receive}, timeout=3 * layer.brpop_timeout + 1)
    try:
        assert swallowed, "the stand-in must have swallowed the cancel"
        assert receive.done(), "the receive went on polling Redis after it was cancelled"
        assert receive.cancelled()
    finally:
        if not receive.done():  # a second cancel gets through: do not leave the task behind
            receive.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await receive
