"""The signed-in moods pages over HTTP: dashboard, history and its JSON, live check-in, settings, log, your data."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from common import ratelimit
from moods.history import views as history_views
from moods.models import CaptureSettings, Encouragement, EncouragementSettings, MoodEvent
from tests.clock import pin_local_midday
from tests.conftest import PROJECT_ROOT
from tests.factories import make_user, pair_device
from tests.moods.history.test_history import event

pytestmark = pytest.mark.django_db

PAGES = ("dashboard", "history", "history_data", "live", "settings", "encouragements", "your_data")


@pytest.fixture
def user() -> User:
    return make_user(time_zone="Europe/Berlin")


@pytest.fixture
def browser(client: Client, user: User) -> Client:
    client.force_login(user)
    return client


def recent(user: User, *, minutes: int = 90, sad: float = 0.4) -> None:
    start = timezone.now().replace(second=0, microsecond=0) - timedelta(minutes=minutes + 1)
    for minute in range(minutes):
        event(user.pk, start + timedelta(minutes=minute), sad=sad, happy=0.2)


@pytest.mark.parametrize("name", PAGES)
def test_every_page_needs_a_login(client: Client, name: str) -> None:
    response = client.get(reverse(name))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


@pytest.mark.parametrize("name", PAGES)
def test_no_page_has_inline_script_or_style(browser: Client, user: User, name: str) -> None:
    recent(user)
    page = browser.get(reverse(name)).content.decode()
    assert "<script>" not in page
    assert '<script type="text/javascript">' not in page
    assert 'style="' not in page
    assert " onclick=" not in page
    assert " onload=" not in page


def test_the_dashboard_shows_today_the_latest_mood_and_a_streaming_device(
    browser: Client, user: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    pin_local_midday(monkeypatch, user.zone)
    device, _ = pair_device(user=user, name="Chrome at work")
    recent(user, minutes=30)
    MoodEvent.objects.filter(user=user).update(device=device)
    Encouragement.objects.create(user=user, message="You are doing fine.", trigger={})

    page = browser.get(reverse("dashboard")).content.decode()

    assert "No mood data yet" not in page
    assert "30 min</span> <small>observed</small>" in page
    assert "Latest mood" in page
    assert "from Chrome at work" in page
    assert "You are doing fine." in page
    assert "Chrome at work" in page
    assert "streaming now" in page


def test_the_dashboard_says_idle_for_a_device_without_recent_windows(browser: Client, user: User) -> None:
    device, _ = pair_device(user=user, name="Old laptop")
    event(user.pk, timezone.now() - timedelta(days=2), sad=0.2)
    MoodEvent.objects.filter(user=user).update(device=device)

    page = browser.get(reverse("dashboard")).content.decode()

    assert "Old laptop" in page
    assert "idle" in page
    assert "streaming now" not in page


def test_a_days_history_tells_its_story_then_draws_the_day_then_its_sessions(browser: Client, user: User) -> None:
    recent(user)

    response = browser.get(reverse("history"), {"range": "day"})
    page = response.content.decode()

    assert response.status_code == 200
    story, picture, sessions = (
        page.index(text) for text in ('id="summary-title"', 'class="day-strip"', "Sessions</h2>")
    )
    assert story < picture < sessions, "the story first, then the day's picture, then the detail"
    assert "observed, mostly <strong>" in page
    assert 'class="px-sad"' in page, "the day's strip colours the sad minutes"
    assert "Show the day hour by hour as a table" in page
    assert 'id="mood-chart"' not in page, "a single day has no stacked chart"
    assert "Sadness by weekday and hour" not in page, "nor a weekday x hour grid"
    assert "expressions</em> read by a computer model, not your feelings" in page
    # Figures from the shipped model card, not from code: its accuracy, fear the weakest class.
    validation = json.loads((settings.BASE_DIR / "inference/weights/model_card.json").read_text())["validation"]
    assert f"recognises {round(validation['accuracy'] * 100)}% of expressions" in page
    assert f"fear ({round(validation['per_class']['fear']['recall'] * 100)}% recognised)" in page


def test_a_months_history_draws_the_stacked_chart_calendar_and_weekday_hours(browser: Client, user: User) -> None:
    recent(user)

    page = browser.get(reverse("history"), {"range": "month"}).content.decode()

    assert 'id="mood-chart"' in page
    assert "/static/vendor/chartjs/chart.umd.min.js" in page
    assert 'id="history-data" type="application/json"' in page
    assert "Show the chart as a table" in page
    assert "Day by day" in page
    assert "Sadness by weekday and hour" in page
    assert 'class="day-strip"' not in page


def test_a_week_without_observations_says_so_instead_of_drawing_empty_charts(browser: Client) -> None:
    page = browser.get(reverse("history"), {"range": "week"}).content.decode()

    assert "Nothing was observed in this range." in page
    assert 'id="mood-chart"' not in page
    assert "Day by day" not in page


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"range": "forever"}, "Choose day, week, month, year or custom."),
        ({"range": "custom", "end": "2026-05-01"}, "A custom range needs a start date."),
        (
            {"range": "custom", "start": "2026-05-02", "end": "2026-05-01"},
            "The start date must not be after the end date.",
        ),
        ({"range": "custom", "start": "2024-01-01", "end": "2026-01-01"}, "A custom range covers at most 366 days."),
        ({"range": "week", "end": "not-a-date"}, "Enter a whole date: day, month and year."),
        ({"range": "week", "end": "1999-12-31"}, "The range must end between 1 January 2000 and today."),
    ],
)
def test_history_refuses_a_bad_range_with_a_clear_message(browser: Client, query: dict[str, str], message: str) -> None:
    page = browser.get(reverse("history"), query)
    data = browser.get(reverse("history_data"), query)

    assert page.status_code == 400
    assert message in page.content.decode()
    assert data.status_code == 400
    assert data.json()["error"] == "invalid_range"
    assert message in json.dumps(data.json()["errors"])


def test_the_json_endpoint_has_every_part_of_the_report(browser: Client, user: User) -> None:
    recent(user)

    data = browser.get(reverse("history_data"), {"range": "week"}).json()

    assert data["range"]["kind"] == "week"
    assert data["range"]["time_zone"] == "Europe/Berlin"
    assert data["range"]["bucket"] == "day"
    assert len(data["series"]["labels"]) == 7
    assert data["summary"]["minutes"] == 90
    assert {insight["key"] for insight in data["insights"]} >= {"most_frequent"}
    assert data["calendar"]
    assert data["weekday_hour"]


def test_sessions_page_through_a_range_whole(browser: Client, user: User, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(history_views, "TIMELINE_PER_PAGE", 30)
    for hour in (9, 11, 14):  # three sessions of 20 minutes: 60 windows, 30 a page
        start = datetime(2026, 2, 2, hour, tzinfo=UTC)
        for minute in range(20):
            event(user.pk, start + timedelta(minutes=minute), sad=0.2)
    query = {"range": "custom", "start": "2026-02-01", "end": "2026-02-03"}

    stories: list[str] = []
    page = browser.get(reverse("history"), query).content.decode()
    for _ in range(5):
        stories += re.findall(r'<span class="session-story">([^<]+)</span>', page)
        cursor = re.search(r'href="\?([^"#]*until=[^"#]*)#timeline-title">Older', page)
        if cursor is None:
            break
        page = browser.get(reverse("history") + "?" + cursor.group(1).replace("&amp;", "&")).content.decode()
        assert "↑ Newest" in page

    # Berlin is UTC+1 in February; every session shows once, whole, newest first.
    assert stories == [
        "Mon 2 Feb, 15:00\N{EN DASH}15:20, Live check-in, mostly neutral, 20% sad",
        "Mon 2 Feb, 12:00\N{EN DASH}12:20, Live check-in, mostly neutral, 20% sad",
        "Mon 2 Feb, 10:00\N{EN DASH}10:20, Live check-in, mostly neutral, 20% sad",
    ]


def test_a_malformed_timeline_cursor_shows_the_first_page(browser: Client, user: User) -> None:
    recent(user)
    response = browser.get(reverse("history"), {"range": "day", "until": "yesterday-ish"})
    assert response.status_code == 200
    assert "↑ Newest" not in response.content.decode()


def test_the_live_page_hands_the_capture_defaults_to_its_script(browser: Client, user: User) -> None:
    CaptureSettings.objects.create(user=user, fps=0.5, resolution="640x480")

    page = browser.get(reverse("live")).content.decode()

    config = json.loads(page.split('id="live-config" type="application/json">')[1].split("</script>")[0])
    assert config["capture"] == {"fps": 0.5, "width": 640, "height": 480}
    assert "/static/js/live.js" in page
    assert 'id="live-stop"' in page
    assert "Camera off" in page


def test_the_live_page_speaks_the_protocol_through_the_extensions_own_client(browser: Client, user: User) -> None:
    # One tested client of the stream protocol (node --test extension/tests/), not a second one.
    page = browser.get(reverse("live")).content.decode()
    config = json.loads(page.split('id="live-config" type="application/json">')[1].split("</script>")[0])

    served = finders.find(config["protocol_url"].removeprefix(settings.STATIC_URL))

    assert served is not None
    assert Path(served).read_bytes() == (PROJECT_ROOT / "extension" / "lib" / "protocol.js").read_bytes()
    live_js = (PROJECT_ROOT / "static" / "js" / "live.js").read_text()
    assert "import(config.protocol_url)" in live_js
    assert "JSON.parse(event.data)" not in live_js, "every server message goes through parseServerMessage"


def settings_form(**overrides: str) -> dict[str, str]:
    form = {
        "enc-enabled": "on",
        "enc-sadness_threshold": "0.4",
        "enc-sustain_minutes": "15",
        "enc-cooldown_minutes": "90",
        "enc-quiet_hours_start": "22:00",
        "enc-quiet_hours_end": "07:00",
        "enc-daily_cap": "4",
        "enc-messages": "Stretch a little.\nDrink some water.",
        "enc-low_mood_days": "3",
        "enc-resources_region": "GB",
        "tz-time_zone": "America/New_York",
        "cap-fps": "0.5",
        "cap-resolution": "640x480",
    }
    form.update(overrides)
    return form


def test_the_settings_page_saves_every_field(browser: Client, user: User) -> None:
    response = browser.post(reverse("settings"), settings_form())

    assert response.status_code == 302
    saved = EncouragementSettings.objects.get(user=user)
    assert saved.enabled
    assert saved.sadness_threshold == 0.4
    assert saved.sustain_minutes == 15
    assert (saved.quiet_hours_start, saved.quiet_hours_end) == (time(22), time(7))
    assert saved.own_messages == ["Stretch a little.", "Drink some water."]
    assert saved.resources_region == "GB"
    assert not saved.support_resources_enabled
    capture = CaptureSettings.objects.get(user=user)
    assert (capture.fps, capture.resolution) == (0.5, "640x480")
    user.refresh_from_db()
    assert user.time_zone == "America/New_York"
    assert "Your settings are saved." in browser.get(reverse("settings")).content.decode()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("enc-sadness_threshold", "0.99", "The threshold must be at most 0.95 (95%)."),
        ("enc-sadness_threshold", "nope", "Enter a number."),
        ("enc-sustain_minutes", "0", "Enter a whole number of minutes from 1 to 240."),
        ("enc-sustain_minutes", "-5", "Enter a whole number of minutes from 1 to 240."),
        ("enc-sustain_minutes", "241", "Enter a whole number of minutes from 1 to 240."),
        ("enc-cooldown_minutes", "2000", "Enter a whole number of minutes from 5 to 1440."),
        ("enc-daily_cap", "21", "Enter a whole number of nudges from 1 to 20."),
        ("enc-low_mood_days", "1", "Enter a whole number of days from 2 to 14."),
        ("enc-quiet_hours_end", "", "Give both ends of the quiet hours, or neither."),
        ("enc-quiet_hours_end", "22:00", "Quiet hours must end at a different time than they start."),
        ("enc-quiet_hours_start", "25:00", "Enter a valid time."),
        ("enc-messages", "x" * 281, "Line 1 is longer than 280 characters."),
        ("enc-resources_region", "XX", "Select a valid choice."),
        ("tz-time_zone", "Mars/Olympus", "Choose a time zone from the list."),
        ("cap-fps", "3", "Frames per second must be at most 2."),
        ("cap-fps", "0.1", "Frames per second must be at least 0.2."),
        ("cap-resolution", "1920x1080", "Select a valid choice."),
    ],
)
def test_the_settings_page_rejects_bad_values_and_saves_nothing(
    browser: Client, user: User, field: str, value: str, message: str
) -> None:
    response = browser.post(reverse("settings"), settings_form(**{field: value}))

    assert response.status_code == 400
    assert message in response.content.decode()
    assert not EncouragementSettings.objects.filter(user=user).exists()
    assert not CaptureSettings.objects.filter(user=user).exists()
    user.refresh_from_db()
    assert user.time_zone == "Europe/Berlin"


def test_feedback_from_the_log_is_saved_and_only_on_ones_own_encouragements(browser: Client, user: User) -> None:
    mine = Encouragement.objects.create(user=user, message="Breathe.", trigger={"mean_sadness": 0.6, "threshold": 0.5})
    theirs = Encouragement.objects.create(user=make_user(email="other@example.com"), message="x", trigger={})

    log = browser.get(reverse("encouragements")).content.decode()
    assert "Breathe." in log
    assert "mean sadness 60%" in log
    assert "your threshold 50%" in log

    assert browser.post(reverse("encouragement_feedback", args=[mine.pk]), {"helpful": "no"}).status_code == 302
    mine.refresh_from_db()
    assert mine.feedback == "not_helpful"
    assert mine.feedback_at is not None
    assert browser.post(reverse("encouragement_feedback", args=[theirs.pk]), {"helpful": "yes"}).status_code == 404
    assert browser.get(reverse("encouragement_feedback", args=[mine.pk])).status_code == 405
    browser.post(reverse("encouragement_feedback", args=[mine.pk]), {"helpful": "maybe"})
    mine.refresh_from_db()
    assert mine.feedback == "not_helpful"


def test_export_is_post_only_streams_a_download_and_is_rate_limited(browser: Client, user: User) -> None:
    recent(user, minutes=3)
    assert browser.get(reverse("export")).status_code == 405

    response = browser.post(reverse("export"), {"format": "csv"})
    assert response.streaming
    assert response["Content-Disposition"].startswith('attachment; filename="smile-export-')
    body = b"".join(response.streaming_content).decode()  # type: ignore[attr-defined]
    assert len(body.splitlines()) == 4

    json_response = browser.post(reverse("export"), {"format": "json"})
    assert len(json.loads(b"".join(json_response.streaming_content))["mood_events"]) == 3  # type: ignore[attr-defined]

    assert browser.post(reverse("export"), {"format": "xml"}).status_code == 400
    for _ in range(8):
        browser.post(reverse("export"), {"format": "csv"})
    refused = browser.post(reverse("export"), {"format": "csv"})
    assert refused.status_code == 429
    assert "Too many exports." in refused.content.decode()
    assert int(refused["Retry-After"]) > 0


def test_an_export_of_some_days_is_named_for_them(browser: Client, user: User) -> None:
    event(user.pk, datetime(2026, 3, 10, 12, tzinfo=UTC), sad=0.5)
    event(user.pk, datetime(2026, 3, 12, 12, tzinfo=UTC), sad=0.5)

    response = browser.post(reverse("export"), {"format": "csv", "start": "2026-03-10", "end": "2026-03-11"})

    assert response["Content-Disposition"] == 'attachment; filename="smile-export-2026-03-10-to-2026-03-11.csv"'
    body = b"".join(response.streaming_content).decode()  # type: ignore[attr-defined]
    assert len(body.splitlines()) == 2  # the header and the 10 March window


@pytest.mark.parametrize(
    ("days", "message"),
    [
        ({"start": "2026-03-10"}, "Give both the first and the last day, or neither to export everything."),
        ({"end": "2026-03-10"}, "Give both the first and the last day, or neither to export everything."),
        ({"start": "2026-03-11", "end": "2026-03-10"}, "The first day must not be after the last day."),
        ({"start": "2026-13-01", "end": "2026-03-10"}, "Enter a whole date: day, month and year."),
        ({"start": "1999-01-01", "end": "1999-01-02"}, "Choose days between 2000 and 2100."),
    ],
)
def test_an_export_with_bad_days_is_refused_on_the_page_with_the_reason(
    browser: Client, days: dict[str, str], message: str
) -> None:
    response = browser.post(reverse("export"), {"format": "csv", **days})

    assert response.status_code == 400
    assert not response.streaming
    page = response.content.decode()
    assert "Please check the form" in page
    assert message in page
    assert page.count('id="id_export_start"') == 1, "the export's fields have their own ids"
    assert 'id="id_start"' in page, "beside the delete form's"


def test_export_needs_the_csrf_token(user: User) -> None:
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(user)
    assert strict.post(reverse("export"), {"format": "csv"}).status_code == 403
    assert strict.post(reverse("delete_data"), {"scope": "all", "confirm": "true"}).status_code == 403


def test_deleting_a_range_asks_first_then_deletes_exactly_those_days(browser: Client, user: User) -> None:
    inside = event(user.pk, datetime(2026, 3, 10, 12, tzinfo=UTC), sad=0.5)
    outside = event(user.pk, datetime(2026, 3, 12, 12, tzinfo=UTC), sad=0.5)
    form = {"scope": "range", "start": "2026-03-09", "end": "2026-03-11"}

    confirm = browser.post(reverse("delete_data"), form)
    assert confirm.status_code == 200
    assert "1 mood record</strong>" in confirm.content.decode()
    assert MoodEvent.objects.count() == 2

    done = browser.post(reverse("delete_data"), {**form, "confirm": "true"}, follow=True)
    assert "Deleted 1 mood record and 0 encouragements." in done.content.decode()
    assert list(MoodEvent.objects.values_list("pk", flat=True)) == [outside.pk]
    assert not MoodEvent.objects.filter(pk=inside.pk).exists()


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({}, "Choose a date range or everything."),
        ({"scope": "range", "start": "2026-03-09"}, "Give both the first and the last day to delete."),
        (
            {"scope": "range", "start": "2026-03-10", "end": "2026-03-09"},
            "The first day must not be after the last day.",
        ),
        ({"scope": "range", "start": "2026-13-45", "end": "2026-03-10"}, "Enter a whole date: day, month and year."),
    ],
)
def test_deleting_refuses_an_unclear_request_and_deletes_nothing(
    browser: Client, user: User, form: dict[str, str], message: str
) -> None:
    event(user.pk, datetime(2026, 3, 10, 12, tzinfo=UTC), sad=0.5)
    response = browser.post(reverse("delete_data"), {**form, "confirm": "true"})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert MoodEvent.objects.count() == 1


def test_deleting_everything_keeps_the_account_and_other_users_data(browser: Client, user: User) -> None:
    recent(user, minutes=5)
    other = make_user(email="other@example.com")
    recent(other, minutes=2)

    browser.post(reverse("delete_data"), {"scope": "all", "confirm": "true"})

    assert not MoodEvent.objects.filter(user=user).exists()
    assert MoodEvent.objects.filter(user=other).count() == 2
    assert User.objects.filter(pk=user.pk).exists()


@pytest.fixture(autouse=True)
def _pinned_rate_limit_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    # tests/conftest.py pins the clock; this keeps the export limit's window explicit here too.
    monkeypatch.setattr(ratelimit, "clock", lambda: 1_800_000_000.0)


def test_earlier_and_later_links_step_by_the_range_and_stop_at_today(browser: Client, user: User) -> None:
    today = timezone.now().astimezone(user.zone).date()
    page = browser.get(reverse("history"), {"range": "week"}).content.decode()
    earlier_end = today - timedelta(days=7)
    assert f"?range=week&amp;end={earlier_end:%Y-%m-%d}" in page
    assert "Later →" not in page

    custom = browser.get(
        reverse("history"), {"range": "custom", "start": "2026-01-01", "end": "2026-01-10"}
    ).content.decode()
    assert "?range=custom&amp;start=2025-12-22&amp;end=2025-12-31" in custom
    assert "?range=custom&amp;start=2026-01-11&amp;end=2026-01-20" in custom


def test_a_minute_read_against_the_baseline_says_so_without_calling_the_baseline_happy(
    browser: Client, user: User
) -> None:
    window = event(user.pk, timezone.now() - timedelta(minutes=30), happy=0.7)
    MoodEvent.objects.filter(pk=window.pk).update(baseline_applied=True)
    page = browser.get(reverse("history"), {"range": "day"}).content.decode()
    assert 'Happy <span class="muted">(compared with your resting face)</span>' in page
    assert "(your baseline)" not in page


def two_hours(user: User) -> str:
    """A two-hour session on 2 Feb 2026 (09:00-11:00 in Berlin); the day's range as a query string."""
    start = datetime(2026, 2, 2, 8, tzinfo=UTC)
    for minute in range(120):
        event(user.pk, start + timedelta(minutes=minute), sad=0.3 if minute < 15 else 0.1)
    return "range=day&end=2026-02-02"


def test_a_long_session_opens_to_its_quarter_hours_not_to_every_minute(browser: Client, user: User) -> None:
    page = browser.get(reverse("history") + "?" + two_hours(user)).content.decode()

    links = re.findall(r'<a class="group-toggle" href="\?([^"#]*)#m-[0-9-]+"[^>]*>.*?</a>', page, re.DOTALL)
    assert len(links) == 8, "eight quarter hours, each a line"
    assert "session-minutes" not in page, "no minute is listed until its quarter hour is opened"
    assert "09:00\N{EN DASH}09:15, 15 minutes, mostly neutral, 30% sad" in page


def test_a_quarter_hour_opens_alone_with_its_minutes_and_a_way_back(browser: Client, user: User) -> None:
    query = two_hours(user)
    page = browser.get(reverse("history") + "?" + query).content.decode()
    second = re.findall(r'href="\?([^"#]*minutes=([0-9-]+))#m-', page)[1]

    opened = browser.get(reverse("history") + "?" + second[0].replace("&amp;", "&")).content.decode()

    minutes = re.search(r'<table class="data-table table-stack session-minutes">.*?</table>', opened, re.DOTALL)
    assert minutes is not None
    assert minutes.group(0).count('<tr><th scope="row">') == 15
    assert opened.count("session-minutes") == 1, "one quarter hour at a time"
    assert '<li class="session">\n        <details open>' in opened
    assert (
        f'href="?{query.replace("&", "&amp;")}#m-{second[1]}" data-group="{second[1]}">Hide these minutes</a>' in opened
    )
    # A correction comes back to the same quarter hour.
    back = f"/history/?{query}&minutes={second[1]}#m-{second[1]}".replace("&", "&amp;")
    assert f'name="next" value="{back}"' in opened


@pytest.mark.parametrize("value", ["1-2-3", "abc", "9" * 30, ""])
def test_a_malformed_open_quarter_hour_is_ignored(browser: Client, user: User, value: str) -> None:
    response = browser.get(reverse("history") + "?" + two_hours(user) + "&minutes=" + value)
    assert response.status_code == 200
    assert "session-minutes" not in response.content.decode()


def test_a_full_day_of_minutes_is_a_light_page(browser: Client, user: User) -> None:
    start = datetime(2026, 2, 2, 7, tzinfo=UTC)
    for minute in range(8 * 60):  # eight hours at the camera
        event(user.pk, start + timedelta(minutes=minute), sad=0.2)

    page = browser.get(reverse("history"), {"range": "day", "end": "2026-02-02"}).content

    # Every minute listed made it about 640 KB; its quarter hours make it a tenth of that.
    assert len(page) < 100_000


def test_the_chart_reads_only_its_series_from_the_page(browser: Client, user: User) -> None:
    recent(user)
    page = browser.get(reverse("history"), {"range": "month"}).content.decode()

    found = re.search(r'<script id="history-data" type="application/json">(.*?)</script>', page)
    assert found is not None
    embedded = json.loads(found.group(1))

    assert set(embedded) == {"emotions", "series"}
    assert len(embedded["series"]["labels"]) == 30


def test_a_month_is_a_calendar_with_dates_and_a_year_names_its_months(browser: Client, user: User) -> None:
    event(user.pk, datetime(2026, 3, 2, 9, tzinfo=UTC), sad=0.3)
    month = browser.get(reverse("history"), {"range": "month", "end": "2026-03-15"}).content.decode()
    year = browser.get(reverse("history"), {"range": "year", "end": "2026-03-15"}).content.decode()

    assert '<table class="pixels calendar">' in month
    assert '<span aria-hidden="true">1 Mar</span>' in month
    assert '<span aria-hidden="true">15</span>' in month
    assert re.findall(r"<caption>([^<]+)</caption>", year) == [
        "March 2025",
        *(f"{name} 2025" for name in ("April", "May", "June", "July", "August", "September", "October")),
        *(f"{name} 2025" for name in ("November", "December")),
        "January 2026",
        "February 2026",
        "March 2026",
    ]


def test_the_days_strip_draws_every_window_when_the_sessions_take_pages(
    browser: Client, user: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(history_views, "TIMELINE_PER_PAGE", 30)
    for hour in (8, 12):  # 09:00-09:40 and 13:00-13:40 in Berlin: 80 windows, 30 a page
        for minute in range(40):
            event(user.pk, datetime(2026, 2, 2, hour, minute, tzinfo=UTC), sad=0.2)

    page = browser.get(reverse("history"), {"range": "day", "end": "2026-02-02"}).content.decode()

    assert "Older →" in page
    described = re.search(r'<desc id="day-strip-desc">([^<]*)</desc>', page)
    assert described is not None
    assert described.group(1).startswith("09:00\N{EN DASH}09:10: ")
    assert described.group(1).count(";") == 7, "eight ten-minute slices: the morning's too, beyond the first page"
