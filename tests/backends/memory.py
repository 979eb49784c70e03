"""Fixtures of the in-memory backend (no server)."""

from __future__ import annotations

import pytest

from langgraph_checkpoint_aws import create_saver
from langgraph_checkpoint_aws.adapters.memory import InMemoryBlobStore, InMemoryCheckpointRepository

CHECKPOINT_REPOSITORIES = ["memory"]
SAVER_FACTORIES = ["memory", "memory_shaped"]
BLOB_STORES = ["memory"]


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
