"""Sub-container for the in-memory backend (no server, the embedded default)."""

from __future__ import annotations

from dependency_injector import containers, providers

from langgraph_checkpoint_aws.adapters.memory import (
    InMemoryBlobStore,
    InMemoryCacheRepository,
    InMemoryCheckpointRepository,
    InMemoryItemRepository,
    InMemoryVectorIndex,
)

__all__ = ["MemoryBackend"]


class MemoryBackend(containers.DeclarativeContainer):
    """Repositories kept in process memory."""

    config = providers.Configuration()
    ttl_seconds = providers.Dependency(instance_of=(int, float, type(None)), default=None)
    offload = providers.Dependency(instance_of=bool, default=False)

    checkpoint_repository = providers.Singleton(InMemoryCheckpointRepository, ttl_seconds=ttl_seconds)
    blob_store = providers.Singleton(
        lambda offload: InMemoryBlobStore() if offload else None, offload=offload
    )
    item_repository = providers.Singleton(InMemoryItemRepository)
    vector_index = providers.Singleton(InMemoryVectorIndex)
    cache_repository = providers.Singleton(InMemoryCacheRepository)
    max_inline_bytes = providers.Object(None)
