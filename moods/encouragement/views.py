"""The encouragement log, and the feedback a person gives on one nudge."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST, require_safe

from moods.encouragement import selectors, services
from moods.encouragement.forms import FeedbackForm
from moods.http import signed_in_user
from moods.models import Encouragement

LOG_PER_PAGE = 25


@login_required
@require_safe
def encouragements(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    page = Paginator(selectors.encouragement_log(user_id=user.pk), LOG_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "moods/encouragements.html", {"page": page})


@login_required
@require_POST
def encouragement_feedback(request: HttpRequest, pk: int) -> HttpResponse:
    user = signed_in_user(request)
    encouragement = get_object_or_404(Encouragement, pk=pk, user=user)
    form = FeedbackForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Say whether the encouragement helped: choose Helpful or Not helpful.")
        return redirect("encouragements")
    services.record_feedback(user_id=user.pk, encouragement_id=encouragement.pk, helpful=form.cleaned_data["helpful"])
    messages.success(request, "Thank you: your feedback is saved.")
    return redirect("encouragements")
