"""One value per process, built on first use: the model, the dispatcher, the buffers.

Each was a hand-written double-checked lock; this is that lock, written once. ``reset``
forgets the value (tests, settings changes) and hands it back so the caller can close it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Lazy(Generic[T]):
    def __init__(self, factory: Callable[[], T]) -> None:
        self._factory = factory
        self._value: T | None = None
        self._lock = threading.Lock()

    def get(self) -> T:
        """The value, built by the factory exactly once even when threads race for it."""
        value = self._value
        if value is None:
            with self._lock:
                value = self._value
                if value is None:
                    value = self._value = self._factory()
        return value

    def set(self, value: T) -> None:
        """Use ``value`` from now on (a test's stand-in)."""
        with self._lock:
            self._value = value

    def reset(self) -> T | None:
        """Forget the value (the next ``get`` builds a new one); returns the old one, if any."""
        with self._lock:
            value, self._value = self._value, None
        return value
