"""A web process's inbox hands each answer of a worker task to its consumer's mailbox, in this process."""

from __future__ import annotations

import asyncio
from uuid import uuid4

import pytest

from moods.stream import inbox, messages
from moods.stream.inbox import Inboxes
from smile_site.channel_layer import RedisChannelLayer


@pytest.fixture
def layer(redis_url: str) -> RedisChannelLayer:
    return RedisChannelLayer(hosts=[redis_url], prefix=f"test-inbox-{uuid4().hex}")


@pytest.mark.services
async def test_one_message_to_the_inbox_reaches_each_consumers_mailbox_once(layer: RedisChannelLayer) -> None:
    loop = asyncio.get_running_loop()
    first, second, closed = [await layer.new_channel() for _ in range(3)]
    mailboxes = [inbox.open_mailbox(first), inbox.open_mailbox(second), inbox.open_mailbox(closed)]
    inbox.close_mailbox(closed)
    inboxes = Inboxes()
    channel = inboxes.channel_for(layer, loop, first)
    assert channel is not None
    assert channel.startswith(f"specific.{layer.client_prefix}!")
    assert inboxes.channel_for(layer, loop, second) == channel  # one inbox per loop
    assert inboxes.channel_for(layer, loop, closed) is None  # no mailbox: answered on its own channel
    result = messages.inference_result(seq=1, outcome={"face": False}, latency_ms=12.5)
    failed = messages.inference_failed(seq=2, reason="expired")
    gone = messages.inference_failed(seq=3, reason="error")
    try:
        await layer.send(channel, messages.inference_answers([(first, result), (closed, gone), (second, failed)]))

        assert await asyncio.wait_for(mailboxes[0].get(), 10) == result
        assert await asyncio.wait_for(mailboxes[1].get(), 10) == failed
        await asyncio.sleep(0.1)
        assert [mailbox.qsize() for mailbox in mailboxes] == [0, 0, 0]  # once each; none for the closed one
    finally:
        inbox.close_mailbox(first)
        inbox.close_mailbox(second)
        await layer.flush()


@pytest.mark.services
async def test_the_inbox_reader_outlives_a_failed_receive(
    layer: RedisChannelLayer, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_receive = layer.receive
    failures = [ConnectionError("redis restarting")]

    async def flaky_receive(channel: str) -> dict:
        if failures:
            raise failures.pop()
        return await real_receive(channel)

    monkeypatch.setattr(inbox, "RETRY_SECONDS", 0.05)
    monkeypatch.setattr(layer, "receive", flaky_receive)
    consumer = await layer.new_channel()
    mailbox = inbox.open_mailbox(consumer)
    try:
        channel = Inboxes().channel_for(layer, asyncio.get_running_loop(), consumer)
        assert channel is not None
        answer = messages.inference_failed(seq=3, reason="error")

        await layer.send(channel, messages.inference_answers([(consumer, answer)]))

        assert await asyncio.wait_for(mailbox.get(), 10) == answer
        assert failures == []
    finally:
        inbox.close_mailbox(consumer)
        await layer.flush()


async def test_without_a_redis_layer_or_a_loop_there_is_no_inbox() -> None:
    from channels.layers import InMemoryChannelLayer

    memory = InMemoryChannelLayer()
    channel = await memory.new_channel()
    inbox.open_mailbox(channel)
    try:
        assert Inboxes().channel_for(memory, asyncio.get_running_loop(), channel) is None
        assert Inboxes().channel_for(memory, None, channel) is None
    finally:
        inbox.close_mailbox(channel)
