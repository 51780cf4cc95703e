"""Each web process's inbox for the stream's answers: one channel-layer message per worker task.

A worker answers the frames of one ``stream_frames`` task, all sent by one web process, in one
``inference.answers`` message to that process's inbox (a channel of its own), instead of one
message per frame to each consumer's channel: a channel-layer message costs eight Redis
commands whatever it carries (send: expire old, count, add, expire; receive: restore backups,
pop, back up, clean up). The inbox's reader, a task on the process's event loop, puts each
answer in its consumer's mailbox, an in-process queue that the consumer reads beside its
socket and its channel (``StreamConsumer.serve``), so each answer is handled in the
consumer's own task like any channel message.

Only with the Redis channel layer and a consumer that keeps a mailbox; otherwise (the
in-memory layer, frames submitted outside an event loop) each answer goes to its consumer's
channel. An answer for a consumer that has closed meanwhile is dropped here.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from typing import Any, Final

from channels.layers import BaseChannelLayer

from smile_site.channel_layer import RedisChannelLayer

logger = logging.getLogger(__name__)

# After a failed receive (Redis gone), the reader tries again this much later; the consumers
# time out the frames whose answers were lost meanwhile.
RETRY_SECONDS: Final = 0.5

# Consumer channel -> its loop and mailbox, for the consumers of this process that keep one.
_mailboxes: dict[str, tuple[asyncio.AbstractEventLoop, asyncio.Queue[dict[str, Any]]]] = {}


def open_mailbox(channel: str) -> asyncio.Queue[dict[str, Any]]:
    """A mailbox for the answers to frames submitted for ``channel`` (call on the consumer's loop)."""
    mailbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    _mailboxes[channel] = (asyncio.get_running_loop(), mailbox)
    return mailbox


def close_mailbox(channel: str) -> None:
    _mailboxes.pop(channel, None)


def has_mailbox(channel: str) -> bool:
    return channel in _mailboxes


def deliver(channel: str, answer: dict[str, Any]) -> None:
    """Put one answer in its consumer's mailbox; dropped when the consumer has closed."""
    entry = _mailboxes.get(channel)
    if entry is None:
        return
    loop, mailbox = entry
    if _running_loop() is loop:  # the inbox's reader runs on the consumers' loop: no wake-up needed
        mailbox.put_nowait(answer)
    elif not loop.is_closed():
        loop.call_soon_threadsafe(mailbox.put_nowait, answer)


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


class AnswerInbox:
    """A channel of this process and the task on its event loop that hands on what arrives."""

    def __init__(self, layer: RedisChannelLayer, loop: asyncio.AbstractEventLoop) -> None:
        self.layer = layer
        self.channel = layer.new_local_channel()
        self.task = loop.create_task(self._read(), name="smile-answer-inbox")

    async def _read(self) -> None:
        while True:
            try:
                message = await self.layer.receive(self.channel)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis gone: the reader must outlive it
                logger.warning("stream answers not received: %s", type(exc).__name__)
                await asyncio.sleep(RETRY_SECONDS)
                continue
            for reply_channel, answer in message.get("answers", ()):
                deliver(reply_channel, answer)


class Inboxes:
    """The inbox of each event loop that submits frames (a daphne process has one loop)."""

    def __init__(self) -> None:
        self._by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, AnswerInbox] = weakref.WeakKeyDictionary()

    def channel_for(
        self, layer: BaseChannelLayer, loop: asyncio.AbstractEventLoop | None, reply_channel: str
    ) -> str | None:
        """The inbox for the answer to a frame submitted on ``loop`` (call on that loop), or None."""
        if loop is None or not isinstance(layer, RedisChannelLayer) or not has_mailbox(reply_channel):
            return None
        inbox = self._by_loop.get(loop)
        if inbox is None or inbox.task.done():
            inbox = self._by_loop[loop] = AnswerInbox(layer, loop)
        return inbox.channel
