"""The Celery application, configured from Django settings (every ``CELERY_*`` setting)."""

from __future__ import annotations

import os

from celery import Celery

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
