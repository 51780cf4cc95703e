"""Sessions for the history timeline and the day's strip: pure functions over mood windows."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from accounts.models import Device
from moods.history.sessions import day_strip, group_sessions, loose_nudges
from moods.models import Encouragement, MoodEvent

BERLIN = ZoneInfo("Europe/Berlin")
LAPTOP = Device(pk=1, name="Chrome on laptop")
DESK = Device(pk=2, name="Chrome at the desk")
DAY = datetime(2026, 3, 10, tzinfo=BERLIN)


def window(minute: int, *, device: Device | None = LAPTOP, sad: float = 0.1, happy: float = 0.2) -> MoodEvent:
    start = DAY + timedelta(hours=9, minutes=minute)
    neutral = 1 - sad - happy
    scores = {
        "angry": 0.0,
        "disgust": 0.0,
        "fear": 0.0,
        "happy": happy,
        "sad": sad,
        "surprise": 0.0,
        "neutral": neutral,
    }
    dominant = max(scores, key=lambda emotion: scores[emotion])
    event = MoodEvent(
        started_at=start, ended_at=start + timedelta(minutes=1), frames=60, faces=60, dominant=dominant, **scores
    )
    event.seconds = 60.0
    event.device = device
    return event


def test_consecutive_windows_of_one_device_make_one_session_told_in_one_line() -> None:
    windows = [window(minute, sad=0.12) for minute in range(0, 106)]

    [session] = group_sessions(windows)

    assert (session.minutes, session.source, session.dominant) == (106, "Chrome on laptop", "neutral")
    assert session.story(BERLIN) == "09:00\N{EN DASH}10:46, Chrome on laptop, mostly neutral, 12% sad"


def test_a_pause_or_another_device_starts_a_new_session_newest_first() -> None:
    windows = [
        *(window(minute) for minute in range(0, 10)),
        *(window(minute) for minute in range(14, 20)),  # 4 minutes later: a new session
        *(window(minute, device=DESK) for minute in range(20, 25)),  # another device
        *(window(minute, device=None, sad=0.6) for minute in range(25, 27)),  # the live check-in page
    ]

    sessions = group_sessions(reversed(windows))

    assert [(s.source, s.minutes) for s in sessions] == [
        ("Live check-in", 2),
        ("Chrome at the desk", 5),
        ("Chrome on laptop", 6),
        ("Chrome on laptop", 10),
    ]
    assert sessions[0].story(BERLIN) == "09:25\N{EN DASH}09:27, Live check-in, mostly sad (60%)"


def test_a_gap_of_three_minutes_still_continues_the_session() -> None:
    assert len(group_sessions([window(0), window(4)])) == 1  # ended 09:01, next at 09:04


def test_the_shares_weigh_each_window_by_its_length() -> None:
    short = window(0, sad=0.9, happy=0.0)
    short.ended_at = short.started_at + timedelta(seconds=20)
    short.seconds = 20.0
    long = window(1, sad=0.1, happy=0.0)

    [session] = group_sessions([short, long])

    assert round(session.shares["sad"], 4) == round((0.9 * 20 + 0.1 * 60) / 80, 4)


def test_encouragements_join_the_session_they_were_sent_in_and_the_rest_stay_loose() -> None:
    windows = [window(minute) for minute in range(0, 30)]
    during = Encouragement(pk=1, sent_at=DAY + timedelta(hours=9, minutes=12), message="Breathe.")
    later = Encouragement(pk=2, sent_at=DAY + timedelta(hours=15), message="Tea?")

    sessions = group_sessions(windows, [during, later])

    assert sessions[0].nudges == [during]
    assert loose_nudges(sessions, [during, later]) == [later]


def test_the_day_strip_merges_neighbours_with_the_same_expression_and_places_them_by_local_time() -> None:
    windows = [window(0), window(1), window(2, sad=0.7), window(30, happy=0.8, sad=0.0)]

    runs = day_strip(windows, day_start=DAY, day_end=DAY + timedelta(days=1), tz=BERLIN)

    assert [(run.offset, run.length, run.dominant) for run in runs] == [
        (540, 2, "neutral"),
        (542, 1, "sad"),
        (570, 1, "happy"),
    ]
    assert runs[0].label == "09:00\N{EN DASH}09:02 mostly neutral"


def test_the_day_strip_clips_windows_to_the_day() -> None:
    late = window(0)
    late.started_at = DAY + timedelta(hours=23, minutes=59, seconds=30)
    late.ended_at = late.started_at + timedelta(minutes=1)

    [run] = day_strip([late], day_start=DAY, day_end=DAY + timedelta(days=1), tz=BERLIN)

    assert (run.offset, run.length) == (24 * 60 - 1, 1)
