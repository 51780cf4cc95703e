"""The device API under ``/api/`` that moods owns: ``GET /api/summary/today`` (docs/protocol.md).

The extension's popup calls it with its device token (``Authorization: Bearer <token>``);
no cookie, session or CSRF token is read. Errors are JSON in the pairing API's style.
"""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt

from accounts import limits
from accounts.api import ApiError
from accounts.models import Device
from accounts.pairing import authenticate_device_token
from accounts.selectors import MAX_TOKEN_LENGTH, device_for_token
from moods.history import day_summary
from smile_site.ratelimit import client_ip

BEARER = "bearer "


def _bearer_token(request: HttpRequest) -> str:
    header = request.headers.get("Authorization", "")
    if not header[: len(BEARER)].lower() == BEARER:
        raise ApiError(401, "invalid_token", "Send the device token as Authorization: Bearer <token>.")
    token = header[len(BEARER) :].strip()
    if not token or len(token) > MAX_TOKEN_LENGTH:
        raise ApiError(401, "invalid_token", "The device token is missing or malformed.")
    return token


def _device(request: HttpRequest) -> Device:
    """The active device the request's bearer token names; 401 unknown, 403 revoked (as the stream's 4401/4403)."""
    token = _bearer_token(request)
    found = device_for_token(token=token)
    if found is None:
        raise ApiError(401, "invalid_token", "This device token is unknown. Pair the extension again.")
    device = authenticate_device_token(token)  # also notes when the device was last seen
    if device is None:
        raise ApiError(403, "device_revoked", "This device was revoked. Pair the extension again.")
    return device


def _unauthorized(error: ApiError) -> JsonResponse:
    response = error.response()
    if error.status == 401:
        response["WWW-Authenticate"] = f'Bearer error="{error.error}"'
    return response


@csrf_exempt  # no cookie is read: a refused method gets its JSON 405, not the CSRF page
@never_cache
def summary_today(request: HttpRequest) -> JsonResponse:
    """The device owner's mood today, in their time zone, as their dashboard shows it."""
    if request.method not in {"GET", "HEAD"}:
        response = ApiError(405, "method_not_allowed", "Use GET.").response()
        response["Allow"] = "GET, HEAD"
        return response
    decision = limits.hit_device_api(ip=client_ip(request))
    if not decision.allowed:
        response = JsonResponse({"error": "rate_limited", "retry_after": decision.retry_after}, status=429)
        response["Retry-After"] = str(decision.retry_after)
        return response
    try:
        device = _device(request)
    except ApiError as error:
        return _unauthorized(error)
    zone = device.user.zone
    summary = day_summary(user_id=device.user_id, tz=zone, day=timezone.now().astimezone(zone).date())
    return JsonResponse({**summary, "time_zone": device.user.time_zone})
