"""Site pages owned by moods: the public landing page and the signed-in dashboard."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe


@require_safe
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "home.html")


@login_required
@require_safe
def dashboard(request: HttpRequest) -> HttpResponse:
    # Empty state until mood events exist: the template shows the first-run guide.
    return render(request, "dashboard.html", {"has_mood_data": False})
