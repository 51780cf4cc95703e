"""What the database guarantees about mood data: constraints, defaults, and who owns what."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from accounts import services as account_services
from inference.emotions import EMOTIONS
from moods.models import Emotion, Encouragement, EncouragementSettings, MoodEvent
from moods.stream.messages import encourage
from tests.factories import make_user, pair_device

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)


def event_fields(**overrides: object) -> dict[str, object]:
    fields: dict[str, object] = {
        "started_at": T0,
        "ended_at": T0 + timedelta(minutes=1),
        "frames": 60,
        "faces": 55,
        **dict.fromkeys(EMOTIONS, 0.0),
        "happy": 0.8,
        "neutral": 0.2,
        "dominant": "happy",
    }
    fields.update(overrides)
    return fields


def test_the_emotion_choices_follow_the_one_order() -> None:
    assert tuple(Emotion.values) == EMOTIONS


def test_a_mood_event_keeps_its_scores_in_order() -> None:
    event = MoodEvent.objects.create(user=make_user(), **event_fields())

    assert list(event.scores) == list(EMOTIONS)
    assert event.scores["happy"] == 0.8
    assert event.device is None


@pytest.mark.parametrize(
    "overrides",
    [
        {"faces": 61},
        {"ended_at": T0},
        {"ended_at": T0 - timedelta(seconds=1)},
        {"sad": 1.01},
        {"angry": -0.01},
    ],
    ids=["more-faces-than-frames", "no-duration", "ends-before-start", "score-above-one", "negative-score"],
)
def test_the_database_refuses_an_impossible_mood_event(overrides: dict[str, object]) -> None:
    user = make_user()

    with pytest.raises(IntegrityError), transaction.atomic():
        MoodEvent.objects.create(user=user, **event_fields(**overrides))


def test_encouragements_are_off_until_the_user_opts_in() -> None:
    settings = EncouragementSettings.objects.create(user=make_user())

    assert not settings.enabled
    assert not settings.support_resources_enabled
    assert (settings.sadness_threshold, settings.sustain_minutes, settings.cooldown_minutes) == (0.5, 10, 60)
    assert (settings.daily_cap, settings.low_mood_days, settings.resources_region) == (3, 3, "")
    assert settings.quiet_hours_start is None
    assert settings.own_messages == []


@pytest.mark.parametrize(
    "overrides",
    [
        {"sadness_threshold": 0.01},
        {"sadness_threshold": 0.99},
        {"sustain_minutes": 0},
        {"sustain_minutes": 241},
        {"cooldown_minutes": 4},
        {"cooldown_minutes": 1441},
        {"daily_cap": 0},
        {"daily_cap": 21},
        {"low_mood_days": 1},
        {"low_mood_days": 15},
    ],
)
def test_settings_outside_their_ranges_are_refused_by_validation_and_the_database(overrides: dict[str, object]) -> None:
    user = make_user()
    settings = EncouragementSettings(user=user, **overrides)

    with pytest.raises(ValidationError):
        settings.full_clean()
    with pytest.raises(IntegrityError), transaction.atomic():
        settings.save()


def test_own_messages_are_the_non_blank_lines() -> None:
    settings = EncouragementSettings(messages="  Tea time?\n\n   \nYou've got this.  \n")

    assert settings.own_messages == ["Tea time?", "You've got this."]


def test_the_encourage_message_carries_resources_only_when_they_were_sent() -> None:
    user = make_user()
    plain = Encouragement.objects.create(user=user, message="Breathe.")
    with_help = Encouragement.objects.create(
        user=user, message="Breathe.", includes_resources=True, trigger={"region": "FR"}
    )

    assert encourage(plain) == {"type": "encourage", "id": plain.pk, "message": "Breathe."}
    message = encourage(with_help)
    assert [resource["url"] for resource in message["resources"]] == ["https://3114.fr", "https://findahelpline.com"]
    assert plain.feedback == ""


def test_deleting_the_account_deletes_every_mood_row() -> None:
    user = make_user()
    other = make_user(email="other@example.com")
    for owner in (user, other):
        MoodEvent.objects.create(user=owner, **event_fields())
        EncouragementSettings.objects.create(user=owner)
        Encouragement.objects.create(user=owner, message="Breathe.")

    account_services.delete_account(user=user)

    assert list(MoodEvent.objects.values_list("user_id", flat=True)) == [other.pk]
    assert list(EncouragementSettings.objects.values_list("user_id", flat=True)) == [other.pk]
    assert list(Encouragement.objects.values_list("user_id", flat=True)) == [other.pk]


def test_deleting_a_device_keeps_its_history_for_the_user() -> None:
    user = make_user()
    device, _ = pair_device(user=user)
    event = MoodEvent.objects.create(user=user, device=device, **event_fields())

    device.delete()

    event.refresh_from_db()
    assert event.device is None
    assert event.user == user
