"""Every date and moment a URL carries is bounded: out of range is a 400 or the first page, never a 500 (issue 27).

The timeline's cursor (``?until=``) is the only moment; the history's days (``start``, ``end``)
are checked by its range form, and the export and deletion forms check theirs (2000 to 2100).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import User
from moods.history.forms import parse_moment
from tests.factories import make_user

pytestmark = pytest.mark.django_db

OUT_OF_RANGE_MOMENTS = (
    "0001-01-01T00:00:00+05:00",  # before year 1 in UTC: the OverflowError
    "9999-12-31T23:59:59-05:00",  # after year 9999 in UTC
    "0001-01-01T00:00:00+00:00",
    "9999-12-31T23:59:59+00:00",
    "1999-12-31T23:59:59+00:00",
    "2101-01-01T00:00:00+00:00",
)


@pytest.fixture
def browser(client: Client) -> Client:
    # Kiritimati (UTC+14) and a history with nothing in it: the bounds alone decide.
    user: User = make_user(time_zone="Pacific/Kiritimati")
    client.force_login(user)
    return client


@pytest.mark.parametrize("until", OUT_OF_RANGE_MOMENTS)
def test_an_out_of_range_timeline_cursor_shows_the_first_page(browser: Client, until: str) -> None:
    response = browser.get(reverse("history"), {"range": "week", "until": until})

    assert response.status_code == 200
    assert "↑ Newest" not in response.content.decode()


@pytest.mark.parametrize(
    "query",
    [
        {"range": "custom", "start": "0001-01-01", "end": "0001-01-01"},
        {"range": "custom", "start": "0001-01-01", "end": "2026-01-01"},
        {"range": "custom", "start": "9999-12-31", "end": "9999-12-31"},
        {"range": "day", "end": "9999-12-31"},
        {"range": "year", "end": "0001-01-01"},
    ],
)
@pytest.mark.parametrize("name", ["history", "history_data"])
def test_out_of_range_days_are_a_400(browser: Client, name: str, query: dict[str, str]) -> None:
    assert browser.get(reverse(name), query).status_code == 400


@pytest.mark.parametrize(("start", "end"), [("0001-01-01", "0001-01-02"), ("9999-12-30", "9999-12-31")])
def test_out_of_range_days_to_export_or_delete_are_a_400(browser: Client, start: str, end: str) -> None:
    export = browser.post(reverse("export"), {"format": "json", "start": start, "end": end})
    delete = browser.post(reverse("delete_data"), {"scope": "range", "start": start, "end": end})

    assert export.status_code == 400
    assert delete.status_code == 400
    assert "Choose days between 2000 and 2100." in delete.content.decode()


def test_a_moment_in_range_is_read_in_utc() -> None:
    assert parse_moment("2026-02-02T10:00:00.000001+01:00") == datetime(2026, 2, 2, 9, 0, 0, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    "raw", [*OUT_OF_RANGE_MOMENTS, "", "2026-02-02T10:00:00", "soon", "2026-02-02T10:00:00+01:00" * 2]
)
def test_moments_out_of_range_naive_or_malformed_are_none(raw: str) -> None:
    assert parse_moment(raw) is None
