"""The sniffer that proves private mode sends no frame must itself count frames right."""

from __future__ import annotations

import os
from collections import Counter

from tests.integration.ws_sniffer import FrameReader

UPGRADE = b"GET /ws/stream/ HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"


def frame(opcode: int, payload: bytes) -> bytes:
    key = os.urandom(4)
    masked = bytes(byte ^ key[index % 4] for index, byte in enumerate(payload))
    length = len(payload)
    if length < 126:
        head = bytes([0x80 | opcode, 0x80 | length])
    elif length < 65536:
        head = bytes([0x80 | opcode, 0x80 | 126]) + length.to_bytes(2, "big")
    else:
        head = bytes([0x80 | opcode, 0x80 | 127]) + length.to_bytes(8, "big")
    return head + key + masked


def test_it_counts_text_and_binary_frames_split_anywhere_and_reads_the_text() -> None:
    counts: Counter[str] = Counter()
    texts: list[str] = []
    reader = FrameReader(counts, texts)
    stream = (
        UPGRADE
        + frame(0x1, b'{"type":"auth"}')
        + frame(0x2, b"\xff\xd8" + b"j" * 70_000)
        + frame(0x2, b"\x89PNG" + b"p" * 300)
        + frame(0x1, b'{"type":"summary"}')
    )
    for start in range(0, len(stream), 7):  # in pieces, as TCP delivers them
        reader.feed(stream[start : start + 7])
    assert counts == Counter({"text": 2, "binary": 2})
    assert texts == ['{"type":"auth"}', '{"type":"summary"}']


def test_plain_http_is_not_read_as_frames() -> None:
    counts: Counter[str] = Counter()
    reader = FrameReader(counts, [])
    reader.feed(b"POST /api/device/mode HTTP/1.1\r\nHost: x\r\n\r\n" + b"\x82\x80abcd")
    assert counts == Counter({"http": 1})
