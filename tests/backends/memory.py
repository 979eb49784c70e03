"""Fixtures of the in-memory backend (no server)."""

from __future__ import annotations

import pytest

from langgraph_checkpoint_aws import create_cache, create_saver
from langgraph_checkpoint_aws.adapters.memory import (
    InMemoryBlobStore,
    InMemoryCheckpointRepository,
    InMemoryItemRepository,
    InMemoryVectorIndex,
)
from langgraph_checkpoint_aws.application.store import StoreService
from langgraph_checkpoint_aws.langgraph_bindings.store import RepositoryStore

CHECKPOINT_REPOSITORIES = ["memory"]
SAVER_FACTORIES = ["memory", "memory_shaped"]
BLOB_STORES = ["memory"]
STORE_FACTORIES = ["memory"]
CACHE_FACTORIES = ["memory"]
VECTOR_STORE_FACTORIES = ["memory"]
CACHE_FACTORIES = ["memory"]


@pytest.fixture
def checkpoint_repository_memory() -> InMemoryCheckpointRepository:
    return InMemoryCheckpointRepository()


@pytest.fixture
def blob_store_memory() -> InMemoryBlobStore:
    return InMemoryBlobStore()


@pytest.fixture
def saver_factory_memory():  # type: ignore[no-untyped-def]
    return lambda: create_saver({"backend": "memory"})


@pytest.fixture
def saver_factory_memory_shaped():  # type: ignore[no-untyped-def]
    """Compression on and a tiny offload threshold, so both shaping paths run."""
    return lambda: create_saver(
        {"backend": "memory", "compression": True, "offload_threshold_bytes": 64, "memory": {"offload": True}}
    )


@pytest.fixture
def store_factory_memory():  # type: ignore[no-untyped-def]
    def make(clock, *, index=None, ttl=None, **kwargs):  # type: ignore[no-untyped-def]
        vectors = InMemoryVectorIndex()
        service = StoreService(items=InMemoryItemRepository(vector_index=vectors), vectors=vectors, clock=clock)
        return RepositoryStore(service, index=index, ttl=ttl)

    return make


@pytest.fixture
def cache_factory_memory():  # type: ignore[no-untyped-def]
    return lambda: create_cache({"backend": "memory"})
