"""What one process verified recently (an API key, a password), so that it need not verify it
again on every request: a thread-safe time-to-live cache whose lifetime is a setting."""

import threading
from collections.abc import Hashable
from typing import Generic, TypeVar

from cachetools import TTLCache
from django.conf import settings

V = TypeVar("V")


class RecentlyVerified(Generic[V]):
    """Values remembered for ``settings.<setting>`` seconds (0 remembers nothing)."""

    def __init__(self, setting: str, maxsize: int = 10_000) -> None:
        self.setting = setting
        self.maxsize = maxsize
        self._lock = threading.Lock()
        self._cache: TTLCache | None = None

    def get(self, key: Hashable) -> V | None:
        with self._lock:
            return self._current().get(key)

    def remember(self, key: Hashable, value: V) -> None:
        with self._lock:
            cache = self._current()
            if cache.ttl > 0:
                cache[key] = value

    def _current(self) -> TTLCache:
        ttl = getattr(settings, self.setting)
        if self._cache is None or self._cache.ttl != ttl:  # the setting changed (tests do)
            self._cache = TTLCache(maxsize=self.maxsize, ttl=ttl)
        return self._cache
