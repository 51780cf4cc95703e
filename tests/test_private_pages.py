"""Signed-in pages never sit in a cache: ``Cache-Control: private, no-store`` on every one (issue 27)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from tests.factories import make_user, pair_device

pytestmark = pytest.mark.django_db


def plain_paths(patterns: list[URLPattern | URLResolver] | None = None, prefix: str = "") -> Iterator[str]:
    """Every path of the site without a parameter (admin aside: Django's own)."""
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        route = str(pattern.pattern)
        if "<" in route or route.startswith("^") or route == "admin/":
            continue
        if isinstance(pattern, URLResolver):
            yield from plain_paths(pattern.url_patterns, prefix + route)
        else:
            yield "/" + prefix + route


SITE_PATHS = sorted(set(plain_paths()))


def cache_control(response: object) -> set[str]:
    header = response["Cache-Control"]  # type: ignore[index]
    return {part.strip() for part in header.split(",")}


def test_the_site_has_the_pages_this_test_walks() -> None:
    assert {"/dashboard/", "/history/", "/settings/", "/devices/", "/accounts/profile/", "/data/"} <= set(SITE_PATHS)


@pytest.mark.parametrize("path", SITE_PATHS)
def test_every_page_answers_a_signed_in_person_private_and_no_store(client: Client, path: str) -> None:
    client.force_login(make_user())

    response = client.get(path)

    assert {"private", "no-store"} <= cache_control(response), (path, response.status_code)


def test_pages_with_parameters_posts_and_errors_too(client: Client) -> None:
    user = make_user()
    device, _ = pair_device(user=user)
    client.force_login(user)

    responses = [
        client.get(f"/devices/{device.pk}/revoke/"),
        client.get("/no-such-page/"),
        client.post("/self-report/", {"emotion": "happy"}),
        client.post("/self-report/", {"emotion": "bored"}),
    ]

    for response in responses:
        assert {"private", "no-store"} <= cache_control(response), response.status_code


def test_an_anonymous_page_is_left_to_its_view(client: Client) -> None:
    assert "no-store" not in client.get("/").get("Cache-Control", "")
