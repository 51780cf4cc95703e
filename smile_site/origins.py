"""An exact allow-list of WebSocket origins.

Channels' ``AllowedHostsOriginValidator`` compares origins with ALLOWED_HOSTS, which rejects
``chrome-extension://<id>``; its ``OriginValidator`` accepts domain wildcards. The stream
wants neither: the site's own origins and our extension's id, compared as exact strings.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from channels.security.websocket import WebsocketDenier


def allowed_origins(*, site_origins: Iterable[str], extension_ids: Iterable[str]) -> frozenset[str]:
    return frozenset(
        [origin.rstrip("/").lower() for origin in site_origins]
        + [f"chrome-extension://{extension_id.strip().lower()}" for extension_id in extension_ids]
    )


def origin_of(scope: dict[str, Any]) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"origin":
            return bytes(value).decode("latin-1").strip().lower()
    return None


class ExactOriginValidator:
    """Refuse the WebSocket handshake (403) unless the Origin header is in ``origins``."""

    def __init__(self, application: Any, origins: frozenset[str]) -> None:
        self.application = application
        self.origins = origins

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if scope["type"] == "websocket" and origin_of(scope) not in self.origins:
            return await WebsocketDenier()(scope, receive, send)
        return await self.application(scope, receive, send)
