"""The Redis channel layer, with one fix: a cancelled receive always ends.

redis-py can swallow a cancellation that lands at the wrong moment in a blocking command
(redis/redis-py#2028). channels_redis 4.3 then issues its next ``BZPOPMIN`` (every
``brpop_timeout`` seconds) for ever, because only a ``CancelledError`` leaves its loop: the
consumer of a socket that closed at that moment never finished, holding its memory in daphne
and polling Redis. A task keeps the count of the cancellations asked of it
(``Task.cancelling``), so after each pop the layer raises the one that was lost. A message
popped meanwhile is not lost: it waits in the channel's backup queue, as with any cancellation.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from channels_redis.core import RedisChannelLayer as BaseRedisChannelLayer


class RedisChannelLayer(BaseRedisChannelLayer):
    async def _brpop_with_clean(self, index: int, channel: str, timeout: float) -> Any:
        popped = await super()._brpop_with_clean(index, channel, timeout)
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise asyncio.CancelledError("cancelled during a blocking pop (the cancellation was swallowed)")
        return popped

    def new_local_channel(self) -> str:
        """A new channel of this process, named as ``new_channel`` names it, without awaiting."""
        return f"specific.{self.client_prefix}!{uuid.uuid4().hex}"
