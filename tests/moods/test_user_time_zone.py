"""Every page, form, export and API answer shows a moment in the signed-in user's time zone, not the server's.

Each case is a user whose zone is not the server's (UTC), with one minute that falls on another day
there than in UTC: Berlin's 00:44 on Saturday is Friday 23:44 in UTC; Los Angeles' 17:44 on Friday
is Saturday 01:44 in UTC. A page that shows the server's time shows the wrong hour and the wrong day.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import Device, User
from moods.models import Encouragement, MoodEvent, PersonalBaseline, SelfReport
from tests.factories import make_user, pair_device
from tests.moods.history.test_history import event

pytestmark = pytest.mark.django_db

# The server's clock for every case: Saturday 5 December 2026, 12:00 UTC.
NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
DASH = "\N{EN DASH}"


@dataclass(frozen=True)
class Case:
    zone: str
    window: datetime  # the minute's start, in UTC
    local_day: date  # its day in the user's zone
    # How the pages must write the window's start and the moments around it, in the user's zone.
    weekday: str  # "Sat 5 Dec"
    long_day: str  # "Saturday 5 December 2026"
    short_date: str  # "5 Dec 2026"
    hm: str  # "00:44"
    hm_end: str  # "00:45"
    hm_nudge: str  # two minutes after the start
    hm_said: str  # six minutes after the start
    iso: str  # the start as the export writes it
    # The same moments as UTC would write them: no page may show these.
    utc_weekday: str
    utc_hm: str


CASES = [
    Case(
        zone="Europe/Berlin",
        window=datetime(2026, 12, 4, 23, 44, tzinfo=UTC),
        local_day=date(2026, 12, 5),
        weekday="Sat 5 Dec",
        long_day="Saturday 5 December 2026",
        short_date="5 Dec 2026",
        hm="00:44",
        hm_end="00:45",
        hm_nudge="00:46",
        hm_said="00:50",
        iso="2026-12-05T00:44:00+01:00",
        utc_weekday="Fri 4 Dec",
        utc_hm="23:44",
    ),
    Case(
        zone="America/Los_Angeles",
        window=datetime(2026, 12, 5, 1, 44, tzinfo=UTC),
        local_day=date(2026, 12, 4),
        weekday="Fri 4 Dec",
        long_day="Friday 4 December 2026",
        short_date="4 Dec 2026",
        hm="17:44",
        hm_end="17:45",
        hm_nudge="17:46",
        hm_said="17:50",
        iso="2026-12-04T17:44:00-08:00",
        utc_weekday="Sat 5 Dec",
        utc_hm="01:44",
    ),
]


@dataclass(frozen=True)
class Story:
    user: User
    device: Device
    window: MoodEvent


@pytest.fixture(params=CASES, ids=[case.zone for case in CASES])
def case(request: pytest.FixtureRequest) -> Case:
    return request.param


@pytest.fixture
def story(case: Case, monkeypatch: pytest.MonkeyPatch) -> Story:
    """The user's one minute, an encouragement two minutes in, a self-report six minutes in, a device
    paired and a baseline calibrated four minutes before; the server's clock at ``NOW``."""
    monkeypatch.setattr(timezone, "now", lambda: NOW)
    user = make_user(time_zone=case.zone)
    device, _ = pair_device(user=user)
    Device.objects.filter(pk=device.pk).update(created_at=case.window - timedelta(minutes=4))
    window = event(user.pk, case.window, sad=0.6)
    MoodEvent.objects.filter(pk=window.pk).update(device=device)
    Encouragement.objects.create(
        user=user,
        sent_at=case.window + timedelta(minutes=2),
        message="A kind word.",
        trigger={"mean_sadness": 0.6, "threshold": 0.5, "minutes": 1, "windows": 1, "coverage": 1.0},
    )
    SelfReport.objects.create(user=user, emotion="happy", created_at=case.window + timedelta(minutes=6))
    PersonalBaseline.objects.create(
        user=user, log_scores=[-2.0] * 7, faces=40, created_at=case.window - timedelta(minutes=4)
    )
    return Story(user=user, device=Device.objects.get(pk=device.pk), window=MoodEvent.objects.get(pk=window.pk))


@pytest.fixture
def browser(client: Client, story: Story) -> Client:
    client.force_login(story.user)
    return client


def page(browser: Client, url: str) -> str:
    response = browser.get(url)
    assert response.status_code == 200, url
    return response.content.decode()


def day_url(case: Case) -> str:
    return f"{reverse('history')}?range=day&end={case.local_day.isoformat()}"


def test_the_dashboard_shows_the_latest_mood_and_encouragement_in_the_users_time(browser: Client, case: Case) -> None:
    html = page(browser, reverse("dashboard"))
    assert f"{case.weekday}, {case.hm}{DASH}{case.hm_end}" in html
    assert f"{case.weekday}, {case.hm_nudge}" in html
    assert case.utc_hm not in html


def test_the_days_history_shows_its_minutes_nudges_and_words_in_the_users_time(browser: Client, case: Case) -> None:
    html = page(browser, day_url(case))
    assert f"{case.hm}{DASH}{case.hm_end}</th>" in html, "the minute's row"
    assert f"{case.hm_nudge}, encouragement:" in html, "the session's encouragement"
    assert f"{case.weekday}, {case.hm_said}: you felt happy" in html, "What you said"
    assert case.utc_hm not in html


def test_the_weeks_sessions_open_to_minutes_in_the_users_time(browser: Client, case: Case) -> None:
    html = page(browser, f"{reverse('history')}?range=week&end={case.local_day.isoformat()}")
    assert f"{case.weekday}, {case.hm}{DASH}{case.hm_end}" in html, "the session's title"
    assert f"{case.hm}{DASH}{case.hm_end}</th>" in html, "its minute's row"
    assert case.utc_hm not in html


def test_the_days_history_holds_the_minute_on_the_users_day_not_the_servers(browser: Client, case: Case) -> None:
    utc_day = case.window.date()
    assert utc_day != case.local_day
    html = page(browser, f"{reverse('history')}?range=day&end={utc_day.isoformat()}")
    assert f"{case.hm}{DASH}{case.hm_end}" not in html
    assert "No mood records or encouragements in this range." in html


def test_the_encouragement_log_dates_each_nudge_in_the_users_time(browser: Client, case: Case) -> None:
    html = page(browser, reverse("encouragements"))
    assert f"{case.long_day}, {case.hm_nudge}" in html
    assert case.utc_hm not in html


def test_the_devices_page_shows_when_a_device_was_paired_in_the_users_time(browser: Client, case: Case) -> None:
    html = page(browser, reverse("devices"))
    paired = (case.window - timedelta(minutes=4)).astimezone(ZoneInfo(case.zone))
    assert f"{case.short_date}, {paired:%H:%M}" in html


def test_the_live_page_and_settings_date_the_baseline_in_the_users_time(browser: Client, case: Case) -> None:
    calibrated = (case.window - timedelta(minutes=4)).astimezone(ZoneInfo(case.zone))
    expected = f"A baseline from {calibrated.day} {calibrated:%b %Y, %H:%M} is in use."
    assert expected in page(browser, reverse("live"))
    assert f"A personal baseline from {calibrated.day} {calibrated:%b %Y, %H:%M}" in page(browser, reverse("settings"))


def test_a_refused_correction_names_the_minute_in_the_users_time(browser: Client, story: Story, case: Case) -> None:
    response = browser.post(reverse("correct_window", args=[story.window.pk]), {"emotion": "nope"})
    assert response.status_code == 400
    assert f"from {case.hm} to {case.hm_end}" in response.content.decode()


def test_the_export_writes_every_moment_in_the_users_time(browser: Client, story: Story, case: Case) -> None:
    response = browser.post(
        reverse("export"),
        {"format": "csv", "start": case.local_day.isoformat(), "end": case.local_day.isoformat()},
    )
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))  # type: ignore[attr-defined]
    by_kind = {row["kind"]: row for row in rows}
    assert by_kind["mood"]["started_at"] == case.iso
    assert by_kind["encouragement"]["started_at"].startswith(f"{case.local_day.isoformat()}T{case.hm_nudge}")
    assert by_kind["self_report"]["started_at"].startswith(f"{case.local_day.isoformat()}T{case.hm_said}")


def test_the_json_export_and_its_file_name_use_the_users_day(browser: Client, case: Case) -> None:
    response = browser.post(reverse("export"), {"format": "json"})
    data = json.loads(b"".join(response.streaming_content))  # type: ignore[attr-defined]
    assert data["time_zone"] == case.zone
    assert data["mood_events"][0]["started_at"] == case.iso
    today = NOW.astimezone(ZoneInfo(case.zone)).date()
    assert f"smile-export-{today.isoformat()}.json" in response["Content-Disposition"]


def test_the_self_report_api_answers_in_the_users_time(
    client: Client, case: Case, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(timezone, "now", lambda: NOW)
    user = make_user(email="api@example.com", time_zone=case.zone)
    _, token = pair_device(user=user)
    response = client.post(
        reverse("api:self_report"),
        data=json.dumps({"emotion": "sad"}),
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 201
    said = SelfReport.objects.get(user=user).created_at
    assert response.json()["created_at"] == said.astimezone(ZoneInfo(case.zone)).isoformat()
    assert response.json()["created_at"].endswith(case.iso[-6:])


def test_forms_and_today_follow_the_users_day(browser: Client, case: Case, monkeypatch: pytest.MonkeyPatch) -> None:
    """A day after the minute, the user's date differs from UTC's (Berlin is already on Sunday, Los Angeles
    still on Friday): "today" on the history page is the user's day, and a day past tomorrow is refused."""
    now = case.window + timedelta(days=1)
    monkeypatch.setattr(timezone, "now", lambda: now)
    today = now.astimezone(ZoneInfo(case.zone)).date()
    assert today != now.date()
    html = page(browser, f"{reverse('history')}?range=day")
    assert f"{today:%a} {today.day} {today:%b %Y}, in your time zone" in html
    response = browser.get(f"{reverse('history')}?range=day&end={(today + timedelta(days=2)).isoformat()}")
    assert response.status_code == 400


def test_a_request_leaves_the_server_zone_active_after_it(browser: Client) -> None:
    page(browser, reverse("dashboard"))
    assert timezone.get_current_timezone_name() == "UTC"
