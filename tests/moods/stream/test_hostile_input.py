"""Hostile input, fuzzed for a bounded time (issue 14): every message gets the documented answer.

The stream's text parser and the image intake take anything an attacker sends; Hypothesis
feeds them random and mutated input (random bytes, deep and malformed JSON, huge messages,
JPEGs and PNGs whose headers lie or are damaged) and checks each is answered as
``docs/protocol.md`` says: a JSON object with a string ``type`` or nothing, pixels within the
limits or a ``FrameError`` with a protocol code. Never another exception, never more pixels.
The consumer is driven with the same kinds of input before and after authentication.
"""

from __future__ import annotations

import json
import struct
import zlib

import cv2
import numpy as np
import pytest
from channels.db import database_sync_to_async
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from accounts.models import User
from inference.images import FrameError, FrameLimits, decode_grayscale
from moods.stream.session import MAX_TEXT_BYTES, parse_control
from tests.factories import make_user, pair_device
from tests.hostile_frames import hidden_behind_stuffed_zero, real_jpeg, sof_segment, with_frame_size
from tests.moods.stream.test_consumer import fake_classify, open_socket, use_dispatcher

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
LIMITS = FrameLimits(max_bytes=262_144, max_width=1920, max_height=1080)
FRAME_ERROR_CODES = {"invalid_image", "frame_too_large", "image_too_large"}


# --- The text parser -------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=30,
)


def nested(depth: int, opener: str) -> str:
    """Valid JSON nested ``depth`` deep: arrays, or objects."""
    return '{"a":' * depth + "1" + "}" * depth if opener == "{" else "[" * depth + "]" * depth


def check_control(text: str) -> None:
    message = parse_control(text)
    assert message is None or (isinstance(message, dict) and isinstance(message["type"], str))
    if len(text.encode("utf-8", "surrogatepass")) > MAX_TEXT_BYTES:
        assert message is None


@FUZZ
@given(st.text(max_size=600))
# Under the 4 KiB limit, and deeper than Python's recursion limit:
@example("[" * 4000)
@example('{"type":"ping","x":' + "[" * 2000 + "]" * 2000 + "}")
@example('{"type":' + '{"a":' * 680 + "1" + "}" * 680 + "}")
@example("x" * (MAX_TEXT_BYTES + 1))
@example('{"type": "ping"' + " " * MAX_TEXT_BYTES + "}")
@example("\ud800")
def test_parse_control_answers_any_text(text: str) -> None:
    check_control(text)


@FUZZ
@given(json_values, st.integers(min_value=0, max_value=2040), st.sampled_from(["[", "{"]))
def test_parse_control_answers_any_json_at_any_depth(value: object, depth: int, opener: str) -> None:
    check_control(json.dumps(value))
    check_control(json.dumps({"type": "ping", "x": value}))
    check_control(nested(depth, opener))


# --- The image intake -----------------------------------------------------------------------


def jpeg(width: int = 64, height: int = 48) -> bytes:
    pixels = (np.arange(width * height) % 251).astype(np.uint8).reshape(height, width)
    return cv2.imencode(".jpg", pixels)[1].tobytes()


def png(width: int = 64, height: int = 48) -> bytes:
    pixels = (np.arange(width * height) % 251).astype(np.uint8).reshape(height, width)
    return cv2.imencode(".png", pixels)[1].tobytes()


SEEDS = [jpeg(), png(), jpeg(320, 240)]
MARKERS = [b"\xff\x00", b"\xff\xc0\x00\x0b\x08\x7d\x00\x7d\x00\x01\x01\x11\x00", b"\xff\xd8", b"\xff\xd9", b"\xff\xda"]


@st.composite
def mutated_images(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        kind = draw(st.sampled_from(["flip", "insert", "cut", "marker", "size"]))
        at = draw(st.integers(min_value=0, max_value=len(data)))
        if kind == "flip" and at < len(data):
            data[at] = draw(st.integers(min_value=0, max_value=255))
        elif kind == "insert":
            data[at:at] = draw(st.binary(max_size=16))
        elif kind == "cut":
            del data[at : at + draw(st.integers(min_value=1, max_value=64))]
        elif kind == "marker":
            data[at:at] = draw(st.sampled_from(MARKERS))
        elif kind == "size" and data.startswith(b"\xff\xd8") and b"\xff\xc0" in data:
            sof = data.index(b"\xff\xc0")
            data[sof + 5 : sof + 9] = struct.pack(">HH", draw(st.integers(0, 65535)), draw(st.integers(0, 65535)))
        elif kind == "size" and data.startswith(b"\x89PNG"):
            data[16:24] = struct.pack(">II", draw(st.integers(0, 2**31 - 1)), draw(st.integers(0, 2**31 - 1)))
            data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))  # a header that lies, intact
    return bytes(data)


def check_frame(data: bytes) -> None:
    code: str | None = None
    try:
        image = decode_grayscale(data, LIMITS)
    except FrameError as error:
        code = error.code
    if code is not None:
        assert code in FRAME_ERROR_CODES
        return
    assert image.dtype == np.uint8
    assert image.ndim == 2
    assert image.shape[0] <= LIMITS.max_height
    assert image.shape[1] <= LIMITS.max_width


@FUZZ
@given(st.binary(max_size=2048))
@example(b"")
@example(b"\xff\xd8")
@example(b"\xff\xd8\xff\xd9")
@example(b"\x89PNG\r\n\x1a\n")
def test_the_intake_answers_random_bytes(data: bytes) -> None:
    check_frame(data)


LYING_JPEG = hidden_behind_stuffed_zero(with_frame_size(real_jpeg(), 4000, 4000), sof_segment(real_jpeg()))


@FUZZ
@given(mutated_images())
@example(LYING_JPEG)
def test_the_intake_answers_mutated_and_lying_images(data: bytes) -> None:
    check_frame(data)


def test_a_zlib_bomb_png_is_refused_before_inflating() -> None:
    # 1920x1080 is allowed; 30000x30000 of zeros compresses to under 1 MB but would inflate to 900 MB.
    rows = zlib.compressobj(9)
    body = b"".join(rows.compress(b"\x00" * 30001) for _ in range(2000)) + rows.flush()
    header = struct.pack(">IIBBBBB", 30000, 30000, 8, 0, 0, 0, 0)

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    bomb = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")
    with pytest.raises(FrameError) as caught:
        decode_grayscale(bomb, LIMITS)
    assert caught.value.code == "image_too_large"


# --- The consumer, before and after authentication --------------------------------------------

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def in_process_inference(settings) -> None:
    settings.SMILE_INFERENCE_EXECUTOR = "thread"
    use_dispatcher(fake_classify)


async def closed_with(communicator) -> int:
    message = await communicator.receive_output(timeout=5)
    assert message["type"] == "websocket.close"
    return int(message["code"])


HOSTILE_BEFORE_AUTH = [
    ("bytes", b"\xff\xd8" + bytes(1000)),
    ("bytes", bytes(1_048_576)),
    ("text", "x" * 1_048_576),
    ("text", "[" * 4000),
    ("text", '{"type": "auth", "token": ' + "[" * 3000 + "]" * 3000 + "}"),
    ("text", "\x00\x01\x02"),
    ("text", '{"type": "auth", "token": "' + "a" * 4000 + '"}'),
]


@pytest.mark.usefixtures("in_process_inference")
@pytest.mark.parametrize(("kind", "payload"), HOSTILE_BEFORE_AUTH, ids=lambda value: str(value)[:12])
async def test_hostile_first_messages_close_4401(kind: str, payload: str | bytes) -> None:
    communicator = await open_socket()
    if kind == "bytes":
        await communicator.send_to(bytes_data=payload)
    else:
        await communicator.send_to(text_data=payload)
    assert await closed_with(communicator) == 4401


@pytest.mark.usefixtures("in_process_inference")
async def test_hostile_messages_after_auth_get_their_documented_answers() -> None:
    user: User = await database_sync_to_async(make_user)()
    token = (await database_sync_to_async(pair_device)(user=user))[1]
    communicator = await open_socket()
    await communicator.send_json_to({"type": "auth", "token": token})
    assert (await communicator.receive_json_from(timeout=5))["type"] == "ready"

    await communicator.send_to(text_data="x" * 1_048_576)
    assert await communicator.receive_json_from(timeout=5) == {"type": "error", "seq": None, "code": "bad_message"}
    await communicator.send_to(text_data="[" * 4000)
    assert await communicator.receive_json_from(timeout=5) == {"type": "error", "seq": None, "code": "bad_message"}
    await communicator.send_to(bytes_data=bytes(300_000))
    assert await communicator.receive_json_from(timeout=5) == {"type": "error", "seq": 1, "code": "frame_too_large"}
    await communicator.send_json_to({"type": "ping"})
    assert await communicator.receive_json_from(timeout=5) == {"type": "pong"}
    await communicator.disconnect()
