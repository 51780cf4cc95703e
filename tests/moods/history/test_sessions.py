"""Sessions for the history timeline and the day's strip: pure functions over mood windows."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from accounts.models import Device
from moods.history.sessions import Slice, day_strip, group_sessions, loose_nudges, sessions_page, strip_frame
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


def test_two_devices_streaming_at_once_make_two_sessions() -> None:
    windows = [window(minute, device=device) for minute in range(0, 20) for device in (LAPTOP, DESK)]

    sessions = group_sessions(windows)

    assert sorted((s.source, s.minutes) for s in sessions) == [("Chrome at the desk", 20), ("Chrome on laptop", 20)]


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


def test_the_day_strip_stacks_each_ten_minutes_shares_sad_at_the_bottom() -> None:
    windows = [window(0, sad=0.1, happy=0.2), window(1, sad=0.3, happy=0.2), window(30, happy=0.8, sad=0.0)]

    strip = day_strip(windows, day_start=DAY, day_end=DAY + timedelta(days=1), tz=BERLIN)

    assert [(piece.offset, piece.length) for piece in strip] == [(540, 10), (570, 10)]
    first = strip[0]
    assert first.segments[0] == ("sad", 80.0, 20.0), "the two minutes' mean sadness, drawn from the bottom"
    assert [emotion for emotion, _, _ in first.segments] == ["sad", "happy", "neutral"]
    assert sum(height for _, _, height in first.segments) == 100
    assert first.label == "09:00\N{EN DASH}09:10: neutral 60%, happy 20%, sad 20%"
    assert [emotion for emotion, _, _ in strip[1].segments] == ["happy", "neutral"]


def test_the_day_strip_keeps_to_the_day() -> None:
    late = window(0)
    late.started_at = DAY + timedelta(hours=23, minutes=55)
    late.ended_at = late.started_at + timedelta(minutes=1)
    yesterday = window(0)
    yesterday.started_at = DAY - timedelta(minutes=5)

    strip = day_strip([late, yesterday], day_start=DAY, day_end=DAY + timedelta(days=1), tz=BERLIN)

    assert [(piece.offset, piece.length) for piece in strip] == [(24 * 60 - 10, 10)]


def piece(offset: int) -> Slice:
    return Slice(offset=offset, length=10, segments=(("neutral", 0.0, 100.0),), label="")


def test_the_strip_shows_the_observed_hours_at_least_six_with_even_labels() -> None:
    frame = strip_frame([piece(8 * 60 + 10), piece(16 * 60 + 50)], day_minutes=1440)
    # 08:10-17:00 is 9 hours: labels every 2 hours, so the frame widens to 10 (08:00-18:00).
    assert (frame.start, frame.width) == (8 * 60, 10 * 60)
    assert frame.hours == ("08", "10", "12", "14", "16")

    short = strip_frame([piece(9 * 60)], day_minutes=1440)
    assert (short.start, short.width, short.hours) == (9 * 60, 6 * 60, ("09", "10", "11", "12", "13", "14"))

    late = strip_frame([piece(22 * 60 + 30)], day_minutes=1440)
    assert (late.start, late.width) == (18 * 60, 6 * 60), "kept to the day by starting earlier"

    assert strip_frame([], day_minutes=1380).width == 1380


def newest_first(*rows: MoodEvent | Encouragement) -> list[MoodEvent | Encouragement]:
    return sorted(rows, key=lambda row: row.started_at if isinstance(row, MoodEvent) else row.sent_at, reverse=True)


def test_a_page_that_ends_inside_a_session_carries_it_whole_to_the_next_page() -> None:
    newer = [window(minute) for minute in range(30, 40)]
    partial = [window(minute) for minute in range(15, 20)]  # the page's rows stop inside this session
    before = Encouragement(pk=7, sent_at=DAY + timedelta(hours=9, minutes=12), message="Tea?")
    cursor = partial[0].started_at

    page = sessions_page(newest_first(*newer, *partial, before), cursor, tz=BERLIN)

    assert [item.session.minutes for item in page.items if item.session] == [10]
    assert page.older == partial[-1].started_at, "the next page starts with the carried session's newest window"
    assert all(item.nudge is None for item in page.items), "an older nudge waits for the next page"
    assert not page.cut_short


def test_a_session_longer_than_a_page_shows_what_fits_and_says_so() -> None:
    windows = [window(minute) for minute in range(0, 30)]

    page = sessions_page(newest_first(*windows), windows[0].started_at, tz=BERLIN)

    assert [item.session.minutes for item in page.items if item.session] == [30]
    assert page.cut_short
    assert page.older == windows[0].started_at


def test_the_last_page_keeps_every_session_and_loose_nudge_newest_first() -> None:
    windows = [window(minute) for minute in range(0, 5)]
    late = Encouragement(pk=8, sent_at=DAY + timedelta(hours=20), message="Sleep well.")

    page = sessions_page(newest_first(*windows, late), None, tz=BERLIN)

    assert [item.nudge for item in page.items] == [late, None]
    assert page.items[1].story == "09:00\N{EN DASH}09:05, Chrome on laptop, mostly neutral, 10% sad"
    assert page.older is None


def test_a_page_ending_inside_two_devices_sessions_carries_both_and_repeats_no_row() -> None:
    newest = [window(minute) for minute in range(60, 70)]
    both = [window(minute, device=device) for minute in range(10, 30) for device in (LAPTOP, DESK)]
    rows = newest_first(*newest, *both)

    page = sessions_page(rows, both[0].started_at, tz=BERLIN)

    assert [item.session.minutes for item in page.items if item.session] == [10]
    assert page.older == max(row.started_at for row in both)
    assert all(row.started_at > page.older for item in page.items if item.session for row in item.session.windows)


def test_a_long_session_reads_by_clock_quarter_hour_each_with_its_summary() -> None:
    # 09:07-11:07: a two-hour session is nine lines, not 120 rows.
    windows = [window(minute, sad=0.4 if minute < 15 else 0.1, happy=0.1) for minute in range(7, 127)]

    [session] = group_sessions(windows)
    groups = session.groups(BERLIN)

    assert [len(group.windows) for group in groups] == [8, 15, 15, 15, 15, 15, 15, 15, 7]
    assert [group.start.astimezone(BERLIN).strftime("%H:%M") for group in groups[:3]] == ["09:07", "09:15", "09:30"]
    assert groups[0].label == "09:07\N{EN DASH}09:15, 8 minutes, mostly neutral, 40% sad"
    assert groups[-1].label == "11:00\N{EN DASH}11:07, 7 minutes, mostly neutral, 10% sad"
    assert [window for group in groups for window in group.windows] == session.windows
    # The key names the quarter (Unix seconds) and the source: two devices never share one.
    assert groups[1].key == f"{int(groups[1].quarter.timestamp())}-1"
    assert len({group.key for group in groups}) == len(groups)


def test_a_sad_quarter_hour_and_one_without_a_face_say_so() -> None:
    sad = [window(minute, sad=0.7, happy=0.1) for minute in range(12, 15)]
    faceless = [window(minute) for minute in range(15, 17)]
    for unseen in faceless:
        unseen.faces = 0

    groups = group_sessions([*sad, *faceless])[0].groups(BERLIN)

    assert [group.label for group in groups] == [
        "09:12\N{EN DASH}09:15, 3 minutes, mostly sad (70%)",
        "09:15\N{EN DASH}09:17, 2 minutes, no face seen",
    ]
    assert groups[1].dominant is None


def test_the_page_opens_the_session_that_holds_the_open_quarter_hour() -> None:
    first = [window(minute) for minute in range(0, 40)]
    second = [window(minute, device=DESK) for minute in range(0, 20)]
    wanted = group_sessions(second)[0].groups(BERLIN)[1].key

    page = sessions_page(newest_first(*first, *second), None, tz=BERLIN, open_group=wanted)

    assert [(item.session.source, item.opened) for item in page.items if item.session] == [
        ("Chrome on laptop", False),
        ("Chrome at the desk", True),
    ]
    assert not any(item.opened for item in sessions_page(newest_first(*first), None, tz=BERLIN).items)
