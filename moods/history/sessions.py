"""Sessions for the history timeline: consecutive mood windows from one source, told as one line.

A person sits at the camera for a stretch: the extension (or the live check-in page) stores one
window a minute. The timeline shows each stretch as a session ("09:02-10:47, Chrome on laptop,
mostly neutral, 12% sad") that expands to its minutes, instead of one row per minute. Windows
belong to the same session when they come from the same device and the next starts at most
``GAP`` after the previous one ended. The day's strip (``day_strip``) draws the same windows as
coloured runs along the 24 hours of a local day.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo

from inference.emotions import EMOTIONS
from moods.models import Encouragement, MoodEvent

# A pause longer than this (a meeting, lunch) starts a new session.
GAP = timedelta(minutes=3)
LIVE_CHECK_IN = "Live check-in"


@dataclass
class Session:
    """Windows in time order (oldest first) and the encouragements sent while they ran."""

    windows: list[MoodEvent]
    nudges: list[Encouragement] = field(default_factory=list)

    @property
    def start(self) -> datetime:
        return self.windows[0].started_at

    @property
    def end(self) -> datetime:
        return self.windows[-1].ended_at

    @property
    def source(self) -> str:
        device = self.windows[0].device
        return device.name if device is not None else LIVE_CHECK_IN

    @property
    def minutes(self) -> int:
        return round(sum(_seconds(window) for window in self.windows) / 60)

    @property
    def shares(self) -> dict[str, float]:
        """Each expression's share over the windows that saw a face, weighted by their length."""
        seen = [window for window in self.windows if window.faces > 0]
        total = sum(_seconds(window) for window in seen)
        if not total:
            return dict.fromkeys(EMOTIONS, 0.0)
        return {
            emotion: sum(getattr(window, emotion) * _seconds(window) for window in seen) / total for emotion in EMOTIONS
        }

    @property
    def dominant(self) -> str | None:
        shares = self.shares
        if not any(shares.values()):
            return None
        return max(EMOTIONS, key=lambda emotion: shares[emotion])

    def story(self, tz: tzinfo) -> str:
        """``09:02-10:47, Chrome on laptop, mostly neutral, 12% sad`` in the person's time zone."""
        start, end = self.start.astimezone(tz), self.end.astimezone(tz)
        when = f"{start:%H:%M}\N{EN DASH}{end:%H:%M}"
        dominant = self.dominant
        if dominant is None:
            return f"{when}, {self.source}, no face seen"
        sad = round(self.shares["sad"] * 100)
        if dominant == "sad":
            return f"{when}, {self.source}, mostly sad ({sad}%)"
        return f"{when}, {self.source}, mostly {dominant}, {sad}% sad"


def _seconds(window: MoodEvent) -> float:
    return window.seconds or (window.ended_at - window.started_at).total_seconds()


def group_sessions(windows: Iterable[MoodEvent], nudges: Iterable[Encouragement] = ()) -> list[Session]:
    """Sessions of ``windows`` (any order), newest first; each nudge joins the session it was sent in."""
    sessions: list[Session] = []
    for window in sorted(windows, key=lambda window: (window.started_at, window.pk or 0)):
        last = sessions[-1] if sessions else None
        if (
            last is not None
            and last.windows[-1].device_id == window.device_id
            and window.started_at - last.windows[-1].ended_at <= GAP
        ):
            last.windows.append(window)
        else:
            sessions.append(Session(windows=[window]))
    for nudge in nudges:
        home = next((s for s in sessions if s.start <= nudge.sent_at <= s.end + GAP), None)
        if home is not None:
            home.nudges.append(nudge)
    sessions.reverse()
    return sessions


def loose_nudges(sessions: Sequence[Session], nudges: Iterable[Encouragement]) -> list[Encouragement]:
    """The encouragements that belong to none of ``sessions``."""
    placed = {nudge.pk for session in sessions for nudge in session.nudges}
    return [nudge for nudge in nudges if nudge.pk not in placed]


@dataclass(frozen=True)
class Run:
    """Consecutive minutes of one dominant expression on the day's strip, from local midnight."""

    offset: int  # minutes after the day's start
    length: int  # minutes
    dominant: str  # an emotion, or "none" for windows without a face
    label: str  # "09:02-09:40 mostly happy"


def day_strip(windows: Iterable[MoodEvent], *, day_start: datetime, day_end: datetime, tz: tzinfo) -> list[Run]:
    """The day's windows as runs of one dominant expression; neighbours with the same one merge."""
    runs: list[Run] = []
    limit = round((day_end - day_start).total_seconds() / 60)
    for window in sorted(windows, key=lambda window: window.started_at):
        start = max(window.started_at, day_start)
        offset = int((start - day_start).total_seconds() // 60)
        length = max(1, round((min(window.ended_at, day_end) - start).total_seconds() / 60))
        if offset >= limit:
            continue
        length = min(length, limit - offset)
        dominant = window.dominant if window.faces > 0 else "none"
        previous = runs[-1] if runs else None
        if previous is not None and previous.dominant == dominant and previous.offset + previous.length >= offset:
            runs[-1] = _run(previous.offset, offset + length - previous.offset, dominant, day_start, tz)
        else:
            runs.append(_run(offset, length, dominant, day_start, tz))
    return runs


def _run(offset: int, length: int, dominant: str, day_start: datetime, tz: tzinfo) -> Run:
    start = (day_start + timedelta(minutes=offset)).astimezone(tz)
    end = (day_start + timedelta(minutes=offset + length)).astimezone(tz)
    what = "no face seen" if dominant == "none" else f"mostly {dominant}"
    return Run(offset=offset, length=length, dominant=dominant, label=f"{start:%H:%M}\N{EN DASH}{end:%H:%M} {what}")
