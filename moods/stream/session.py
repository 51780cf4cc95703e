"""The stream protocol's per-connection rules, as plain state (``docs/protocol.md``).

``StreamSession`` decides what happens to every message of one WebSocket connection: frame
sequence numbers, the size limit, the token bucket at ``max_fps``, the in-flight limit, pause,
and when repeated abuse closes the socket. It does no I/O; ``moods.stream.consumer`` does that.
"""

from __future__ import annotations

import json
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

from inference.baseline import Baseline
from moods.stream import messages
from moods.stream.config import StreamConfig
from moods.stream.messages import CLOSE_TOO_FAST, CLOSE_TOO_MANY_ERRORS, DropReason, ErrorCode

MAX_TEXT_BYTES: Final = 4096
# Abuse: this many errors (or rate-limited frames) within ABUSE_WINDOW seconds closes the socket.
MAX_ERRORS: Final = 20
MAX_RATE_LIMITED: Final = 60
ABUSE_WINDOW: Final = 60.0
# Private mode: summaries one connection may send within ABUSE_WINDOW (one a window, plus the
# windows a pause or a reconnect closes early, plus those kept while the server was unreachable).
MAX_SUMMARIES: Final = 12
# A frame unanswered for this long is written off (a worker died with it): its slot is freed.
IN_FLIGHT_TIMEOUT: Final = 15.0


@dataclass(frozen=True)
class StreamLimits:
    """One connection's limits (their defaults live in settings; see ``StreamConfig``)."""

    max_fps: float
    max_frame_bytes: int
    max_in_flight: int
    window_seconds: int

    @classmethod
    def from_config(cls, config: StreamConfig) -> StreamLimits:
        return cls(
            max_fps=config.max_fps,
            max_frame_bytes=config.max_frame_bytes,
            max_in_flight=config.max_in_flight,
            window_seconds=config.window_seconds,
        )

    def ready_message(
        self,
        capture: messages.CaptureDefaults | None = None,
        *,
        mode: messages.DeviceMode | None = None,
        baseline: Baseline | None = None,
    ) -> messages.Ready:
        """``ready``; ``capture`` (optional): the user's capture defaults; ``mode``: the device's (and, in
        private mode, the ``baseline`` the client applies)."""
        return messages.ready(
            max_fps=self.max_fps,
            max_frame_bytes=self.max_frame_bytes,
            window_seconds=self.window_seconds,
            capture=capture,
            mode=mode,
            baseline=baseline,
        )


@dataclass(frozen=True)
class Accept:
    seq: int


@dataclass(frozen=True)
class Reply:
    """Answer the client with ``message``; then close with ``close_code`` if set."""

    message: messages.ServerMessage
    close_code: int | None = None


class AbuseCounter:
    """Events within a sliding window; ``add`` says whether the limit is now exceeded."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self._times: deque[float] = deque()

    def add(self, now: float) -> bool:
        self._times.append(now)
        while self._times and self._times[0] <= now - self.window:
            self._times.popleft()
        return len(self._times) > self.limit


@dataclass
class StreamSession:
    limits: StreamLimits
    clock: Callable[[], float] = time.monotonic
    seq: int = 0
    paused: bool = False
    in_flight: dict[int, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._tokens = max(1.0, self.limits.max_fps)
        self._refilled_at = self.clock()
        self._errors = AbuseCounter(MAX_ERRORS, ABUSE_WINDOW)
        self._rate_limited = AbuseCounter(MAX_RATE_LIMITED, ABUSE_WINDOW)
        self._summaries = AbuseCounter(MAX_SUMMARIES, ABUSE_WINDOW)

    # --- frames ------------------------------------------------------------------------

    def frame(self, size: int) -> Accept | Reply:
        """A binary message arrived: accept it for inference, or answer why not."""
        self.seq += 1
        now = self.clock()
        self._forget_stale(now)
        if size > self.limits.max_frame_bytes:
            return self.error("frame_too_large", seq=self.seq)
        if self.paused:
            return self._dropped("paused")
        if not self._take_token(now):
            too_fast = self._rate_limited.add(now)
            return Reply(messages.dropped(seq=self.seq, reason="rate_limited"), CLOSE_TOO_FAST if too_fast else None)
        if len(self.in_flight) >= self.limits.max_in_flight:
            return self._dropped("busy")
        self.in_flight[self.seq] = now
        return Accept(self.seq)

    def frame_refused(self, code: ErrorCode) -> Reply:
        """A binary message refused unread (a device in private mode sends no frames); it still takes a ``seq``."""
        self.seq += 1
        return self.error(code, seq=self.seq)

    def rate_limited_by_device(self, seq: int) -> Reply:
        """The frame was accepted here, but the device's other sockets used its rate (``device_rate``)."""
        self.in_flight.pop(seq, None)
        too_fast = self._rate_limited.add(self.clock())
        return Reply(messages.dropped(seq=seq, reason="rate_limited"), CLOSE_TOO_FAST if too_fast else None)

    def answered(self, seq: int) -> float | None:
        """The frame's result (or failure) came back; returns its latency in ms, None if unknown."""
        sent = self.in_flight.pop(seq, None)
        return None if sent is None else (self.clock() - sent) * 1000

    def _take_token(self, now: float) -> bool:
        capacity = max(1.0, self.limits.max_fps)
        self._tokens = min(capacity, self._tokens + (now - self._refilled_at) * self.limits.max_fps)
        self._refilled_at = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False

    def _forget_stale(self, now: float) -> None:
        for seq, sent in list(self.in_flight.items()):
            if now - sent > IN_FLIGHT_TIMEOUT:
                del self.in_flight[seq]

    def _dropped(self, reason: DropReason) -> Reply:
        return Reply(messages.dropped(seq=self.seq, reason=reason))

    def unavailable(self, seq: int) -> messages.Dropped:
        """Inference failed or timed out for an accepted frame."""
        self.in_flight.pop(seq, None)
        return messages.dropped(seq=seq, reason="unavailable")

    # --- errors ------------------------------------------------------------------------

    def error(self, code: ErrorCode, *, seq: int | None) -> Reply:
        """An ``error`` answer (``seq`` None for a text message); too many within a minute close the socket (4400)."""
        too_many = self._errors.add(self.clock())
        return Reply(messages.error(seq=seq, code=code), CLOSE_TOO_MANY_ERRORS if too_many else None)

    def summary_allowed(self) -> bool:
        """Whether one more summary fits this connection's rate (``MAX_SUMMARIES`` a minute)."""
        return not self._summaries.add(self.clock())

    def summary_error(self, code: messages.SummaryErrorCode, *, key: str | None, detail: str) -> Reply:
        """A refused summary; counted toward 4400 like any error, but for a resend of a stored one."""
        message = messages.summary_error(code=code, key=key, detail=detail)
        if code == "already_stored":
            return Reply(message)
        too_many = self._errors.add(self.clock())
        return Reply(message, CLOSE_TOO_MANY_ERRORS if too_many else None)


def parse_control(text: str | None) -> dict[str, Any] | None:
    """A text message as a JSON object with a string ``type``, or None if it is not one."""
    if text is None or len(text.encode("utf-8", "surrogatepass")) > MAX_TEXT_BYTES:
        return None
    try:
        message = json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: nested deeper than the parser's stack
        return None
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        return None
    return message
