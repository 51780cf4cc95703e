"""Mood windows waiting for the database: a bounded, in-process, thread-safe buffer.

When the database stays unreachable after ``record_window``'s retries, the window waits
here and is written by the next successful write (``moods.stream.windows.flush_pending``). The buffer
is bounded (``SMILE_PENDING_WINDOWS``): when full, the oldest window is dropped, so an
outage costs the oldest history, never the process's memory. It lives in memory only:
a restart during an outage loses what it holds. It holds aggregates, never frames.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

from common.lazy import Lazy
from moods.stream.aggregator import ClosedWindow
from moods.stream.config import stream_config


@dataclass(frozen=True)
class PendingWindow:
    user_id: int
    device_id: int | None
    window: ClosedWindow


class PendingBuffer:
    def __init__(self, *, capacity: int) -> None:
        self.capacity = capacity
        self._items: deque[PendingWindow] = deque()
        self._lock = threading.Lock()
        self.dropped = 0

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def add(self, item: PendingWindow) -> None:
        with self._lock:
            self._items.append(item)
            self._trim()

    def take_all(self) -> list[PendingWindow]:
        with self._lock:
            items = list(self._items)
            self._items.clear()
            return items

    def put_back(self, items: Iterable[PendingWindow]) -> None:
        """Return unwritten items ahead of newer ones (still bounded: the oldest go first)."""
        with self._lock:
            self._items.extendleft(reversed(list(items)))
            self._trim()

    def _trim(self) -> None:
        while len(self._items) > self.capacity:
            self._items.popleft()
            self.dropped += 1


# The process's buffer, sized from settings on first use.
pending_buffer: Lazy[PendingBuffer] = Lazy(lambda: PendingBuffer(capacity=stream_config().pending_windows))
