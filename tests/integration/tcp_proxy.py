"""A TCP proxy that a fault test can turn into a refusing or a frozen server.

``TcpProxy`` listens on a free loopback port and forwards every connection to ``upstream``, on an
event loop of its own thread (so a test that blocks its own loop does not stall the traffic).
Between the stack and Postgres, it plays the database's faults:

- ``refuse()``: the port is closed (a connect is refused at once) and every open connection is
  cut (reset), as when the database restarts or its host drops off the network;
- ``freeze()``: connections are still accepted, but no byte goes either way (held, not lost),
  as when the database hangs or its network stalls;
- ``forward()``: back to normal: the port reopens, held bytes go on;
- ``cut_after_commit(marker)``: the next transaction that sends ``marker`` (a statement's text)
  has its ``COMMIT`` delivered, then its connection is cut before the answer can come back: the
  transaction is stored, and the client cannot know.

Every wait is bounded; ``close()`` cuts everything.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Callable
from types import TracebackType

from tests.integration.live import free_port

CHUNK = 65536
CALL_TIMEOUT = 10.0
# A simple-protocol Query message holding COMMIT (what psycopg sends to end a transaction).
COMMIT_QUERY = b"Q\x00\x00\x00\x0bCOMMIT\x00"
COMMIT_GRACE_SECONDS = 0.3


class TcpProxy:
    def __init__(self, upstream_host: str, upstream_port: int, *, port: int | None = None) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.host = "127.0.0.1"
        self.port = port or free_port()
        self.connections = 0  # accepted since start
        self.commits_cut = 0
        self._cut_marker: bytes | None = None  # the next COMMIT after these bytes is delivered and cut
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="tcp-proxy", daemon=True)
        self._server: asyncio.Server | None = None
        self._flowing: asyncio.Event | None = None
        self._open: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    # --- The test's side (any thread) ---------------------------------------------------------

    def start(self) -> TcpProxy:
        self._thread.start()
        self._call(self._start())
        return self

    def refuse(self) -> None:
        """Close the port and reset every open connection."""
        self._call(self._refuse())

    def freeze(self) -> None:
        """Accept connections, forward nothing (bytes are held until ``forward``)."""
        self._call(self._set_flowing(False))

    def forward(self) -> None:
        """Forward again: reopen the port if it was closed, release held bytes."""
        self._call(self._forward())

    def cut_after_commit(self, marker: bytes) -> None:
        """Let the COMMIT of the next transaction that sends ``marker`` reach Postgres; cut before its answer."""
        self._call(self._arm_commit_cut(marker))

    def close(self) -> None:
        if self._thread.is_alive():
            self._call(self._refuse())
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=CALL_TIMEOUT)

    def __enter__(self) -> TcpProxy:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    def _call(self, coroutine: object) -> None:
        assert asyncio.iscoroutine(coroutine)
        asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=CALL_TIMEOUT)

    # --- The proxy's loop ----------------------------------------------------------------------

    async def _start(self) -> None:
        self._flowing = asyncio.Event()
        self._flowing.set()
        await self._listen()

    async def _listen(self) -> None:
        # reuse_address (asyncio's default on Unix): the same port binds again at once after refuse().
        self._server = await asyncio.start_server(self._accepted, self.host, self.port, family=socket.AF_INET)

    async def _refuse(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in list(self._open):
            writer.transport.abort()
        self._open.clear()
        for task in list(self._tasks):
            task.cancel()

    async def _set_flowing(self, flowing: bool) -> None:
        assert self._flowing is not None
        if flowing:
            self._flowing.set()
        else:
            self._flowing.clear()

    async def _arm_commit_cut(self, marker: bytes) -> None:
        self._cut_marker = marker

    async def _forward(self) -> None:
        await self._set_flowing(True)
        if self._server is None:
            await self._listen()

    async def _accepted(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._open.add(client_writer)
        try:
            upstream_reader, upstream_writer = await asyncio.wait_for(
                asyncio.open_connection(*self.upstream), timeout=CALL_TIMEOUT
            )
        except (OSError, TimeoutError):
            client_writer.transport.abort()
            self._open.discard(client_writer)
            return
        self._open.add(upstream_writer)
        # Postgres's answers wait here while a COMMIT that is to be cut goes through.
        answers = asyncio.Event()
        answers.set()

        def cut() -> None:
            for writer in (client_writer, upstream_writer):
                writer.transport.abort()

        pumps = [
            asyncio.create_task(self._pump(client_reader, upstream_writer, hold_answers=answers, cut=cut)),
            asyncio.create_task(self._pump(upstream_reader, client_writer, gate=answers)),
        ]
        for pump in pumps:
            self._tasks.add(pump)
            pump.add_done_callback(self._tasks.discard)
        try:
            await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for pump in pumps:
                pump.cancel()
            for writer in (client_writer, upstream_writer):
                self._open.discard(writer)
                writer.close()

    async def _pump(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        gate: asyncio.Event | None = None,
        hold_answers: asyncio.Event | None = None,
        cut: Callable[[], None] | None = None,
    ) -> None:
        assert self._flowing is not None
        marked = False  # this connection sent the marker since its last COMMIT
        try:
            while True:
                await self._flowing.wait()
                data = await reader.read(CHUNK)
                if not data:
                    return
                # Read while flowing, held here if a freeze came meanwhile.
                await self._flowing.wait()
                if gate is not None:
                    await gate.wait()
                to_cut = False
                if hold_answers is not None and self._cut_marker is not None:
                    marked = marked or self._cut_marker in data
                    if COMMIT_QUERY in data:
                        to_cut, marked = marked, False
                if to_cut:
                    assert hold_answers is not None
                    self._cut_marker = None
                    hold_answers.clear()
                writer.write(data)
                await writer.drain()
                if to_cut:
                    assert cut is not None
                    await asyncio.sleep(COMMIT_GRACE_SECONDS)  # Postgres commits meanwhile; its answer is held
                    cut()
                    self.commits_cut += 1
                    return
        except (ConnectionError, OSError):
            return
