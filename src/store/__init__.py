"""Published import path ``langgraph_checkpoint_aws.store``: AgentCoreMemoryStore, ValkeyStore, AsyncValkeyStore, ValkeyIndexConfig (DynamoDBStore is planned, and says so)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._components import module_getattr

__all__ = ["AgentCoreMemoryStore", "AsyncValkeyStore", "ValkeyIndexConfig", "ValkeyStore"]

if TYPE_CHECKING:  # static tools see the classes; at run time they load on first use
    from ..langgraph_bindings.agentcore_store import AgentCoreMemoryStore
    from ..langgraph_bindings.valkey_store import AsyncValkeyStore, ValkeyIndexConfig, ValkeyStore

_getattr = module_getattr(__name__, globals(), [*__all__, "DynamoDBStore"])


def __getattr__(name: str) -> Any:
    return _getattr(name)
