"""The device API the extension calls (``docs/protocol.md``): JSON out, no session, no CSRF.

Pairing endpoints (``json_endpoint``) check every request before any work: POST only (405),
``application/json`` in UTF-8 (415), at most 4096 bytes (413), a JSON object (400
``invalid_request`` saying what is wrong). Endpoints for a paired device (``device_endpoint``)
take its token as ``Authorization: Bearer <token>`` and read no body.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest, JsonResponse
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt

from accounts import limits, pairing, services
from accounts.device_auth import MAX_TOKEN_LENGTH, authenticate_device
from accounts.models import Device
from accounts.tokens import format_user_code
from common.ratelimit import RateDecision, client_ip

MAX_BODY_BYTES = 4096
# Device codes are 43 characters; anything much longer is not one of ours.
MAX_DEVICE_CODE_LENGTH = 128
INVALID_REQUEST = "invalid_request"

JsonView = Callable[[HttpRequest, dict[str, Any]], JsonResponse]
DeviceView = Callable[[HttpRequest, Device], JsonResponse]
HttpView = Callable[[HttpRequest], JsonResponse]
BEARER = "bearer "


class ApiError(Exception):
    def __init__(self, status: int, error: str, description: str, **extra: Any) -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description
        self.extra = extra

    def response(self) -> JsonResponse:
        body = {"error": self.error, "error_description": self.description, **self.extra}
        return JsonResponse(body, status=self.status)


def _reject_constant(name: str) -> None:
    # Python's json accepts NaN and Infinity; JSON does not, and neither do we.
    raise ApiError(400, INVALID_REQUEST, f"The body is not valid JSON: {name} is not a JSON value.")


def _read_json_object(request: HttpRequest) -> dict[str, Any]:
    if request.content_type != "application/json":
        raise ApiError(415, "unsupported_media_type", "Send the body as Content-Type: application/json.")
    charset = (request.content_params or {}).get("charset", "utf-8").lower()
    if charset not in {"utf-8", "utf8"}:
        raise ApiError(415, "unsupported_media_type", "The JSON body must be encoded in UTF-8.")
    declared = request.META.get("CONTENT_LENGTH") or "0"
    if not declared.isdigit():
        raise ApiError(400, INVALID_REQUEST, "The Content-Length header is not a number.")
    if int(declared) > MAX_BODY_BYTES:
        raise ApiError(413, "request_too_large", f"The body must be at most {MAX_BODY_BYTES} bytes.")
    raw = request.read(MAX_BODY_BYTES + 1)
    if len(raw) > MAX_BODY_BYTES:
        raise ApiError(413, "request_too_large", f"The body must be at most {MAX_BODY_BYTES} bytes.")
    try:
        data = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except UnicodeDecodeError as exc:
        raise ApiError(400, INVALID_REQUEST, "The body is not valid UTF-8.") from exc
    except json.JSONDecodeError as exc:
        raise ApiError(400, INVALID_REQUEST, f"The body is not valid JSON: {exc.msg} at character {exc.pos}.") from exc
    except (ValueError, RecursionError) as exc:
        raise ApiError(400, INVALID_REQUEST, "The body is not valid JSON.") from exc
    if not isinstance(data, dict):
        raise ApiError(400, INVALID_REQUEST, "The body must be a JSON object.")
    return data


def read_json_object(request: HttpRequest) -> dict[str, Any]:
    """The request's JSON object body, checked as ``json_endpoint`` checks it; raises ``ApiError``."""
    return _read_json_object(request)


def json_endpoint(view: JsonView) -> HttpView:
    """POST-only JSON endpoint: checks method and body, turns ``ApiError`` into its JSON answer."""

    @csrf_exempt  # no cookie is read: the device has no session, only what it sends
    @never_cache  # token responses must never sit in a cache (RFC 6749 section 5.1)
    @functools.wraps(view)
    def wrapper(request: HttpRequest) -> JsonResponse:
        if request.method != "POST":
            response = ApiError(405, "method_not_allowed", "Use POST.").response()
            response["Allow"] = "POST"
            return response
        try:
            return view(request, _read_json_object(request))
        except ApiError as error:
            return error.response()

    return wrapper


def rate_limited(decision: RateDecision) -> JsonResponse:
    response = JsonResponse({"error": "rate_limited", "retry_after": decision.retry_after}, status=429)
    response["Retry-After"] = str(decision.retry_after)
    return response


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


def _required(data: dict[str, Any], field: str) -> Any:
    if field not in data:
        raise ApiError(400, INVALID_REQUEST, f"{field} is required.")
    return data[field]


@json_endpoint
def pair_start(request: HttpRequest, data: dict[str, Any]) -> JsonResponse:
    try:
        device_name = pairing.validate_device_name(_required(data, "device_name"))
    except ValidationError as error:
        raise ApiError(400, INVALID_REQUEST, error.messages[0]) from error
    ip = client_ip(request)
    decision = limits.hit_pairing_start(ip=ip)
    if not decision.allowed:
        return rate_limited(decision)
    pairing_request, device_code = pairing.start_pairing(device_name=device_name, ip=None if ip == "unknown" else ip)
    verification_uri = request.build_absolute_uri(reverse("pair"))
    user_code = format_user_code(pairing_request.user_code)
    return JsonResponse(
        {
            "device_code": device_code,
            "user_code": user_code,
            "verification_uri": verification_uri,
            "verification_uri_complete": f"{verification_uri}?code={user_code}",
            "expires_in": round((pairing_request.expires_at - pairing_request.created_at).total_seconds()),
            "interval": pairing_request.interval,
        }
    )


@json_endpoint
def pair_token(request: HttpRequest, data: dict[str, Any]) -> JsonResponse:
    device_code = _required(data, "device_code")
    if not isinstance(device_code, str) or not device_code or len(device_code) > MAX_DEVICE_CODE_LENGTH:
        raise ApiError(
            400,
            INVALID_REQUEST,
            f"device_code must be a non-empty string of at most {MAX_DEVICE_CODE_LENGTH} characters.",
        )
    result = pairing.poll_pairing(device_code=device_code)
    if result.error is not None:
        extra = {} if result.interval is None else {"interval": result.interval}
        raise ApiError(400, result.error, result.description, **extra)
    assert result.device is not None  # a result without an error carries the new device
    return JsonResponse(
        {
            "access_token": result.access_token,
            "token_type": "Bearer",
            "device_id": result.device.pk,
            "device_name": result.device.name,
        }
    )


@device_endpoint("POST", allow_revoked=True)
def device_revoke(request: HttpRequest, device: Device) -> JsonResponse:
    """The extension's Unpair: its own token stops working at once (already revoked: the same answer)."""
    pairing.revoke_device(user=device.user, device=device)
    return JsonResponse({"device_id": device.pk, "revoked": True})


@device_endpoint("GET", "POST")
def device_mode(request: HttpRequest, device: Device) -> JsonResponse:
    """Where the device's frames are read: GET says, POST ``{"mode": "private"|"server"}`` switches (no re-pairing)."""
    if request.method == "POST":
        try:
            mode = _required(read_json_object(request), "mode")
            if not isinstance(mode, str) or mode not in Device.Mode.values:
                raise ApiError(400, INVALID_REQUEST, f"mode must be one of: {', '.join(Device.Mode.values)}.")
        except ApiError as error:
            return error.response()
        services.set_device_mode(device=device, mode=mode)
    return JsonResponse({"device_id": device.pk, "mode": device.mode})
