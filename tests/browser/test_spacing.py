"""Small layout promises a newcomer noticed (issue 24, section 7), at 360, 390 and 1280 px: room under the
emotion buttons and "No extension yet?", "Save settings" off the next card, the Export boxes level, the
baseline checkbox beside its label, and the Settings tab pills in one place on all three of their pages."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from playwright.sync_api import FloatRect, Locator, Page, expect
from pytest_django.live_server_helper import LiveServer

from accounts.models import User
from inference.baseline import build_baseline
from moods.personal import services
from tests.browser.conftest import sign_up_new_person

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = (360, 390, 1280)
ROOM = 12  # px: at least this between one block and the next


def box(locator: Locator) -> FloatRect:
    found = locator.bounding_box()
    assert found is not None, locator
    return found


def gap(above: Locator, below: Locator) -> float:
    return box(below)["y"] - (box(above)["y"] + box(above)["height"])


@pytest.mark.parametrize("width", WIDTHS)
def test_blocks_have_room_and_the_settings_pills_stay_put(live_server: LiveServer, page: Page, width: int) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    email = sign_up_new_person(page, base_url=live_server.url, display_name="Noor", time_zone="UTC")

    steps = page.locator(".steps")
    alternative = page.get_by_text("No extension yet?")
    assert gap(steps, alternative) >= ROOM
    assert (
        gap(page.locator(".self-report .actions"), page.get_by_label("Note (optional, up to 200 characters)")) >= ROOM
    )

    page.goto(f"{live_server.url}/live/")
    assert gap(page.locator("#live-self-report .actions"), page.locator("label[for=live-note]")) >= ROOM

    # Off Playwright's thread: its event loop runs there, and saving a baseline tells the user's open
    # streams through the channel layer (async_to_sync refuses a thread with a running loop).
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(
            services.save_baseline,
            user_id=User.objects.get(email=email).pk,
            baseline=build_baseline([[0.02, 0.01, 0.02, 0.0, 0.5, 0.0, 0.45]] * 12),
        ).result()
    pills: dict[str, FloatRect] = {}
    page.goto(f"{live_server.url}/settings/")
    pills["settings"] = box(page.locator(".subnav a").first)
    save = page.get_by_role("button", name="Save settings")
    assert gap(save, page.locator("section[aria-labelledby=baseline-title]")) >= ROOM
    checkbox, label = (
        page.get_by_role("checkbox", name="Let my corrections refresh this baseline"),
        page.locator("label[for=refresh-from-corrections]"),
    )
    assert abs(box(checkbox)["y"] + box(checkbox)["height"] / 2 - (box(label)["y"] + 12)) <= 8, "side by side"
    assert box(checkbox)["x"] < box(label)["x"]
    assert gap(page.locator(".baseline-check"), page.get_by_role("button", name="Save this choice")) >= ROOM

    page.goto(f"{live_server.url}/encouragements/")
    pills["encouragements"] = box(page.locator(".subnav a").first)
    page.goto(f"{live_server.url}/data/")
    pills["data"] = box(page.locator(".subnav a").first)
    start, end = page.locator("#id_export_start"), page.locator("#id_export_end")
    expect(start).to_be_visible()
    if width >= 1280:
        assert box(start)["y"] == box(end)["y"], "the From and To boxes side by side, level"
    assert box(start)["height"] == box(end)["height"]

    assert pills["settings"] == pills["encouragements"] == pills["data"]
