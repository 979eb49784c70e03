"""Backend container: in-process memory (no server; the embedded default)."""

from __future__ import annotations

from typing import Any, Optional

from dependency_injector import providers

from ..adapters.memory.blobs import InMemoryBlobStore
from ..adapters.memory.cache import InMemoryCacheRepository
from ..adapters.memory.checkpoints import InMemoryCheckpointRepository
from ..adapters.memory.items import InMemoryItemRepository, InMemoryVectorIndex
from .base import BackendContainer, CacheBackend, ExecutorResource, StoreBackend, retry_policy

__all__ = ["MemoryBackend"]


def _blob_store(offload: bool) -> Optional[InMemoryBlobStore]:
    return InMemoryBlobStore() if offload else None


class MemoryBackend(BackendContainer, StoreBackend, CacheBackend):
    """Repositories kept in process memory (checkpoints, blobs, store items, vectors, cache)."""

    options = BackendContainer.options
    checkpoint_repository = providers.Singleton(
        InMemoryCheckpointRepository, ttl_seconds=options.provided.ttl_seconds
    )
    blob_store = providers.Singleton(_blob_store, offload=options.provided.memory.offload)
    max_inline_bytes: providers.Provider[Any] = providers.Object(None)
    retry_policy = providers.Singleton(retry_policy, options.provided.memory.retry_attempts)
    executor = providers.Resource(ExecutorResource, max_workers=4, name="lgaws-memory")
    vector_index = providers.Singleton(InMemoryVectorIndex)
    item_repository = providers.Singleton(InMemoryItemRepository, vector_index=vector_index)
    cache_repository = providers.Singleton(InMemoryCacheRepository)
