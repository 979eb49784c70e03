"""The LangGraph BaseCache over CacheService (every backend shares it)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Optional

from langgraph.cache.base import BaseCache, FullKey, Namespace, ValueT
from langgraph.checkpoint.serde.base import SerializerProtocol
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

from ..application.cache import CacheKey, CacheService
from ..domain.errors import InvalidInputError
from ..domain.models import Payload
from ._async import run_blocking

__all__ = ["RepositoryCache"]


def _full_key(key: Any) -> CacheKey:
    """LangGraph's ``(namespace, key)``; a bare string (the seed README's form) lives in namespace ``()``."""
    return ((), key) if isinstance(key, str) else key


class RepositoryCache(BaseCache[ValueT]):
    """A LangGraph cache over any CacheRepository, with the sync and async API.

    Keys are LangGraph's ``(namespace, key)`` pairs; a bare string key is also
    accepted (as in the seed README) and stored under the empty namespace.
    TTLs are in seconds; a None TTL uses the service's default TTL.

    Args:
        service: the cache use cases, wired to a repository by the container.
        serde: serializer for cached values (default: JsonPlusSerializer, pickle off).
        container: the container that built the service; the cache owns it and
            releases what it built on ``close()``.
    """

    def __init__(
        self, service: CacheService, *, serde: Optional[SerializerProtocol] = None, container: Optional[Any] = None
    ) -> None:
        super().__init__(serde=serde or JsonPlusSerializer(pickle_fallback=False))
        self.service = service
        self._container = container

    def close(self) -> None:
        """Release what this cache's container built (borrowed clients stay open)."""
        container, self._container = self._container, None
        if container is not None:
            container.shutdown_resources()

    def __enter__(self) -> RepositoryCache[ValueT]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> RepositoryCache[ValueT]:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await run_blocking(self.close)

    def get(self, keys: Sequence[FullKey]) -> dict[FullKey, ValueT]:
        """The cached values of the keys that are present and not expired."""
        normalized = [_full_key(key) for key in keys]
        found = self.service.get_many(normalized)  # validates the keys before they are hashed
        asked: dict[CacheKey, Any] = dict(zip(normalized, keys))
        return {asked[ident]: self.serde.loads_typed(payload.as_tuple()) for ident, payload in found.items()}

    async def aget(self, keys: Sequence[FullKey]) -> dict[FullKey, ValueT]:
        """Async :meth:`get`, run in a worker thread."""
        return await run_blocking(self.get, keys)

    def set(self, pairs: Mapping[FullKey, tuple[ValueT, Optional[int]]]) -> None:
        """Cache values, each with a TTL in seconds (None: the default TTL)."""
        entries: dict[CacheKey, tuple[Payload, Optional[float]]] = {}
        for key, pair in pairs.items():
            if not isinstance(pair, tuple) or len(pair) != 2:
                raise InvalidInputError(f"cache key {key!r}: the value must be a (value, ttl) pair, got {pair!r}")
            value, ttl = pair
            entries[_full_key(key)] = (Payload(*self.serde.dumps_typed(value)), ttl)
        self.service.set_many(entries)

    async def aset(self, pairs: Mapping[FullKey, tuple[ValueT, Optional[int]]]) -> None:
        """Async :meth:`set`, run in a worker thread."""
        await run_blocking(self.set, pairs)

    def clear(self, namespaces: Optional[Sequence[Namespace]] = None) -> None:
        """Delete the entries of ``namespaces`` (every entry when None)."""
        self.service.clear(None if namespaces is None else list(namespaces))

    async def aclear(self, namespaces: Optional[Sequence[Namespace]] = None) -> None:
        """Async :meth:`clear`, run in a worker thread."""
        await run_blocking(self.clear, namespaces)
