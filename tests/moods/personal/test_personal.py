"""The person's baseline in Settings, their own word (self-reports, corrections), agreement, export and deletion."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from inference.baseline import build_baseline
from inference.emotions import EMOTIONS
from moods.models import PersonalBaseline, SelfReport
from moods.personal import selectors, services
from moods.yourdata import deletion, export
from tests.clock import pin_local_midday
from tests.factories import make_user
from tests.moods.history.test_history import event

pytestmark = pytest.mark.django_db

RESTING = [0.02, 0.01, 0.02, 0.0, 0.5, 0.0, 0.45]


def signed_in(client: Client, **fields: str):
    user = make_user(**fields)
    client.force_login(user)
    return user


def test_settings_show_the_baseline_and_forget_deletes_it(client: Client) -> None:
    user = signed_in(client)
    page = client.get(reverse("settings")).content.decode()
    assert "No personal baseline" in page
    services.save_baseline(user_id=user.pk, baseline=build_baseline([RESTING] * 12))
    page = client.get(reverse("settings")).content.decode()
    assert "A personal baseline from" in page
    assert "(12 frames) is in use" in page
    assert "Recalibrate" in page
    assert reverse("forget_baseline") in page
    assert client.get(reverse("forget_baseline")).status_code == 405
    response = client.post(reverse("forget_baseline"))
    assert response.status_code == 302
    assert not PersonalBaseline.objects.filter(user=user).exists()


def test_the_live_page_offers_calibration_and_says_no_image_is_kept(client: Client) -> None:
    signed_in(client)
    page = client.get(reverse("live")).content.decode()
    assert "Calibrate to my resting face" in page
    assert "never an image" in page


def test_a_self_report_is_saved_with_its_note(client: Client) -> None:
    user = signed_in(client)
    response = client.post(reverse("self_report"), {"emotion": "sad", "note": "  long day  "})
    assert response.status_code == 302
    report = SelfReport.objects.get(user=user)
    assert (report.emotion, report.note, report.event) == ("sad", "long day", None)
    assert "How do you feel?" in client.get(reverse("dashboard")).content.decode()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"emotion": "bored"}, "Choose one of"),
        ({}, "Choose what you felt"),
        ({"emotion": ""}, "Choose what you felt"),
        ({"emotion": "happy", "note": "x" * 201}, "200 characters or fewer"),
    ],
)
def test_bad_self_reports_are_400_with_clear_errors(client: Client, data: dict[str, str], message: str) -> None:
    user = signed_in(client)
    response = client.post(reverse("self_report"), data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not SelfReport.objects.filter(user=user).exists()


def test_a_correction_is_saved_on_the_users_own_window_only(client: Client) -> None:
    user = signed_in(client)
    mine = event(user.pk, datetime(2026, 5, 4, 10, tzinfo=UTC), sad=0.7)
    other = event(make_user(email="other@example.com").pk, datetime(2026, 5, 4, 10, tzinfo=UTC), sad=0.7)
    assert client.post(reverse("correct_window", args=[other.pk]), {"emotion": "neutral"}).status_code == 404
    assert client.post(reverse("correct_window", args=[999_999]), {"emotion": "neutral"}).status_code == 404
    assert client.post(reverse("correct_window", args=[mine.pk]), {"emotion": "calm"}).status_code == 400
    response = client.post(
        reverse("correct_window", args=[mine.pk]), {"emotion": "neutral", "next": "https://evil.example/"}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("history")
    assert SelfReport.objects.get(user=user).event == mine
    assert not SelfReport.objects.filter(event=other).exists()


def test_a_correction_without_a_chosen_feeling_is_refused_with_the_reason(client: Client) -> None:
    user = signed_in(client)
    mine = event(user.pk, datetime(2026, 5, 4, 10, tzinfo=UTC), sad=0.7)

    response = client.post(reverse("correct_window", args=[mine.pk]), {"emotion": "", "note": "hm"})

    assert response.status_code == 400
    page = response.content.decode()
    assert "Choose what you felt" in page
    # The form shown again asks again: nothing is chosen for the person there either.
    assert '<option value="" selected>Choose…</option>' in page
    assert not SelfReport.objects.filter(user=user).exists()


def test_the_correction_form_makes_the_person_choose_a_feeling(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    user = signed_in(client)
    pin_local_midday(monkeypatch, user.zone)
    event(user.pk, timezone.now() - timedelta(minutes=30), sad=0.3)

    page = client.get(reverse("history"), {"range": "day"}).content.decode()

    # The first option is empty and chosen: no feeling is put in the person's mouth.
    assert '<select name="emotion" required><option value="">Choose…</option><option value="angry">' in page


def test_agreement_compares_reports_with_their_windows_and_skips_uncertain_ones() -> None:
    user = make_user()
    start = timezone.now() - timedelta(hours=1)
    sad_window = event(user.pk, start, sad=0.7)
    happy_window = event(user.pk, start + timedelta(minutes=10), happy=0.8)
    unsure = event(user.pk, start + timedelta(minutes=20), sad=0.7)
    unsure.uncertain = True
    unsure.save()
    services.record_self_report(user_id=user.pk, emotion="neutral", event_id=sad_window.pk)  # disagrees
    SelfReport.objects.create(user=user, emotion="happy", created_at=happy_window.started_at + timedelta(seconds=30))
    services.record_self_report(user_id=user.pk, emotion="sad", event_id=unsure.pk)  # not compared
    SelfReport.objects.create(user=user, emotion="sad", created_at=start - timedelta(hours=3))  # no window near
    result = selectors.agreement(
        user_id=user.pk, start=start - timedelta(days=1), end=timezone.now() + timedelta(hours=1)
    )
    assert (result.agreed, result.compared) == (1, 2)
    assert result.share == 0.5


def test_history_shows_what_the_user_said_and_the_agreement(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    user = signed_in(client)
    pin_local_midday(monkeypatch, user.zone)
    window = event(user.pk, timezone.now() - timedelta(hours=1), sad=0.7)
    services.record_self_report(user_id=user.pk, emotion="neutral", note="just tired", event_id=window.pk)
    page = client.get(reverse("history"), {"range": "day"}).content.decode()
    assert "agreed with what you said 0 of 1 times" in page
    assert "read sad, you felt neutral" in page
    assert "just tired" in page
    assert reverse("correct_window", args=[window.pk]) in page


def test_export_includes_the_baseline_self_reports_and_window_flags() -> None:
    user = make_user(time_zone="Europe/Berlin")
    window = event(user.pk, datetime(2026, 5, 4, 10, tzinfo=UTC), sad=0.7)
    services.record_self_report(user_id=user.pk, emotion="neutral", note="fine", event_id=window.pk)
    services.save_baseline(user_id=user.pk, baseline=build_baseline([RESTING] * 10))
    document = json.loads("".join(export.export_json(user_id=user.pk, tz=user.zone, time_zone="Europe/Berlin")))
    assert document["mood_events"][0]["baseline_applied"] is False
    assert document["mood_events"][0]["uncertain"] is False
    assert document["self_reports"][0]["emotion"] == "neutral"
    assert document["self_reports"][0]["corrects_window_started_at"] == "2026-05-04T12:00:00+02:00"
    assert document["personal_baseline"]["faces"] == 10
    assert list(document["personal_baseline"]["mean_log_scores"]) == list(EMOTIONS)
    rows = list(csv.DictReader(io.StringIO("".join(export.export_csv(user_id=user.pk, tz=user.zone)))))
    assert all(len(row) == len(export.CSV_COLUMNS) and None not in row for row in rows)
    [mood] = [row for row in rows if row["kind"] == "mood"]
    assert (mood["dominant"], mood["baseline_applied"], mood["uncertain"]) == ("sad", "False", "False")
    [correction] = [row for row in rows if row["kind"] == "correction"]
    assert (correction["dominant"], correction["message"]) == ("neutral", "fine")
    # At the window it corrects (issue 24), with when it was said beside it.
    assert (correction["started_at"], correction["ended_at"]) == (
        "2026-05-04T12:00:00+02:00",
        "2026-05-04T12:01:00+02:00",
    )
    assert correction["said_at"] != ""
    [baseline] = [row for row in rows if row["kind"] == "baseline"]
    assert baseline["faces"] == "10"
    assert list(json.loads(baseline["message"])) == list(EMOTIONS)


def test_deleting_everything_forgets_the_baseline_and_the_reports_but_spares_others() -> None:
    user, other = make_user(), make_user(email="other@example.com")
    for person in (user, other):
        services.save_baseline(user_id=person.pk, baseline=build_baseline([RESTING] * 10))
        services.record_self_report(user_id=person.pk, emotion="happy")
    deletion.delete_days(user_id=user.pk, tz=user.zone, first=None, last=None)
    assert not PersonalBaseline.objects.filter(user=user).exists()
    assert not SelfReport.objects.filter(user=user).exists()
    assert PersonalBaseline.objects.filter(user=other).exists()
    assert SelfReport.objects.filter(user=other).exists()


def test_deleting_the_account_deletes_the_baseline_and_reports() -> None:
    user = make_user()
    services.save_baseline(user_id=user.pk, baseline=build_baseline([RESTING] * 10))
    services.record_self_report(user_id=user.pk, emotion="happy")
    user.delete()
    assert not PersonalBaseline.objects.exists()
    assert not SelfReport.objects.exists()


def test_corrections_refresh_the_baseline_only_after_opting_in(client: Client) -> None:
    user = signed_in(client)
    services.save_baseline(user_id=user.pk, baseline=build_baseline([RESTING] * 20))
    calm = event(user.pk, timezone.now() - timedelta(hours=2), sad=0.1, neutral=0.85)
    calm.faces, calm.frames = 20, 20
    calm.save()
    client.post(reverse("correct_window", args=[calm.pk]), {"emotion": "neutral"})
    row = PersonalBaseline.objects.get(user=user)
    assert (row.faces, row.refreshed_at) == (20, None)

    page = client.get(reverse("settings")).content.decode()
    assert "Let my corrections refresh this baseline" in page
    client.post(reverse("baseline_corrections"), {"refresh_from_corrections": "on"})
    assert PersonalBaseline.objects.get(user=user).refresh_from_corrections

    smile = event(user.pk, timezone.now() - timedelta(hours=1), happy=0.8)
    client.post(reverse("correct_window", args=[smile.pk]), {"emotion": "neutral"})  # not a resting face
    assert PersonalBaseline.objects.get(user=user).refreshed_at is None
    client.post(reverse("correct_window", args=[calm.pk]), {"emotion": "sad"})  # not "I was neutral"
    assert PersonalBaseline.objects.get(user=user).refreshed_at is None
    client.post(reverse("correct_window", args=[calm.pk]), {"emotion": "neutral"})
    row = PersonalBaseline.objects.get(user=user)
    assert row.faces == 40
    assert row.refreshed_at is not None
    assert row.log_scores[EMOTIONS.index("sad")] > -5  # moved towards the calm window's sadness, not replaced
    assert row.log_scores[EMOTIONS.index("sad")] < round(float(np.log(0.5)), 6)

    client.post(reverse("baseline_corrections"), {})
    assert not PersonalBaseline.objects.get(user=user).refresh_from_corrections


def test_the_live_page_reports_as_json_without_leaving_the_page(client: Client) -> None:
    user = signed_in(client)
    assert "That's not right? Say how you feel" in client.get(reverse("live")).content.decode()
    response = client.post(reverse("self_report"), {"emotion": "happy"}, headers={"accept": "application/json"})
    assert response.status_code == 200
    assert response.json() == {"saved": True}
    refused = client.post(reverse("self_report"), {"emotion": "meh"}, headers={"accept": "application/json"})
    assert refused.status_code == 400
    assert refused.json()["saved"] is False
    assert "Choose one of" in refused.json()["errors"]["emotion"][0]
    assert list(SelfReport.objects.filter(user=user).values_list("emotion", flat=True)) == ["happy"]


def test_an_uncertain_window_is_shown_as_not_sure(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    user = signed_in(client)
    pin_local_midday(monkeypatch, user.zone)
    window = event(user.pk, timezone.now() - timedelta(minutes=30), sad=0.3, neutral=0.3)
    window.uncertain = True
    window.save()
    assert "Not sure" in client.get(reverse("dashboard")).content.decode()
    assert "Not sure" in client.get(reverse("history"), {"range": "day"}).content.decode()


def test_the_deletion_page_says_the_baseline_and_reports_go_too(client: Client) -> None:
    signed_in(client)
    page = client.post(reverse("delete_data"), {"scope": "all"}).content.decode()
    assert "with what you said (self-reports and corrections) and your resting-face baseline" in page
