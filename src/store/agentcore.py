"""Published import path ``langgraph_checkpoint_aws.store.agentcore``: AgentCoreMemoryStore."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._components import module_getattr

__all__ = ["AgentCoreMemoryStore"]

if TYPE_CHECKING:  # static tools see the class; at run time it loads on first use
    from ..langgraph_bindings.agentcore_store import AgentCoreMemoryStore

_getattr = module_getattr(__name__, globals(), __all__)


def __getattr__(name: str) -> Any:
    return _getattr(name)
