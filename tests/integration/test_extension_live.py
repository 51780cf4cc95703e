"""The Chrome extension in a real Chromium against a live S.M.I.L.E (daphne, Celery worker, Postgres, Redis).

A person signs up on the site, pairs the unpacked extension through its options page and the
site's pair page, starts capture from the popup; a fake camera plays a real face (scikit-image's
astronaut, written to a temporary .y4m file); results reach the popup, mood windows reach the
database, an encouragement becomes a notification whose button's feedback is stored, the
server restarts and the extension reconnects by itself, and revoking the device on the site
stops the stream and sends the options page back to pairing. Unpairing in the extension
revokes the token on the server. Wrong addresses, a denied pairing and an expired code each
get a clear message.

Set ``SMILE_SCREENSHOT_DIR`` to keep screenshots of the options page and the popup.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from playwright.sync_api import BrowserContext, Page, Worker, expect, sync_playwright

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, fake_camera_args, sign_up_new_person
from tests.inference.conftest import webcam_frame_with_face
from tests.integration.live import (
    LiveDatabase,
    LiveSite,
    free_port,
    restart_daphne,
    running_site,
)
from tests.integration.test_live_stream import SEED_SAD_HISTORY
from tests.integration.ws_sniffer import WebSocketSniffer
from tests.services import require_service

pytestmark = [pytest.mark.browser, pytest.mark.services]

EXTENSION = Path(__file__).resolve().parents[2] / "extension"
EXTENSION_ID = "hegedbgeijbcncfgmagcecgjpokgacgi"
# Generous: the first frame waits for TensorFlow to load in the worker, on a busy machine.
FIRST_RESULT_TIMEOUT_MS = 180_000
TIMEOUT_MS = 60_000
# A few Playwright calls (closing a page, evaluating in a worker) have no timeout of their own.
# Past this, the watchdog prints where the test stands and kills Chromium: a failure, not a hang.
WATCHDOG_SECONDS = 900


def write_fake_camera(path: Path) -> Path:
    """A short Y4M video of the astronaut's smiling face, 640x480, which Chromium's fake camera loops."""
    frame = webcam_frame_with_face()  # BGR
    planes = cv2.cvtColor(frame, cv2.COLOR_BGR2YUV_I420)
    height, width = frame.shape[:2]
    with path.open("wb") as video:
        video.write(f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(10):
            video.write(b"FRAME\n")
            video.write(np.ascontiguousarray(planes).tobytes())
    return path


@dataclass
class Browser:
    context: BrowserContext
    worker: Worker
    site: LiveSite

    def url(self, page: str) -> str:
        return f"chrome-extension://{EXTENSION_ID}/{page}"

    def open(self, page: str) -> Page:
        tab = self.context.new_page()
        tab.goto(self.url(page))
        return tab

    def evaluate(self, script: str, argument: Any = None) -> Any:
        """Run ``script`` in the extension's service worker (its storage, badge and notifications)."""
        return self.worker.evaluate(script, argument)

    def wait_until(self, script: str, *, timeout_ms: int, what: str, argument: Any = None) -> Any:
        """Poll ``script`` in the service worker until it returns something truthy."""
        deadline = time.monotonic() + timeout_ms / 1000
        while True:
            value = self.evaluate(script, argument)
            if value:
                return value
            assert time.monotonic() < deadline, f"{what}: not within {timeout_ms / 1000} s (last: {value!r})"
            time.sleep(0.25)  # polling a condition, not assuming a speed


def wait_for_rows(fetch: Callable[[], list[tuple[Any, ...]]], *, timeout_s: float, what: str) -> list[tuple[Any, ...]]:
    deadline = time.monotonic() + timeout_s
    while not (rows := fetch()):
        assert time.monotonic() < deadline, f"{what}: none within {timeout_s} s"
        time.sleep(0.5)
    return rows


def screenshot(page: Page, name: str) -> None:
    if directory := os.environ.get("SMILE_SCREENSHOT_DIR"):
        Path(directory).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(directory) / f"extension-{name}.png"), full_page=True)


def chromium_pids(profile: Path) -> list[int]:
    """The browser process (not its helpers) running with this profile directory."""
    pids = []
    for entry in Path("/proc").iterdir():
        try:
            arguments = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if f"--user-data-dir={profile}".encode() in arguments and not any(a.startswith(b"--type=") for a in arguments):
            pids.append(int(entry.name))
    return pids


def watchdog(profile: Path) -> threading.Timer:
    def fire() -> None:
        # The call that hung then fails, and its traceback says where the test stood.
        print(f"\nwatchdog: the extension tests ran past {WATCHDOG_SECONDS} s; killing Chromium", file=sys.stderr)
        for pid in chromium_pids(profile):
            os.kill(pid, signal.SIGKILL)

    timer = threading.Timer(WATCHDOG_SECONDS, fire)
    timer.daemon = True
    timer.start()
    return timer


@pytest.fixture(scope="module")
def site(
    live_database: LiveDatabase, live_redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveSite]:
    with running_site(
        mode="production",
        database=live_database,
        redis_url=live_redis_url,
        log_dir=tmp_path_factory.mktemp("extension-logs"),
        SMILE_CALIBRATION_SECONDS="5",
        SMILE_CALIBRATION_MIN_FACES="3",
    ) as live:
        yield live


@pytest.fixture(scope="module")
def browser(site: LiveSite, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    if not CHROMIUM.exists():
        require_service("Chromium", f"Chromium not found at {CHROMIUM}")
    camera = write_fake_camera(tmp_path_factory.mktemp("camera") / "face.y4m")
    # Private mode runs the server's models, which the unpacked extension gets from `make extension-models`.
    from scripts.package_extension import write_models

    write_models(EXTENSION)
    profile = tmp_path_factory.mktemp("profile")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=str(CHROMIUM),
            headless=False,  # the new headless mode, below, is the one that loads extensions
            args=[
                "--headless=new",
                *CHROMIUM_ARGS,
                f"--disable-extensions-except={EXTENSION}",
                f"--load-extension={EXTENSION}",
                *fake_camera_args(camera),
            ],
            viewport={"width": 1100, "height": 900},
        )
        context.set_default_timeout(TIMEOUT_MS)
        expect.set_options(timeout=TIMEOUT_MS)
        timer = watchdog(profile)
        try:
            worker = next(iter(context.service_workers), None) or context.wait_for_event("serviceworker")
            assert worker.url == f"chrome-extension://{EXTENSION_ID}/background.js", "the manifest key fixes the id"
            browser = Browser(context=context, worker=worker, site=site)
            wait_for_first_run_options_page(browser)
            yield browser
        finally:
            timer.cancel()
            context.close()


def wait_for_first_run_options_page(browser: Browser) -> None:
    """On install the extension opens its options page; wait until it has.

    Chromium may open it by navigating the blank first tab, a moment after the service worker
    starts: a tab a test opened before then could be taken over mid-navigation.
    """
    options_url = browser.url("options.html")
    first_tab = browser.context.pages[0]
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while not any(page.url == options_url for page in browser.context.pages):
        assert time.monotonic() < deadline, f"the options page did not open on install (tabs: {browser.context.pages})"
        first_tab.wait_for_timeout(100)  # unlike time.sleep, lets Playwright take in the navigation


def sign_up(page: Page, site: LiveSite) -> str:
    return sign_up_new_person(page, base_url=site.base_url, display_name="Ada", time_zone="UTC")


def use_server(options: Page, address: str) -> None:
    options.get_by_label("Server address").fill(address)
    options.get_by_role("button", name="Save server").click()


def start_pairing(browser: Browser, options: Page) -> tuple[str, Page]:
    """Press Pair; the code shown, and the site's pair page opened from the link (code filled in)."""
    options.get_by_role("button", name="Pair with my account").click()
    code = options.get_by_label("Pairing code")
    expect(code).to_have_text(re.compile(r"^[A-Z]{4}-[A-Z]{4}$"))
    with browser.context.expect_page() as opened:
        options.get_by_role("link", name="Open the pairing page").click()
    pair_page = opened.value
    expect(pair_page.get_by_label("Pairing code")).to_have_value(code.inner_text())
    return code.inner_text(), pair_page


def decide(pair_page: Page, decision: str) -> None:
    pair_page.get_by_role("button", name="Continue").click()
    expect(pair_page.get_by_role("heading", level=1)).to_have_text("Approve this device?")
    with pair_page.expect_navigation():
        pair_page.get_by_role("button", name=decision).click()
    # The tab stays open: closing a tab opened from an extension page hung now and then in
    # headless Chromium; an open tab is harmless.


def test_wrong_addresses_a_denied_pairing_and_an_expired_code_each_say_what_happened(browser: Browser) -> None:
    site = browser.site
    site_page = browser.context.new_page()
    sign_up(site_page, site)
    options = browser.open("options.html")
    message = options.locator("#pairing-message")

    use_server(options, "smile.example.com")
    expect(options.locator("#server-message")).to_contain_text("is not a web address")
    use_server(options, "http://192.0.2.1:8000")
    expect(options.locator("#server-message")).to_contain_text("Use https://")

    # Nobody listens on this port.
    closed = f"http://127.0.0.1:{free_port()}"
    use_server(options, closed)
    expect(options.locator("#server-message")).to_have_text(f"Saved: {closed}")
    options.get_by_role("button", name="Pair with my account").click()
    expect(message).to_have_text(f"Could not reach {closed}. Check the server address and that the server is running.")

    use_server(options, site.base_url)
    expect(options.locator("#server-message")).to_have_text(f"Saved: {site.base_url}")
    _, pair_page = start_pairing(browser, options)
    decide(pair_page, "Deny")
    expect(message).to_have_text("The pairing was denied on the website. Start again if that was a mistake.")
    screenshot(options, "denied")

    code, _ = start_pairing(browser, options)
    expired = site.shell(
        "from datetime import timedelta\n"
        "from django.utils import timezone\n"
        "from accounts.models import PairingRequest\n"
        f"print(PairingRequest.objects.filter(user_code={code.replace('-', '')!r})"
        ".update(expires_at=timezone.now() - timedelta(seconds=1)))\n"
    )
    assert expired.split()[-1] == "1"
    expect(message).to_have_text("The code expired before it was approved. Start again for a new code.")
    expect(options.get_by_role("button", name="Pair with my account")).to_be_visible()
    assert browser.evaluate("chrome.storage.local.get('token').then(s => s.token ?? null)") is None


def test_unpair_revokes_the_token_on_the_server_or_says_where_to_do_it(browser: Browser) -> None:
    site = browser.site
    email = sign_up(browser.context.new_page(), site)
    options = browser.open("options.html")
    use_server(options, site.base_url)
    _, pair_page = start_pairing(browser, options)
    decide(pair_page, "Approve")
    expect(options.locator("#pairing-state")).to_contain_text("Paired as “Chrome")
    revoked_query = (
        "SELECT d.revoked_at IS NOT NULL FROM accounts_device d JOIN accounts_user u ON u.id = d.user_id "
        "WHERE u.email = %s ORDER BY d.id"
    )
    assert site.database.rows(revoked_query, email) == [(False,)]

    options.get_by_role("button", name="Unpair this browser").click()
    expect(options.locator("#pairing-state")).to_have_text("Unpaired. The server no longer accepts this browser.")
    assert site.database.rows(revoked_query, email) == [(True,)]
    assert browser.evaluate("chrome.storage.local.get('token').then(s => s.token ?? null)") is None

    # Paired again, then the server is unreachable when the person unpairs: the token is
    # forgotten here, and they are told where to revoke it.
    _, pair_page = start_pairing(browser, options)
    decide(pair_page, "Approve")
    expect(options.locator("#pairing-state")).to_contain_text("Paired as “Chrome")
    closed = f"http://127.0.0.1:{free_port()}"
    browser.evaluate("(server) => chrome.storage.local.set({server})", closed)
    options.get_by_role("button", name="Unpair this browser").click()
    expect(options.locator("#pairing-message")).to_have_text(
        f"Unpaired here, but {closed} could not be reached: remove this browser at {closed}/devices/ "
        "to be sure its token stops working."
    )
    assert site.database.rows(revoked_query, email) == [(True,), (False,)]
    assert browser.evaluate("chrome.storage.local.get('token').then(s => s.token ?? null)") is None
    use_server(options, site.base_url)


def test_clicking_an_encouragement_with_support_resources_opens_them_in_a_tab(browser: Browser) -> None:
    # As the service worker keeps an encouragement that came with resources (already parsed:
    # only http(s) links survive, see lib/protocol.js and its node tests).
    browser.evaluate(
        """chrome.storage.session.set({encouragements: {99: {message: "You matter.", resources: [
            {name: "Helpline", contact: "116 123", url: "https://example.org/help"},
            {name: "Talk to someone you trust", contact: "", url: ""}]}}})"""
    )
    with browser.context.expect_page() as opened:
        browser.evaluate("smile.onNotificationClicked('smile-encourage-99')")
    support = opened.value
    expect(support.get_by_role("heading", level=1)).to_have_text("People you can talk to")
    expect(support.locator("#message")).to_have_text("You matter.")
    expect(support.get_by_role("link", name="Helpline")).to_have_attribute("href", "https://example.org/help")
    expect(support.get_by_role("listitem")).to_have_text(["Helpline: 116 123", "Talk to someone you trust"])
    # A notification without resources opens nothing; an unknown id says so.
    browser.evaluate("smile.onNotificationClicked('smile-encourage-12345')")
    support.goto(browser.url("support.html#12345"))
    expect(support.locator("#message")).to_have_text("This message is no longer available.")


def badge_is(browser: Browser, text: str) -> None:
    """The toolbar badge shows ``text`` (it follows the status the popup shows, a moment later)."""
    browser.wait_until(
        "(text) => chrome.action.getBadgeText({}).then(badge => badge === text)",
        argument=text,
        timeout_ms=TIMEOUT_MS,
        what=f"the badge {text!r}",
    )


def status(browser: Browser) -> dict[str, Any]:
    return browser.evaluate("chrome.storage.session.get('status').then(s => s.status ?? {})")


def test_a_new_user_pairs_streams_is_encouraged_survives_a_restart_and_is_revoked(browser: Browser) -> None:
    site = browser.site
    site_page = browser.context.new_page()
    email = sign_up(site_page, site)

    # Pair through the options page and the site's pair page.
    options = browser.open("options.html")
    use_server(options, site.base_url)
    options.get_by_role("button", name="Allow camera").click()
    expect(options.locator("#camera-message")).to_have_text("Camera access is allowed.")
    _, pair_page = start_pairing(browser, options)
    decide(pair_page, "Approve")
    expect(options.locator("#pairing-state")).to_contain_text("Paired as “Chrome")
    screenshot(options, "paired")
    [(device_id,)] = site.database.rows(
        "SELECT d.id FROM accounts_device d JOIN accounts_user u ON u.id = d.user_id WHERE u.email = %s", email
    )

    # Start from the popup: the camera goes live, results come back, windows are stored.
    popup = browser.open("popup.html")
    popup.get_by_role("button", name="Start").click()
    expect(popup.locator("#dominant")).to_have_text(re.compile(r"^Mostly \w+$"), timeout=FIRST_RESULT_TIMEOUT_MS)
    expect(popup.get_by_role("list", name="Scores").locator("meter")).to_have_count(7)
    expect(popup.locator("#camera")).to_have_text("Camera on")
    expect(popup.locator("#connection")).to_have_text("Live: reading your expression.")
    badge_is(browser, "ON")
    screenshot(popup, "live")
    events = wait_for_rows(
        lambda: site.database.rows("SELECT faces, dominant FROM moods_moodevent WHERE device_id = %s", device_id),
        timeout_s=TIMEOUT_MS / 1000,
        what="mood events of the extension's device",
    )
    assert all(faces >= 1 for faces, _ in events)
    # The open popup hears of the stored window and refreshes today's summary by itself.
    expect(popup.locator("#summary")).to_contain_text(re.compile(r"^Mostly \w+ today"))

    # Pause turns the camera off (and the badge with it); Resume brings both back.
    popup.get_by_role("button", name="Pause").click()
    expect(popup.locator("#connection")).to_have_text("Paused: the camera is off.")
    expect(popup.locator("#camera")).to_have_text("Camera off")
    # No reading "right now" while paused: the last one is cleared.
    expect(popup.locator("#dominant")).to_have_text("Paused: no reading while the camera is off.")
    expect(popup.get_by_role("list", name="Scores").locator("meter")).to_have_count(0)
    badge_is(browser, "")
    popup.get_by_role("button", name="Resume").click()
    expect(popup.locator("#camera")).to_have_text("Camera on")
    expect(popup.locator("#connection")).to_have_text("Live: reading your expression.")
    badge_is(browser, "ON")

    # Encouragement: a sad history, a low threshold; the next window fires the rule.
    seeded = site.shell(SEED_SAD_HISTORY.replace("EMAIL", json.dumps(email)))
    assert seeded.splitlines()[-1] == "seeded"
    notification = browser.wait_until(
        "chrome.notifications.getAll().then(all => Object.keys(all).find(id => id.startsWith('smile-encourage-')))",
        timeout_ms=TIMEOUT_MS,
        what="an encouragement notification",
    )
    encouragement_id = int(notification.removeprefix("smile-encourage-"))
    # Chromium shows the notification outside the page; its button calls this handler.
    browser.evaluate("([id, button]) => smile.onNotificationButton(id, button)", [notification, 0])
    wait_for_rows(
        lambda: site.database.rows(
            "SELECT id FROM moods_encouragement WHERE id = %s AND feedback = 'helpful'", encouragement_id
        ),
        timeout_s=TIMEOUT_MS / 1000,
        what="the feedback 'This helped' stored",
    )
    assert browser.evaluate("chrome.notifications.getAll()") == {}

    # The server restarts mid-stream: the extension reconnects by itself and results resume.
    restarted_at = time.time() * 1000
    restart_daphne(site)
    browser.wait_until(
        "(since) => chrome.storage.session.get(['status', 'latest']).then("
        "s => s.status?.connection === 'live' && s.status?.camera && s.latest?.at > since)",
        argument=restarted_at,
        timeout_ms=FIRST_RESULT_TIMEOUT_MS,
        what="a result after the restart",
    )
    daphne_logs = sorted(site.log_dir.glob("daphne*.log"))
    assert len(daphne_logs) == 2, "daphne ran twice"

    # New capture defaults saved on the site reach the open stream at once: nothing reconnects here.
    site_page.goto(f"{site.base_url}/settings/")
    site_page.get_by_label("Frames per second").fill("0.5")
    site_page.get_by_role("button", name="Save settings").click()
    expect(site_page.get_by_text("Your settings are saved.")).to_be_visible()
    browser.wait_until(
        "chrome.storage.session.get('serverCapture').then(s => s.serverCapture?.fps === 0.5)",
        timeout_ms=TIMEOUT_MS,
        what="the site's new capture defaults in the streaming extension",
    )
    assert status(browser)["connection"] == "live"

    # Revoking the device on the site closes the stream; the options page asks to pair again.
    site_page.goto(f"{site.base_url}/devices/{device_id}/revoke/")
    site_page.get_by_role("button", name="Revoke device").click()
    expect(options.locator("#pairing-message")).to_have_text(
        "This browser was unpaired on the website (the device was revoked). Pair it again to continue."
    )
    expect(options.get_by_role("button", name="Pair with my account")).to_be_visible()
    badge_is(browser, "")
    browser.wait_until(
        "chrome.runtime.getContexts({contextTypes: ['OFFSCREEN_DOCUMENT']}).then(found => found.length === 0)",
        timeout_ms=TIMEOUT_MS,
        what="the offscreen document (camera and socket) closed",
    )
    assert status(browser)["camera"] is False
    expect(popup.locator("#connection")).to_have_text(
        "Not paired. Open the options to pair this browser with your account."
    )
    screenshot(options, "revoked")


def test_calibrating_from_the_popup_refuses_a_smiling_face_and_a_self_report_is_stored(browser: Browser) -> None:
    """The fake camera's astronaut smiles: the popup's calibration says why there is no baseline; then the
    person says how they feel from the popup."""
    site = browser.site
    email = sign_up(browser.context.new_page(), site)
    options = browser.open("options.html")
    use_server(options, site.base_url)
    _, pair_page = start_pairing(browser, options)
    decide(pair_page, "Approve")
    expect(options.locator("#pairing-state")).to_contain_text("Paired as “Chrome")

    popup = browser.open("popup.html")
    popup.get_by_role("button", name="Start").click()
    expect(popup.locator("#dominant")).to_have_text(re.compile(r"^Mostly \w+$"), timeout=FIRST_RESULT_TIMEOUT_MS)
    expect(popup.get_by_text("never an image")).to_be_visible()
    popup.get_by_role("button", name="Calibrate to my resting face").click()
    expect(popup.locator("#calibration-status")).to_contain_text("Calibrating")
    expect(popup.locator("#calibration-status")).to_have_text(
        re.compile(r"^Not calibrated: Your face did not look at rest"), timeout=TIMEOUT_MS
    )
    assert not site.database.rows(
        "SELECT b.id FROM moods_personalbaseline b JOIN accounts_user u ON u.id = b.user_id WHERE u.email = %s", email
    )
    popup.get_by_role("button", name="Stop").click()
    expect(popup.locator("#camera")).to_have_text("Camera off")

    # "How do you feel?" from the popup: stored for the device's owner.
    popup.get_by_label("Note (optional)").fill("smiling for the camera")
    popup.get_by_role("group", name="How do you feel?").get_by_role("button", name="Happy").click()
    expect(popup.locator("#feel-status")).to_have_text("Saved: you felt happy. Thank you.")
    assert site.database.rows(
        "SELECT r.emotion, r.note FROM moods_selfreport r JOIN accounts_user u ON u.id = r.user_id WHERE u.email = %s",
        email,
    ) == [("happy", "smiling for the camera")]


def test_in_private_mode_no_frame_reaches_the_socket_while_windows_are_stored_and_shown(browser: Browser) -> None:
    """Every byte between the extension and the site goes through a sniffer that reads the WebSocket
    frames the extension sends: in private mode none is binary (a camera frame), only text, and the
    windows read on this computer are stored and shown; switched back, frames flow again."""
    site = browser.site
    sniffer = WebSocketSniffer("127.0.0.1", site.port).start()
    try:
        email = sign_up(browser.context.new_page(), site)
        options = browser.open("options.html")
        use_server(options, sniffer.url)
        options.get_by_role("button", name="Allow camera").click()
        _, pair_page = start_pairing(browser, options)
        decide(pair_page, "Approve")
        expect(options.locator("#pairing-state")).to_contain_text("Paired as “Chrome")
        [(device_id,)] = site.database.rows(
            "SELECT d.id FROM accounts_device d JOIN accounts_user u ON u.id = d.user_id WHERE u.email = %s", email
        )

        # The options page switches the device (POST /api/device/mode), no re-pairing.
        options.get_by_label("Read my face on this computer (private)").check()
        expect(options.locator("#mode-message")).to_have_text(re.compile("now read on this computer"))
        assert site.database.rows("SELECT mode FROM accounts_device WHERE id = %s", device_id) == [("private",)]
        screenshot(options, "private-mode")

        popup = browser.open("popup.html")
        expect(popup.locator("#mode")).to_have_text(re.compile(r"^Read on this computer \(private\)"))
        popup.get_by_role("button", name="Start").click()
        # Read here: the reading shows in the popup, from the models running in the offscreen document.
        expect(popup.locator("#dominant")).to_have_text(re.compile(r"^Mostly \w+$"), timeout=FIRST_RESULT_TIMEOUT_MS)
        expect(popup.locator("#camera")).to_have_text("Camera on")
        events = wait_for_rows(
            lambda: site.database.rows(
                "SELECT frames, faces, dominant FROM moods_moodevent WHERE device_id = %s", device_id
            ),
            timeout_s=TIMEOUT_MS / 1000,
            what="mood windows sent from this computer",
        )
        assert all(faces >= 1 for _, faces, _ in events)
        # Shown: the popup refreshes today's summary from the stored window.
        expect(popup.locator("#summary")).to_contain_text(re.compile(r"^Mostly \w+ today"))
        screenshot(popup, "private-live")
        # Calibrating reads here too: the smiling astronaut is refused as the server refuses it.
        popup.get_by_role("button", name="Calibrate to my resting face").click()
        expect(popup.locator("#calibration-status")).to_contain_text("Calibrating")
        expect(popup.locator("#calibration-status")).to_have_text(
            re.compile(r"^Not calibrated: Your face did not look at rest"), timeout=TIMEOUT_MS
        )
        popup.get_by_role("button", name="Stop").click()
        expect(popup.locator("#camera")).to_have_text("Camera off")

        assert sniffer.counts["binary"] == 0, sniffer.counts
        sent = [json.loads(text) for text in sniffer.texts]
        summaries = [message for message in sent if message.get("type") == "summary"]
        assert len(summaries) >= len(events)
        assert {message["type"] for message in sent} <= {
            "auth",
            "ping",
            "pause",
            "resume",
            "summary",
            "calibrate_start",
            "calibrate_faces",
        }
        calibration = next(message for message in sent if message["type"] == "calibrate_faces")
        assert all(len(row) == 7 for row in calibration["faces"])  # seven numbers a frame, never a frame
        assert max(len(text) for text in sniffer.texts) < 1024  # numbers, never an image

        # And back: on the server, frames flow again.
        options.get_by_label("Read my face on the S.M.I.L.E server").check()
        expect(options.locator("#mode-message")).to_have_text("Your face is now read on the S.M.I.L.E server.")
        popup.get_by_role("button", name="Start").click()
        expect(popup.locator("#mode")).to_have_text(re.compile(r"^Read on the S.M.I.L.E server"))
        deadline = time.monotonic() + FIRST_RESULT_TIMEOUT_MS / 1000
        while not sniffer.counts["binary"]:
            assert time.monotonic() < deadline, "no frame sent in server mode"
            time.sleep(0.25)
        popup.get_by_role("button", name="Stop").click()
        expect(popup.locator("#camera")).to_have_text("Camera off")
    finally:
        sniffer.close()
