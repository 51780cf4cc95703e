"""Every request of a signed-in user runs in their time zone."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponseBase
from django.utils import timezone

from accounts.models import User


class UserTimeZoneMiddleware:
    """Activate the signed-in user's zone for the request, the server's (``TIME_ZONE``) for anyone else.

    Django then writes every moment in that zone: the ``date`` and ``time`` filters, form initial
    values, ``timezone.localdate()``. Pages need no conversion of their own (a template that converted
    a moment and then passed it to ``date`` got it back in the active zone, UTC: issue 24). The zone is
    deactivated after the response, so nothing that runs outside a request inherits it; consumers and
    Celery tasks have no request and pass the user's zone explicitly.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        user = getattr(request, "user", None)
        if isinstance(user, User) and user.is_authenticated:
            timezone.activate(user.zone)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
