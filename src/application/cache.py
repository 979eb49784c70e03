"""Cache use cases: typed payloads under ``(namespace, key)`` with TTLs in seconds."""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Callable, Optional, TypeVar

from ..domain.errors import InvalidInputError
from ..domain.models import CacheEntry, Payload
from ..domain.policies import RetryPolicy
from ..domain.ports import CacheRepository

T = TypeVar("T")

__all__ = ["CacheService", "CacheKey"]

CacheKey = tuple[tuple[str, ...], str]
"""A cache entry's identity: ``(namespace, key)``, LangGraph's ``FullKey``."""


def _check_namespace(namespace: Any, where: str) -> tuple[str, ...]:
    if not isinstance(namespace, tuple) or not all(isinstance(label, str) for label in namespace):
        raise InvalidInputError(f"{where}: the namespace must be a tuple of strings, got {namespace!r}")
    return namespace


def _check_key(pair: Any) -> CacheKey:
    if not isinstance(pair, tuple) or len(pair) != 2:
        raise InvalidInputError(
            f"cache keys must be (namespace, key) pairs with a tuple-of-strings namespace, got {pair!r}"
        )
    namespace, key = pair
    _check_namespace(namespace, f"cache key {pair!r}")
    if not isinstance(key, str):
        raise InvalidInputError(f"cache key {pair!r}: the key must be a str, got {type(key).__name__}")
    return namespace, key


def _check_ttl(ttl: Any, where: str) -> Optional[float]:
    if ttl is None:
        return None
    if isinstance(ttl, bool) or not isinstance(ttl, (int, float)) or not math.isfinite(ttl) or ttl <= 0:
        raise InvalidInputError(f"{where}: ttl must be a positive number of seconds or None, got {ttl!r}")
    return float(ttl)


class CacheService:
    """Reads and writes cache entries through a CacheRepository.

    Args:
        repository: where entries are kept.
        default_ttl_seconds: lifetime of entries written without a TTL (None: forever).
        clock: time source in POSIX seconds (injected in tests).
        retry: the retry policy applied once around each repository call (as
            the checkpoint use cases do); every cache call is idempotent.
    """

    def __init__(
        self,
        *,
        repository: CacheRepository,
        default_ttl_seconds: Optional[float] = None,
        clock: Callable[[], float] = time.time,
        retry: Optional[RetryPolicy] = None,
    ) -> None:
        self.repository = repository
        self.default_ttl_seconds = _check_ttl(default_ttl_seconds, "default_ttl_seconds")
        self.clock = clock
        self.retry = retry if retry is not None else RetryPolicy()

    def _call(self, fn: Callable[..., T], *args: Any) -> T:
        if self.retry.attempts == 1:
            return fn(*args)
        return self.retry.retrying()(fn, *args)

    def get_many(self, keys: Iterable[CacheKey]) -> dict[CacheKey, Payload]:
        """The live payloads among ``keys``; missing and expired keys are absent.

        Raises:
            InvalidInputError: a key is not a ``(tuple[str, ...], str)`` pair.
        """
        wanted = list(dict.fromkeys(_check_key(pair) for pair in keys))
        if not wanted:
            return {}
        entries = self._call(self.repository.get_entries, wanted)
        return {ident: entry.payload for ident, entry in entries.items()}

    def set_many(self, entries: Mapping[CacheKey, tuple[Payload, Optional[float]]]) -> None:
        """Store payloads, each with its TTL in seconds (None: the default TTL).

        Raises:
            InvalidInputError: a key is malformed, a value is not a
                ``(Payload, ttl)`` pair, or a TTL is not a positive number.
        """
        now = self.clock()
        prepared: list[CacheEntry] = []
        for pair, value in entries.items():
            namespace, key = _check_key(pair)
            if not isinstance(value, tuple) or len(value) != 2 or not isinstance(value[0], Payload):
                raise InvalidInputError(f"cache key {pair!r}: the value must be a (Payload, ttl) pair, got {value!r}")
            payload, ttl = value
            seconds = _check_ttl(ttl, f"cache key {pair!r}")
            if seconds is None:
                seconds = self.default_ttl_seconds
            prepared.append(
                CacheEntry(
                    namespace=namespace,
                    key=key,
                    payload=payload,
                    expires_at=None if seconds is None else now + seconds,
                )
            )
        if prepared:
            self._call(self.repository.set_entries, prepared)

    def clear(self, namespaces: Optional[Sequence[tuple[str, ...]]] = None) -> None:
        """Delete the entries of ``namespaces`` (every entry when None)."""
        if namespaces is None:
            self._call(self.repository.clear, None)
            return
        checked = [_check_namespace(ns, "clear") for ns in namespaces]
        if checked:
            self._call(self.repository.clear, checked)
