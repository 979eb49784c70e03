"""AgentCore Memory adapters: checkpoints as session events, store items as memory records."""

from __future__ import annotations

from ._client import AGENTCORE_ERRORS, MemoryClient
from ._ids import actor_key, metadata_value, service_id
from .checkpoints import MAX_INLINE_BYTES, AgentCoreCheckpointRepository

__all__ = [
    "AGENTCORE_ERRORS",
    "AgentCoreCheckpointRepository",
    "MAX_INLINE_BYTES",
    "MemoryClient",
    "actor_key",
    "metadata_value",
    "service_id",
]
