"""Site pages of moods: landing, dashboard, history (+ JSON), live check-in, settings, encouragement log, your data.

Views stay thin: validate with a form, call selectors/services, render. Times are the user's.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts.conf import rate
from accounts.models import User
from accounts.selectors import devices_for_user
from inference.emotions import EMOTIONS
from moods import conf, data, model_card, selectors, services
from moods.forms import (
    CaptureForm,
    DeleteRangeForm,
    EncouragementForm,
    ExportForm,
    FeedbackForm,
    HistoryRangeForm,
    TimeZoneForm,
)
from moods.history import Span, overall_mix
from moods.models import Encouragement, EncouragementSettings
from moods.report import build_report
from smile_site import ratelimit

TIMELINE_PER_PAGE = 50
LOG_PER_PAGE = 25


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)  # login_required ran first
    return user


def _today(user: User) -> date:
    return timezone.now().astimezone(user.zone).date()


@require_safe
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "home.html")


@login_required
@require_safe
def dashboard(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    now = timezone.now()
    today = Span(first=_today(user), last=_today(user), tz=user.zone)
    streaming = selectors.streaming_device_ids(
        user_id=user.pk, now=now, window=timedelta(seconds=2 * conf.window_seconds())
    )
    context: dict[str, Any] = {
        "has_mood_data": selectors.has_mood_data(user_id=user.pk),
        "today": overall_mix(user_id=user.pk, start=today.start, end=today.end),
        "latest": selectors.latest_event(user_id=user.pk),
        "last_encouragement": selectors.latest_encouragement(user_id=user.pk),
        "devices": [(device, device.pk in streaming) for device in devices_for_user(user=user) if device.is_active],
        "live_page_streaming": None in streaming,
        "emotions": EMOTIONS,
    }
    return render(request, "dashboard.html", context)


def _range(request: HttpRequest, user: User) -> tuple[HistoryRangeForm, Span | None]:
    # No parameters: the last seven days.
    form = HistoryRangeForm(request.GET or {"range": "week"}, today=_today(user))
    if not form.is_valid():
        return form, None
    return form, Span(first=form.cleaned_data["start"], last=form.cleaned_data["end"], tz=user.zone)


@login_required
@require_safe
def history(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    form, span = _range(request, user)
    context: dict[str, Any] = {"form": form, "emotions": EMOTIONS, "card": model_card.summary()}
    if span is None:
        return render(request, "moods/history.html", context, status=400)
    kind = form.cleaned_data["range"]
    report = build_report(user_id=user.pk, span=span, kind=kind)
    timeline = selectors.timeline(
        user_id=user.pk, start=span.start, end=span.end, until=_until(request), limit=TIMELINE_PER_PAGE
    )
    today = _today(user)
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
        timeline_is_first=_until(request) is None,
        shifted=shifted,
        query_without_page=_without_page(request),
    )
    return render(request, "moods/history.html", context)


def _without_page(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("until", None)
    return query.urlencode()


def _until(request: HttpRequest) -> datetime | None:
    """The timeline's keyset cursor (an ISO moment); a malformed one means the first page."""
    raw = request.GET.get("until", "")
    try:
        moment = datetime.fromisoformat(raw) if raw and len(raw) <= 40 else None
    except ValueError:
        return None
    return moment if moment is not None and moment.tzinfo is not None else None


@login_required
@require_safe
def history_data(request: HttpRequest) -> JsonResponse:
    user = _user(request)
    form, span = _range(request, user)
    if span is None:
        return JsonResponse({"error": "invalid_range", "errors": form.errors.get_json_data()}, status=400)
    return JsonResponse(build_report(user_id=user.pk, span=span, kind=form.cleaned_data["range"]).as_json())


@login_required
@require_safe
def live(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    config = {
        "emotions": list(EMOTIONS),
        "capture": selectors.capture_settings(user_id=user.pk).as_message(),
        "max_fps": float(settings.SMILE_MAX_FPS),
    }
    return render(request, "moods/live.html", {"config": config})


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def settings_page(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    encouragement_row = EncouragementSettings.objects.filter(user=user).first() or EncouragementSettings(user=user)
    capture_row = selectors.capture_settings(user_id=user.pk)
    post = request.POST if request.method == "POST" else None
    encouragement = EncouragementForm(post, instance=encouragement_row, prefix="enc")
    capture = CaptureForm(post, instance=capture_row, prefix="cap")
    zone = TimeZoneForm(post, initial={"time_zone": user.time_zone}, prefix="tz")
    if post is not None:
        if encouragement.is_valid() and capture.is_valid() and zone.is_valid():
            services.save_settings(
                user=user,
                encouragement=encouragement.save(commit=False),
                capture=capture.save(commit=False),
                time_zone=zone.cleaned_data["time_zone"],
            )
            messages.success(request, "Your settings are saved.")
            return redirect("settings")
        context = {"encouragement": encouragement, "capture": capture, "zone": zone, "has_errors": True}
        return render(request, "moods/settings.html", context, status=400)
    return render(request, "moods/settings.html", {"encouragement": encouragement, "capture": capture, "zone": zone})


@login_required
@require_safe
def encouragements(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    page = Paginator(selectors.encouragement_log(user_id=user.pk), LOG_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "moods/encouragements.html", {"page": page, "zone": user.zone})


@login_required
@require_POST
def encouragement_feedback(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    encouragement = get_object_or_404(Encouragement, pk=pk, user=user)
    form = FeedbackForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Say whether the encouragement helped: choose Helpful or Not helpful.")
        return redirect("encouragements")
    services.record_feedback(user_id=user.pk, encouragement_id=encouragement.pk, helpful=form.cleaned_data["helpful"])
    messages.success(request, "Thank you: your feedback is saved.")
    return redirect("encouragements")


@login_required
@require_safe
def your_data(request: HttpRequest) -> HttpResponse:
    return _data_page(request)


def _data_page(
    request: HttpRequest,
    *,
    export_form: ExportForm | None = None,
    delete_form: DeleteRangeForm | None = None,
    status: int = 200,
) -> HttpResponse:
    """The "Your data" page, with the form the request filled in (and its errors) where there is one."""
    context = {
        "export_form": ExportForm() if export_form is None else export_form,
        "delete_form": DeleteRangeForm() if delete_form is None else delete_form,
    }
    return render(request, "moods/data.html", context, status=status)


@login_required
@require_POST
def export(request: HttpRequest) -> HttpResponseBase:
    user = _user(request)
    form = ExportForm(request.POST)
    if not form.is_valid():
        return _data_page(request, export_form=form, status=400)
    decision = ratelimit.hit(rate("export-user"), str(user.pk))
    if not decision.allowed:
        form.add_error(None, f"Too many exports. Try again in {decision.retry_after_text}.")
        return ratelimit.refused(_data_page(request, export_form=form), decision)
    stamp = timezone.now().astimezone(user.zone).strftime("%Y-%m-%d")
    if form.cleaned_data["format"] == "csv":
        response = StreamingHttpResponse(
            data.export_csv(user_id=user.pk, tz=user.zone), content_type="text/csv; charset=utf-8"
        )
        extension = "csv"
    else:
        response = StreamingHttpResponse(
            data.export_json(user_id=user.pk, tz=user.zone, time_zone=user.time_zone), content_type="application/json"
        )
        extension = "json"
    response["Content-Disposition"] = f'attachment; filename="smile-export-{stamp}.{extension}"'
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def delete_data(request: HttpRequest) -> HttpResponse:
    """Step 1 (no ``confirm``): show what would go. Step 2 (``confirm``): delete it."""
    user = _user(request)
    form = DeleteRangeForm(request.POST)
    if not form.is_valid():
        return _data_page(request, delete_form=form, status=400)
    everything = form.cleaned_data["scope"] == "all"
    first = None if everything else form.cleaned_data["start"]
    last = None if everything else form.cleaned_data["end"]
    if not form.cleaned_data["confirm"]:
        events, nudges = data.count_in_days(user_id=user.pk, tz=user.zone, first=first, last=last)
        context = {
            "form": form,
            "everything": everything,
            "first": first,
            "last": last,
            "events": events,
            "nudges": nudges,
        }
        return render(request, "moods/data_delete_confirm.html", context)
    events, nudges = data.delete_days(user_id=user.pk, tz=user.zone, first=first, last=last)
    records = f"{events} mood record{'' if events == 1 else 's'}"
    nudges_text = f"{nudges} encouragement{'' if nudges == 1 else 's'}"
    messages.success(request, f"Deleted {records} and {nudges_text}.")
    return redirect("your_data")
