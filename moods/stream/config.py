"""The stream's limits and executor settings, read from Django settings into one typed object.

``smile_site/settings.py`` is the one source of every default (each ``SMILE_*`` variable is
read there, with its default and minimum); this module only reads those settings, once per
process, and again after a test overrides a setting (``setting_changed``).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Literal

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver

Executor = Literal["thread", "celery"]


@dataclass(frozen=True)
class StreamConfig:
    # Announced in ``ready`` and enforced per connection.
    max_fps: float
    max_frame_bytes: int
    window_seconds: int
    max_in_flight: int
    # Largest frame dimensions the image intake decodes.
    max_frame_width: int
    max_frame_height: int
    # Where frames are scored, and how many one web process holds before answering ``busy``.
    executor: Executor
    inference_threads: int
    max_pending: int
    # The Celery queue the workers consume, and the most frames one task carries and one network
    # call scores on a worker; how long a web process waits for more frames to send with the first.
    queue: str
    batch_size: int
    publish_linger_seconds: float
    # Mood windows kept in memory while the database is unreachable.
    pending_windows: int
    # Calibrating to the resting face: how long it watches, how many frames with a face it needs.
    calibration_seconds: float
    calibration_min_faces: int
    # How often an open socket re-checks that its device and account may still stream.
    device_recheck_seconds: float


def _executor(forced: str, *, redis_url: str) -> Executor:
    """``celery`` when Redis is configured, else ``thread``; ``SMILE_INFERENCE_EXECUTOR`` forces one."""
    forced = forced.strip().lower()
    if forced in ("thread", "celery"):
        return "celery" if forced == "celery" else "thread"
    if forced:
        raise ImproperlyConfigured(f"SMILE_INFERENCE_EXECUTOR must be 'thread' or 'celery', got {forced!r}")
    return "celery" if redis_url else "thread"


@functools.cache
def stream_config() -> StreamConfig:
    return StreamConfig(
        max_fps=float(settings.SMILE_MAX_FPS),
        max_frame_bytes=int(settings.SMILE_MAX_FRAME_BYTES),
        window_seconds=int(settings.SMILE_WINDOW_SECONDS),
        max_in_flight=int(settings.SMILE_MAX_IN_FLIGHT),
        max_frame_width=int(settings.SMILE_MAX_FRAME_WIDTH),
        max_frame_height=int(settings.SMILE_MAX_FRAME_HEIGHT),
        executor=_executor(str(settings.SMILE_INFERENCE_EXECUTOR or ""), redis_url=str(settings.REDIS_URL or "")),
        inference_threads=int(settings.SMILE_INFERENCE_THREADS),
        max_pending=int(settings.SMILE_INFERENCE_MAX_PENDING),
        queue=str(settings.SMILE_INFERENCE_QUEUE),
        batch_size=int(settings.SMILE_INFERENCE_BATCH_SIZE),
        publish_linger_seconds=int(settings.SMILE_INFERENCE_PUBLISH_LINGER_MS) / 1000,
        pending_windows=int(settings.SMILE_PENDING_WINDOWS),
        calibration_seconds=float(settings.SMILE_CALIBRATION_SECONDS),
        calibration_min_faces=int(settings.SMILE_CALIBRATION_MIN_FACES),
        device_recheck_seconds=float(settings.SMILE_DEVICE_RECHECK_SECONDS),
    )


@receiver(setting_changed)
def _forget_on_override(**_: Any) -> None:
    # Tests override settings one at a time; the next read sees the new value.
    stream_config.cache_clear()
