"""Every message of the stream protocol v1, on the wire and on the channel layer: the one place they exist.

The wire messages are what a client sees (``docs/protocol.md``): JSON objects whose ``type``
says what they are, built here with their keys in the order the protocol shows them. The
channel-layer messages are how other processes reach a stream consumer: an inference
executor answering a frame, and the user events every stream of a user hears (a revoked
device, an encouragement, a changed baseline or capture settings; ``moods.stream.notify``).
Channels calls the consumer method named after the ``type`` (``inference.result`` ->
``inference_result``); ``handler_name`` spells that out and a test holds the consumer to it.
The group name that addresses a user's streams lives here too.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Final, Literal, NotRequired, TypedDict

from inference.baseline import Baseline
from inference.emotions import EMOTIONS
from inference.images import FrameErrorCode
from moods.encouragement.resources import resources_for
from moods.models import CaptureSettings, Encouragement
from moods.stream.aggregator import ClosedWindow

if TYPE_CHECKING:  # the classifier loads the network's runtime: only its result type is needed here
    from inference.classifier import FrameResult

# --- Close codes --------------------------------------------------------------------------

CLOSE_BAD_TOKEN: Final = 4401
CLOSE_REVOKED: Final = 4403
CLOSE_AUTH_TIMEOUT: Final = 4408
CLOSE_TOO_MANY_ERRORS: Final = 4400
CLOSE_TOO_FAST: Final = 4429

# --- Client to server (text) --------------------------------------------------------------

AUTH: Final = "auth"
PING: Final = "ping"
PAUSE: Final = "pause"
RESUME: Final = "resume"
FEEDBACK: Final = "feedback"
CALIBRATE_START: Final = "calibrate_start"
CALIBRATE_CANCEL: Final = "calibrate_cancel"
# Private mode: one closed window's summary (``moods.stream.summaries``), and a calibration's
# raw face scores, read on the computer.
SUMMARY: Final = "summary"
CALIBRATE_FACES: Final = "calibrate_faces"

DeviceMode = Literal["server", "private"]
DropReason = Literal["busy", "rate_limited", "paused", "unavailable"]
# Why a summary was refused (``error`` with its ``key`` and a ``detail`` sentence).
SummaryErrorCode = Literal[
    "not_private_mode",
    "unsupported_version",
    "bad_summary",
    "bad_scores",
    "impossible_window",
    "window_in_future",
    "window_too_old",
    "summary_rate_limited",
    "already_stored",
    "window_overlaps",
    "unavailable",
]
# ``private_mode``: a frame from a device in private mode, refused unread.
ErrorCode = Literal["bad_message", "frame_too_large", "private_mode"] | FrameErrorCode | SummaryErrorCode
# Why an executor gave a frame no result: it failed, or it found the frame too old to be live.
FailureReason = Literal["error", "expired"]

# --- Server to client ---------------------------------------------------------------------


class CaptureDefaults(TypedDict):
    fps: float
    width: int
    height: int


class BaselineExcess(TypedDict):
    """What a private-mode client needs of the user's baseline to adjust a frame as the server would:
    per emotion, the log-odds the resting face over-reads (``inference.baseline.Baseline.excess``)."""

    excess: dict[str, float]


class Ready(TypedDict):
    type: Literal["ready"]
    max_fps: float
    max_frame_bytes: int
    window_seconds: int
    capture: NotRequired[CaptureDefaults]
    mode: NotRequired[DeviceMode]
    baseline: NotRequired[BaselineExcess | None]


class FrameOutcome(TypedDict):
    """What became of one frame in the executor: an error, no face, or the face's scores."""

    face: NotRequired[bool]
    scores: NotRequired[dict[str, float]]
    dominant: NotRequired[str | None]
    error: NotRequired[ErrorCode]


class Result(TypedDict):
    type: Literal["result"]
    seq: int
    face: bool
    scores: NotRequired[dict[str, float]]
    dominant: NotRequired[str | None]
    latency_ms: float


class Dropped(TypedDict):
    type: Literal["dropped"]
    seq: int
    reason: DropReason


class Error(TypedDict):
    type: Literal["error"]
    seq: int | None
    code: ErrorCode
    # A refused summary: its key (when it had a readable one) and a sentence saying why.
    key: NotRequired[str | None]
    detail: NotRequired[str]


class Mode(TypedDict):
    """The device's mode changed (and, in private mode, the baseline the client applies)."""

    type: Literal["mode"]
    mode: DeviceMode
    baseline: NotRequired[BaselineExcess | None]


class BaselineNews(TypedDict):
    """To a private-mode socket: the user's baseline changed (null: forgotten)."""

    type: Literal["baseline"]
    baseline: BaselineExcess | None


class SummarySaved(TypedDict):
    type: Literal["summary_saved"]
    key: str


class Mood(TypedDict):
    type: Literal["mood"]
    start: str
    end: str
    frames: int
    faces: int
    scores: dict[str, float] | None
    dominant: str | None
    uncertain: bool
    baseline: bool


class SupportResource(TypedDict):
    name: str
    contact: str
    url: str


class Encourage(TypedDict):
    type: Literal["encourage"]
    id: int
    message: str
    resources: NotRequired[list[SupportResource]]


class Pong(TypedDict):
    type: Literal["pong"]


class Paused(TypedDict):
    type: Literal["paused"]


class Resumed(TypedDict):
    type: Literal["resumed"]


class FeedbackSaved(TypedDict):
    type: Literal["feedback_saved"]
    id: int


class CalibrationProgress(TypedDict):
    type: Literal["calibration_progress"]
    seconds_left: float
    faces: int


class Calibrated(TypedDict):
    type: Literal["calibrated"]
    faces: int
    since: str


class Capture(TypedDict):
    """The user saved new capture defaults on the website: a stream that follows them applies them now."""

    type: Literal["capture"]
    fps: float
    width: int
    height: int


# A baseline's refusals (``inference.baseline.RefusalCode``), a cancel, or a socket that stopped sending frames.
CalibrationRefusalCode = Literal["too_few_faces", "not_at_rest", "cancelled"]


class CalibrationRefused(TypedDict):
    type: Literal["calibration_refused"]
    code: CalibrationRefusalCode
    message: str


ServerMessage = (
    Ready
    | Result
    | Dropped
    | Error
    | Mood
    | Encourage
    | Pong
    | Paused
    | Resumed
    | FeedbackSaved
    | CalibrationProgress
    | Calibrated
    | CalibrationRefused
    | Capture
    | Mode
    | BaselineNews
    | SummarySaved
)


def ready(
    *,
    max_fps: float,
    max_frame_bytes: int,
    window_seconds: int,
    capture: CaptureDefaults | None = None,
    mode: DeviceMode | None = None,
    baseline: Baseline | None = None,
) -> Ready:
    message: Ready = {
        "type": "ready",
        # 2.0 is sent as 2, as it always was.
        "max_fps": int(max_fps) if float(max_fps).is_integer() else max_fps,
        "max_frame_bytes": max_frame_bytes,
        "window_seconds": window_seconds,
    }
    if capture is not None:
        message["capture"] = capture
    if mode is not None:
        message["mode"] = mode
    if mode == "private":
        message["baseline"] = baseline_excess(baseline)
    return message


def baseline_excess(baseline: Baseline | None) -> BaselineExcess | None:
    """The baseline as a private-mode client applies it; None without one."""
    if baseline is None:
        return None
    return {
        "excess": {emotion: round(float(value), 6) for emotion, value in zip(EMOTIONS, baseline.excess(), strict=True)}
    }


def mode_message(*, mode: DeviceMode, baseline: Baseline | None) -> Mode:
    message: Mode = {"type": "mode", "mode": mode}
    if mode == "private":
        message["baseline"] = baseline_excess(baseline)
    return message


def baseline_news(baseline: Baseline | None) -> BaselineNews:
    return {"type": "baseline", "baseline": baseline_excess(baseline)}


def summary_saved(*, key: str) -> SummarySaved:
    return {"type": "summary_saved", "key": key}


def summary_error(*, code: SummaryErrorCode, key: str | None, detail: str) -> Error:
    return {"type": "error", "seq": None, "code": code, "key": key, "detail": detail}


def capture_defaults(row: CaptureSettings) -> CaptureDefaults:
    """The ``capture`` field of ``ready``: the user's saved capture defaults (or the defaults)."""
    width, height = (int(part) for part in row.resolution.split("x"))
    return {"fps": row.fps, "width": width, "height": height}


def capture(defaults: CaptureDefaults) -> Capture:
    return {"type": "capture", "fps": defaults["fps"], "width": defaults["width"], "height": defaults["height"]}


def frame_outcome(result: FrameResult) -> FrameOutcome:
    """The JSON-safe part of a frame's result a client may see (the face box never leaves the process)."""
    if result.error:
        return {"error": result.error}
    outcome: FrameOutcome = {"face": result.face}
    if result.scores is not None:
        outcome["scores"] = result.scores
        outcome["dominant"] = result.dominant
    return outcome


def result(*, seq: int, outcome: FrameOutcome, latency_ms: float) -> Result:
    face = bool(outcome.get("face", False))
    latency = round(latency_ms, 1)
    if "scores" not in outcome:
        return {"type": "result", "seq": seq, "face": face, "latency_ms": latency}
    return {
        "type": "result",
        "seq": seq,
        "face": face,
        "scores": outcome["scores"],
        "dominant": outcome.get("dominant"),
        "latency_ms": latency,
    }


def dropped(*, seq: int, reason: DropReason) -> Dropped:
    return {"type": "dropped", "seq": seq, "reason": reason}


def error(*, seq: int | None, code: ErrorCode) -> Error:
    return {"type": "error", "seq": seq, "code": code}


def mood(window: ClosedWindow) -> Mood:
    """One closed window, as the stream reports it (and stores it)."""
    return {
        "type": "mood",
        "start": window.start.isoformat(),
        "end": window.end.isoformat(),
        "frames": window.frames,
        "faces": window.faces,
        "scores": window.scores,
        "dominant": window.dominant,
        # "Not sure" windows say so; the baseline flag says whose face the scores read.
        "uncertain": window.uncertain,
        "baseline": window.baseline_applied,
    }


def encourage(encouragement: Encouragement) -> Encourage:
    """The nudge as sent; ``resources`` only when it came with support resources (never an empty list)."""
    message: Encourage = {"type": "encourage", "id": encouragement.pk, "message": encouragement.message}
    if encouragement.includes_resources:
        message["resources"] = [
            {"name": resource.name, "contact": resource.contact, "url": resource.url}
            for resource in resources_for(encouragement.region)
        ]
    return message


def pong() -> Pong:
    return {"type": "pong"}


def paused() -> Paused:
    return {"type": "paused"}


def resumed() -> Resumed:
    return {"type": "resumed"}


def feedback_saved(*, encouragement_id: int) -> FeedbackSaved:
    return {"type": "feedback_saved", "id": encouragement_id}


def calibration_progress(*, seconds_left: float, faces: int) -> CalibrationProgress:
    return {"type": "calibration_progress", "seconds_left": round(max(0.0, seconds_left), 1), "faces": faces}


def calibrated(*, faces: int, since: datetime) -> Calibrated:
    return {"type": "calibrated", "faces": faces, "since": since.isoformat()}


def calibration_refused(*, code: CalibrationRefusalCode, message: str) -> CalibrationRefused:
    return {"type": "calibration_refused", "code": code, "message": message}


# --- Channel layer: to a stream consumer --------------------------------------------------

INFERENCE_RESULT: Final = "inference.result"
INFERENCE_FAILED: Final = "inference.failed"
DEVICE_REVOKED: Final = "device.revoked"
MOOD_ENCOURAGE: Final = "mood.encourage"
BASELINE_CHANGED: Final = "baseline.changed"
CAPTURE_CHANGED: Final = "capture.changed"
DEVICE_MODE_CHANGED: Final = "device.mode_changed"
# What ``moods.stream.notify.notify_user_streams`` tells every open stream of a user.
USER_EVENTS: Final = (DEVICE_REVOKED, MOOD_ENCOURAGE, BASELINE_CHANGED, CAPTURE_CHANGED, DEVICE_MODE_CHANGED)
CHANNEL_TYPES: Final = (INFERENCE_RESULT, INFERENCE_FAILED, *USER_EVENTS)


class InferenceResult(TypedDict):
    type: Literal["inference.result"]
    seq: int
    result: FrameOutcome
    latency_ms: float


class InferenceFailed(TypedDict):
    type: Literal["inference.failed"]
    seq: int
    reason: FailureReason


# A consumer's channel and what it is told about one of its frames.
FrameAnswer = tuple[str, InferenceResult | InferenceFailed]


class InferenceAnswers(TypedDict):
    """The answers to one worker task's frames, sent to the inbox of the web process that sent them."""

    type: Literal["inference.answers"]
    answers: list[FrameAnswer]


class DeviceRevoked(TypedDict):
    """A device was revoked: its sockets among the user's streams close 4403."""

    type: Literal["device.revoked"]
    device_id: int


class MoodEncourage(TypedDict):
    type: Literal["mood.encourage"]
    message: Encourage


class BaselineChanged(TypedDict):
    """The user's baseline was calibrated, refreshed or forgotten: every stream of theirs reloads it."""

    type: Literal["baseline.changed"]


class CaptureChanged(TypedDict):
    """The user saved capture defaults on the website: every stream of theirs sends them on as ``capture``."""

    type: Literal["capture.changed"]
    capture: CaptureDefaults


class DeviceModeChanged(TypedDict):
    """The device was switched between server and private mode: its open sockets switch too."""

    type: Literal["device.mode_changed"]
    device_id: int
    mode: DeviceMode


UserEvent = DeviceRevoked | MoodEncourage | BaselineChanged | CaptureChanged | DeviceModeChanged
ChannelMessage = InferenceResult | InferenceFailed | InferenceAnswers | UserEvent


def handler_name(message_type: str) -> str:
    """The consumer method Channels calls for a channel-layer message of this type."""
    return message_type.replace(".", "_")


def inference_result(*, seq: int, outcome: FrameOutcome, latency_ms: float) -> InferenceResult:
    return {"type": "inference.result", "seq": seq, "result": outcome, "latency_ms": round(latency_ms, 1)}


def inference_failed(*, seq: int, reason: FailureReason) -> InferenceFailed:
    return {"type": "inference.failed", "seq": seq, "reason": reason}


def inference_answers(answers: list[FrameAnswer]) -> InferenceAnswers:
    return {"type": "inference.answers", "answers": answers}


def device_revoked(*, device_id: int) -> DeviceRevoked:
    return {"type": "device.revoked", "device_id": device_id}


def mood_encourage(message: Encourage) -> MoodEncourage:
    return {"type": "mood.encourage", "message": message}


def baseline_changed() -> BaselineChanged:
    return {"type": "baseline.changed"}


def capture_changed(defaults: CaptureDefaults) -> CaptureChanged:
    return {"type": "capture.changed", "capture": defaults}


def device_mode_changed(*, device_id: int, mode: DeviceMode) -> DeviceModeChanged:
    return {"type": "device.mode_changed", "device_id": device_id, "mode": mode}


# --- Channel layer: groups ----------------------------------------------------------------


def user_group(user_id: int) -> str:
    """Every live stream of one user joins this group: ``notify_user_streams`` speaks to it."""
    return f"user-{user_id}"
