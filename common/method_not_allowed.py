"""One answer for a visit to an address that only takes a form: a page that says so and leads back.

Views that only take a POST (``require_POST``) answer anything else with Django's empty 405, which a
browser shows as a blank page (a failed export leaves the browser on ``/data/export/``, and reloading
it is a GET). This middleware gives every such answer the site's page, keeping the status and the
``Allow`` header, with a link to the page the form lives on: the nearest address above it that is a
page. The API (``/api/``) keeps its own JSON answers.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import render
from django.urls import Resolver404, resolve, reverse

# The pages a form-only address sends a visitor back to, by URL name, as a link says them.
PAGE_NAMES = {
    "your_data": "Your data",
    "settings": "Settings",
    "history": "History",
    "encouragements": "Encouragement log",
    "pair": "Pair a device",
    "devices": "Devices",
    "dashboard": "your dashboard",
}


def page_above(path: str) -> tuple[str, str]:
    """The nearest address above ``path`` that is one of ``PAGE_NAMES``' pages, and its name; else the dashboard."""
    parts = [part for part in path.split("/") if part]
    while parts:
        parts.pop()
        candidate = "/" + "/".join(parts) + ("/" if parts else "")
        try:
            name = resolve(candidate).url_name
        except Resolver404:
            continue
        if name in PAGE_NAMES:
            return candidate, PAGE_NAMES[name]
    return reverse("dashboard"), PAGE_NAMES["dashboard"]


class MethodNotAllowedPageMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if (
            response.status_code != 405
            or request.method not in ("GET", "HEAD")
            or request.path.startswith("/api/")
            or not isinstance(response, HttpResponse)
            or response.content
        ):
            return response
        back, label = page_above(request.path)
        page = render(request, "405.html", {"back": back, "back_label": label}, status=405)
        page["Allow"] = response["Allow"]
        return page
