"""Backend container: Valkey, ElastiCache or Redis (standalone or cluster).

valkey-py is imported only when a provider is used, so the package imports
without it. The client built from ``valkey.url`` is a Resource closed by
``shutdown_resources()``; a client a user supplies (``client.override(...)``)
is never closed here.
"""

from __future__ import annotations

from typing import Any, Optional

from dependency_injector import providers, resources

from ..domain.errors import ConfigurationError
from .base import BackendContainer, CacheBackend, ExecutorResource, StoreBackend, retry_policy

__all__ = ["ValkeyBackend", "ValkeyClientResource"]


class ValkeyClientResource(resources.Resource[Any]):
    """A sync client for ``valkey.url``, closed on shutdown (never by garbage collection)."""

    def init(self, url: Optional[str], pool_size: int, cluster: Optional[bool]) -> Any:
        if not url:
            raise ConfigurationError("valkey.url is required (e.g. valkey://localhost:6379)")
        from ..adapters.valkey.clients import client_from_url

        return client_from_url(url, pool_size=pool_size, cluster=cluster)

    def shutdown(self, client: Any) -> None:
        if client is not None:
            client.close()


def _layout(name: str) -> Any:
    from ..adapters.valkey import AGENTCORE_LAYOUT, PLAIN_LAYOUT

    return AGENTCORE_LAYOUT if name == "agentcore" else PLAIN_LAYOUT


def _repository(client: Any, layout: str, ttl_seconds: Optional[float]) -> Any:
    from ..adapters.valkey import ValkeyCheckpointRepository

    return ValkeyCheckpointRepository(client, layout=_layout(layout), ttl_seconds=ttl_seconds)


def _async_repository(client: Any, layout: str, ttl_seconds: Optional[float]) -> Any:
    from ..adapters.valkey import AsyncValkeyCheckpointRepository

    return AsyncValkeyCheckpointRepository(client, layout=_layout(layout), ttl_seconds=ttl_seconds)


def _cache_repository(client: Any, prefix: str) -> Any:
    from ..adapters.valkey import ValkeyCacheRepository

    return ValkeyCacheRepository(client, prefix=prefix)


_INDEX_SETTINGS = (
    "collection_name", "distance_metric", "index_type", "hnsw_m", "hnsw_ef_construction", "hnsw_ef_runtime",
)  # fmt: skip


def _item_repository(client: Any, prefix: str) -> Any:
    from ..adapters.valkey.store import ValkeyItemRepository

    return ValkeyItemRepository(client, prefix=prefix)


def _async_item_repository(client: Any, prefix: str) -> Any:
    from ..adapters.valkey.store import AsyncValkeyItemRepository

    return AsyncValkeyItemRepository(client, prefix=prefix)


def _vector_index(items: Any, index: Optional[dict[str, Any]], fallback: str, *, asynchronous: bool) -> Any:
    """The FT vector index for ``store.index`` (None when no index is configured)."""
    if not index:
        return None
    from ..adapters.valkey.store import AsyncValkeyVectorIndex, ValkeyVectorIndex

    settings = {name: index[name] for name in _INDEX_SETTINGS if index.get(name) is not None}
    cls = AsyncValkeyVectorIndex if asynchronous else ValkeyVectorIndex
    return cls(items, dims=index.get("dims"), fallback=fallback, **settings)


def _async_concurrency(client: Any, pool_size: int) -> Optional[int]:
    # A multiplexed client pipelines every caller on one socket: nothing to cap.
    return None if getattr(client, "multiplexed", False) else pool_size


class ValkeyBackend(BackendContainer, StoreBackend, CacheBackend):
    """Checkpoints, the long-term memory store and the cache on a Valkey server or cluster.

    Override ``client`` (sync) or ``async_client`` (valkey.asyncio) to use your
    own client; ``retry_policy`` to inject a RetryPolicy (tests inject ``sleep=``).
    """

    options = BackendContainer.options
    section = options.provided.valkey
    client = providers.Resource(
        ValkeyClientResource, url=section.url, pool_size=section.pool_size, cluster=section.cluster
    )
    async_client: providers.Provider[Any] = providers.Dependency()
    checkpoint_repository = providers.Singleton(
        _repository, client=client, layout=section.layout, ttl_seconds=options.provided.ttl_seconds
    )
    async_checkpoint_repository = providers.Singleton(
        _async_repository, client=async_client, layout=section.layout, ttl_seconds=options.provided.ttl_seconds
    )
    # The async API keeps at most pool_size calls in flight: a cluster client's
    # per-node pools fail past their size instead of waiting.
    async_concurrency = providers.Callable(_async_concurrency, async_client, section.pool_size)
    blob_store: providers.Provider[Any] = providers.Object(None)
    max_inline_bytes: providers.Provider[Any] = providers.Object(None)
    retry_policy = providers.Singleton(retry_policy, section.retry_attempts)
    # The cache on the same sync client, under ``cache.prefix``.
    cache_repository = providers.Singleton(_cache_repository, client=client, prefix=options.provided.cache.prefix)
    # The long-term memory store on the same clients, under ``store.prefix``.
    store = options.provided.store
    item_repository = providers.Singleton(_item_repository, client=client, prefix=store.prefix)
    vector_index = providers.Singleton(
        _vector_index, item_repository, store.index, store.search_fallback, asynchronous=False
    )
    async_item_repository = providers.Singleton(_async_item_repository, client=async_client, prefix=store.prefix)
    async_vector_index = providers.Singleton(
        _vector_index, async_item_repository, store.index, store.search_fallback, asynchronous=True
    )
    # As many workers as the sync client has connections: calls never wait on the pool.
    executor = providers.Resource(ExecutorResource, max_workers=section.pool_size, name="lgaws-valkey")
