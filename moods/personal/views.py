"""The baseline in Settings (forget), the one-tap self-report, and "that's not right" on a stored window.

Each answers a POST: on success a redirect (back to the page it came from) with a message; a bad
input is a 400 page that says what to fix; another user's window is a 404. A request that accepts
only JSON (the live page's script) gets JSON instead: ``{"saved": true}`` or a 400 with ``errors``.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from common import ratelimit
from moods.http import signed_in_user
from moods.models import MoodEvent
from moods.personal import limits, services
from moods.personal.forms import SelfReportForm


def _wants_json(request: HttpRequest) -> bool:
    return request.headers.get("Accept", "") == "application/json"


def _refused(request: HttpRequest, form: SelfReportForm, event: MoodEvent | None) -> HttpResponse:
    if _wants_json(request):
        errors = {field: [str(error) for error in messages_] for field, messages_ in form.errors.items()}
        return JsonResponse({"saved": False, "errors": errors}, status=400)
    return render(request, "moods/self_report.html", {"form": form, "event": event}, status=400)


def _back(request: HttpRequest, default: str) -> HttpResponse:
    if _wants_json(request):
        return JsonResponse({"saved": True})
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(target)
    return redirect(default)


@login_required
@require_POST
def forget_baseline(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    if services.forget_baseline(user_id=user.pk):
        messages.success(request, "Your baseline is forgotten: readings compare you with everyone again.")
    return redirect("settings")


@login_required
@require_POST
def baseline_corrections(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    enabled = request.POST.get("refresh_from_corrections") == "on"
    if services.set_refresh_from_corrections(user_id=user.pk, enabled=enabled):
        messages.success(
            request,
            "Your “I was neutral” corrections now refresh your baseline."
            if enabled
            else "Your corrections no longer change your baseline.",
        )
    return redirect("settings")


def _over_limit(request: HttpRequest, form: SelfReportForm, event: MoodEvent | None) -> HttpResponse | None:
    """The 429 answer when this user stored too many reports lately (each one counts), else None."""
    decision = limits.hit_self_report(user_id=signed_in_user(request).pk)
    if decision.allowed:
        return None
    form.add_error(None, f"You sent many reports in a short time. Try again in {decision.retry_after_text}.")
    return ratelimit.refused(_refused(request, form, event), decision)


@login_required
@require_POST
def self_report(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    form = SelfReportForm(request.POST)
    if not form.is_valid():
        return _refused(request, form, None)
    if (refusal := _over_limit(request, form, None)) is not None:
        return refusal
    services.record_self_report(user_id=user.pk, emotion=form.cleaned_data["emotion"], note=form.cleaned_data["note"])
    if not _wants_json(request):
        messages.success(request, "Thank you: what you said is saved beside the readings.")
    return _back(request, "dashboard")


@login_required
@require_POST
def correct_window(request: HttpRequest, pk: int) -> HttpResponse:
    user = signed_in_user(request)
    event = get_object_or_404(MoodEvent, pk=pk, user=user)
    form = SelfReportForm(request.POST)
    if not form.is_valid():
        return _refused(request, form, event)
    if (refusal := _over_limit(request, form, event)) is not None:
        return refusal
    services.record_self_report(
        user_id=user.pk, emotion=form.cleaned_data["emotion"], note=form.cleaned_data["note"], event_id=event.pk
    )
    messages.success(request, "Thank you: your correction is saved beside that reading.")
    return _back(request, "history")
