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
from functools import cached_property

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from inference.emotions import EMOTIONS
from moods.history.rollup import quarter_of
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

    @cached_property
    def shares(self) -> dict[str, float]:
        """Each expression's share over the windows that saw a face, weighted by their length (read once
        the session is complete: ``group_sessions`` has added every window)."""
        return _shares(self.windows)

    @property
    def dominant(self) -> str | None:
        return _dominant(self.shares)

    def groups(self, tz: tzinfo) -> list[MinuteGroup]:
        """The session's minutes by clock quarter hour (09:00, 09:15...), oldest first, told in ``tz``.

        A long session is read group by group: a two-hour one is eight lines, not 120 rows.
        Every time zone's offset is whole quarter hours, so UTC quarters are local ones too.
        """
        groups: list[MinuteGroup] = []
        for window in self.windows:
            quarter = quarter_of(window.started_at)
            if groups and groups[-1].quarter == quarter:
                groups[-1].windows.append(window)
            else:
                groups.append(MinuteGroup(quarter=quarter, device_id=window.device_id, windows=[window]))
        for group in groups:
            group.label = group.summary(tz)
        return groups

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


def _shares(windows: Sequence[MoodEvent]) -> dict[str, float]:
    """Each expression's share over the windows that saw a face, weighted by their length."""
    total = 0.0
    sums = dict.fromkeys(EMOTIONS, 0.0)
    for window in windows:
        if window.faces > 0:
            seconds = _seconds(window)
            total += seconds
            for emotion in EMOTIONS:
                sums[emotion] += getattr(window, emotion) * seconds
    if not total:
        return dict.fromkeys(EMOTIONS, 0.0)
    return {emotion: value / total for emotion, value in sums.items()}


def _dominant(shares: dict[str, float]) -> str | None:
    if not any(shares.values()):
        return None
    return max(EMOTIONS, key=lambda emotion: shares[emotion])


@dataclass
class MinuteGroup:
    """A session's windows that start in one clock quarter hour: a line that opens to its minutes."""

    quarter: datetime
    device_id: int | None
    windows: list[MoodEvent]
    label: str = ""  # ``summary`` in the person's time zone

    @property
    def key(self) -> str:
        """Names the group in the page's address (``?minutes=``): its quarter (Unix seconds) and source."""
        return f"{int(self.quarter.timestamp())}-{self.device_id or 0}"

    @property
    def start(self) -> datetime:
        return self.windows[0].started_at

    @property
    def end(self) -> datetime:
        return self.windows[-1].ended_at

    @cached_property
    def shares(self) -> dict[str, float]:
        return _shares(self.windows)

    @property
    def dominant(self) -> str | None:
        return _dominant(self.shares)

    def summary(self, tz: tzinfo) -> str:
        """``09:15-09:30, 15 minutes, mostly neutral, 12% sad`` in the person's time zone."""
        start, end = self.start.astimezone(tz), self.end.astimezone(tz)
        count = len(self.windows)
        head = f"{start:%H:%M}\N{EN DASH}{end:%H:%M}, {count} minute{'s' if count != 1 else ''}"
        dominant = self.dominant
        if dominant is None:
            return f"{head}, no face seen"
        sad = round(self.shares["sad"] * 100)
        if dominant == "sad":
            return f"{head}, mostly sad ({sad}%)"
        return f"{head}, mostly {dominant}, {sad}% sad"


def group_sessions(windows: Iterable[MoodEvent], nudges: Iterable[Encouragement] = ()) -> list[Session]:
    """Sessions of ``windows`` (any order), newest first; each nudge joins the session it was sent in.

    Each source keeps its own sessions, so two devices streaming at once make two sessions.
    """
    sessions: list[Session] = []
    latest: dict[int | None, Session] = {}
    for window in sorted(windows, key=lambda window: (window.started_at, window.pk or 0)):
        current = latest.get(window.device_id)
        if current is not None and window.started_at - current.windows[-1].ended_at <= GAP:
            current.windows.append(window)
        else:
            latest[window.device_id] = Session(windows=[window])
            sessions.append(latest[window.device_id])
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


# The day's strip adds the windows up per slice of this many minutes (at most 144 a day).
SLICE_MINUTES = 10
# Bottom to top: sadness first (the figure people look for), neutral last, on top.
STACK_ORDER = ("sad", "happy", "angry", "disgust", "fear", "surprise", "neutral")


@dataclass(frozen=True)
class Slice:
    """``SLICE_MINUTES`` of the day's strip: where it sits and its expressions stacked to 100."""

    offset: int  # minutes after the day's start
    length: int  # minutes
    segments: tuple[tuple[str, float, float], ...]  # (emotion, y, height), y from the top, in 0..100
    label: str  # "09:10-09:20: sad 17%, happy 20%, neutral 49%"


def day_strip(windows: Iterable[MoodEvent], *, day_start: datetime, day_end: datetime, tz: tzinfo) -> list[Slice]:
    """The day's windows added up per ``SLICE_MINUTES`` (by the minute they start), each slice's shares stacked.

    Only slices with observations are returned: gaps are times without the camera.
    """
    limit = round((day_end - day_start).total_seconds() / 60)
    sums: dict[int, dict[str, float]] = {}
    for window in windows:
        if window.faces <= 0 or not day_start <= window.started_at < day_end:
            continue
        index = int((window.started_at - day_start).total_seconds() // 60) // SLICE_MINUTES
        seconds = _seconds(window)
        bucket = sums.setdefault(index, dict.fromkeys(("seconds", *EMOTIONS), 0.0))
        bucket["seconds"] += seconds
        for emotion in EMOTIONS:
            bucket[emotion] += getattr(window, emotion) * seconds
    slices = []
    for index in sorted(sums):
        bucket = sums[index]
        shares = {emotion: bucket[emotion] / bucket["seconds"] for emotion in EMOTIONS}
        total = sum(shares.values()) or 1.0
        segments, top = [], 100.0
        for emotion in STACK_ORDER:
            height = round(100 * shares[emotion] / total, 2)
            if height > 0:
                top -= height
                segments.append((emotion, round(max(top, 0.0), 2), height))
        offset = index * SLICE_MINUTES
        length = min(SLICE_MINUTES, limit - offset)
        start = (day_start + timedelta(minutes=offset)).astimezone(tz)
        end = (day_start + timedelta(minutes=offset + length)).astimezone(tz)
        named = sorted(EMOTIONS, key=lambda emotion: -shares[emotion])[:3]
        mix = ", ".join(f"{emotion} {round(100 * shares[emotion])}%" for emotion in named)
        slices.append(
            Slice(
                offset=offset,
                length=length,
                segments=tuple(segments),
                label=f"{start:%H:%M}\N{EN DASH}{end:%H:%M}: {mix}",
            )
        )
    return slices


def strip_marks(strip: Sequence[Slice]) -> SafeString:
    """The strip's SVG marks: a titled group of stacked rects per slice.

    Built here rather than in the template: a day has up to 144 slices of up to 7 rects, and the
    template engine's per-variable cost made them most of the day page's time.
    """
    parts = []
    for piece in strip:
        rects = "".join(
            f'<rect class="px-{emotion}" x="{piece.offset}" y="{y}" width="{piece.length}" height="{height}"></rect>'
            for emotion, y, height in piece.segments
        )
        parts.append(f"<g><title>{escape(piece.label)}</title>{rects}</g>")
    return mark_safe("".join(parts))  # noqa: S308 - numbers, emotion names and escaped labels only


@dataclass(frozen=True)
class StripFrame:
    """The hours the strip shows: from ``start`` minutes, ``width`` minutes, with hour labels evenly spaced."""

    start: int
    width: int
    hours: tuple[str, ...]


def strip_frame(strip: Sequence[Slice], *, day_minutes: int, least_hours: int = 6, most_labels: int = 8) -> StripFrame:
    """Only the observed hours (at least ``least_hours``), so a phone's narrow strip is not mostly empty."""
    last_hour = -(-day_minutes // 60)
    if not strip:
        return StripFrame(start=0, width=day_minutes, hours=())
    first = strip[0].offset // 60
    last = -(-(strip[-1].offset + strip[-1].length) // 60)
    hours = max(last - first, least_hours)
    step = -(-hours // most_labels)
    hours = -(-hours // step) * step
    if first + hours > last_hour:  # keep to the day: move the start back instead
        first = max(0, last_hour - hours)
        hours = min(hours, last_hour - first)
    labels = tuple(f"{(first + offset) % 24:02d}" for offset in range(0, hours, step))
    return StripFrame(start=first * 60, width=min(hours * 60, day_minutes - first * 60), hours=labels)


def _moments(session: Session) -> list[datetime]:
    return [window.started_at for window in session.windows] + [nudge.sent_at for nudge in session.nudges]


def _moments_of_rows(rows: Sequence[MoodEvent | Encouragement]) -> list[datetime]:
    return [row.started_at if isinstance(row, MoodEvent) else row.sent_at for row in rows]


@dataclass(frozen=True)
class TimelineItem:
    """One line of the history timeline: a session, or an encouragement sent outside any session."""

    moment: datetime
    session: Session | None = None
    story: str = ""
    nudge: Encouragement | None = None
    groups: tuple[MinuteGroup, ...] = ()
    # One of ``groups`` is the one the page shows open (``?minutes=``): the session shows open too.
    opened: bool = False


@dataclass(frozen=True)
class SessionsPage:
    items: list[TimelineItem]
    # Pass as ``until`` for the next (older) page; None on the last page.
    older: datetime | None
    # The oldest session goes on beyond this page (it alone is longer than a page).
    cut_short: bool = False


def sessions_page(
    rows: Sequence[MoodEvent | Encouragement], older: datetime | None, *, tz: tzinfo, open_group: str | None = None
) -> SessionsPage:
    """A timeline page's rows (newest first, as ``selectors.timeline`` reads them) as sessions.

    Each session's minutes come in quarter-hour groups (``Session.groups``); ``open_group`` names
    the one group shown open, whose session then shows open.

    A page ends inside a session when the windows of the range go on: that session moves whole
    to the next page (the cursor becomes its newest moment, which ``until`` includes), unless it
    is the only one on the page, which then shows the part that fits and says so.
    """
    windows = [row for row in rows if isinstance(row, MoodEvent)]
    nudges = [row for row in rows if isinstance(row, Encouragement)]
    sessions = group_sessions(windows, nudges)
    cut_short = False
    if older is not None and sessions:
        oldest = min(_moments_of_rows(rows))
        # Sessions that may go on below this page move to the next one, whole; so does any
        # session with a row at or before their newest moment (the next page starts there).
        carried = [session for session in sessions if session.start - GAP <= oldest]
        cursor = older
        while carried:
            cursor = max(moment for session in carried for moment in _moments(session))
            more = [s for s in sessions if s not in carried and min(_moments(s)) <= cursor]
            if not more:
                break
            carried += more
        if carried and len(carried) < len(sessions):
            sessions = [session for session in sessions if session not in carried]
            older = cursor
        elif carried:
            cut_short = True
    items = []
    for session in sessions:
        groups = tuple(session.groups(tz))
        items.append(
            TimelineItem(
                moment=session.end,
                session=session,
                story=session.story(tz),
                groups=groups,
                opened=any(group.key == open_group for group in groups),
            )
        )
    items += [
        TimelineItem(moment=nudge.sent_at, nudge=nudge)
        for nudge in loose_nudges(sessions, nudges)
        if older is None or nudge.sent_at > older
    ]
    items.sort(key=lambda item: item.moment, reverse=True)
    return SessionsPage(items=items, older=older, cut_short=cut_short)
