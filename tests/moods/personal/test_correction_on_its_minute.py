"""A correction belongs to the minute it corrects: its row, its day's "What you said" and agreement, its export
row; a self-report made without a minute stays at the moment it was made (issue 24, section 2)."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime, timedelta

import pytest
from django.http import StreamingHttpResponse
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from moods.models import MoodEvent, SelfReport
from moods.personal import selectors
from moods.yourdata import deletion
from tests.factories import make_user
from tests.moods.history.test_history import event

pytestmark = pytest.mark.django_db

# Sunday 6 December 2026, 10:00 in Berlin; the corrected minute is Friday's 17:46 there.
NOW = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
FRIDAY = date(2026, 12, 4)
SUNDAY = date(2026, 12, 6)
FRIDAYS_MINUTE = datetime(2026, 12, 4, 16, 46, tzinfo=UTC)


@pytest.fixture
def user(client: Client, monkeypatch: pytest.MonkeyPatch) -> User:
    monkeypatch.setattr(timezone, "now", lambda: NOW)
    user = make_user(time_zone="Europe/Berlin")
    client.force_login(user)
    return user


@pytest.fixture
def fridays_minute(user: User) -> MoodEvent:
    return event(user.pk, FRIDAYS_MINUTE, happy=0.7)


def day_page(client: Client, day: date) -> str:
    response = client.get(f"{reverse('history')}?range=day&end={day.isoformat()}")
    assert response.status_code == 200
    return response.content.decode()


def download(response: object) -> bytes:
    assert isinstance(response, StreamingHttpResponse)
    return b"".join(response.streaming_content)  # type: ignore[arg-type]


def correct(client: Client, window: MoodEvent, emotion: str = "sad", note: str = "a long week") -> None:
    response = client.post(reverse("correct_window", args=[window.pk]), {"emotion": emotion, "note": note})
    assert response.status_code == 302


def test_a_correction_is_filed_at_its_minute_and_keeps_when_it_was_said(
    client: Client, user: User, fridays_minute: MoodEvent
) -> None:
    correct(client, fridays_minute)
    report = SelfReport.objects.get(user=user)
    assert report.event == fridays_minute
    assert report.felt_at == FRIDAYS_MINUTE
    assert report.created_at > FRIDAYS_MINUTE


def test_the_corrected_minutes_row_shows_the_users_word(client: Client, user: User, fridays_minute: MoodEvent) -> None:
    correct(client, fridays_minute)
    html = day_page(client, FRIDAY)
    row = html.split("17:46\N{EN DASH}17:47</th>", 1)[1].split("</tr>", 1)[0]
    assert "You felt sad" in row
    assert "a long week" in row


def test_fridays_what_you_said_and_agreement_count_the_correction_and_today_does_not(
    client: Client, user: User, fridays_minute: MoodEvent
) -> None:
    correct(client, fridays_minute)
    friday = day_page(client, FRIDAY)
    assert "Fri 4 Dec, 17:46: read happy, you felt sad" in friday
    assert "agreed with what you said 0 of 1 times" in friday
    sunday = day_page(client, SUNDAY)
    assert "No self-report in this range" in sunday
    assert "read happy, you felt sad" not in sunday


def test_a_self_report_without_a_minute_stays_at_its_own_moment(
    client: Client, user: User, fridays_minute: MoodEvent
) -> None:
    response = client.post(reverse("self_report"), {"emotion": "neutral"})
    assert response.status_code == 302
    report = SelfReport.objects.get(user=user)
    assert report.event is None
    assert report.felt_at == report.created_at
    assert "you felt neutral" in day_page(client, SUNDAY)
    assert "you felt neutral" not in day_page(client, FRIDAY)


def test_the_export_writes_a_correction_at_its_minute_in_that_days_range(
    client: Client, user: User, fridays_minute: MoodEvent
) -> None:
    correct(client, fridays_minute)
    fields = {"start": FRIDAY.isoformat(), "end": FRIDAY.isoformat()}
    response = client.post(reverse("export"), {"format": "csv", **fields})
    rows = list(csv.DictReader(io.StringIO(download(response).decode())))
    (correction,) = [row for row in rows if row["kind"] == "correction"]
    assert correction["started_at"] == "2026-12-04T17:46:00+01:00"
    assert correction["dominant"] == "sad"

    response = client.post(reverse("export"), {"format": "json", **fields})
    (said,) = json.loads(download(response))["self_reports"]
    assert said["felt_at"] == "2026-12-04T17:46:00+01:00"
    assert said["corrects_window_started_at"] == "2026-12-04T17:46:00+01:00"
    assert said["created_at"] == "2026-12-06T10:00:00+01:00"

    response = client.post(reverse("export"), {"format": "csv", "start": SUNDAY.isoformat(), "end": SUNDAY.isoformat()})
    assert "correction" not in download(response).decode()


def test_deleting_the_corrected_day_deletes_the_correction(user: User, fridays_minute: MoodEvent) -> None:
    SelfReport.objects.create(user=user, emotion="sad", event=fridays_minute, created_at=NOW)
    SelfReport.objects.create(user=user, emotion="happy", created_at=NOW)
    deletion.delete_days(user_id=user.pk, tz=user.zone, first=SUNDAY, last=SUNDAY)
    assert list(SelfReport.objects.values_list("emotion", flat=True)) == ["sad"]
    deletion.delete_days(user_id=user.pk, tz=user.zone, first=FRIDAY, last=FRIDAY)
    assert not SelfReport.objects.exists()


def test_the_selectors_read_a_correction_in_its_minutes_range(user: User, fridays_minute: MoodEvent) -> None:
    SelfReport.objects.create(user=user, emotion="happy", event=fridays_minute, created_at=NOW)
    friday_start = datetime(2026, 12, 3, 23, 0, tzinfo=UTC)
    found = selectors.self_reports(user_id=user.pk, start=friday_start, end=friday_start + timedelta(days=1))
    assert [report.emotion for report in found] == ["happy"]
    assert selectors.agreement(user_id=user.pk, start=friday_start, end=friday_start + timedelta(days=1)).agreed == 1
