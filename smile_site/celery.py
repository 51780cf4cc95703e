"""The Celery application, configured from Django settings (every ``CELERY_*`` setting)."""

from __future__ import annotations

import logging.config
import os
from typing import Any

from celery import Celery
from celery.signals import celeryd_init, setup_logging, task_failure, worker_ready

from common.jsonlog import route_native_stderr

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smile_site.settings")

app = Celery("smile_site")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# The stream's task lives with the stream, one level below its app.
app.autodiscover_tasks(["moods.stream"])


@app.task(name="smile.health.ping")
def ping() -> str:
    """A health probe: a worker that answers is consuming from the broker."""
    return "pong"


@setup_logging.connect
def use_the_sites_logging(**_: Any) -> None:
    """Celery logs through ``settings.LOGGING`` (JSON lines on stdout) instead of configuring its own handlers."""
    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)
    logging.captureWarnings(True)


@celeryd_init.connect
def log_json_from_the_start(**_: Any) -> None:
    """A worker logs JSON from its first line: its first warnings (running as root, say) come before
    Celery sets up logging, and the model's native runtime writes on stderr below Python."""
    use_the_sites_logging()
    route_native_stderr()


@worker_ready.connect
def serve_worker_metrics(sender: Any = None, **_: Any) -> None:
    """A worker serves ``/metrics`` on ``SMILE_METRICS_ADDRESS`` (and the inference queue's depth if it consumes it)."""
    from smile_site.metrics import start_worker_metrics

    app = getattr(sender, "app", None)
    start_worker_metrics(consumes=set(app.amqp.queues.consume_from) if app is not None else set())


@task_failure.connect
def count_failed_task(**_: Any) -> None:
    from moods.stream.metrics import task_failed

    task_failed()
