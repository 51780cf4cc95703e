"""Small template filters for the moods pages."""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from django import template

register = template.Library()


@register.filter
def get(mapping: dict[str, Any], key: str) -> Any:
    """``mapping|get:key``: a dictionary value by a variable key."""
    return mapping.get(key)


@register.filter
def percent(share: float | None) -> str:
    """0.4234 -> '42%'; None -> a dash."""
    return "-" if share is None else f"{round(share * 100)}%"


@register.filter
def local(moment: datetime | None, zone: tzinfo) -> datetime | None:
    """A moment in the given time zone (pages show the user's, not the server's)."""
    return None if moment is None else moment.astimezone(zone)


@register.filter
def minutes_text(minutes: int) -> str:
    if minutes < 60:
        return f"{minutes} min"
    hours, rest = divmod(minutes, 60)
    return f"{hours} h {rest:02d} min"
