"""When each of a user's streams last closed, so the dashboard's "streaming now" ends with the socket.

A source (a paired device, or ``None`` for the website's live check-in) counts as streaming
while it stores windows (``moods.history.selectors.streaming_device_ids``). Windows alone would
keep saying so for two windows after Stop; the consumer records the moment its socket closed,
after flushing its last window, and a source whose stream closed after its latest window is
not streaming. The cache is Redis in production (shared by every web instance) and the
process's memory in the embedded mode (one process); the record only needs to outlive the
windows it overrules, so it expires after an hour.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from django.core.cache import cache

KEEP_SECONDS = 3600


def _key(user_id: int, device_id: int | None) -> str:
    return f"smile:stream-closed:{user_id}:{'live' if device_id is None else device_id}"


async def record_closed(*, user_id: int, device_id: int | None, at: datetime) -> None:
    """Remember that this source's socket closed at ``at`` (after its last window was stored)."""
    await cache.aset(_key(user_id, device_id), at.timestamp(), timeout=KEEP_SECONDS)


def closed_at(*, user_id: int, device_ids: Iterable[int | None]) -> dict[int | None, datetime]:
    """When each of these sources last closed its stream, for those that did within the hour."""
    sources = {_key(user_id, device_id): device_id for device_id in device_ids}
    found = cache.get_many(list(sources))
    return {sources[key]: datetime.fromtimestamp(stamp, tz=UTC) for key, stamp in found.items()}
