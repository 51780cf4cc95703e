"""Celery beat's session clean-up: expired sessions go, live ones stay."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.utils import timezone

from accounts import tasks

pytestmark = pytest.mark.django_db


def test_the_session_task_deletes_expired_sessions_only() -> None:
    now = timezone.now()
    Session.objects.create(session_key="expired" + "x" * 25, session_data="", expire_date=now - timedelta(seconds=1))
    Session.objects.create(session_key="current" + "x" * 25, session_data="", expire_date=now + timedelta(days=1))

    assert tasks.clear_expired_sessions.apply().successful()

    assert list(Session.objects.values_list("session_key", flat=True)) == ["current" + "x" * 25]
