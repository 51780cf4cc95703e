"""``manage.py seed_demo``: a demo account with 90 days of plausible mood history, to see every page full at once."""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction
from django.db.models import Max, Min
from django.utils import timezone

from accounts.models import Device, User
from inference.emotions import EMOTIONS
from moods.history.demo import build_events, bulk_insert
from moods.models import Encouragement, EncouragementSettings, MoodEvent, MoodQuarter, SelfReport

DEMO_EMAIL = "demo@smile.local"
DEMO_PASSWORD = "smile-demo-garden-90"  # noqa: S105 - the documented password of a local demo account
DEMO_TIME_ZONE = "Europe/Berlin"
DEMO_DEVICE = "Chrome on the demo laptop"
SEED = 90


@dataclass(frozen=True)
class SeedResult:
    user: User
    events: int
    encouragements: int
    self_reports: int


def seed_demo(
    *, email: str = DEMO_EMAIL, password: str = DEMO_PASSWORD, days: int = 90, now: datetime | None = None
) -> SeedResult:
    """(Re)create the demo user's history: the same rows for the same day, whatever ran before (idempotent)."""
    now = now or timezone.now()
    with transaction.atomic():
        user, created = User.objects.get_or_create(
            email=email, defaults={"display_name": "Demo", "time_zone": DEMO_TIME_ZONE}
        )
        if created or not user.check_password(password):
            user.set_password(password)
            user.save(update_fields=["password"])
        MoodEvent.objects.filter(user=user).delete()  # and, with them, the corrections of their minutes
        SelfReport.objects.filter(user=user).delete()
        MoodQuarter.objects.filter(user=user).delete()
        Encouragement.objects.filter(user=user).delete()
        # A stand-in device: its token hash belongs to no token anyone holds, so it can never stream.
        device, _ = Device.objects.get_or_create(
            user=user,
            name=DEMO_DEVICE,
            defaults={"token_hash": hashlib.sha256(f"demo-device-{user.pk}".encode()).hexdigest()},
        )
        EncouragementSettings.objects.update_or_create(
            user=user, defaults={"enabled": True, "sadness_threshold": 0.3, "sustain_minutes": 15}
        )
        tz = user.zone
        today = now.astimezone(tz).date()
        events = bulk_insert(
            build_events(
                user_id=user.pk,
                device_id=device.pk,
                tz=tz,
                first_day=today - timedelta(days=days - 1),
                days=days,
                seed=SEED,
                until=now,
            )
        )
        encouragements = _encouragements(user=user, now=now, days=days)
        self_reports = _own_word(user=user, now=now)
        # Paired before its first minute, last seen when its last minute ended: what the Devices page
        # would say had it streamed them.
        span = MoodEvent.objects.filter(device=device).aggregate(first=Min("started_at"), last=Max("ended_at"))
        Device.objects.filter(pk=device.pk).update(
            created_at=(span["first"] or now) - timedelta(minutes=5), last_seen_at=span["last"]
        )
    return SeedResult(user=user, events=events, encouragements=encouragements, self_reports=self_reports)


NOTES = ("", "", "", "long meeting", "tired", "after lunch", "quiet afternoon", "deadline")


def _own_word(*, user: User, now: datetime) -> int:
    """What a person says now and then: a self-report during some sessions of the last two weeks (mostly
    what the reading said, sometimes not) and a few "that's not right" corrections, said later that day.
    A correction is filed at its minute (``SelfReport.felt_at``), a self-report at its moment."""
    rng = random.Random(SEED + 1)  # noqa: S311 - made-up demo data, reproducible on purpose
    recent = list(
        MoodEvent.objects.filter(user=user, started_at__gte=now - timedelta(days=14)).order_by("started_at", "id")
    )
    if not recent:
        return 0
    reports: list[SelfReport] = []
    # Self-reports: a few per week, plus one in today's last session.
    for window in [*rng.sample(recent, k=min(9, len(recent))), recent[-1]]:
        felt = window.dominant if rng.random() < 0.7 else rng.choice(("happy", "neutral", "sad"))
        said = min(window.started_at + timedelta(seconds=30), now)
        reports.append(SelfReport(user=user, emotion=felt, note=rng.choice(NOTES), created_at=said, felt_at=said))
    # Corrections: some minutes read wrong, corrected a few hours later (never after now).
    for window in rng.sample(recent[:-60] or recent, k=min(4, len(recent))):
        felt = rng.choice([emotion for emotion in EMOTIONS if emotion != window.dominant])
        said = min(window.ended_at + timedelta(hours=rng.randint(1, 6)), now)
        reports.append(
            SelfReport(
                user=user,
                emotion=felt,
                note=rng.choice(NOTES),
                created_at=said,
                felt_at=window.started_at,
                event=window,
            )
        )
    SelfReport.objects.bulk_create(reports)
    return len(reports)


def _encouragements(*, user: User, now: datetime, days: int) -> int:
    """A nudge at the saddest stored minute of some days, with the numbers that would have fired it."""
    rng = random.Random(SEED)  # noqa: S311 - made-up demo data, reproducible on purpose
    nudges = []
    for offset in sorted(rng.sample(range(1, days), k=min(12, days - 1)), reverse=True):
        day_start = now - timedelta(days=offset)
        saddest = (
            MoodEvent.objects.filter(user=user, started_at__gte=day_start, started_at__lt=day_start + timedelta(days=1))
            .order_by("-sad")
            .first()
        )
        if saddest is None:
            continue
        nudges.append(
            Encouragement(
                user=user,
                sent_at=saddest.ended_at,
                message=rng.choice(
                    ("Take a breath; you are doing better than you think.", "How about a short walk and some water?")
                ),
                trigger={
                    "mean_sadness": round(max(0.3, saddest.sad), 4),
                    "threshold": 0.3,
                    "minutes": 15,
                    "windows": 15,
                    "coverage": 1.0,
                },
                feedback=rng.choice(("", "helpful", "not_helpful")),
            )
        )
    Encouragement.objects.bulk_create(nudges)
    return len(nudges)


class Command(BaseCommand):
    help = (
        "Create (or reset) the demo account with 90 days of made-up mood history and a few encouragements. "
        "Running it again gives the same data; only the demo account is touched."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--email", default=DEMO_EMAIL)
        parser.add_argument("--password", default=DEMO_PASSWORD)
        parser.add_argument("--days", type=int, default=90, choices=range(1, 367), metavar="1..366")

    def handle(self, *args: Any, **options: Any) -> None:
        result = seed_demo(email=options["email"], password=options["password"], days=options["days"])
        self.stdout.write(
            f"Demo account {result.user.email} (password {options['password']}): "
            f"{result.events} mood records, {result.encouragements} encouragements, "
            f"{result.self_reports} self-reports and corrections."
        )
