"""Made-up but plausible mood data: for the demo account (``seed_demo``) and the history benchmark.

Every window is one minute with 60 frames; scores drift with the day (a slow "how the week
goes" curve with a few low stretches), the hour (brighter evenings) and noise. Seeded, so the
same arguments give the same rows. Rows are built in memory in chunks for ``bulk_create``.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

from inference.emotions import EMOTIONS
from moods.history import rollup
from moods.models import MoodEvent, window_seconds

# Typical expression mix of someone at a screen: mostly neutral, some happy, a little of the rest.
BASE = {"angry": 0.05, "disgust": 0.01, "fear": 0.04, "happy": 0.22, "sad": 0.12, "surprise": 0.04, "neutral": 0.52}


@dataclass(frozen=True)
class Session:
    start: time
    minutes: int


def day_sessions(day: date, rng: random.Random) -> list[Session]:
    """When the person sat at the camera that day: fewer and shorter sessions at weekends."""
    if day.weekday() >= 5:
        if rng.random() < 0.4:
            return []
        return [Session(time(rng.randint(10, 16), rng.choice((0, 15, 30))), rng.randint(30, 120))]
    sessions = [Session(time(rng.randint(8, 9), rng.choice((0, 10, 30, 45))), rng.randint(90, 180))]
    sessions.append(Session(time(rng.randint(13, 14), rng.choice((0, 20, 40))), rng.randint(60, 200)))
    if rng.random() < 0.5:
        sessions.append(Session(time(rng.randint(19, 21), rng.choice((0, 30))), rng.randint(20, 90)))
    return sessions


# The demo's "now": the last stored minute ended this long ago (so nothing looks like streaming now),
# in a session that began at most this long before.
RECENT_GAP = timedelta(minutes=3)
RECENT_SESSION = timedelta(minutes=40)


def today_sessions(now: datetime, tz: tzinfo, rng: random.Random) -> list[Session]:
    """Today's sessions up to ``now``: the day's usual ones that were over before the last one, and the
    last one, which ends ``RECENT_GAP`` before ``now`` (a demo opened on a Sunday morning has a today)."""
    local_now = now.astimezone(tz)
    midnight = datetime.combine(local_now.date(), time.min, tzinfo=tz)
    end = (local_now - RECENT_GAP).replace(second=0, microsecond=0)
    start = max(midnight, end - RECENT_SESSION)
    minutes = int((end - start).total_seconds() // 60)
    if minutes < 1:
        return []
    earlier = [
        session
        for session in day_sessions(local_now.date(), rng)
        if datetime.combine(local_now.date(), session.start, tzinfo=tz) + timedelta(minutes=session.minutes)
        <= start - timedelta(minutes=30)
    ]
    return [*earlier, Session(start.time(), minutes)]


def _scores(*, low: float, hour: int, rng: random.Random) -> dict[str, float]:
    weights = dict(BASE)
    weights["sad"] *= 1 + 2.5 * low
    weights["happy"] *= max(0.2, 1 - low) * (1.35 if hour >= 18 else 1.0)
    noisy = {emotion: weight * rng.lognormvariate(0, 0.45) for emotion, weight in weights.items()}
    total = sum(noisy.values())
    scores = {emotion: round(value / total, 6) for emotion, value in noisy.items()}
    # Rounding may leave a tiny remainder; neutral absorbs it so the scores still sum to 1.
    scores["neutral"] = round(max(0.0, 1 - sum(v for e, v in scores.items() if e != "neutral")), 6)
    return scores


def low_mood(day_index: int, rng: random.Random) -> float:
    """0 (fine) .. 1 (a low stretch): a slow wave plus day-to-day noise."""
    wave = 0.5 + 0.5 * math.sin(day_index / 9.0)
    return min(1.0, max(0.0, 0.6 * wave**3 + rng.uniform(-0.1, 0.25)))


def build_events(
    *,
    user_id: int,
    device_id: int | None,
    tz: tzinfo,
    first_day: date,
    days: int,
    seed: int,
    sessions: list[Session] | None = None,
    until: datetime | None = None,
) -> Iterator[MoodEvent]:
    """Unsaved one-minute ``MoodEvent`` rows for local days first_day.. (``sessions`` fixed, or varying by day).

    With ``until`` and varying sessions, the day of ``until`` gets ``today_sessions``: minutes up to
    a few before ``until``, whatever the hour."""
    rng = random.Random(seed)  # noqa: S311 - made-up demo data, reproducible on purpose
    last_day = until.astimezone(tz).date() if until is not None else None
    for index in range(days):
        day = first_day + timedelta(days=index)
        low = low_mood(index, rng)
        if sessions is not None:
            todays = sessions
        elif day == last_day and until is not None:
            todays = today_sessions(until, tz, rng)
        else:
            todays = day_sessions(day, rng)
        for session in todays:
            start = datetime.combine(day, session.start, tzinfo=tz)
            for minute in range(session.minutes):
                began = start + timedelta(minutes=minute)
                if until is not None and began + timedelta(minutes=1) > until:
                    return
                local_hour = began.astimezone(tz).hour
                scores = _scores(low=low, hour=local_hour, rng=rng)
                frames = 60
                ended = began + timedelta(minutes=1)
                yield MoodEvent(
                    user_id=user_id,
                    device_id=device_id,
                    started_at=began,
                    ended_at=ended,
                    seconds=window_seconds(began, ended),
                    frames=frames,
                    faces=rng.randint(48, 60),
                    dominant=max(EMOTIONS, key=lambda emotion: scores[emotion]),
                    **scores,
                )


def bulk_insert(events: Iterator[MoodEvent], *, batch_size: int = 5000) -> int:
    """Insert in batches (never the whole history in memory), then rebuild the users' quarter-hour
    rollup (``bulk_create`` skips ``MoodEvent.save``); returns the count."""
    batch: list[MoodEvent] = []
    count = 0
    users: set[int] = set()
    for event in events:
        users.add(event.user_id)
        batch.append(event)
        if len(batch) >= batch_size:
            MoodEvent.objects.bulk_create(batch)
            count += len(batch)
            batch = []
    if batch:
        MoodEvent.objects.bulk_create(batch)
        count += len(batch)
    for user_id in users:
        rollup.rebuild(user_id=user_id)
    return count
