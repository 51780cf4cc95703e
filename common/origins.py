"""Which WebSocket origins may open the stream, and how a refused one is told.

Channels' ``AllowedHostsOriginValidator`` compares origins with ALLOWED_HOSTS, which rejects
``chrome-extension://<id>``; its ``OriginValidator`` accepts domain wildcards. The stream
wants neither: the site's own origins and our extension's id, compared as exact strings.

The embedded default (``SMILE_DEBUG=1``) also accepts the site's own origin wherever it is
served (``make run HOST=0.0.0.0 PORT=8080`` opened as ``http://localhost:8080``, or behind a
proxy that passes the Host on): an origin whose host and port are the request's own Host,
when that host is one of ALLOWED_HOSTS (so a rebound DNS name is refused). Production compares
with the exact list only.

A refused origin's socket is accepted and closed at once with ``CLOSE_ORIGIN_REFUSED`` before
any message is read, so the page can say why in words: a refused handshake reaches the page
only as "1006", the code for every broken connection.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

from django.conf import settings
from django.http.request import split_domain_port, validate_host

# The stream's close code for "this page's origin is not one this server accepts" (docs/protocol.md).
CLOSE_ORIGIN_REFUSED: Final = 4406


def allowed_origins(*, site_origins: Iterable[str], extension_ids: Iterable[str]) -> frozenset[str]:
    return frozenset(
        [origin.rstrip("/").lower() for origin in site_origins]
        + [f"chrome-extension://{extension_id.strip().lower()}" for extension_id in extension_ids]
    )


def _header(scope: dict[str, Any], wanted: bytes) -> str | None:
    for name, value in scope.get("headers", []):
        if name == wanted:
            return bytes(value).decode("latin-1").strip().lower()
    return None


def origin_of(scope: dict[str, Any]) -> str | None:
    return _header(scope, b"origin")


@dataclass(frozen=True)
class SameHost:
    """Accept the site's own origin: an http(s) origin on the request's Host, which ALLOWED_HOSTS names."""

    allowed_hosts: Sequence[str]
    # Behind a proxy that rewrites Host and passes the browser's in X-Forwarded-Host (USE_X_FORWARDED_HOST).
    use_forwarded_host: bool = False

    def request_host(self, scope: dict[str, Any]) -> str | None:
        forwarded = _header(scope, b"x-forwarded-host") if self.use_forwarded_host else None
        if forwarded:
            return forwarded.split(",")[0].strip()
        return _header(scope, b"host")

    def allows(self, scope: dict[str, Any]) -> bool:
        origin, host = origin_of(scope), self.request_host(scope)
        if not origin or not host:
            return False
        parts = urlsplit(origin)
        if parts.scheme not in {"http", "https"} or parts.netloc != host or parts.path or parts.username:
            return False
        domain, _ = split_domain_port(host)
        return bool(domain) and validate_host(domain, list(self.allowed_hosts))


def same_host_policy() -> SameHost | None:
    """The same-host rule as the settings ask for it: on in the embedded default, off in production."""
    if not getattr(settings, "SMILE_SAME_HOST_ORIGIN", False):
        return None
    return SameHost(allowed_hosts=tuple(settings.ALLOWED_HOSTS), use_forwarded_host=settings.USE_X_FORWARDED_HOST)


def is_site_origin(scope: dict[str, Any], *, site_origins: Iterable[str], same_host: SameHost | None = None) -> bool:
    """Whether the handshake came from one of the site's own pages (not the extension, not elsewhere).

    A socket authenticated by the session cookie must pass this: the browser sends the cookie
    whichever page opens the socket, so only the Origin tells our pages from a forged cross-site one.
    """
    origin = origin_of(scope)
    if origin is None:
        return False
    if origin in {site.rstrip("/").lower() for site in site_origins}:
        return True
    return same_host is not None and same_host.allows(scope)


class ExactOriginValidator:
    """Refuse a WebSocket unless its Origin is in ``origins`` (or, with ``same_host``, the site's own).

    A refused socket is accepted and closed with ``CLOSE_ORIGIN_REFUSED`` before the application
    sees it: nothing is read from it, and the page learns why.
    """

    def __init__(self, application: Any, origins: frozenset[str], *, same_host: SameHost | None = None) -> None:
        self.application = application
        self.origins = origins
        self.same_host = same_host

    def allows(self, scope: dict[str, Any]) -> bool:
        return origin_of(scope) in self.origins or (self.same_host is not None and self.same_host.allows(scope))

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if scope["type"] == "websocket" and not self.allows(scope):
            return await refuse_origin(receive, send)
        return await self.application(scope, receive, send)


async def refuse_origin(receive: Any, send: Any) -> None:
    """Answer the handshake, close with ``CLOSE_ORIGIN_REFUSED``, and read nothing the client sends."""
    message = await receive()
    if message["type"] != "websocket.connect":
        return
    await send({"type": "websocket.accept"})
    await send({"type": "websocket.close", "code": CLOSE_ORIGIN_REFUSED})
