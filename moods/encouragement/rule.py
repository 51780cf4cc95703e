"""The encouragement rule: a pure function of the settings, the recent windows and the log.

``decide`` says whether to send an encouragement now, and why (or why not). It reads no
clock and no database: the caller passes ``now``, the user's time zone and the data, so
every edge (quiet hours across midnight, DST, the cap at local midnight) is testable.

The checks, in order (the first that refuses is the reason):

1. ``disabled``: the user has not opted in.
2. ``quiet_hours``: the user's local time is inside their quiet hours (start inclusive, end
   exclusive; a start after the end wraps midnight; start == end means no quiet hours).
3. ``cooldown``: the last encouragement is less than ``cooldown_minutes`` old.
4. ``daily_cap``: ``daily_cap`` encouragements were already sent on the user's local day.
5. ``not_enough_data``: windows with a face cover less than ``MIN_COVERAGE`` of the last
   ``sustain_minutes`` ("uncertain" windows do not count).
6. ``below_threshold``: the face-weighted mean sadness of those windows is below the threshold.
7. ``send``, ``with_resources`` when the user enabled support resources and the daily mean
   sadness was at or above the threshold on each of the last ``low_mood_days`` local days
   (today included).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any, Final, Literal

Reason = Literal["disabled", "quiet_hours", "cooldown", "daily_cap", "not_enough_data", "below_threshold", "send"]

# Windows with a face must cover this share of the sustain period (the camera may miss a few).
MIN_COVERAGE: Final = 0.8

BUILT_IN_MESSAGES: Final[tuple[str, ...]] = (
    "You have been carrying something heavy for a while. A few slow breaths might help.",
    "How about a short break? Stand up, stretch, and look at something far away.",
    "A glass of water and a minute by the window can do more than it sounds.",
    "Is there someone you could send a quick message to? A small hello counts.",
    "You are doing better than you think. Be as kind to yourself as you would be to a friend.",
    "Maybe play a song you love, just for the next three minutes.",
    "Think of one small thing that went well today, however small.",
    "A short walk, even around the room, can shift the day a little.",
    "It is fine to pause. The work will still be here in five minutes.",
    "Loosen your shoulders, unclench your jaw, and breathe out slowly.",
    "Remember something that made you laugh recently. It still counts.",
    "Whatever today brings, you do not have to face all of it at once.",
    "Breathe in for four, hold for four, out for six. Twice more if it helps.",
    "Open a window, or step outside for a minute. Fresh air is a small reset.",
    "You have handled hard days before. This one is allowed to be hard too.",
    "Have you eaten something today? A snack is a kindness to future you.",
    "Pick the next small step, only the next one, and let the rest wait.",
    "Look around the room and name five things you can see. It brings you back to now.",
    "Send a friend a photo of something that made you smile. Sharing counts both ways.",
    "Roll your shoulders back, sit a little taller, and let your breath slow down.",
    "You do not have to feel better right away. Noticing how you feel is already something.",
    "What would you tell a friend who had the day you are having? Tell yourself that.",
    "A cup of tea, a stretch, a song: choose one and give it five minutes.",
    "Tiny progress is still progress. You are allowed to count it.",
    "Rest your eyes for a moment: look at something twenty feet away for twenty seconds.",
    "If something is weighing on you, writing it down in one sentence can make it lighter.",
    "Is there one thing you could take off today's list? Doing less is sometimes the answer.",
    "Put a hand on your chest and take three slow breaths. You are here, and that matters.",
    "Think of a place where you feel calm. Stay there in your mind for a few breaths.",
    "Someone out there is glad you exist, even if they have not said it today.",
    "Stand up, shake out your hands, and let your body know it can relax a little.",
    "You are more than a hard afternoon. Be gentle with yourself for the rest of it.",
)

# A message used this recently (counted in encouragements) is not chosen again while another is left.
RECENT_MESSAGES: Final = 10


@dataclass(frozen=True)
class RuleSettings:
    """The part of ``EncouragementSettings`` the rule reads."""

    enabled: bool
    sadness_threshold: float
    sustain_minutes: int
    cooldown_minutes: int
    quiet_hours_start: time | None
    quiet_hours_end: time | None
    daily_cap: int
    support_resources_enabled: bool
    low_mood_days: int


@dataclass(frozen=True)
class WindowSample:
    """One stored mood window, as the rule needs it."""

    start: datetime
    end: datetime
    faces: int
    sad: float
    # "Not sure" windows (too few faces, too little confidence) never count toward a nudge.
    uncertain: bool = False


@dataclass(frozen=True)
class Decision:
    send: bool
    reason: Reason
    mean_sadness: float | None = None
    coverage: float = 0.0
    windows: int = 0
    with_resources: bool = False

    def trigger(self, rules: RuleSettings) -> dict[str, Any]:
        """The numbers that fired, as stored in ``Encouragement.trigger``."""
        trigger: dict[str, Any] = {
            "mean_sadness": None if self.mean_sadness is None else round(self.mean_sadness, 4),
            "threshold": rules.sadness_threshold,
            "minutes": rules.sustain_minutes,
            "windows": self.windows,
            "coverage": round(self.coverage, 4),
        }
        if self.with_resources:
            trigger["low_mood_days"] = rules.low_mood_days
        return trigger


def in_quiet_hours(local: time, start: time | None, end: time | None) -> bool:
    if start is None or end is None or start == end:
        return False
    if start < end:
        return start <= local < end
    return local >= start or local < end


def _overlap(start: datetime, end: datetime, span_start: datetime, span_end: datetime) -> timedelta:
    return max(timedelta(0), min(end, span_end) - max(start, span_start))


def _covered(intervals: list[tuple[datetime, datetime]]) -> timedelta:
    """Length of the union of intervals (two devices may stream at once)."""
    total = timedelta(0)
    reach: datetime | None = None
    for start, end in sorted(intervals):
        clipped = start if reach is None else max(start, reach)
        if end > clipped:
            total += end - clipped
        reach = end if reach is None else max(reach, end)
    return total


def sustained_sadness(
    windows: Sequence[WindowSample], *, now: datetime, minutes: int
) -> tuple[float | None, float, int]:
    """(face-weighted mean sadness, face coverage in [0, 1], windows used) over the last ``minutes``.

    A window straddling the period's start counts with the share of its faces (and time)
    that falls inside the period.
    """
    span_start = now - timedelta(minutes=minutes)
    weighted = weight = 0.0
    used = 0
    intervals: list[tuple[datetime, datetime]] = []
    for window in windows:
        inside = _overlap(window.start, window.end, span_start, now)
        if window.faces <= 0 or window.uncertain or inside <= timedelta(0):
            continue
        share = inside / (window.end - window.start)
        weighted += window.sad * window.faces * share
        weight += window.faces * share
        used += 1
        intervals.append((max(window.start, span_start), min(window.end, now)))
    coverage = _covered(intervals) / timedelta(minutes=minutes)
    return (weighted / weight if weight else None), coverage, used


def persistent_low_mood(daily_sadness: Mapping[date, float], *, today: date, days: int, threshold: float) -> bool:
    """Whether the daily mean sadness reached the threshold on each of the ``days`` local days up to today."""
    return all(daily_sadness.get(today - timedelta(days=offset), -1.0) >= threshold for offset in range(days))


def decide(
    *,
    now: datetime,
    settings_snapshot: RuleSettings,
    recent_windows: Sequence[WindowSample],
    log: Sequence[datetime],
    user_tz: tzinfo,
    daily_sadness: Mapping[date, float] | None = None,
) -> Decision:
    """Whether to encourage the user at ``now`` (aware datetimes throughout), and why.

    ``log`` holds the send times of the user's earlier encouragements (at least those of the
    last day and the cooldown); ``daily_sadness`` maps local dates to that day's face-weighted
    mean sadness (only read when support resources are enabled).
    """
    rules = settings_snapshot
    if not rules.enabled:
        return Decision(send=False, reason="disabled")
    local_now = now.astimezone(user_tz)
    if in_quiet_hours(local_now.time(), rules.quiet_hours_start, rules.quiet_hours_end):
        return Decision(send=False, reason="quiet_hours")
    if log and now - max(log) < timedelta(minutes=rules.cooldown_minutes):
        return Decision(send=False, reason="cooldown")
    today = local_now.date()
    if sum(1 for sent_at in log if sent_at.astimezone(user_tz).date() == today) >= rules.daily_cap:
        return Decision(send=False, reason="daily_cap")
    mean, coverage, used = sustained_sadness(recent_windows, now=now, minutes=rules.sustain_minutes)
    if mean is None or coverage < MIN_COVERAGE:
        return Decision(send=False, reason="not_enough_data", mean_sadness=mean, coverage=coverage, windows=used)
    if mean < rules.sadness_threshold:
        return Decision(send=False, reason="below_threshold", mean_sadness=mean, coverage=coverage, windows=used)
    decision = Decision(send=True, reason="send", mean_sadness=mean, coverage=coverage, windows=used)
    if daily_sadness is None:
        return decision
    return with_support(decision, rules=rules, daily_sadness=daily_sadness, today=today)


def with_support(
    decision: Decision, *, rules: RuleSettings, daily_sadness: Mapping[date, float], today: date
) -> Decision:
    """A decision to send, with support resources when the user asked for them and low mood persisted.

    Separate from ``decide`` so a caller reads the days' sadness only for a nudge that goes out.
    """
    if not decision.send or not rules.support_resources_enabled:
        return decision
    persistent = persistent_low_mood(
        daily_sadness, today=today, days=rules.low_mood_days, threshold=rules.sadness_threshold
    )
    return replace(decision, with_resources=persistent)


def choose_message(
    *,
    own_messages: Sequence[str],
    recent_messages: Sequence[str],
    pick: Callable[[Sequence[str]], str] = secrets.choice,
) -> str:
    """A message that was not among ``recent_messages`` (newest first), never the latest one again.

    The user's own messages are mixed with the built-in ones, and weighted to come about half of
    the time, however many of each there are: they are the words the person chose.
    """
    own = list(dict.fromkeys(message.strip() for message in own_messages if message.strip()))
    built_in = [message for message in BUILT_IN_MESSAGES if message not in own]
    weight = max(1, round(len(built_in) / len(own))) if own else 0
    pool = [*(message for message in own for _ in range(weight)), *built_in]
    recent = set(recent_messages)
    fresh = [message for message in pool if message not in recent]
    if not fresh:  # everything was said lately: anything but the latest one
        latest = recent_messages[0] if recent_messages else None
        fresh = [message for message in pool if message != latest] or pool
    return pick(fresh)
