"""In-memory cache repository: ``_entries[namespace][key] -> CacheEntry`` under one lock.

Expired entries read as absent and are dropped when read or overwritten.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Callable, Optional

from ...domain.models import CacheEntry

__all__ = ["InMemoryCacheRepository"]

_EntryKey = tuple[tuple[str, ...], str]


class InMemoryCacheRepository:
    """A CacheRepository in process memory.

    Args:
        clock: time source (POSIX seconds) used to decide expiry; injectable for tests.
    """

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self._lock = threading.RLock()
        self._entries: dict[tuple[str, ...], dict[str, CacheEntry]] = {}
        self._clock = clock

    def get_entries(self, keys: Sequence[_EntryKey]) -> dict[_EntryKey, CacheEntry]:
        """The live entries among ``keys``."""
        with self._lock:
            now = self._clock()
            found: dict[_EntryKey, CacheEntry] = {}
            for namespace, key in keys:
                ns = tuple(namespace)
                bucket = self._entries.get(ns)
                entry = bucket.get(key) if bucket is not None else None
                if entry is None:
                    continue
                if entry.expires_at is not None and entry.expires_at <= now:
                    del bucket[key]  # type: ignore[union-attr]
                    if not bucket:
                        del self._entries[ns]
                    continue
                found[(ns, key)] = entry
            return found

    def set_entries(self, entries: Sequence[CacheEntry]) -> None:
        """Insert or replace entries."""
        with self._lock:
            for entry in entries:
                self._entries.setdefault(entry.namespace, {})[entry.key] = entry

    def clear(self, namespaces: Optional[Sequence[tuple[str, ...]]] = None) -> None:
        """Delete the entries of ``namespaces`` (every entry when None)."""
        with self._lock:
            if namespaces is None:
                self._entries.clear()
                return
            for namespace in namespaces:
                self._entries.pop(tuple(namespace), None)
