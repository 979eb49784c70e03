"""ValkeyCache: the seed's LangGraph cache on Valkey (standalone or cluster), built through the container.

A thin class: it asks the container for the cache use cases over the sync
client it is given (``adapters/valkey/cache.py`` holds the layout) and
inherits the LangGraph API from RepositoryCache. Sync methods are plain
blocking calls, so they also work inside a running event loop; async methods
run them in a worker thread.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any, Optional

from dependency_injector import providers
from langgraph.checkpoint.serde.base import SerializerProtocol

from ..container import PersistenceContainer, create_container
from ..domain.errors import ConfigurationError
from .cache import RepositoryCache

__all__ = ["ValkeyCache"]

DEFAULT_PREFIX = "langgraph:cache:"


def _clients() -> Any:
    from ..adapters.valkey import clients

    return clients


class ValkeyCache(RepositoryCache[Any]):
    """A LangGraph cache (BaseCache) on Valkey: one key per entry, expired by the server.

    Keys are LangGraph's ``(namespace, key)`` pairs, or plain strings (the
    seed README's form, kept under the empty namespace). TTLs are in seconds.

    Args:
        client: a ``valkey.Valkey`` or ``valkey.cluster.ValkeyCluster`` with
            ``decode_responses=False``. The client stays yours: ``close()`` never closes it.
        prefix: head of every key of this cache (no braces).
        ttl: default TTL in seconds of entries set without one (None: forever).
        serde: serializer (default JsonPlusSerializer with pickle off).

    Raises:
        ConfigurationError: an async client, a client that decodes responses,
            a prefix with a brace, or a TTL that is not positive.

    Example:
        >>> with ValkeyCache.from_conn_string("valkey://localhost:6379", ttl_seconds=3600) as cache:
        ...     graph = builder.compile(cache=cache)
    """

    def __init__(
        self,
        client: Any,
        *,
        prefix: str = DEFAULT_PREFIX,
        ttl: Optional[float] = None,
        serde: Optional[SerializerProtocol] = None,
    ) -> None:
        if _clients().is_async_client(client):
            raise ConfigurationError(
                "ValkeyCache needs a sync client (valkey.Valkey or valkey.cluster.ValkeyCluster); "
                "its async methods run the sync calls in a worker thread"
            )
        container = create_container({"backend": "valkey", "cache": {"ttl_seconds": ttl, "prefix": prefix}})
        container.valkey.client.override(providers.Object(client))
        self._adopt(container, serde)

    def _adopt(self, container: PersistenceContainer, serde: Optional[SerializerProtocol]) -> None:
        options = container.options()
        self.client = container.valkey.client()
        self.prefix = options.cache.prefix
        self.ttl = options.cache.ttl_seconds
        RepositoryCache.__init__(self, container.cache_service(), serde=serde, container=container)

    @classmethod
    def from_container(cls, container: PersistenceContainer, *, serde: Optional[SerializerProtocol] = None) -> ValkeyCache:
        """A cache over the container's Valkey client (built from ``valkey.url``); closing it closes the client."""
        cache = cls.__new__(cls)
        cache._adopt(container, serde)
        return cache

    @property
    def repository(self) -> Any:
        """The ValkeyCacheRepository under this cache."""
        return self.service.repository

    @classmethod
    @contextlib.contextmanager
    def from_conn_string(
        cls,
        conn_string: str,
        *,
        ttl_seconds: Optional[float] = None,
        pool_size: int = 10,
        prefix: str = DEFAULT_PREFIX,
        serde: Optional[SerializerProtocol] = None,
        cluster: Optional[bool] = None,
        **kwargs: Any,
    ) -> Iterator[ValkeyCache]:
        """A cache on a new connection pool, closed on exit.

        Args:
            conn_string: ``valkey://[user:password@]host:port[/db]``; ``valkeys://``
                for TLS; ``redis://`` and ``rediss://`` work too.
            ttl_seconds: default TTL in seconds of entries set without one.
            pool_size: most connections kept open.
            prefix: head of every key of this cache.
            serde: serializer.
            cluster: force cluster mode (None: ask the server).
            kwargs: valkey-py options (``socket_timeout=``, ``ssl_ca_certs=``...).
        """
        client = _clients().client_from_url(conn_string, pool_size=pool_size, cluster=cluster, **kwargs)
        try:
            cache = cls(client, prefix=prefix, ttl=ttl_seconds, serde=serde)
            with cache:
                yield cache
        finally:
            client.close()

    @classmethod
    @contextlib.contextmanager
    def from_pool(
        cls,
        pool: Any,
        *,
        ttl_seconds: Optional[float] = None,
        prefix: str = DEFAULT_PREFIX,
        serde: Optional[SerializerProtocol] = None,
    ) -> Iterator[ValkeyCache]:
        """A cache over an existing ``valkey.ConnectionPool`` (the pool stays open: it is yours)."""
        cache = cls(_clients().client_from_pool(pool), prefix=prefix, ttl=ttl_seconds, serde=serde)
        with cache:
            yield cache
