"""The stream's Prometheus metrics: what each daphne's sockets and each worker's frames do.

Every metric is defined here, with its labels' complete value sets: drop reasons, error codes
and close codes come from the protocol (``moods.stream.messages``), anything else counts as
``other``. No label names a user, device, token, address or anything about a face. Label
children are made once at import, so the per-frame path is a dictionary look-up and a counter
increment or histogram observation: nothing else is allocated or locked per frame beyond the
client library's own lock.

The consumer and the task call the small functions below (one line each), so their code keeps
to the protocol. Time histograms use seconds, as Prometheus does.
"""

from __future__ import annotations

import logging
from typing import Any, Final, get_args

import redis
from prometheus_client import REGISTRY, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from common.jsonlog import SOCKET_ID, new_id
from common.metrics import OTHER, bounded, children
from moods.stream import messages

logger = logging.getLogger(__name__)

DROP_REASONS: Final = (*get_args(messages.DropReason), OTHER)
# ErrorCode is a union of two Literals: the stream's own codes and the image intake's.
ERROR_CODES: Final = (*dict.fromkeys(code for part in get_args(messages.ErrorCode) for code in get_args(part)), OTHER)
# The protocol's own close codes and the WebSocket ones a socket ends with in practice.
CLOSE_CODES: Final = (
    "1000",  # normal
    "1001",  # going away (a tab closed, a server restarting)
    "1005",  # no code given
    "1006",  # dropped without a close frame
    "1011",  # server error
    *(
        str(code)
        for code in (
            messages.CLOSE_TOO_MANY_ERRORS,
            messages.CLOSE_BAD_TOKEN,
            messages.CLOSE_REVOKED,
            messages.CLOSE_AUTH_TIMEOUT,
            messages.CLOSE_TOO_FAST,
        )
    ),
    OTHER,
)
FAILURE_REASONS: Final = (*get_args(messages.FailureReason), "undelivered", OTHER)
# Frame in to result out, around the 300 ms the design promises at p95.
LATENCY_BUCKETS: Final = (0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.75, 1.0, 2.0, 5.0, 10.0)
# One stage of one frame: about a millisecond each on a CPU (docs/performance.md).
STAGE_BUCKETS: Final = (0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.02, 0.05, 0.1, 0.25, 1.0)
BATCH_BUCKETS: Final = (1, 2, 4, 8, 16, 32, 64, 128, 256)

# --- daphne: the sockets ------------------------------------------------------------------------

SOCKETS_OPEN = Gauge("smile_stream_sockets_open", "Stream WebSockets open in this process (authenticated or not).")
FRAMES_RECEIVED = Counter("smile_stream_frames_received_total", "Binary frames received on stream sockets.")
RESULTS_SENT = Counter("smile_stream_results_sent_total", "Results sent to stream clients.")
RESULT_LATENCY = Histogram(
    "smile_stream_result_latency_seconds",
    "Frame in to result out, as the consumer measures it (the client's result.latency_ms).",
    buckets=LATENCY_BUCKETS,
)
DROPS = children(Counter("smile_stream_drops_total", "Frames answered 'dropped', by reason.", ["reason"]), DROP_REASONS)
ERRORS = children(Counter("smile_stream_errors_total", "Messages answered 'error', by code.", ["code"]), ERROR_CODES)
CLOSES = children(
    Counter("smile_stream_closes_total", "Stream sockets closed, by WebSocket close code.", ["code"]), CLOSE_CODES
)
WINDOWS_STORED = Counter("smile_stream_windows_stored_total", "Mood windows written to the database (MoodEvent rows).")
NUDGES_SENT = Counter("smile_stream_nudges_sent_total", "Encouragements sent after a stored window.")
PUBLISHED_BATCH = Histogram(
    "smile_stream_published_batch_frames", "Frames per inference task a web process sent.", buckets=BATCH_BUCKETS
)


def socket_opened() -> None:
    """A stream socket was accepted: counted, and its log lines carry a new socket id from here on."""
    SOCKET_ID.set(new_id())  # the consumer's own task: every line it logs, and its tasks log, carries it
    SOCKETS_OPEN.inc()
    logger.info("stream socket opened")


def socket_closed() -> None:
    SOCKETS_OPEN.dec()


def socket_disconnected(code: object) -> None:
    bounded(code, CLOSES).inc()
    logger.info("stream socket closed %s", code if str(code) in CLOSES else OTHER)


def frame_received() -> None:
    FRAMES_RECEIVED.inc()


def frames_published(frames: int) -> None:
    PUBLISHED_BATCH.observe(frames)


def window_stored() -> None:
    WINDOWS_STORED.inc()


def nudge_sent() -> None:
    NUDGES_SENT.inc()


def _result(message: Any) -> None:
    RESULTS_SENT.inc()
    RESULT_LATENCY.observe(message["latency_ms"] / 1000)


def _dropped(message: Any) -> None:
    bounded(message["reason"], DROPS).inc()


def _error(message: Any) -> None:
    bounded(message["code"], ERRORS).inc()


_SENT: Final = {"result": _result, "dropped": _dropped, "error": _error}


def message_sent(message: messages.ServerMessage) -> None:
    """Count what a socket is told about its frames: results (and their latency), drops, errors."""
    count = _SENT.get(message["type"])
    if count is not None:
        count(message)


# --- worker: the frames ---------------------------------------------------------------------------

FRAMES_SCORED = Counter("smile_worker_frames_scored_total", "Frames through decode, detect and score on this worker.")
FACES_FOUND = Counter("smile_worker_faces_found_total", "Frames in which a face was found and scored.")
BATCH_SIZE = Histogram("smile_worker_batch_size", "Frames per network call.", buckets=BATCH_BUCKETS)
DECODE_SECONDS = Histogram("smile_worker_decode_seconds", "Decoding one frame.", buckets=STAGE_BUCKETS)
DETECT_SECONDS = Histogram("smile_worker_detect_seconds", "Finding the face in a decoded frame.", buckets=STAGE_BUCKETS)
SCORE_SECONDS = Histogram(
    "smile_worker_score_seconds", "One network call over a batch's faces (every view).", buckets=STAGE_BUCKETS
)
FRAMES_FAILED = children(
    Counter(
        "smile_worker_frames_failed_total",
        "Frame tasks that gave no result (error, expired) or whose answer was not delivered.",
        ["reason"],
    ),
    FAILURE_REASONS,
)
TASKS_FAILED = Counter("smile_worker_tasks_failed_total", "Celery tasks that raised, any task.")


class StageMetrics:
    """The worker's frame path, timed stage by stage (``inference.classifier.StageObserver``)."""

    def batch(self, frames: int) -> None:
        FRAMES_SCORED.inc(frames)
        BATCH_SIZE.observe(frames)

    def decoded(self, seconds: float) -> None:
        DECODE_SECONDS.observe(seconds)

    def detected(self, seconds: float) -> None:
        DETECT_SECONDS.observe(seconds)

    def scored(self, seconds: float, *, faces: int) -> None:
        SCORE_SECONDS.observe(seconds)
        FACES_FOUND.inc(faces)


STAGES: Final = StageMetrics()


def frame_failed(reason: str) -> None:
    bounded(reason, FRAMES_FAILED).inc()


def task_failed() -> None:
    TASKS_FAILED.inc()


class QueueDepth(Collector):
    """The inference queue's length in Redis, read when Prometheus scrapes (-1 when Redis does not answer).

    kombu's Redis transport keeps a queue as a list named after it (priority 0, the only one the
    stream uses). Every worker reports the same number: the alert rules take the maximum.
    """

    def __init__(self, *, url: str, queue: str) -> None:
        self.url = url
        self.queue = queue

    def collect(self) -> list[GaugeMetricFamily]:
        depth = -1.0
        try:
            client = redis.Redis.from_url(self.url, socket_connect_timeout=1, socket_timeout=1)
            try:
                depth = float(client.llen(self.queue))
            finally:
                client.close()
        except redis.RedisError as exc:
            logger.warning("metrics: inference queue depth unreadable: %s", type(exc).__name__)
        family = GaugeMetricFamily(
            "smile_inference_queue_depth",
            "Tasks (batches of frames) waiting in the inference queue (-1: Redis did not answer).",
        )
        family.add_metric([], depth)
        return [family]


_queue_depth: list[QueueDepth] = []


def watch_queue(*, url: str, queue: str) -> None:
    """Export the inference queue's depth from this process (once)."""
    if url and not _queue_depth:
        collector = QueueDepth(url=url, queue=queue)
        REGISTRY.register(collector)
        _queue_depth.append(collector)
