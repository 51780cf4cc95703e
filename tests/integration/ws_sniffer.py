"""A loopback TCP forwarder that reads the WebSocket frames clients send through it.

Private mode's promise is about what leaves the computer: ``WebSocketSniffer`` sits between the
extension and the site, forwards every byte unchanged both ways, and parses the client-to-server
side of each upgraded connection (RFC 6455 framing) to count its frames by opcode: ``binary``
(a camera frame in server mode), ``text`` (JSON: auth, ping, summaries), and the rest. The text
frames' payloads are unmasked and kept, so a test can read what was sent. Runs on an event loop
of its own thread; ``close()`` stops it.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter

from tests.integration.live import free_port

OPCODES = {0x0: "continuation", 0x1: "text", 0x2: "binary", 0x8: "close", 0x9: "ping", 0xA: "pong"}


class FrameReader:
    """Incremental RFC 6455 parser of one client-to-server byte stream (after the HTTP upgrade)."""

    def __init__(self, counts: Counter[str], texts: list[str]) -> None:
        self.buffer = bytearray()
        self.counts = counts
        self.texts = texts
        self.upgraded = False

    def feed(self, data: bytes) -> None:
        self.buffer += data
        if not self.upgraded:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buffer[:end]).lower()
            del self.buffer[: end + 4]
            if b"upgrade: websocket" not in head:
                self.counts["http"] += 1
                self.upgraded = None  # type: ignore[assignment]  # plain HTTP: not followed further
                self.buffer.clear()
                return
            self.upgraded = True
        if self.upgraded is None:
            self.buffer.clear()
            return
        while self._frame():
            pass

    def _frame(self) -> bool:
        data = self.buffer
        if len(data) < 2:
            return False
        opcode, masked, length = data[0] & 0x0F, data[1] & 0x80, data[1] & 0x7F
        at = 2
        if length == 126:
            if len(data) < 4:
                return False
            length, at = int.from_bytes(data[2:4], "big"), 4
        elif length == 127:
            if len(data) < 10:
                return False
            length, at = int.from_bytes(data[2:10], "big"), 10
        key = b""
        if masked:
            if len(data) < at + 4:
                return False
            key, at = bytes(data[at : at + 4]), at + 4
        if len(data) < at + length:
            return False
        payload = bytes(data[at : at + length])
        if key:
            payload = bytes(byte ^ key[index % 4] for index, byte in enumerate(payload))
        self.counts[OPCODES.get(opcode, f"opcode-{opcode}")] += 1
        if opcode == 0x1:
            self.texts.append(payload.decode("utf-8", "replace"))
        del data[: at + length]
        return True


class WebSocketSniffer:
    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.counts: Counter[str] = Counter()
        self.texts: list[str] = []
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="ws-sniffer", daemon=True)
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()

    def start(self) -> WebSocketSniffer:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    def close(self) -> None:
        async def stop() -> None:
            if self._server is not None:
                self._server.close()
            for task in self._connections:
                task.cancel()
            await asyncio.gather(*self._connections, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    async def _start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)

    async def _serve(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            await self._forward(client_reader, client_writer)
        finally:
            self._connections.discard(task)

    async def _forward(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        try:
            server_reader, server_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            client_writer.close()
            return
        frames = FrameReader(self.counts, self.texts)

        async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, sniff: bool) -> None:
            try:
                while data := await reader.read(65536):
                    if sniff:
                        frames.feed(data)
                    writer.write(data)
                    await writer.drain()
            except ConnectionError:
                pass
            finally:
                writer.close()

        pipes = [
            asyncio.ensure_future(pipe(client_reader, server_writer, True)),
            asyncio.ensure_future(pipe(server_reader, client_writer, False)),
        ]
        try:
            await asyncio.gather(*pipes)
        finally:  # cancelled (close()): end both directions before the loop stops
            for piped in pipes:
                piped.cancel()
            await asyncio.gather(*pipes, return_exceptions=True)
