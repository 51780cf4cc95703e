"""Small template filters for the moods pages."""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.filter
def get(mapping: dict[str, Any], key: str) -> Any:
    """``mapping|get:key``: a dictionary value by a variable key."""
    return mapping.get(key)


@register.filter
def percent(share: object) -> str:
    """0.4234 -> '42%'; anything that is not a number (a missing value) -> a dash."""
    if isinstance(share, bool) or not isinstance(share, int | float):
        return "-"
    return f"{round(share * 100)}%"


@register.filter
def minutes_text(minutes: int) -> str:
    if minutes < 60:
        return f"{minutes} min"
    hours, rest = divmod(minutes, 60)
    return f"{hours} h {rest:02d} min"
