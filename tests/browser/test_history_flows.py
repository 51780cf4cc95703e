"""The moods pages in a real Chromium against a live daphne on Postgres: one site start for the whole module.

First-run guide; the demo user's history (charts drawn, table alternative, range switching);
settings saved and refused; export downloaded; a date range deleted; and the live check-in page
streaming Chromium's fake camera (scikit-image's astronaut, made in a temporary folder) over the
stream protocol with the session cookie.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import fake_camera_args, last_weekday, launched_chromium, sign_up_new_person
from tests.inference.conftest import encode, webcam_frame_with_face
from tests.integration.conftest import live_database, postgres_server
from tests.integration.live import LiveDatabase, LiveSite, running_site

pytestmark = [pytest.mark.browser, pytest.mark.services]
__all__ = ["live_database", "postgres_server"]

DEMO_EMAIL = "demo@smile.local"
DEMO_PASSWORD = "smile-demo-garden-90"
# The first frame loads TensorFlow's model in daphne: allow for a busy machine.
MODEL_TIMEOUT_MS = 120_000


@pytest.fixture(scope="module")
def site(live_database: LiveDatabase, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveSite]:
    with running_site(
        mode="embedded", database=live_database, redis_url=None, log_dir=tmp_path_factory.mktemp("history-logs")
    ) as live:
        assert "Demo account demo@smile.local" in live.shell(
            "from django.core.management import call_command; call_command('seed_demo')", timeout=180
        )
        yield live


@pytest.fixture(scope="module")
def fake_camera(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An MJPEG file (concatenated JPEGs) of the astronaut's face, only in a temporary folder."""
    path = tmp_path_factory.mktemp("camera") / "astronaut.mjpeg"
    path.write_bytes(encode(webcam_frame_with_face()) * 10)
    return path


@pytest.fixture(scope="module")
def browser(fake_camera: Path) -> Iterator[Browser]:
    """Debian's Chromium with a fake camera that plays ``fake_camera`` and grants access without asking."""
    with launched_chromium(*fake_camera_args(fake_camera)) as launched:
        yield launched


@pytest.fixture
def page(browser: Browser, site: LiveSite) -> Iterator[Page]:
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, base_url=site.base_url, accept_downloads=True
    )
    context.grant_permissions(["camera"], origin=site.origin)
    page = context.new_page()
    page.set_default_timeout(30_000)
    expect.set_options(timeout=30_000)
    yield page
    context.close()


def log_in(page: Page, email: str, password: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/dashboard/$"))


def sign_up(page: Page) -> str:
    return sign_up_new_person(page, display_name="Noor", time_zone="Europe/Berlin")


def user_id(site: LiveSite, email: str) -> int:
    return int(site.database.rows("SELECT id FROM accounts_user WHERE email = %s", email)[0][0])


def canvas_has_ink(page: Page) -> bool:
    return bool(
        page.evaluate(
            """() => {
              const canvas = document.getElementById("mood-chart");
              const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
              for (let i = 3; i < pixels.length; i += 4) { if (pixels[i] !== 0) return true; }
              return false;
            }"""
        )
    )


def test_a_new_user_sees_the_first_run_guide(page: Page, site: LiveSite) -> None:
    sign_up(page)

    expect(page.get_by_role("heading", name="No mood data yet")).to_be_visible()
    for step in ("Install the extension", "Pair it with your account", "Start a session"):
        expect(page.get_by_role("heading", name=step)).to_be_visible()
    expect(page.get_by_role("link", name="Try a live check-in in this browser")).to_be_visible()


def test_the_demo_history_draws_its_charts_offers_tables_and_switches_ranges(page: Page, site: LiveSite) -> None:
    log_in(page, DEMO_EMAIL, DEMO_PASSWORD)
    expect(page.get_by_role("heading", name="Today")).to_be_visible()

    page.get_by_role("navigation", name="Main").get_by_role("link", name="History").click()
    ranges = page.get_by_role("navigation", name="Range")
    ranges.get_by_role("link", name="Month").click()
    expect(page).to_have_url(re.compile(r"range=month"))
    chart = page.locator("#mood-chart")
    expect(chart).to_have_attribute("data-rendered", "true")
    expect(chart).to_have_attribute("data-points", "30")
    assert canvas_has_ink(page)
    assert (
        page.locator(
            "table.pixels td.heat-1, table.pixels td.heat-2, table.pixels td.heat-3, table.pixels td.heat-4"
        ).count()
        > 10
    )
    assert page.locator("table.heat td.heat-2, table.heat td.heat-3, table.heat td.heat-4").count() > 0
    expect(page.get_by_text("not your feelings")).to_be_visible()
    expect(page.get_by_role("heading", name="What stands out")).to_be_visible()
    expect(page.locator(".story-line")).to_contain_text(re.compile(r"observed, mostly \w+"))

    table = page.locator("#mood-table")
    expect(table).to_be_hidden()
    page.get_by_text("Show the chart as a table").click()
    expect(table).to_be_visible()
    assert table.locator("tbody tr").count() > 15
    expect(table.locator("thead")).to_contain_text("Sad")

    ranges.get_by_role("link", name="Year").click()
    expect(page).to_have_url(re.compile(r"range=year"))
    expect(ranges.get_by_role("link", name="Year")).to_have_attribute("aria-current", "page")
    expect(chart).to_have_attribute("data-rendered", "true")
    assert int(chart.get_attribute("data-points") or 0) >= 52  # one bar per week
    assert canvas_has_ink(page)

    # A day is drawn as a strip of its minutes, not as a stacked chart; its sessions open to their minutes.
    ranges.get_by_role("link", name="Day").click()
    expect(page).to_have_url(re.compile(r"range=day"))
    expect(chart).to_have_count(0)
    page.goto(f"/history/?range=day&end={last_weekday()}")  # the demo sits at the camera every weekday
    assert page.locator("svg.day-strip rect.px-neutral").count() > 0
    # The session's own details open to its quarter hours; a quarter hour to its minutes (each with
    # a "That's not right" details of its own).
    session = page.locator("li.session > details").first
    session.locator("> summary").click()
    session.locator("li.minute-group a.group-toggle").nth(1).click()
    expect(session.locator("table.session-minutes tbody tr").first).to_be_visible()
    assert 10 < session.locator("table.session-minutes tbody tr").count() <= 15

    page.get_by_text("Choose dates").click()
    page.get_by_label("From").fill("2026-03-01")
    page.get_by_label("To").fill("2026-02-01")
    page.get_by_role("button", name="Show this range").click()
    expect(page.get_by_role("alert")).to_contain_text("The start date must not be after the end date.")


def test_settings_save_and_refuse_bad_values(page: Page, site: LiveSite) -> None:
    email = sign_up(page)
    page.goto("/settings/")

    page.get_by_label("Send me encouragements").check()
    page.get_by_label("Sadness threshold").fill("0.35")
    expect(page.locator("#threshold-words")).to_contain_text("Threshold 35%")
    page.get_by_label("At most one every (minutes)").fill("2")
    page.get_by_label("Frames per second").fill("0.5")
    page.get_by_label("Camera resolution").select_option("640x480")
    page.get_by_role("button", name="Save settings").click()

    expect(page.get_by_role("alert")).to_contain_text("Enter a whole number of minutes from 5 to 1440.")
    expect(page.get_by_label("At most one every (minutes)")).to_have_attribute("aria-invalid", "true")
    assert site.database.rows(
        "SELECT count(*) FROM moods_encouragementsettings WHERE user_id = %s", user_id(site, email)
    ) == [(0,)]

    page.get_by_label("At most one every (minutes)").fill("45")
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_role("status")).to_contain_text("Your settings are saved.")
    uid = user_id(site, email)
    assert site.database.rows(
        "SELECT enabled, sadness_threshold, cooldown_minutes FROM moods_encouragementsettings WHERE user_id = %s", uid
    ) == [(True, 0.35, 45)]
    assert site.database.rows("SELECT fps, resolution FROM moods_capturesettings WHERE user_id = %s", uid) == [
        (0.5, "640x480")
    ]


def test_the_export_downloads_every_row(page: Page, site: LiveSite) -> None:
    log_in(page, DEMO_EMAIL, DEMO_PASSWORD)
    uid = user_id(site, DEMO_EMAIL)
    [(events,)] = site.database.rows("SELECT count(*) FROM moods_moodevent WHERE user_id = %s", uid)
    [(nudges,)] = site.database.rows("SELECT count(*) FROM moods_encouragement WHERE user_id = %s", uid)
    page.goto("/data/")

    page.get_by_label("CSV").check()
    with page.expect_download() as download:
        page.get_by_role("button", name="Download").click()

    assert re.fullmatch(r"smile-export-\d{4}-\d{2}-\d{2}\.csv", download.value.suggested_filename)
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
    assert sum(row["kind"] == "mood" for row in rows) == events > 1000
    assert sum(row["kind"] == "encouragement" for row in rows) == nudges

    # Some days only; a half-given range is answered on the page like the other forms.
    exporting = page.get_by_role("region", name="Export your data")
    exporting.get_by_label("From").fill("2026-03-01")
    page.get_by_role("button", name="Download").click()
    expect(page.get_by_role("alert")).to_contain_text("Give both the first and the last day")
    exporting.get_by_label("To").fill("2026-03-07")
    with page.expect_download() as ranged:
        page.get_by_role("button", name="Download").click()
    assert ranged.value.suggested_filename == "smile-export-2026-03-01-to-2026-03-07.csv"


SEED_DAYS = """
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo
from accounts.models import User
from moods.history import rollup
from moods.models import MoodEvent
user = User.objects.get(email=EMAIL)
for day in (9, 10, 11, 12):
    for hour in (0, 12, 23):
        start = datetime(2026, 3, day, hour, 30, tzinfo=ZoneInfo("Europe/Berlin"))
        rollup.insert_event(MoodEvent(user=user, started_at=start, ended_at=start + timedelta(minutes=1), frames=60,
            faces=60, angry=0, disgust=0, fear=0, happy=0.5, sad=0.2, surprise=0, neutral=0.3, dominant="happy"))
print("seeded")
"""


def test_deleting_a_range_removes_exactly_those_days(page: Page, site: LiveSite) -> None:
    email = sign_up(page)
    assert site.shell(SEED_DAYS.replace("EMAIL", repr(email))).strip().endswith("seeded")
    uid = user_id(site, email)
    page.goto("/data/")

    deletion = page.get_by_role("region", name="Delete mood data")
    deletion.get_by_label("A date range").check()
    deletion.get_by_label("From").fill("2026-03-10")
    deletion.get_by_label("To").fill("2026-03-11")
    page.get_by_role("button", name="Review what will be deleted…").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Delete 10 Mar 2026 \N{EN DASH} 11 Mar 2026?")
    expect(page.get_by_text("6 mood records")).to_be_visible()
    assert site.database.rows("SELECT count(*) FROM moods_moodevent WHERE user_id = %s", uid) == [(12,)]

    page.get_by_role("button", name="Yes, delete").click()
    expect(page.get_by_role("status")).to_contain_text("Deleted 6 mood records and 0 encouragements.")
    left = site.database.rows(
        "SELECT to_char(started_at AT TIME ZONE 'Europe/Berlin', 'DD HH24') FROM moods_moodevent "
        "WHERE user_id = %s ORDER BY started_at",
        uid,
    )
    assert [day for (day,) in left] == ["09 00", "09 12", "09 23", "12 00", "12 12", "12 23"]


def test_the_live_check_in_streams_the_camera_and_shows_results(page: Page, site: LiveSite) -> None:
    email = sign_up(page)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Live check-in").click()
    expect(page.locator("#camera-state")).to_have_text("Camera off")

    page.get_by_role("button", name="Start check-in").click()

    expect(page.locator("#camera-indicator")).to_have_attribute("data-state", "on")
    expect(page.locator("#camera-state")).to_contain_text("Camera on")
    expect(page.locator("#calibration-status")).to_contain_text("The check-in is on")
    expect(page.locator("#live-faces")).not_to_have_text("0", timeout=MODEL_TIMEOUT_MS)
    expect(page.locator("#live-dominant")).not_to_have_text(re.compile("^(\N{EN DASH}|No face found)$"))
    # The window is 5 s on the live site: a stored summary appears.
    expect(page.locator("#live-moods li").first).to_contain_text("mostly", timeout=60_000)
    # One 24-hour clock, as the site's pages write it (the browser's en-US would say "09:22 AM").
    expect(page.locator("#live-moods li").first).to_have_text(re.compile(r"^\d\d:\d\d: "))

    page.get_by_role("button", name="Stop").click()
    expect(page.locator("#camera-state")).to_have_text("Camera off")
    expect(page.locator("#calibration-status")).to_have_text("Start the check-in first; then calibrate.")
    expect(page.get_by_role("button", name="Start check-in")).to_be_enabled()
    expect(page.locator("#live-video")).to_be_hidden()
    uid = user_id(site, email)
    rows = site.database.rows("SELECT device_id, faces FROM moods_moodevent WHERE user_id = %s", uid)
    assert rows
    assert all(device is None and faces >= 1 for device, faces in rows)
