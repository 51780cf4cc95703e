"""Answering a stream consumer from a thread that has no event loop of its own (workers, pools)."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable
from concurrent.futures import CancelledError, Future
from typing import Final

from channels import DEFAULT_CHANNEL_LAYER
from channels.layers import BaseChannelLayer, get_channel_layer

from moods.stream.messages import ChannelMessage

# Sends a process may have waiting on Redis before ``send_soon`` waits for one to finish.
MAX_SENDS_IN_FLIGHT: Final = 256
SEND_TIMEOUT_SECONDS: Final = 5.0


class ChannelSender:
    """Sends channel-layer messages from any thread over one event loop owned by this object.

    ``async_to_sync`` would start a fresh event loop per message, and the Redis channel layer
    a fresh connection per loop; one long-lived loop keeps one connection pool per process.
    """

    def __init__(self, layer_alias: str = DEFAULT_CHANNEL_LAYER) -> None:
        self.layer_alias = layer_alias
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pid = 0
        self._lock = threading.Lock()
        self._in_flight = threading.BoundedSemaphore(MAX_SENDS_IN_FLIGHT)

    def send(
        self,
        channel: str,
        message: ChannelMessage,
        *,
        layer: BaseChannelLayer | None = None,
        timeout: float = 5.0,
    ) -> None:
        """Send and wait for the layer to take the message (raises what ``layer.send`` raises)."""
        layer = layer or get_channel_layer(self.layer_alias)
        asyncio.run_coroutine_threadsafe(layer.send(channel, message), self._ensure_loop()).result(timeout)

    def send_soon(self, channel: str, message: ChannelMessage, *, on_failure: Callable[[BaseException], None]) -> None:
        """Hand the message to the loop and return without waiting for Redis; ``on_failure`` hears of a failed send.

        A worker's task thread is free for the next frames at once instead of waiting out the
        layer's round trips. Bounded: while ``MAX_SENDS_IN_FLIGHT`` sends wait (Redis slow),
        this blocks up to ``SEND_TIMEOUT_SECONDS``, then reports a ``TimeoutError`` unsent.
        """
        if not self._in_flight.acquire(timeout=SEND_TIMEOUT_SECONDS):
            on_failure(TimeoutError(f"{MAX_SENDS_IN_FLIGHT} channel-layer sends in flight"))
            return
        layer = get_channel_layer(self.layer_alias)
        try:
            future = asyncio.run_coroutine_threadsafe(layer.send(channel, message), self._ensure_loop())
        except BaseException:
            self._in_flight.release()
            raise

        def sent(future: Future[None]) -> None:
            self._in_flight.release()
            failure = CancelledError() if future.cancelled() else future.exception()
            if failure is not None:
                on_failure(failure)

        future.add_done_callback(sent)

    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            # A forked child inherits the loop object but not the thread that runs it.
            if self._loop is None or self._loop.is_closed() or self._pid != os.getpid():
                loop = asyncio.new_event_loop()
                threading.Thread(target=loop.run_forever, name="smile-channel-sender", daemon=True).start()
                self._loop, self._pid = loop, os.getpid()
            return self._loop


channel_sender = ChannelSender()
