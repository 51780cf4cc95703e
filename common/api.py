"""The JSON API's plumbing every app's endpoints share (``docs/protocol.md``): JSON out, no session, no CSRF.

``json_endpoint`` checks every request before any work: POST only (405), ``application/json``
in UTF-8 (415), at most 4096 bytes (413), a JSON object (400 ``invalid_request`` saying what is
wrong). ``ApiError`` is how a view refuses, with the JSON answer it becomes. Endpoints for a
paired device take its token through ``accounts.bearer.device_endpoint``.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt

from common.ratelimit import RateDecision

MAX_BODY_BYTES = 4096
INVALID_REQUEST = "invalid_request"

JsonView = Callable[[HttpRequest, dict[str, Any]], JsonResponse]
HttpView = Callable[[HttpRequest], JsonResponse]


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
