"""One frame rate per device, shared by all its sockets (``docs/protocol.md``, "Frame rate").

``StreamSession`` holds a token bucket per socket; reconnecting, or opening several sockets,
would start each with a full bucket and multiply ``max_fps``. So an accepted frame also takes
a token from the device's own bucket, which every socket of the device shares: in Redis when
Redis is configured (every web process sees it; one atomic script, awaited without blocking
the event loop), in this process otherwise (the embedded mode is one process).

If Redis does not answer within ``REDIS_TIMEOUT_SECONDS`` the frame is allowed: the
per-socket bucket still holds, and a Redis outage must not stop every stream.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from typing import Final

import redis.asyncio as aioredis
from django.conf import settings
from redis.commands.core import AsyncScript

logger = logging.getLogger(__name__)

REDIS_TIMEOUT_SECONDS: Final = 0.5
# Under the rate-limit prefix, so whatever clears rate limits (tests) clears these too.
KEY_PREFIX: Final = "smile:rl:fps:device:"

# KEYS[1] the device's bucket; ARGV rate (tokens/s), capacity. Redis's own clock, so web
# processes on several machines agree. Returns 1 when a token was taken.
TAKE_FRAME_SLOT_SCRIPT: Final = """
local rate = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or capacity
local at = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - at) * rate)
local taken = 0
if tokens >= 1 then
  tokens = tokens - 1
  taken = 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(capacity / rate) + 1)
return taken
"""


class LocalBuckets:
    """The devices' buckets in this process (embedded mode)."""

    def __init__(self) -> None:
        self._buckets: dict[int, tuple[float, float]] = {}

    def take(self, device_id: int, *, rate: float, capacity: float, now: float) -> bool:
        tokens, at = self._buckets.get(device_id, (capacity, now))
        tokens = min(capacity, tokens + max(0.0, now - at) * rate)
        taken = tokens >= 1.0
        self._buckets[device_id] = (tokens - 1.0 if taken else tokens, now)
        if len(self._buckets) > 100_000:  # bounded: forget the full (idle) buckets
            self._buckets = {key: value for key, value in self._buckets.items() if value[0] < capacity}
        return taken


_local = LocalBuckets()


def forget_local_buckets() -> None:
    """Start every device with a full bucket in this process (tests)."""
    global _local
    _local = LocalBuckets()


# One script handle per event loop (a redis.asyncio connection belongs to the loop that opened
# it). The handle sends the script's SHA (EVALSHA), not its text, with every frame.
_scripts: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, AsyncScript] = weakref.WeakKeyDictionary()


def _script(url: str) -> AsyncScript:
    loop = asyncio.get_running_loop()
    script = _scripts.get(loop)
    if script is None:
        client = aioredis.Redis.from_url(
            url, socket_timeout=REDIS_TIMEOUT_SECONDS, socket_connect_timeout=REDIS_TIMEOUT_SECONDS
        )
        script = _scripts[loop] = client.register_script(TAKE_FRAME_SLOT_SCRIPT)
    return script


async def take_frame_token(device_id: int, *, max_fps: float) -> bool:
    """Whether the device may send one more frame now (its sockets together stay within ``max_fps``)."""
    capacity = max(1.0, max_fps)
    url = settings.REDIS_URL
    if not url:
        return _local.take(device_id, rate=max_fps, capacity=capacity, now=time.monotonic())
    try:
        taken = await asyncio.wait_for(
            _script(url)(keys=[f"{KEY_PREFIX}{device_id}"], args=[str(max_fps), str(capacity)]),
            timeout=REDIS_TIMEOUT_SECONDS,
        )
    except (TimeoutError, aioredis.RedisError, OSError) as exc:
        logger.warning("device frame rate not checked (%s): the socket's own limit applies", type(exc).__name__)
        return True
    return bool(taken)
