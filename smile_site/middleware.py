"""Site-wide response rules that no single view should have to remember."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponseBase
from django.utils.cache import add_never_cache_headers


class PrivatePagesMiddleware:
    """Every response to a signed-in person is ``Cache-Control: private, no-store`` (and never cached).

    A signed-in page shows someone's mood history, devices or settings: neither a shared cache
    (a proxy) nor the browser's disk may keep it. One rule here rather than a decorator on each
    view, so a new page cannot forget it. Anonymous pages are left to their views.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            add_never_cache_headers(response)
        return response
