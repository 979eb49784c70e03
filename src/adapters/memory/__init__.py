"""In-memory adapters: thread-safe, shipped, the embedded default and the test doubles."""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "InMemoryBlobStore": "blobs",
    "InMemoryCacheRepository": "cache",
    "InMemoryCheckpointRepository": "checkpoints",
    "InMemoryItemRepository": "items",
    "InMemoryVectorIndex": "items",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(name)
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
