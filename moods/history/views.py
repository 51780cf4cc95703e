"""The history pages: a range's report (page and JSON) and its timeline."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from accounts.models import User
from inference.emotions import EMOTIONS
from moods.history import model_card, selectors, sessions
from moods.history.aggregates import Span
from moods.history.forms import HistoryRangeForm, parse_moment
from moods.history.report import build_report
from moods.http import local_today, signed_in_user
from moods.models import MoodEvent
from moods.personal import selectors as personal_selectors

# Mood windows (about a minute each) read for one page of sessions; a day has up to 1440.
TIMELINE_PER_PAGE = 600
# The calendars' column heads: the day's name (for screen readers and hover) and its initial.
WEEKDAY_INITIALS = tuple(
    (name, name[0]) for name in ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
)
# ``?minutes=`` names one quarter hour of a session to open: "<Unix seconds>-<device id, 0: live>".
OPEN_GROUP = re.compile(r"[0-9]{1,12}-[0-9]{1,12}")


def _range(request: HttpRequest, user: User) -> tuple[HistoryRangeForm, Span | None]:
    # No parameters: the last seven days.
    form = HistoryRangeForm(request.GET or {"range": "week"}, today=local_today(user))
    if not form.is_valid():
        return form, None
    return form, Span(first=form.cleaned_data["start"], last=form.cleaned_data["end"], tz=user.zone)


@login_required
@require_safe
def history(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    form, span = _range(request, user)
    context: dict[str, Any] = {
        "form": form,
        "emotions": EMOTIONS,
        "card": model_card.summary(),
        "weekday_initials": WEEKDAY_INITIALS,
    }
    if span is None:
        return render(request, "moods/history.html", context, status=400)
    kind = form.cleaned_data["range"]
    report = build_report(user_id=user.pk, span=span, kind=kind)
    page = selectors.timeline(
        user_id=user.pk, start=span.start, end=span.end, until=_until(request), limit=TIMELINE_PER_PAGE
    )
    open_group = _open_group(request)
    timeline = sessions.sessions_page(page.rows, page.older, tz=user.zone, open_group=open_group)
    # A single day gets its picture: every stored window along the day's hours.
    strip = _day_strip(user, span, page, whole=_until(request) is None) if span.days == 1 else None
    today = local_today(user)
    later_first = span.last + timedelta(days=1)
    shifted = {
        # The span of as many days before, and after (never past today); None at today.
        "earlier": span.previous(),
        "later": Span(first=later_first, last=min(span.last + timedelta(days=span.days), today), tz=span.tz)
        if later_first <= today
        else None,
    }
    context.update(
        report=report,
        # The chart's script reads only the series: the calendar and the weekday x hour map
        # are in the page already (the whole report is at ``history_data``).
        chart_json={"emotions": list(EMOTIONS), "series": report.series()},
        span=span,
        kind=kind,
        timeline=timeline,
        strip=strip,
        strip_desc="; ".join(piece.label for piece in strip or []),
        strip_marks=sessions.strip_marks(strip or []),
        frame=sessions.strip_frame(strip or [], day_minutes=round((span.end - span.start).total_seconds() / 60)),
        timeline_is_first=_until(request) is None,
        open_group=open_group,
        shifted=shifted,
        query_without_page=_without(request, "until", "minutes"),
        query_without_group=_without(request, "minutes"),
        agreement=personal_selectors.agreement(user_id=user.pk, start=span.start, end=span.end),
        self_reports=personal_selectors.self_reports(user_id=user.pk, start=span.start, end=span.end),
    )
    return render(request, "moods/history.html", context)


def _day_strip(user: User, span: Span, page: selectors.TimelinePage, *, whole: bool) -> list[sessions.Slice]:
    """The day's strip; from the timeline's first page when it holds every window of the day (no second read)."""
    windows = (
        [row for row in page.rows if isinstance(row, MoodEvent)]
        if whole and page.older is None
        else selectors.windows_between(user_id=user.pk, start=span.start, end=span.end)
    )
    return sessions.day_strip(windows, day_start=span.start, day_end=span.end, tz=user.zone)


def _without(request: HttpRequest, *names: str) -> str:
    query = request.GET.copy()
    for name in names:
        query.pop(name, None)
    return query.urlencode()


def _open_group(request: HttpRequest) -> str | None:
    """The session minutes group to show open (``minutes``, a ``MinuteGroup.key``); None for a malformed one."""
    raw = request.GET.get("minutes", "")
    return raw if OPEN_GROUP.fullmatch(raw) else None


def _until(request: HttpRequest) -> datetime | None:
    """The timeline's keyset cursor (an ISO moment); a malformed or out-of-range one means the first page."""
    return parse_moment(request.GET.get("until", ""))


@login_required
@require_safe
def history_data(request: HttpRequest) -> JsonResponse:
    user = signed_in_user(request)
    form, span = _range(request, user)
    if span is None:
        return JsonResponse({"error": "invalid_range", "errors": form.errors.get_json_data()}, status=400)
    return JsonResponse(build_report(user_id=user.pk, span=span, kind=form.cleaned_data["range"]).as_json())
