"""The pairing and device endpoints under ``/api/`` (``docs/protocol.md``); the plumbing is ``common.api``."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest, JsonResponse
from django.urls import reverse

from accounts import limits, pairing, services
from accounts.bearer import device_endpoint
from accounts.models import Device
from accounts.tokens import format_user_code
from common.api import INVALID_REQUEST, ApiError, json_endpoint, rate_limited, read_json_object
from common.ratelimit import client_ip

# Device codes are 43 characters; anything much longer is not one of ours.
MAX_DEVICE_CODE_LENGTH = 128


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
    decision = limits.hit_pairing_poll(ip=client_ip(request), device_code=device_code)
    if not decision.allowed:
        return rate_limited(decision)
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
