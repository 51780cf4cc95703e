"""The stream protocol's messages: built in one module, in the protocol's key order, and each
channel-layer type handled by the consumer method Channels will call."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from inference.classifier import FrameResult
from inference.faces import Box
from moods.stream import messages
from moods.stream.aggregator import ClosedWindow
from moods.stream.consumer import StreamConsumer

SCORES = {"angry": 0.0, "disgust": 0.0, "fear": 0.0, "happy": 0.9, "sad": 0.0, "surprise": 0.0, "neutral": 0.1}


def wire(message: object) -> str:
    return json.dumps(message, separators=(",", ":"))


def test_every_channel_layer_type_has_its_consumer_handler() -> None:
    for message_type in messages.CHANNEL_TYPES:
        assert callable(getattr(StreamConsumer, messages.handler_name(message_type), None)), message_type


def test_the_outcome_never_carries_the_face_box() -> None:
    found = FrameResult(face=True, box=Box(1, 2, 30, 30), scores=SCORES, dominant="happy")
    assert messages.frame_outcome(found) == {"face": True, "scores": SCORES, "dominant": "happy"}
    assert messages.frame_outcome(FrameResult(face=False, error="invalid_image")) == {"error": "invalid_image"}
    assert messages.frame_outcome(FrameResult(face=False)) == {"face": False}


def test_results_keep_the_protocols_key_order() -> None:
    outcome = messages.frame_outcome(FrameResult(face=True, scores=SCORES, dominant="happy"))
    assert wire(messages.result(seq=3, outcome=outcome, latency_ms=12.345)) == (
        '{"type":"result","seq":3,"face":true,"scores":' + wire(SCORES) + ',"dominant":"happy","latency_ms":12.3}'
    )
    no_face = messages.frame_outcome(FrameResult(face=False))
    assert wire(messages.result(seq=4, outcome=no_face, latency_ms=1)) == (
        '{"type":"result","seq":4,"face":false,"latency_ms":1}'
    )


def test_ready_sends_a_whole_fps_as_an_integer() -> None:
    assert wire(messages.ready(max_fps=2.0, max_frame_bytes=262_144, window_seconds=60)) == (
        '{"type":"ready","max_fps":2,"max_frame_bytes":262144,"window_seconds":60}'
    )
    assert messages.ready(max_fps=0.5, max_frame_bytes=1, window_seconds=5)["max_fps"] == 0.5


def test_the_small_answers() -> None:
    assert messages.dropped(seq=5, reason="busy") == {"type": "dropped", "seq": 5, "reason": "busy"}
    assert messages.error(seq=None, code="bad_message") == {"type": "error", "seq": None, "code": "bad_message"}
    faceless = ClosedWindow(
        start=datetime(2026, 1, 1, tzinfo=UTC),
        end=datetime(2026, 1, 1, 0, 1, tzinfo=UTC),
        frames=2,
        faces=0,
        scores=None,
        dominant=None,
    )
    assert wire(messages.mood(faceless)) == (
        '{"type":"mood","start":"2026-01-01T00:00:00+00:00","end":"2026-01-01T00:01:00+00:00",'
        '"frames":2,"faces":0,"scores":null,"dominant":null,"uncertain":true,"baseline":false}'
    )
    assert [dict(messages.pong()), dict(messages.paused()), dict(messages.resumed())] == [
        {"type": "pong"},
        {"type": "paused"},
        {"type": "resumed"},
    ]
    assert messages.feedback_saved(encouragement_id=9) == {"type": "feedback_saved", "id": 9}
    assert messages.user_group(3) == "user-3"
    assert messages.capture({"fps": 0.5, "width": 640, "height": 480}) == {
        "type": "capture",
        "fps": 0.5,
        "width": 640,
        "height": 480,
    }
