"""Celery side of inference: load the model in each worker process after fork.

TensorFlow hangs in forked children that inherit an initialised runtime, so the parent never
loads the model; each worker child loads it once at start. The stream's inference task
builds on ``classify_frames``.
"""

from __future__ import annotations

import base64
import logging
from typing import Any

from celery import shared_task
from celery.signals import worker_process_init

from inference.classifier import classify_frames, get_classifier

logger = logging.getLogger(__name__)


@worker_process_init.connect
def load_model_in_worker(**_: Any) -> None:
    get_classifier()
    logger.info("emotion model loaded in worker process")


@shared_task(name="inference.classify_frames", acks_late=True, reject_on_worker_lost=True)
def classify_frames_task(frames_b64: list[str]) -> list[dict[str, Any]]:
    """Classify base64-encoded frames (JSON-safe transport); returns each frame's message."""
    frames = [base64.b64decode(item, validate=True) for item in frames_b64]
    return [result.as_message() for result in classify_frames(frames)]
