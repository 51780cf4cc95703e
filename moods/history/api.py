"""The device API under ``/api/`` that moods owns: ``GET /api/summary/today`` (docs/protocol.md).

The extension's popup calls it with its device token (``Authorization: Bearer <token>``);
no cookie, session or CSRF token is read. Errors are JSON in the pairing API's style.
"""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.utils import timezone

from accounts.bearer import device_endpoint
from accounts.models import Device
from moods.history.aggregates import day_summary


@device_endpoint("GET", "HEAD")
def summary_today(request: HttpRequest, device: Device) -> JsonResponse:
    """The device owner's mood today, in their time zone, as their dashboard shows it."""
    zone = device.user.zone
    summary = day_summary(user_id=device.user_id, tz=zone, day=timezone.now().astimezone(zone).date())
    return JsonResponse({**summary, "time_zone": device.user.time_zone})
