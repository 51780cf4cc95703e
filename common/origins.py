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


def is_site_origin(scope: dict[str, Any], *, site_origins: Iterable[str]) -> bool:
    """Whether the handshake came from one of the site's own pages (not the extension, not elsewhere).

    A socket authenticated by the session cookie must pass this: the browser sends the cookie
    whichever page opens the socket, so only the Origin tells our pages from a forged cross-site one.
    """
    origin = origin_of(scope)
    return origin is not None and origin in {site.rstrip("/").lower() for site in site_origins}


class ExactOriginValidator:
    """Refuse the WebSocket handshake (403) unless the Origin header is in ``origins``."""

    def __init__(self, application: Any, origins: frozenset[str]) -> None:
        self.application = application
        self.origins = origins

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if scope["type"] == "websocket" and origin_of(scope) not in self.origins:
            return await WebsocketDenier()(scope, receive, send)
        return await self.application(scope, receive, send)
