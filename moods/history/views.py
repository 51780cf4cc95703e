"""The history pages: a range's report (page and JSON) and its timeline."""

from __future__ import annotations

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
from moods.personal import selectors as personal_selectors

# Mood windows (about a minute each) read for one page of sessions; a day has up to 1440.
TIMELINE_PER_PAGE = 600


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
    context: dict[str, Any] = {"form": form, "emotions": EMOTIONS, "card": model_card.summary()}
    if span is None:
        return render(request, "moods/history.html", context, status=400)
    kind = form.cleaned_data["range"]
    report = build_report(user_id=user.pk, span=span, kind=kind)
    page = selectors.timeline(
        user_id=user.pk, start=span.start, end=span.end, until=_until(request), limit=TIMELINE_PER_PAGE
    )
    timeline = sessions.sessions_page(page.rows, page.older, tz=user.zone)
    # A single day gets its picture: every stored window along the day's hours.
    strip = (
        sessions.day_strip(
            selectors.windows_between(user_id=user.pk, start=span.start, end=span.end),
            day_start=span.start,
            day_end=span.end,
            tz=user.zone,
        )
        if span.days == 1
        else None
    )
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
        report_json=report.as_json(),
        span=span,
        kind=kind,
        timeline=timeline,
        strip=strip,
        frame=sessions.strip_frame(strip or [], day_minutes=round((span.end - span.start).total_seconds() / 60)),
        timeline_is_first=_until(request) is None,
        shifted=shifted,
        query_without_page=_without_page(request),
        agreement=personal_selectors.agreement(user_id=user.pk, start=span.start, end=span.end),
        self_reports=personal_selectors.self_reports(user_id=user.pk, start=span.start, end=span.end),
    )
    return render(request, "moods/history.html", context)


def _without_page(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("until", None)
    return query.urlencode()


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
