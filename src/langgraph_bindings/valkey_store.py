"""ValkeyStore and AsyncValkeyStore: the seed's long-term memory store on Valkey, built through the container.

Thin classes: each asks the container for the store use cases over the client
it is given (``adapters/valkey/store.py`` holds the layout, the scripts and
the vector index) and inherits the LangGraph API from RepositoryStore.
``ValkeyStore`` takes a sync client (its async methods run the sync calls in
the executor its container owns); ``AsyncValkeyStore`` takes a
``valkey.asyncio`` client and awaits it natively (its sync methods, called
from another thread, run on the loop the store was used on).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Coroutine, Iterable, Iterator
from typing import Any, Literal, Optional, TypeVar

from dependency_injector import providers
from langgraph.store.base import IndexConfig, Op, Result, TTLConfig
from typing_extensions import Self

from ..container import PersistenceContainer, create_container
from ..domain.errors import ConfigurationError, InvalidInputError
from .store import RepositoryStore

__all__ = ["ValkeyStore", "AsyncValkeyStore", "ValkeyIndexConfig"]

DEFAULT_PREFIX = "langgraph:store:"
T = TypeVar("T")


class ValkeyIndexConfig(IndexConfig, total=False):
    """LangGraph's IndexConfig (``dims``, ``embed``, ``fields``) plus the Valkey options.

    ``collection_name`` names the FT index (default ``<prefix>idx``);
    ``timezone`` the zone of returned timestamps (default UTC); ``index_type``
    is ``"hnsw"`` (default) or ``"flat"``; ``hnsw_m`` / ``hnsw_ef_construction``
    / ``hnsw_ef_runtime`` default to 16 / 200 / 10; ``distance_metric`` is
    ``"cosine"`` (default), ``"l2"`` or ``"ip"``.
    """

    collection_name: str
    timezone: str
    index_type: Literal["hnsw", "flat"]
    hnsw_m: int
    hnsw_ef_construction: int
    hnsw_ef_runtime: int
    distance_metric: Literal["cosine", "l2", "ip", "inner_product"]


def _clients() -> Any:
    from ..adapters.valkey import clients

    return clients


def _container(
    index: Optional[Any], ttl: Optional[Any], prefix: str, search_fallback: str
) -> PersistenceContainer:
    store = {"index": dict(index) if index else None, "ttl": ttl, "prefix": prefix, "search_fallback": search_fallback}
    return create_container({"backend": "valkey", "store": store})


class ValkeyStore(RepositoryStore):
    """A LangGraph store (BaseStore) on Valkey, with vector search when the server has a search module.

    Args:
        client: ``valkey.Valkey`` or ``valkey.cluster.ValkeyCluster`` with
            ``decode_responses=False``; it stays yours (``close()`` never closes it).
        index: ValkeyIndexConfig for semantic search (needs RediSearch or
            valkey-search on a standalone server; call ``setup()`` once).
        ttl: LangGraph's TTLConfig (minutes).
        prefix: head of every key of this store (no braces).
        search_fallback: without a search module, ``"error"`` (a query search
            raises SearchModuleMissingError) or ``"exact"`` (vectors scored in
            the client, logged once).

    Example:
        >>> with ValkeyStore.from_conn_string("valkey://localhost:6379") as store:
        ...     store.put(("users", "1"), "prefs", {"theme": "dark"})
    """

    def __init__(
        self,
        client: Any,
        *,
        index: Optional[ValkeyIndexConfig] = None,
        ttl: Optional[TTLConfig] = None,
        prefix: str = DEFAULT_PREFIX,
        search_fallback: Literal["error", "exact"] = "error",
    ) -> None:
        if _clients().is_async_client(client):
            raise ConfigurationError("ValkeyStore needs a sync client; use AsyncValkeyStore with a valkey.asyncio client")
        container = _container(index, ttl, prefix, search_fallback)
        container.valkey.client.override(providers.Object(client))
        self._adopt(container, index, ttl)

    def _adopt(self, container: PersistenceContainer, index: Optional[Any], ttl: Optional[Any]) -> None:
        self.client = container.valkey.client()
        RepositoryStore.__init__(self, container.store_service(), index=index, ttl=ttl, container=container)

    @classmethod
    def from_container(cls, container: PersistenceContainer) -> ValkeyStore:
        """A store over the container's Valkey client (built from ``valkey.url``); closing it closes the client."""
        options = container.options().store
        store = cls.__new__(cls)
        store._adopt(container, options.index, options.ttl)
        return store

    @property
    def search_module(self) -> Optional[bool]:
        """Whether the server has a search module (None until ``setup()`` or a query search asked)."""
        return getattr(self.service.vectors, "module", None)

    @classmethod
    @contextlib.contextmanager
    def from_conn_string(
        cls,
        conn_string: str,
        *,
        index: Optional[ValkeyIndexConfig] = None,
        ttl: Optional[TTLConfig] = None,
        pool_size: int = 10,
        prefix: str = DEFAULT_PREFIX,
        search_fallback: Literal["error", "exact"] = "error",
        cluster: Optional[bool] = None,
        **kwargs: Any,
    ) -> Iterator[ValkeyStore]:
        """A store on a new connection pool, closed on exit.

        Args:
            conn_string: ``valkey://[user:password@]host:port[/db]``; ``valkeys://`` for TLS.
            index: ValkeyIndexConfig.
            ttl: TTLConfig (minutes).
            pool_size: most connections kept open.
            prefix: head of every key of this store.
            search_fallback: ``"error"`` or ``"exact"`` (see the class).
            cluster: force cluster mode (None: ask the server).
            kwargs: valkey-py options (``socket_timeout=``, ``ssl_ca_certs=``...).
        """
        client = _clients().client_from_url(conn_string, pool_size=pool_size, cluster=cluster, **kwargs)
        try:
            with cls(client, index=index, ttl=ttl, prefix=prefix, search_fallback=search_fallback) as store:
                yield store
        finally:
            client.close()

    @classmethod
    @contextlib.contextmanager
    def from_pool(cls, pool: Any, **kwargs: Any) -> Iterator[ValkeyStore]:
        """A store over an existing ``valkey.ConnectionPool`` (the pool stays open: it is yours)."""
        with cls(_clients().client_from_pool(pool), **kwargs) as store:
            yield store


class AsyncValkeyStore(RepositoryStore):
    """``ValkeyStore`` on a ``valkey.asyncio`` client, awaited natively.

    Sync methods work from threads other than the event loop's, once the store
    has been used on its loop (``async with``, ``await store.setup()`` or any
    async call); inside the loop, use the ``a*`` methods.
    """

    def __init__(
        self,
        client: Any,
        *,
        index: Optional[ValkeyIndexConfig] = None,
        ttl: Optional[TTLConfig] = None,
        prefix: str = DEFAULT_PREFIX,
        search_fallback: Literal["error", "exact"] = "error",
    ) -> None:
        if not _clients().is_async_client(client):
            raise ConfigurationError("AsyncValkeyStore needs a valkey.asyncio client; use ValkeyStore with a sync one")
        container = _container(index, ttl, prefix, search_fallback)
        container.valkey.async_client.override(providers.Object(client))
        self.client = client
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        RepositoryStore.__init__(self, container.async_store_service(), index=index, ttl=ttl, container=container)

    @property
    def search_module(self) -> Optional[bool]:
        """See ``ValkeyStore.search_module``."""
        return getattr(self.service.vectors, "module", None)

    def _entered(self) -> None:
        self._loop = asyncio.get_running_loop()

    def _bridge(self, coro: Coroutine[Any, Any, T], name: str) -> T:
        loop = self._loop
        try:
            running: Optional[asyncio.AbstractEventLoop] = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if loop is None or loop.is_closed() or running is loop:
            coro.close()
            raise InvalidInputError(
                f"AsyncValkeyStore.{name}() is synchronous: call `await store.a{name}(...)` on the event loop, "
                "or call it from another thread once the store has been used on its loop"
            )
        return asyncio.run_coroutine_threadsafe(coro, loop).result()

    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        self._entered()
        return await super().abatch(ops)

    def batch(self, ops: Iterable[Op]) -> list[Result]:
        return self._bridge(self.abatch(ops), "batch")

    async def asetup(self) -> None:
        self._entered()
        await self.service.asetup()

    async def setup(self) -> None:  # type: ignore[override]
        """Create the vector index (awaited: ``await store.setup()``, as in the seed)."""
        await self.asetup()

    async def asweep_ttl(self) -> int:
        self._entered()
        return await self.service.asweep_expired()

    def sweep_ttl(self) -> int:
        return self._bridge(self.asweep_ttl(), "sweep_ttl")

    async def __aenter__(self) -> Self:
        self._entered()
        return self

    @classmethod
    @contextlib.asynccontextmanager
    async def from_conn_string(
        cls,
        conn_string: str,
        *,
        index: Optional[ValkeyIndexConfig] = None,
        ttl: Optional[TTLConfig] = None,
        pool_size: int = 10,
        prefix: str = DEFAULT_PREFIX,
        search_fallback: Literal["error", "exact"] = "error",
        cluster: Optional[bool] = None,
        **kwargs: Any,
    ) -> AsyncIterator[AsyncValkeyStore]:
        """An async store on a new async connection pool, closed on exit (arguments as ValkeyStore's)."""
        client = await _clients().async_client_from_url(conn_string, pool_size=pool_size, cluster=cluster, **kwargs)
        try:
            async with cls(client, index=index, ttl=ttl, prefix=prefix, search_fallback=search_fallback) as store:
                yield store
        finally:
            await client.aclose()

    @classmethod
    @contextlib.asynccontextmanager
    async def from_pool(cls, pool: Any, **kwargs: Any) -> AsyncIterator[AsyncValkeyStore]:
        """An async store over a ``valkey.asyncio.ConnectionPool`` (the pool stays yours)."""
        import valkey.asyncio

        async with cls(valkey.asyncio.Valkey(connection_pool=pool), **kwargs) as store:
            yield store
