"""The history timeline: events and encouragements merged newest first, keyset-paged."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from moods.history import selectors
from moods.models import MoodEvent
from tests.factories import make_user
from tests.moods.history.test_history import event, utc
from tests.moods.yourdata.test_export_and_deletion import nudge

pytestmark = pytest.mark.django_db


@pytest.fixture
def user_id() -> int:
    return make_user(time_zone="Europe/Berlin").pk


def test_the_timeline_merges_events_and_encouragements_newest_first_page_by_page(user_id: int) -> None:
    start = utc(2026, 5, 4, 10)
    for minute in range(7):
        event(user_id, start + timedelta(minutes=minute), sad=0.5)
    nudge(user_id, start + timedelta(minutes=3, seconds=30))
    window: dict[str, Any] = {"user_id": user_id, "start": utc(2026, 5, 4), "end": utc(2026, 5, 5), "limit": 3}

    seen: list[datetime] = []
    page = selectors.timeline(**window)
    pages = 1
    while True:
        seen += [row.started_at if isinstance(row, MoodEvent) else row.sent_at for row in page.rows]
        if page.older is None:
            break
        page = selectors.timeline(**window, until=page.older)
        pages += 1

    assert len(seen) == 8 == len(set(seen))
    assert seen == sorted(seen, reverse=True)
    assert pages >= 3


def test_the_timeline_never_splits_rows_of_one_moment(user_id: int) -> None:
    moment = utc(2026, 5, 4, 10)
    earlier = event(user_id, moment - timedelta(minutes=1), sad=0.5)
    for _ in range(2):
        event(user_id, moment, sad=0.5)
    nudge(user_id, moment)
    window: dict[str, Any] = {"user_id": user_id, "start": utc(2026, 5, 4), "end": utc(2026, 5, 5)}

    first = selectors.timeline(**window, limit=2)  # 3 rows at one moment do not fit in 2
    assert len(first.rows) == 2
    assert first.older is not None
    everything = selectors.timeline(**window, limit=3)
    assert len(everything.rows) == 3  # the three rows of ``moment`` go together
    assert everything.older == moment - timedelta(minutes=1)
    last = selectors.timeline(**window, limit=3, until=everything.older)
    assert last.rows == [earlier]
    assert last.older is None
