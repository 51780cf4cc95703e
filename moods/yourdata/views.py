"""The Your data page: export (everything or some days), or delete some days or everything (after a confirmation)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseBase, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST, require_safe

from accounts.conf import rate
from common import ratelimit
from moods.http import signed_in_user
from moods.yourdata import deletion
from moods.yourdata.export import export_csv, export_json
from moods.yourdata.forms import DeleteRangeForm, ExportForm


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
    user = signed_in_user(request)
    form = ExportForm(request.POST)
    if not form.is_valid():
        return _data_page(request, export_form=form, status=400)
    decision = ratelimit.hit(rate("export-user"), str(user.pk))
    if not decision.allowed:
        form.add_error(None, f"Too many exports. Try again in {decision.retry_after_text}.")
        return ratelimit.refused(_data_page(request, export_form=form), decision)
    first, last = form.cleaned_data["start"], form.cleaned_data["end"]
    if first is not None and last is not None:
        stamp = f"{first:%Y-%m-%d}-to-{last:%Y-%m-%d}"
    else:
        stamp = timezone.now().astimezone(user.zone).strftime("%Y-%m-%d")
    if form.cleaned_data["format"] == "csv":
        response = StreamingHttpResponse(
            export_csv(user_id=user.pk, tz=user.zone, first=first, last=last), content_type="text/csv; charset=utf-8"
        )
        extension = "csv"
    else:
        response = StreamingHttpResponse(
            export_json(user_id=user.pk, tz=user.zone, time_zone=user.time_zone, first=first, last=last),
            content_type="application/json",
        )
        extension = "json"
    response["Content-Disposition"] = f'attachment; filename="smile-export-{stamp}.{extension}"'
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def delete_data(request: HttpRequest) -> HttpResponse:
    """Step 1 (no ``confirm``): show what would go. Step 2 (``confirm``): delete it."""
    user = signed_in_user(request)
    form = DeleteRangeForm(request.POST)
    if not form.is_valid():
        return _data_page(request, delete_form=form, status=400)
    everything = form.cleaned_data["scope"] == "all"
    first = None if everything else form.cleaned_data["start"]
    last = None if everything else form.cleaned_data["end"]
    if not form.cleaned_data["confirm"]:
        events, nudges = deletion.count_in_days(user_id=user.pk, tz=user.zone, first=first, last=last)
        context = {
            "form": form,
            "everything": everything,
            "first": first,
            "last": last,
            "events": events,
            "nudges": nudges,
        }
        return render(request, "moods/data_delete_confirm.html", context)
    events, nudges = deletion.delete_days(user_id=user.pk, tz=user.zone, first=first, last=last)
    records = f"{events} mood record{'' if events == 1 else 's'}"
    nudges_text = f"{nudges} encouragement{'' if nudges == 1 else 's'}"
    messages.success(request, f"Deleted {records} and {nudges_text}.")
    return redirect("your_data")
