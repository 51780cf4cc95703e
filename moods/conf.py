"""Typed readers for the stream pipeline's settings, with their defaults. Read on use, so tests can override them.

- ``SMILE_WINDOW_SECONDS`` (60): length of one mood window (one ``MoodEvent``).
- ``SMILE_INFERENCE_EXECUTOR`` (""): ``thread`` or ``celery``; empty means Celery when
  ``SMILE_REDIS_URL`` is set, else the in-process thread pool.
- ``SMILE_INFERENCE_THREADS`` (2): threads of the in-process inference pool.
- ``SMILE_INFERENCE_MAX_PENDING`` (32): frames one web process holds before inference (or
  before publishing to Celery); beyond it ``dispatch.submit`` raises ``DispatchBusy``.
- ``SMILE_PENDING_WINDOWS`` (1000): mood windows kept in memory while the database is down.

``SMILE_INFERENCE_BATCH_SIZE`` (16, frames per network call on a worker) is read by
``inference.tasks``, which does not depend on this app.
"""

from __future__ import annotations

from typing import Literal

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

Executor = Literal["thread", "celery"]


def _int(name: str, default: int, minimum: int) -> int:
    return max(minimum, int(getattr(settings, name, default)))


def window_seconds() -> int:
    """Length of one mood window (one ``MoodEvent`` row), in seconds."""
    return _int("SMILE_WINDOW_SECONDS", 60, 5)


def inference_threads() -> int:
    """Worker threads of the in-process inference pool (embedded mode)."""
    return _int("SMILE_INFERENCE_THREADS", 2, 1)


def inference_max_pending() -> int:
    """Frames this process holds before inference or publishing; beyond it ``submit`` refuses (busy)."""
    return _int("SMILE_INFERENCE_MAX_PENDING", 32, 1)


def inference_executor() -> Executor:
    """``celery`` when Redis is configured, else ``thread``; ``SMILE_INFERENCE_EXECUTOR`` forces one."""
    forced = str(getattr(settings, "SMILE_INFERENCE_EXECUTOR", "") or "").strip().lower()
    if forced == "thread":
        return "thread"
    if forced == "celery":
        return "celery"
    if forced:
        raise ImproperlyConfigured(f"SMILE_INFERENCE_EXECUTOR must be 'thread' or 'celery', got {forced!r}")
    return "celery" if getattr(settings, "REDIS_URL", "") else "thread"


def pending_windows() -> int:
    """Mood windows kept in memory while the database is unreachable (oldest dropped first)."""
    return _int("SMILE_PENDING_WINDOWS", 1000, 1)
