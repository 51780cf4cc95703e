"""Fixed-window rate limits kept in Django's cache (Redis in production, shared by every process).

A ``Rate`` allows ``limit`` hits per ``window_seconds``. Windows are aligned on the epoch, so
every process agrees on the current window without coordination, and the time left in the
window is exactly how long a refused client must wait. The price of a fixed window is that a
client can spend two budgets around a window boundary; the limits here guard against brute
force and floods, for which that is fine.

Keys (an IP address, an e-mail address, a user id) never reach the cache in clear: they are
hashed with a keyed HMAC, so a dump of Redis does not list who tried to log in from where.
Counting uses ``cache.add`` (SET NX) and ``cache.incr`` (INCR), both atomic on Redis.
"""

from __future__ import annotations

import ipaddress
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.utils.crypto import salted_hmac

_KEY_SALT = "smile.ratelimit"
# A counter outlives its window by this much, so a late increment never recreates an expired key.
_EXPIRY_SLACK_SECONDS = 5

# Seconds since the epoch; tests pin it to make windows deterministic.
clock: Callable[[], float] = time.time


@dataclass(frozen=True)
class Rate:
    """At most ``limit`` hits per ``window_seconds``; ``name`` separates the counters of different rates."""

    name: str
    limit: int
    window_seconds: int

    def __post_init__(self) -> None:
        if not self.name or ":" in self.name:
            raise ValueError(f"a rate needs a name without colons, got {self.name!r}")
        if self.limit < 1 or self.window_seconds < 1:
            raise ValueError(f"rate {self.name!r} needs a positive limit and window")


@dataclass(frozen=True)
class RateDecision:
    """The outcome of a hit or a peek.

    ``count`` is the number of hits in the current window (after the hit, for ``hit``), and
    ``retry_after`` the seconds until the window ends when refused (0 when allowed).
    """

    allowed: bool
    count: int
    limit: int
    retry_after: int

    @property
    def retry_after_minutes(self) -> int:
        """The wait rounded up to whole minutes (at least 1), for messages to people."""
        return max(1, math.ceil(self.retry_after / 60))

    @property
    def retry_after_text(self) -> str:
        """``1 minute``, ``5 minutes``: the wait as a refusal message says it."""
        minutes = self.retry_after_minutes
        return f"{minutes} minute" if minutes == 1 else f"{minutes} minutes"


def _window(rate: Rate, now: float) -> tuple[int, int]:
    """The current window's index and the whole seconds (at least 1) left in it."""
    index = int(now // rate.window_seconds)
    left = math.ceil((index + 1) * rate.window_seconds - now)
    return index, max(1, left)


def _cache_key(rate: Rate, key: str, index: int) -> str:
    digest = salted_hmac(_KEY_SALT, f"{rate.name}\x00{key}", algorithm="sha256").hexdigest()
    return f"smile:rl:{rate.name}:{index}:{digest}"


def _decision(rate: Rate, count: int, *, allowed: bool, left: int) -> RateDecision:
    return RateDecision(allowed=allowed, count=count, limit=rate.limit, retry_after=0 if allowed else left)


def hit(rate: Rate, key: str, *, now: float | None = None) -> RateDecision:
    """Count one hit for ``key``; allowed while the window's count stays within the limit."""
    index, left = _window(rate, clock() if now is None else now)
    cache_key = _cache_key(rate, key, index)
    timeout = left + _EXPIRY_SLACK_SECONDS
    if cache.add(cache_key, 1, timeout=timeout):
        count = 1
    else:
        try:
            count = cache.incr(cache_key)
        except ValueError:
            # The key expired between add and incr (only possible at the very end of a window).
            cache.add(cache_key, 1, timeout=timeout)
            count = 1
    return _decision(rate, count, allowed=count <= rate.limit, left=left)


def peek(rate: Rate, key: str, *, now: float | None = None) -> RateDecision:
    """Whether one more hit would be allowed, without counting it."""
    index, left = _window(rate, clock() if now is None else now)
    count = int(cache.get(_cache_key(rate, key, index), 0))
    return _decision(rate, count, allowed=count < rate.limit, left=left)


def reset(rate: Rate, key: str, *, now: float | None = None) -> None:
    """Forget the current window's hits for ``key`` (for example after a successful login)."""
    index, _ = _window(rate, clock() if now is None else now)
    cache.delete(_cache_key(rate, key, index))


def most_restrictive(*decisions: RateDecision) -> RateDecision:
    """The refused decision that asks for the longest wait, or the first one when all allow."""
    refused = [decision for decision in decisions if not decision.allowed]
    if not refused:
        return decisions[0]
    return max(refused, key=lambda decision: decision.retry_after)


def refused(response: HttpResponse, decision: RateDecision) -> HttpResponse:
    """Mark a page that explains a refusal as 429 Too Many Requests, with ``Retry-After``."""
    response.status_code = 429
    response["Retry-After"] = str(decision.retry_after)
    return response


def client_ip(request: HttpRequest) -> str:
    """The client's address as the server saw it.

    Behind nginx, ``daphne --proxy-headers`` has already replaced ``REMOTE_ADDR`` with the
    address nginx put in ``X-Forwarded-For``. Reading that header here would let any client
    choose its own address, so it is deliberately ignored.
    """
    raw = str(request.META.get("REMOTE_ADDR") or "").strip()
    try:
        return str(ipaddress.ip_address(raw))
    except ValueError:
        return "unknown"


def ip_bucket(ip: str) -> str:
    """The rate-limit key for an address: the address itself for IPv4, its /64 network for IPv6.

    One IPv6 subscriber usually holds a whole /64, so limiting single IPv6 addresses would
    limit nothing.
    """
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)
