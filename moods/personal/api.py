"""``POST /api/self-report``: "How do you feel?" from the extension's popup (docs/protocol.md).

Like ``GET /api/summary/today`` it takes the device token (``Authorization: Bearer <token>``) and
reads no cookie; the body is a JSON object ``{"emotion": ..., "note": ...}`` checked like the
pairing API's (415, 413, 400 ``invalid_request``).
"""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse

from accounts.bearer import device_endpoint
from accounts.models import Device
from common.api import INVALID_REQUEST, ApiError, rate_limited, read_json_object
from moods.personal import limits, services
from moods.personal.forms import SelfReportForm


@device_endpoint("POST")
def self_report(request: HttpRequest, device: Device) -> JsonResponse:
    """Store the device owner's self-report; 201 with it, or 400 saying what is wrong."""
    try:
        data = read_json_object(request)
    except ApiError as error:
        return error.response()
    for field in ("emotion", "note"):
        # A form would read 12345 or {"a": 1} as the text "12345": refused, as pair/start does.
        if data.get(field) is not None and not isinstance(data[field], str):
            message = f"{field} must be a string."
            return ApiError(400, INVALID_REQUEST, message, errors={field: [message]}).response()
    form = SelfReportForm({"emotion": data.get("emotion"), "note": data.get("note") or ""})
    if not form.is_valid():
        errors = {field: [str(message) for message in messages] for field, messages in form.errors.items()}
        first = next(iter(errors.values()))[0]
        return ApiError(400, INVALID_REQUEST, first, errors=errors).response()
    decision = limits.hit_self_report(user_id=device.user_id)
    if not decision.allowed:
        return rate_limited(decision)
    report = services.record_self_report(
        user_id=device.user_id, emotion=form.cleaned_data["emotion"], note=form.cleaned_data["note"]
    )
    return JsonResponse(
        {
            "id": report.pk,
            "emotion": report.emotion,
            "note": report.note,
            # A device request activates no zone (it has no session): the owner's, explicitly.
            "created_at": report.created_at.astimezone(device.user.zone).isoformat(),
        },
        status=201,
    )
