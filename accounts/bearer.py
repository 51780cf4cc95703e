"""Endpoints for a paired device: ``device_endpoint`` takes its token as ``Authorization: Bearer <token>``.

It reads no body. The method is checked first (405), then the rate per network (429), then the
token: 401 unknown, 403 revoked (as the stream's 4401/4403).
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt

from accounts import limits
from accounts.device_auth import MAX_TOKEN_LENGTH, authenticate_device
from accounts.models import Device
from common.api import ApiError, HttpView, rate_limited
from common.ratelimit import client_ip

DeviceView = Callable[[HttpRequest, Device], JsonResponse]
BEARER = "bearer "


def _bearer_token(request: HttpRequest) -> str:
    header = request.headers.get("Authorization", "")
    if not header[: len(BEARER)].lower() == BEARER:
        raise ApiError(401, "invalid_token", "Send the device token as Authorization: Bearer <token>.")
    token = header[len(BEARER) :].strip()
    if not token or len(token) > MAX_TOKEN_LENGTH:
        raise ApiError(401, "invalid_token", "The device token is missing or malformed.")
    return token


def _bearer_device(request: HttpRequest, *, allow_revoked: bool) -> Device:
    """The device the bearer token names; 401 unknown, 403 revoked (as the stream's 4401/4403)."""
    auth = authenticate_device(_bearer_token(request))  # also notes when an active device was last seen
    if auth.device is None:
        raise ApiError(401, "invalid_token", "This device token is unknown. Pair the extension again.")
    if auth.refusal is None or (allow_revoked and auth.device.revoked_at is not None):
        return auth.device
    raise ApiError(403, "device_revoked", "This device was revoked. Pair the extension again.")


def device_endpoint(*methods: str, allow_revoked: bool = False) -> Callable[[DeviceView], HttpView]:
    """An endpoint for a paired device: method check (405), rate limit per network (429), then its token."""

    def decorate(view: DeviceView) -> HttpView:
        @csrf_exempt  # no cookie is read: a refused method gets its JSON 405, not the CSRF page
        @never_cache
        @functools.wraps(view)
        def wrapper(request: HttpRequest) -> JsonResponse:
            if request.method not in methods:
                response = ApiError(405, "method_not_allowed", f"Use {' or '.join(methods)}.").response()
                response["Allow"] = ", ".join(methods)
                return response
            decision = limits.hit_device_api(ip=client_ip(request))
            if not decision.allowed:
                return rate_limited(decision)
            try:
                device = _bearer_device(request, allow_revoked=allow_revoked)
            except ApiError as error:
                response = error.response()
                if error.status == 401:
                    response["WWW-Authenticate"] = f'Bearer error="{error.error}"'
                return response
            return view(request, device)

        return wrapper

    return decorate
