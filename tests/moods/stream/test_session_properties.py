"""Properties of the stream protocol, for any sequence of messages (Hypothesis).

``StreamSession`` is driven with random frame sizes, answers, pause/resume, text errors and clock
steps, and checked against a small model of the protocol. The consumer, through the real ASGI
application, gets random binary and text messages after authenticating: it answers each with one
protocol message, or closes with 4400/4429, and never fails.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
from channels.testing import WebsocketCommunicator
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from moods.stream.messages import CLOSE_TOO_FAST, CLOSE_TOO_MANY_ERRORS
from moods.stream.session import (
    ABUSE_WINDOW,
    IN_FLIGHT_TIMEOUT,
    MAX_ERRORS,
    MAX_RATE_LIMITED,
    Accept,
    Reply,
    StreamLimits,
    StreamSession,
)
from tests.moods.stream.test_consumer import in_process_inference, open_socket, token, user

# The production defaults (smile_site/settings.py).
DEFAULT_LIMITS = StreamLimits(max_fps=2, max_frame_bytes=262_144, max_in_flight=2, window_seconds=60)

__all__ = ["in_process_inference", "token", "user"]

# Function-scoped fixtures (the settings, the database, the dispatcher) serve every example of a test:
# each example opens its own socket, and the session tests need none (the autouse ones are harmless).
PROPERTIES = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

# --- StreamSession against a model --------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass(frozen=True)
class Frame:
    size: int


@dataclass(frozen=True)
class Answer:
    """The result of a frame comes back: ``pick`` chooses among the frames in flight (or a seq never seen)."""

    pick: int
    failed: bool = False


@dataclass(frozen=True)
class Pause:
    paused: bool


@dataclass(frozen=True)
class TextError:
    """A bad text message (``error`` with no seq)."""


@dataclass(frozen=True)
class Tick:
    seconds: float


Op = Frame | Answer | Pause | TextError | Tick
MAX_OPS = 400


@dataclass
class Step:
    op: Op
    now: float
    seq_before: int
    in_flight_before: dict[int, float]
    in_flight_after: dict[int, float]
    paused: bool
    outcome: object  # Accept, Reply, a latency (float), a dropped message, or None


@dataclass
class Run:
    limits: StreamLimits
    steps: list[Step] = field(default_factory=list)

    def frames(self) -> list[Step]:
        return [step for step in self.steps if isinstance(step.op, Frame)]


@st.composite
def limits(draw: st.DrawFn) -> StreamLimits:
    return StreamLimits(
        max_fps=draw(st.sampled_from([0.5, 1.0, 2.0, 5.0])),
        max_frame_bytes=draw(st.integers(1024, 4096)),
        max_in_flight=draw(st.integers(1, 4)),
        window_seconds=60,
    )


def ops(frame_limit: int) -> st.SearchStrategy[list[Op]]:
    sizes = st.one_of(
        st.integers(0, frame_limit), st.just(frame_limit), st.just(frame_limit + 1), st.integers(frame_limit, 10**6)
    )
    op: st.SearchStrategy[Op] = st.one_of(
        st.builds(Frame, sizes),
        st.builds(Frame, sizes),
        st.builds(Answer, st.integers(-1, 8), st.booleans()),
        st.builds(Pause, st.booleans()),
        st.builds(TextError),
        st.builds(Tick, st.sampled_from([0.0, 0.01, 0.1, 0.5, 1.0])),
        st.builds(Tick, st.floats(0.0, 2 * ABUSE_WINDOW, allow_nan=False)),
    )
    # Frames and text errors also come in bursts at one instant, enough to reach the abuse limits.
    repeats = st.one_of(st.just(1), st.just(1), st.integers(1, MAX_RATE_LIMITED + 10))
    bursts = st.lists(st.tuples(op, repeats), max_size=60)
    return bursts.map(
        lambda pairs: [
            item for item, times in pairs for _ in range(times if isinstance(item, Frame | TextError) else 1)
        ][:MAX_OPS]
    )


def simulate(chosen: StreamLimits, operations: Sequence[Op]) -> Run:
    """A session driven through ``operations``, every step recorded."""
    clock = Clock()
    session = StreamSession(chosen, clock=clock)
    run = Run(limits=chosen)
    for op in operations:
        before, seq_before = dict(session.in_flight), session.seq
        outcome: object = None
        if isinstance(op, Frame):
            outcome = session.frame(op.size)
        elif isinstance(op, Answer):
            waiting = sorted(session.in_flight)
            seq = waiting[op.pick % len(waiting)] if waiting and op.pick >= 0 else session.seq + 1000
            outcome = session.unavailable(seq) if op.failed else session.answered(seq)
        elif isinstance(op, Pause):
            session.paused = op.paused
        elif isinstance(op, TextError):
            outcome = session.error("bad_message", seq=None)
        else:
            clock.now += op.seconds
        run.steps.append(Step(op, clock.now, seq_before, before, dict(session.in_flight), session.paused, outcome))
    return run


@st.composite
def runs(draw: st.DrawFn) -> Run:
    chosen = draw(limits())
    return simulate(chosen, draw(ops(chosen.max_frame_bytes)))


# Besides the random runs: a flood of frames (4429) and of bad text messages (4400), each at one instant.
FLOODS = [
    simulate(DEFAULT_LIMITS, [Frame(100)] * (MAX_RATE_LIMITED + 5)),
    simulate(DEFAULT_LIMITS, [TextError()] * (MAX_ERRORS + 2) + [Tick(ABUSE_WINDOW)] + [TextError()] * 3),
]


def with_floods(test: Any) -> Any:
    for run in FLOODS:
        test = example(run)(test)
    return test


def frame_message(step: Step) -> dict[str, Any] | None:
    assert isinstance(step.outcome, Accept | Reply)
    return dict(step.outcome.message) if isinstance(step.outcome, Reply) else None


@PROPERTIES
@given(runs())
@with_floods
def test_every_frame_takes_the_next_seq_and_gets_exactly_one_outcome(run: Run) -> None:
    for step in run.frames():
        seq = step.seq_before + 1
        if isinstance(step.outcome, Accept):
            assert step.outcome.seq == seq
            assert step.in_flight_after.get(seq) == step.now, "an accepted frame waits for its answer"
        else:
            assert isinstance(step.outcome, Reply)
            message: dict[str, Any] = dict(step.outcome.message)
            assert message["seq"] == seq
            assert seq not in step.in_flight_after
            assert (message["type"], message.get("code", message.get("reason"))) in {
                ("error", "frame_too_large"),
                ("dropped", "paused"),
                ("dropped", "rate_limited"),
                ("dropped", "busy"),
            }
    assert [step.seq_before for step in run.frames()] == list(range(len(run.frames())))


@PROPERTIES
@given(runs())
@with_floods
def test_oversized_and_paused_frames_are_never_accepted(run: Run) -> None:
    for step in run.frames():
        assert isinstance(step.op, Frame)
        message = frame_message(step)
        if step.op.size > run.limits.max_frame_bytes:
            assert message is not None
            assert (message["type"], message["code"]) == ("error", "frame_too_large")
        elif step.paused:
            assert message == {"type": "dropped", "seq": step.seq_before + 1, "reason": "paused"}


@PROPERTIES
@given(runs())
@with_floods
def test_frames_in_flight_never_exceed_the_limit(run: Run) -> None:
    for step in run.steps:
        assert len(step.in_flight_after) <= run.limits.max_in_flight
        busy = frame_message(step) if isinstance(step.op, Frame) else None
        if busy is not None and busy.get("reason") == "busy":
            live = [sent for sent in step.in_flight_before.values() if step.now - sent <= IN_FLIGHT_TIMEOUT]
            assert len(live) == run.limits.max_in_flight, "busy only when the limit is really reached"


@PROPERTIES
@given(runs())
@with_floods
def test_an_accepted_frame_is_answered_once_and_a_stale_one_is_written_off(run: Run) -> None:
    for step in run.steps:
        if isinstance(step.op, Answer) and not step.op.failed:
            answered = [seq for seq in step.in_flight_before if seq not in step.in_flight_after]
            if step.outcome is None:
                assert answered == [], "an unknown or repeated answer frees nothing"
            else:
                [seq] = answered
                assert isinstance(step.outcome, float)
                assert math.isclose(step.outcome, (step.now - step.in_flight_before[seq]) * 1000)
        if isinstance(step.op, Frame):
            kept = {seq for seq, sent in step.in_flight_before.items() if step.now - sent <= IN_FLIGHT_TIMEOUT}
            assert set(step.in_flight_after) - {step.seq_before + 1} == kept


@PROPERTIES
@given(runs())
@with_floods
def test_the_socket_closes_only_4400_after_too_many_errors_and_4429_after_too_many_drops(run: Run) -> None:
    errors: list[float] = []
    rate_limited: list[float] = []

    def exceeded(times: list[float], now: float, limit: int) -> bool:
        times.append(now)
        return sum(1 for t in times if t > now - ABUSE_WINDOW) > limit

    for step in run.steps:
        if not isinstance(step.outcome, Reply):
            continue
        message = step.outcome.message
        assert message is not None
        if message["type"] == "error":
            expected = CLOSE_TOO_MANY_ERRORS if exceeded(errors, step.now, MAX_ERRORS) else None
        elif message.get("reason") == "rate_limited":
            expected = CLOSE_TOO_FAST if exceeded(rate_limited, step.now, MAX_RATE_LIMITED) else None
        else:
            expected = None
        assert step.outcome.close_code == expected
        if expected is not None:
            event(f"closed {expected}")


@PROPERTIES
@given(runs())
@with_floods
def test_frames_past_the_token_bucket_never_beat_the_rate(run: Run) -> None:
    # Accepted and busy frames both took a token; the bucket holds max(1, max_fps).
    times = [
        step.now
        for step in run.frames()
        if isinstance(step.outcome, Accept) or (frame_message(step) or {}).get("reason") == "busy"
    ]
    capacity = max(1.0, run.limits.max_fps)
    for first in range(len(times)):
        for last in range(first, len(times)):
            allowed = capacity + (times[last] - times[first]) * run.limits.max_fps
            assert last - first + 1 <= allowed + 1e-9


# --- The consumer, fuzzed through the real ASGI application ---------------------------------

KNOWN_TYPES = ["auth", "ping", "pause", "resume", "feedback", "ready", "result"]
ERROR_CODES = {"invalid_image", "frame_too_large", "image_too_large", "bad_message"}
DROP_REASONS = {"busy", "rate_limited", "paused", "unavailable"}
BIG = 262_145

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
typed_objects = st.fixed_dictionaries(
    {"type": st.sampled_from(KNOWN_TYPES) | st.text(max_size=10) | json_values},
    optional={"id": json_values, "helpful": json_values, "token": json_values, "seq": json_values},
)
texts = st.one_of(
    st.text(max_size=60),
    json_values.map(json.dumps),
    typed_objects.map(json.dumps),
    st.sampled_from(['{"type": "ping"}', '{"type": "pause"}', '{"type": "resume"}']),
    st.just("x" * 5000),
)
frames = st.one_of(
    st.binary(max_size=64),
    st.binary(max_size=32).map(lambda tail: b"face" + tail),
    st.binary(max_size=32).map(lambda tail: b"none" + tail),
    st.just(b"face" + bytes(BIG)),
)
messages = st.lists(
    st.one_of(frames.map(lambda frame: ("bytes", frame)), texts.map(lambda text: ("text", text))),
    min_size=1,
    max_size=30,
)


def expected_text_answer(text: str) -> dict[str, Any]:
    """The protocol's answer to a text message after auth (no encouragement exists, so no feedback is saved)."""
    try:
        message = json.loads(text)
    except ValueError:
        message = None
    answers = {"ping": {"type": "pong"}, "pause": {"type": "paused"}, "resume": {"type": "resumed"}}
    kind = message.get("type") if isinstance(message, dict) else None
    if isinstance(kind, str) and kind in answers and len(text.encode()) <= 4096:
        return answers[kind]
    return {"type": "error", "seq": None, "code": "bad_message"}


def is_frame_answer(message: dict[str, Any], *, seq: int) -> bool:
    """Whether ``message`` is an answer the protocol allows to frame ``seq``."""
    kind = message.get("type")
    if message.get("seq") != seq:
        return False
    if kind == "result":
        return isinstance(message.get("face"), bool) and message.get("latency_ms", -1) >= 0
    if kind == "error":
        return message.get("code") in ERROR_CODES
    return kind == "dropped" and message.get("reason") in DROP_REASONS


async def answers_until_close(
    communicator: WebsocketCommunicator, count: int
) -> tuple[list[dict[str, Any]], int | None]:
    """Up to ``count`` answers, stopping at a close; the close code, if any. Raises what the consumer raised.

    ``mood`` messages (pause closes the current window) are checked and set aside: they answer nothing.
    """
    answers: list[dict[str, Any]] = []
    while len(answers) < count:
        output = await communicator.receive_output(timeout=5)
        if output["type"] == "websocket.close":
            return answers, output.get("code")
        assert output["type"] == "websocket.send", output
        assert output.get("bytes") is None, "the server sends text only"
        message = json.loads(output["text"])
        if message.get("type") == "mood":
            assert set(message) == {"type", "start", "end", "frames", "faces", "scores", "dominant"}, message
            assert 1 <= message["faces"] <= message["frames"], "a flushed window holds a face"
        else:
            answers.append(message)
    return answers, None


@pytest.mark.django_db(transaction=True)
@settings(PROPERTIES, max_examples=30)
@given(sent=messages)
@example(sent=[("bytes", b"face")] * (MAX_RATE_LIMITED + 5))
@example(sent=[("text", "nonsense")] * (MAX_ERRORS + 2))
@example(sent=[("bytes", b""), ("text", ""), ("text", '{"type": "feedback", "id": 1, "helpful": true}')])
@example(sent=[("text", json.dumps({"type": "feedback", "id": 2**63, "helpful": False}))])
@example(sent=[("text", json.dumps({"type": "feedback", "id": -(2**63) - 1, "helpful": True}))])
async def test_after_auth_every_message_gets_one_protocol_answer_or_a_4400_4429_close(
    token: str, sent: list[tuple[str, Any]]
) -> None:
    communicator = await open_socket()
    try:
        await communicator.send_json_to({"type": "auth", "token": token})
        assert (await communicator.receive_json_from(timeout=5))["type"] == "ready"
        for kind, payload in sent:
            # As daphne passes them on (the communicator's send_to refuses empty messages, which are valid).
            await communicator.send_input({"type": "websocket.receive", kind: payload})
        answers, close_code = await answers_until_close(communicator, len(sent))
    finally:
        await communicator.disconnect()

    assert close_code in {None, CLOSE_TOO_MANY_ERRORS, CLOSE_TOO_FAST}
    event(f"closed {close_code}")
    if close_code is None:
        assert len(answers) == len(sent)
    frame_answers = [answer for answer in answers if answer.get("seq") is not None]
    text_answers = [answer for answer in answers if answer.get("seq") is None]
    sent_frames = sum(1 for kind, _ in sent if kind == "bytes")
    # Frames may be answered out of order (inference runs beside the event loop), but once each.
    seqs = sorted(answer["seq"] for answer in frame_answers)
    assert len(set(seqs)) == len(seqs)
    assert set(seqs) <= set(range(1, sent_frames + 1))
    if close_code is None:
        assert seqs == list(range(1, sent_frames + 1))
    for answer in frame_answers:
        assert is_frame_answer(answer, seq=answer["seq"]), answer
    # Text messages are answered in order, each as the protocol says.
    expected = [expected_text_answer(payload) for kind, payload in sent if kind == "text"]
    assert text_answers == expected[: len(text_answers)]
