"""Django's clock pinned for tests whose "today" must not depend on when the suite runs."""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone


def pin_local_midday(monkeypatch: pytest.MonkeyPatch, zone: ZoneInfo) -> datetime:
    """Pin ``django.utils.timezone.now`` at 12:00 of today in ``zone`` and return that instant.

    "Today" starts at the user's midnight, so a test that puts the last half hour into today
    fails for the first half hour of every day on a real clock (a CI run at 00:30 in Berlin did).
    """
    midday = datetime.combine(timezone.now().astimezone(zone).date(), time(12), tzinfo=zone)
    monkeypatch.setattr(timezone, "now", lambda: midday)
    return midday
