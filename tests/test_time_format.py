"""One 24-hour clock: Django's own formats (the ``time`` filter, a bare datetime, the admin) write 09:22."""

from __future__ import annotations

from datetime import UTC, datetime

from django.template import Context, Template

MORNING = datetime(2026, 12, 6, 9, 22, tzinfo=UTC)
EVENING = datetime(2026, 12, 6, 21, 5, tzinfo=UTC)


def render(text: str, **context: object) -> str:
    return Template(text).render(Context(context))


def test_the_time_filter_and_a_bare_datetime_use_the_24_hour_clock() -> None:
    assert render("{{ moment|time }}", moment=MORNING) == "09:22"
    assert render("{{ moment|time }}", moment=EVENING) == "21:05"
    assert render("{{ moment }}", moment=EVENING) == "6 Dec 2026, 21:05"
    assert render('{{ moment|date:"SHORT_DATETIME_FORMAT" }}', moment=MORNING) == "2026-12-06 09:22"
