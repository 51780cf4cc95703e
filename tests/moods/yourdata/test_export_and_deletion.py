"""Your data: streamed CSV/JSON export, deleting local days (inclusive, DST-aware) or everything."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from accounts.models import User
from accounts.services import set_device_mode
from moods.models import Encouragement, MoodEvent
from moods.yourdata import deletion, export
from tests.factories import make_user, pair_device
from tests.moods.history.test_history import event

pytestmark = pytest.mark.django_db

BERLIN = ZoneInfo("Europe/Berlin")


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def user_id() -> int:
    return make_user(time_zone="Europe/Berlin").pk


def nudge(user_id: int, at: datetime, message: str = "Tea?") -> Encouragement:
    return Encouragement.objects.create(user_id=user_id, sent_at=at, message=message, trigger={"mean_sadness": 0.6})


def test_the_csv_export_has_a_header_every_event_and_every_encouragement_in_local_time(
    user_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(export, "CHUNK_SIZE", 2)  # several chunks
    for minute in range(5):
        event(user_id, utc(2026, 5, 4, 10, minute), sad=0.5)
    nudge(user_id, utc(2026, 5, 4, 10, 5), message='She said "hi", then left')
    event(make_user(email="other@example.com").pk, utc(2026, 5, 4, 10), sad=1.0)

    chunks = list(export.export_csv(user_id=user_id, tz=BERLIN))
    rows = list(csv.DictReader(io.StringIO("".join(chunks))))

    assert len(chunks) > 2
    assert [row["kind"] for row in rows] == ["mood"] * 5 + ["encouragement"]
    assert rows[0]["started_at"] == "2026-05-04T12:00:00+02:00"
    assert float(rows[0]["sad"]) == 0.5
    assert float(rows[0]["seconds"]) == 60
    assert rows[-1]["message"] == 'She said "hi", then left'
    assert json.loads(rows[-1]["trigger"]) == {"mean_sadness": 0.6}


def test_the_json_export_is_one_valid_document_streamed_in_pieces(
    user_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(export, "CHUNK_SIZE", 2)
    for minute in range(5):
        event(user_id, utc(2026, 5, 4, 10, minute), happy=0.7)
    nudge(user_id, utc(2026, 5, 4, 11))

    chunks = list(export.export_json(user_id=user_id, tz=BERLIN, time_zone="Europe/Berlin"))
    document = json.loads("".join(chunks))

    assert len(chunks) > 3
    assert document["time_zone"] == "Europe/Berlin"
    assert len(document["mood_events"]) == 5
    assert document["mood_events"][0]["scores"]["happy"] == 0.7
    assert document["mood_events"][0]["started_at"] == "2026-05-04T12:00:00+02:00"
    assert document["encouragements"][0]["message"] == "Tea?"
    assert document["encouragements"][0]["feedback"] is None


def test_an_empty_history_exports_a_header_and_an_empty_document(user_id: int) -> None:
    assert "".join(export.export_csv(user_id=user_id, tz=BERLIN)).splitlines() == [",".join(export.CSV_COLUMNS)]
    document = json.loads("".join(export.export_json(user_id=user_id, tz=BERLIN, time_zone="Europe/Berlin")))
    assert document == {
        "time_zone": "Europe/Berlin",
        "mood_events": [],
        "encouragements": [],
        "self_reports": [],
        "personal_baseline": None,
        "devices": [],
    }


def test_both_exports_list_the_devices_and_where_each_reads_the_face(user_id: int) -> None:
    user = User.objects.get(pk=user_id)
    laptop, _ = pair_device(user=user, name="Chrome on laptop")
    set_device_mode(device=laptop, mode="private")
    pair_device(user=user, name="=cmd|' /C calc'!A0")
    pair_device(user=make_user(email="other@example.com"), name="Not mine")

    document = json.loads("".join(export.export_json(user_id=user_id, tz=BERLIN, time_zone="Europe/Berlin")))
    assert [(device["name"], device["mode"], device["revoked_at"]) for device in document["devices"]] == [
        ("Chrome on laptop", "private", None),
        ("=cmd|' /C calc'!A0", "server", None),
    ]
    assert document["devices"][0]["paired_at"].endswith("+01:00") or document["devices"][0]["paired_at"].endswith(
        "+02:00"
    )
    rows = list(csv.DictReader(io.StringIO("".join(export.export_csv(user_id=user_id, tz=BERLIN)))))
    assert [(row["kind"], row["device"], row["message"]) for row in rows] == [
        ("device", "Chrome on laptop", "private"),
        ("device", "'=cmd|' /C calc'!A0", "server"),  # never a formula in a spreadsheet
    ]


def test_deleting_local_days_removes_exactly_those_days_across_a_dst_change(user_id: int) -> None:
    # Berlin springs forward on 29 March 2026; the local days 28-29 March are 23:00 UTC 27th .. 22:00 UTC 29th.
    kept_before = event(user_id, utc(2026, 3, 27, 22, 59), sad=0.5)  # 23:59 on the 27th
    gone = [
        event(user_id, utc(2026, 3, 27, 23, 0), sad=0.5),  # 00:00 on the 28th
        event(user_id, utc(2026, 3, 29, 21, 59), sad=0.5),  # 23:59 CEST on the 29th
    ]
    kept_after = event(user_id, utc(2026, 3, 29, 22, 0), sad=0.5)  # 00:00 on the 30th
    nudge(user_id, utc(2026, 3, 28, 12))
    kept_nudge = nudge(user_id, utc(2026, 3, 30, 12))
    other = event(make_user(email="other@example.com").pk, utc(2026, 3, 28, 12), sad=0.5)

    assert deletion.count_in_days(user_id=user_id, tz=BERLIN, first=date(2026, 3, 28), last=date(2026, 3, 29)) == (2, 1)
    deleted = deletion.delete_days(user_id=user_id, tz=BERLIN, first=date(2026, 3, 28), last=date(2026, 3, 29))

    assert deleted == (2, 1)
    assert set(MoodEvent.objects.values_list("pk", flat=True)) == {kept_before.pk, kept_after.pk, other.pk}
    assert not MoodEvent.objects.filter(pk__in=[row.pk for row in gone]).exists()
    assert list(Encouragement.objects.values_list("pk", flat=True)) == [kept_nudge.pk]


def test_deleting_everything_spares_other_users(user_id: int) -> None:
    event(user_id, utc(2026, 3, 27, 12), sad=0.5)
    nudge(user_id, utc(2026, 3, 27, 12))
    other = event(make_user(email="other@example.com").pk, utc(2026, 3, 28, 12), sad=0.5)

    assert deletion.delete_days(user_id=user_id, tz=BERLIN, first=None, last=None) == (1, 1)
    assert list(MoodEvent.objects.values_list("pk", flat=True)) == [other.pk]


def test_deleting_needs_both_days_or_neither(user_id: int) -> None:
    with pytest.raises(ValueError, match="both days"):
        deletion.delete_days(user_id=user_id, tz=BERLIN, first=date(2026, 3, 28), last=None)


def test_an_export_of_some_days_holds_exactly_those_local_days(user_id: int) -> None:
    event(user_id, utc(2026, 5, 3, 21, 59), happy=0.7)  # 23:59 on 3 May in Berlin
    first = event(user_id, utc(2026, 5, 3, 22, 0), happy=0.7)  # 00:00 on 4 May
    last = event(user_id, utc(2026, 5, 5, 21, 59), happy=0.7)  # 23:59 on 5 May
    event(user_id, utc(2026, 5, 5, 22, 0), happy=0.7)  # 00:00 on 6 May
    nudge(user_id, utc(2026, 5, 4, 11))
    nudge(user_id, utc(2026, 5, 6, 11))
    days = {"first": date(2026, 5, 4), "last": date(2026, 5, 5)}

    rows = list(csv.DictReader(io.StringIO("".join(export.export_csv(user_id=user_id, tz=BERLIN, **days)))))
    document = json.loads("".join(export.export_json(user_id=user_id, tz=BERLIN, time_zone="Europe/Berlin", **days)))

    local = [first.started_at.astimezone(BERLIN).isoformat(), last.started_at.astimezone(BERLIN).isoformat()]
    assert [row["started_at"] for row in rows if row["kind"] == "mood"] == local
    assert [row["kind"] for row in rows].count("encouragement") == 1
    assert [event["started_at"] for event in document["mood_events"]] == local
    assert len(document["encouragements"]) == 1
    assert (document["first_day"], document["last_day"]) == ("2026-05-04", "2026-05-05")


@pytest.mark.parametrize(
    "name", ['=HYPERLINK("http://evil.example","x")', "+1+2", "-2+3", "@SUM(A1)", "\tcmd", "\rcmd"]
)
def test_the_csv_export_defuses_spreadsheet_formulas_in_device_names(user_id: int, name: str) -> None:
    from accounts.models import Device

    device = Device.objects.create(user_id=user_id, name=name, token_hash=f"hash-{name!r}")
    stored = event(user_id, utc(2026, 5, 4, 10), sad=0.5)
    MoodEvent.objects.filter(pk=stored.pk).update(device=device)

    row, device_row = csv.DictReader(io.StringIO("".join(export.export_csv(user_id=user_id, tz=BERLIN)), newline=""))

    assert row["device"] == "'" + name
    assert float(row["sad"]) == 0.5  # numbers are left alone
    assert (device_row["kind"], device_row["device"]) == ("device", "'" + name)
