"""Site pages of moods that draw on several capabilities: landing, dashboard, live check-in, settings.

Views stay thin: validate with a form, call selectors/services, render. Times are the user's.
History, the encouragement log and Your data have their own views in their packages.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_safe

from accounts.selectors import devices_for_user
from inference.emotions import EMOTIONS
from moods import services
from moods.encouragement import selectors as encouragement_selectors
from moods.encouragement.forms import EncouragementForm
from moods.forms import CaptureForm, TimeZoneForm
from moods.history import selectors
from moods.history.aggregates import Span, overall_mix
from moods.http import local_today, signed_in_user
from moods.personal import services as personal_services
from moods.stream import messages as stream_messages
from moods.stream import presence
from moods.stream import selectors as stream_selectors
from moods.stream.config import stream_config


@require_safe
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "home.html")


@login_required
@require_safe
def dashboard(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    now = timezone.now()
    today = Span(first=local_today(user), last=local_today(user), tz=user.zone)
    devices = [device for device in devices_for_user(user=user) if device.is_active]
    closed = presence.closed_at(user_id=user.pk, device_ids=[None, *(device.pk for device in devices)])
    streaming = selectors.streaming_device_ids(
        user_id=user.pk, now=now, window=timedelta(seconds=2 * stream_config().window_seconds), closed=closed
    )
    context: dict[str, Any] = {
        "has_mood_data": selectors.has_mood_data(user_id=user.pk),
        "today": overall_mix(user_id=user.pk, start=today.start, end=today.end),
        "latest": selectors.latest_event(user_id=user.pk),
        "last_encouragement": encouragement_selectors.latest_encouragement(user_id=user.pk),
        "devices": [(device, device.pk in streaming) for device in devices],
        "live_page_streaming": None in streaming,
        "emotions": EMOTIONS,
    }
    return render(request, "dashboard.html", context)


@login_required
@require_safe
def live(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    config = {
        "emotions": list(EMOTIONS),
        "capture": stream_messages.capture_defaults(stream_selectors.capture_settings(user_id=user.pk)),
        "max_fps": stream_config().max_fps,
        "calibration_seconds": stream_config().calibration_seconds,
        # The stream's one tested client, shared with the extension (extension/lib/protocol.js).
        "protocol_url": static("extension-lib/protocol.js"),
        "time_zone": user.time_zone,
    }
    baseline = personal_services.baseline_row(user_id=user.pk)
    return render(request, "moods/live.html", {"config": config, "baseline": baseline})


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def settings_page(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    encouragement_row = encouragement_selectors.settings_for_page(user_id=user.pk)
    capture_row = stream_selectors.capture_settings(user_id=user.pk)
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
        context["baseline"] = personal_services.baseline_row(user_id=user.pk)
        return render(request, "moods/settings.html", context, status=400)
    context = {"encouragement": encouragement, "capture": capture, "zone": zone}
    context["baseline"] = personal_services.baseline_row(user_id=user.pk)
    return render(request, "moods/settings.html", context)
