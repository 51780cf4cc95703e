"""Storing a stream's windows through database outages: retries, the pending buffer, permanent errors."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import IntegrityError, OperationalError

from inference.emotions import EMOTIONS
from moods.history import rollup
from moods.models import MoodEvent, MoodQuarter
from moods.stream import pending, windows
from moods.stream.aggregator import ClosedWindow
from tests.factories import make_user, pair_device

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)
NO_WAIT = (0.0, 0.0, 0.0)


@pytest.fixture(autouse=True)
def fresh_pending_buffer() -> Iterator[None]:
    pending.pending_buffer.reset()
    yield
    pending.pending_buffer.reset()


def window(start: datetime, *, sad: float = 0.7, faces: int = 50, frames: int = 60, seconds: int = 60) -> ClosedWindow:
    scores = {**dict.fromkeys(EMOTIONS, 0.0), "sad": sad, "neutral": round(1 - sad, 6)}
    return ClosedWindow(
        start=start,
        end=start + timedelta(seconds=seconds),
        frames=frames,
        faces=faces,
        scores=scores,
        dominant="sad" if sad > 0.5 else "neutral",
    )


def store_minutes(user_id: int, *, until: datetime, count: int = 10, sad: float = 0.7) -> None:
    for i in reversed(range(count)):
        windows.record_window(user_id=user_id, device_id=None, window=window(until - timedelta(minutes=i + 1), sad=sad))


class FlakyCreate:
    """Stands in for ``rollup.insert_event`` (the window's write): fails ``failures`` times, then writes."""

    def __init__(self, real: Any, failures: int, error: Exception) -> None:
        self.real, self.failures, self.error, self.calls = real, failures, error, 0

    def __call__(self, event: MoodEvent) -> MoodEvent:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error
        return self.real(event)


def flaky(monkeypatch: pytest.MonkeyPatch, failures: int, error: Exception | None = None) -> FlakyCreate:
    stand_in = FlakyCreate(rollup.insert_event, failures, error or OperationalError("server closed the connection"))
    monkeypatch.setattr(rollup, "insert_event", stand_in)
    return stand_in


class CommitsThenDrops:
    """Stands in for ``rollup.insert_event``: the first ``failures`` calls write the window and then
    lose the connection before the acknowledgement, as a database or proxy dying between the
    commit and its reply does; later calls write normally."""

    def __init__(self, real: Any, failures: int) -> None:
        self.real, self.failures, self.calls = real, failures, 0

    def __call__(self, event: MoodEvent) -> MoodEvent:
        self.calls += 1
        if self.calls > self.failures:
            return self.real(event)
        self.real(MoodEvent(**{f.attname: getattr(event, f.attname) for f in MoodEvent._meta.concrete_fields}))
        raise OperationalError("server closed the connection unexpectedly")


def stored_seconds(user_id: int) -> float:
    return sum(MoodQuarter.objects.filter(user_id=user_id).values_list("seconds", flat=True))


# --- Storing windows --------------------------------------------------------------------


def test_record_window_stores_the_aggregate_of_a_window() -> None:
    user = make_user()
    device, _ = pair_device(user=user)

    event = windows.record_window(user_id=user.pk, device_id=device.pk, window=window(NOW, sad=0.75))

    assert event is not None
    event.refresh_from_db()
    assert (event.user, event.device, event.started_at, event.ended_at) == (
        user,
        device,
        NOW,
        NOW + timedelta(minutes=1),
    )
    assert (event.frames, event.faces, event.dominant) == (60, 50, "sad")
    assert event.scores == {**dict.fromkeys(EMOTIONS, 0.0), "sad": 0.75, "neutral": 0.25}


def test_a_window_without_a_face_is_not_stored() -> None:
    user = make_user()
    faceless = ClosedWindow(start=NOW, end=NOW + timedelta(minutes=1), frames=60, faces=0, scores=None, dominant=None)

    assert windows.record_window(user_id=user.pk, device_id=None, window=faceless) is None
    assert not MoodEvent.objects.exists()


def test_a_database_error_is_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    user = make_user()
    stand_in = flaky(monkeypatch, failures=2)

    event = windows.record_window(user_id=user.pk, device_id=None, window=window(NOW), retry_delays=NO_WAIT)

    assert event is not None
    assert stand_in.calls == 3
    assert MoodEvent.objects.count() == 1
    assert len(pending.pending_buffer.get()) == 0


def test_a_retry_after_a_write_that_committed_does_not_store_the_window_twice(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    user = make_user()
    device, _ = pair_device(user=user)
    stand_in = CommitsThenDrops(rollup.insert_event, failures=1)
    monkeypatch.setattr(rollup, "insert_event", stand_in)

    event = windows.record_window(user_id=user.pk, device_id=device.pk, window=window(NOW), retry_delays=NO_WAIT)

    assert event is not None
    assert stand_in.calls == 2
    assert MoodEvent.objects.filter(user=user).count() == 1
    assert stored_seconds(user.pk) == 60.0
    assert len(pending.pending_buffer.get()) == 0


def test_a_waiting_window_that_was_in_fact_stored_is_not_stored_again(monkeypatch: pytest.MonkeyPatch) -> None:
    user = make_user()
    # The first attempt commits but its reply is lost; the database then stays away for the retries.
    stand_in = CommitsThenDrops(rollup.insert_event, failures=1)

    def commits_once_then_down(event: MoodEvent) -> MoodEvent:
        if stand_in.calls >= 1 and stand_in.calls < 4:
            stand_in.calls += 1
            raise OperationalError("connection refused")
        return stand_in(event)

    monkeypatch.setattr(rollup, "insert_event", commits_once_then_down)
    assert windows.record_window(user_id=user.pk, device_id=None, window=window(NOW), retry_delays=NO_WAIT) is None
    assert len(pending.pending_buffer.get()) == 1

    assert windows.flush_pending() == 1

    assert MoodEvent.objects.filter(user=user).count() == 1
    assert stored_seconds(user.pk) == 60.0


def test_after_the_retries_the_window_waits_in_memory_and_is_logged_without_its_data(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    user = make_user()
    stand_in = flaky(monkeypatch, failures=4)

    with caplog.at_level(logging.INFO, logger="moods.services"):
        assert windows.record_window(user_id=user.pk, device_id=None, window=window(NOW), retry_delays=NO_WAIT) is None

    assert stand_in.calls == 4
    assert not MoodEvent.objects.exists()
    assert len(pending.pending_buffer.get()) == 1
    [record] = caplog.records
    assert record.levelno == logging.ERROR
    assert record.getMessage() == (
        f"mood window of user {user.pk} not stored after 4 attempts (OperationalError); 1 window(s) waiting in memory"
    )
    assert "0.7" not in caplog.text


def test_the_next_successful_write_stores_the_waiting_windows(monkeypatch: pytest.MonkeyPatch) -> None:
    user = make_user()
    flaky(monkeypatch, failures=8)
    for minute in range(2):
        windows.record_window(
            user_id=user.pk, device_id=None, window=window(NOW + timedelta(minutes=minute)), retry_delays=NO_WAIT
        )
    assert len(pending.pending_buffer.get()) == 2

    windows.record_window(user_id=user.pk, device_id=None, window=window(NOW + timedelta(minutes=2)))

    assert len(pending.pending_buffer.get()) == 0
    starts = sorted(MoodEvent.objects.values_list("started_at", flat=True))
    assert starts == [NOW, NOW + timedelta(minutes=1), NOW + timedelta(minutes=2)]


def test_the_buffer_is_bounded_and_drops_the_oldest_windows(settings, monkeypatch: pytest.MonkeyPatch) -> None:
    settings.SMILE_PENDING_WINDOWS = 2
    user = make_user()
    flaky(monkeypatch, failures=3 * 4)
    for minute in range(3):
        windows.record_window(
            user_id=user.pk, device_id=None, window=window(NOW + timedelta(minutes=minute)), retry_delays=NO_WAIT
        )

    buffer = pending.pending_buffer.get()
    assert (len(buffer), buffer.dropped) == (2, 1)
    assert windows.flush_pending() == 2
    assert sorted(MoodEvent.objects.values_list("started_at", flat=True)) == [
        NOW + timedelta(minutes=1),
        NOW + timedelta(minutes=2),
    ]


def test_flush_pending_stops_at_the_first_error_and_keeps_the_rest(monkeypatch: pytest.MonkeyPatch) -> None:
    user = make_user()
    buffer = pending.pending_buffer.get()
    for minute in range(3):
        buffer.add(
            pending.PendingWindow(user_id=user.pk, device_id=None, window=window(NOW + timedelta(minutes=minute)))
        )
    real_insert = rollup.insert_event
    calls = []

    def second_call_fails(event: MoodEvent) -> MoodEvent:
        calls.append(event.started_at)
        if len(calls) == 2:
            raise OperationalError("gone")
        return real_insert(event)

    monkeypatch.setattr(rollup, "insert_event", second_call_fails)

    assert windows.flush_pending() == 1
    assert [item.window.start for item in buffer.take_all()] == [NOW + timedelta(minutes=1), NOW + timedelta(minutes=2)]


def test_an_error_a_retry_cannot_fix_drops_the_window(monkeypatch: pytest.MonkeyPatch) -> None:
    user = make_user()
    stand_in = flaky(monkeypatch, failures=1, error=IntegrityError("violates foreign key constraint"))

    assert windows.record_window(user_id=user.pk, device_id=None, window=window(NOW), retry_delays=NO_WAIT) is None
    assert stand_in.calls == 1
    assert len(pending.pending_buffer.get()) == 0
