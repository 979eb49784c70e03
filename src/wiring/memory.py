"""Sub-container for the in-memory backend (no server, the embedded default)."""

from __future__ import annotations

import importlib
from typing import Any

from dependency_injector import containers, providers

from ..adapters.memory.blobs import InMemoryBlobStore
from ..adapters.memory.checkpoints import InMemoryCheckpointRepository

__all__ = ["MemoryBackend"]


def _memory(module: str) -> Any:
    return importlib.import_module(f"langgraph_checkpoint_aws.adapters.memory.{module}")


class MemoryBackend(containers.DeclarativeContainer):
    """Repositories kept in process memory."""

    config = providers.Configuration()
    """The root configuration (this backend reads ``ttl_seconds`` and ``memory.*``)."""

    checkpoint_repository = providers.Singleton(InMemoryCheckpointRepository, ttl_seconds=config.ttl_seconds)
    blob_store = providers.Singleton(
        lambda offload: InMemoryBlobStore() if offload else None, offload=config.memory.offload
    )
    item_repository = providers.Singleton(lambda: _memory("items").InMemoryItemRepository())
    vector_index = providers.Singleton(lambda: _memory("items").InMemoryVectorIndex())
    cache_repository = providers.Singleton(lambda: _memory("cache").InMemoryCacheRepository())
    max_inline_bytes = providers.Object(None)
