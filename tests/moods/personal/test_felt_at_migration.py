"""Migration 0006 files every existing correction under its window's moment, and a self-report under its own."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("moods", "0005_mood_event_window_key")]
AFTER = [("moods", "0006_self_report_felt_at")]


def test_existing_corrections_move_to_their_windows_and_self_reports_stay() -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    user = old.get_model("accounts", "User").objects.create(email="old@example.com", time_zone="Europe/Berlin")
    window_start = datetime(2026, 12, 4, 16, 46, tzinfo=UTC)
    said = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
    window = old.get_model("moods", "MoodEvent").objects.create(
        user=user,
        started_at=window_start,
        ended_at=window_start.replace(minute=47),
        frames=10,
        faces=10,
        dominant="happy",
        **{"angry": 0.0, "disgust": 0.0, "fear": 0.0, "happy": 0.7, "sad": 0.0, "surprise": 0.0, "neutral": 0.3},
        seconds=60,
    )
    reports = old.get_model("moods", "SelfReport").objects
    correction = reports.create(user=user, emotion="sad", created_at=said, event=window)
    own = reports.create(user=user, emotion="neutral", created_at=said)

    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)
    new = executor.loader.project_state(AFTER).apps.get_model("moods", "SelfReport").objects
    assert new.get(pk=correction.pk).felt_at == window_start
    assert new.get(pk=correction.pk).created_at == said
    assert new.get(pk=own.pk).felt_at == said

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
