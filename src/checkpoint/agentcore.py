"""Published import path ``langgraph_checkpoint_aws.checkpoint.agentcore``: AgentCoreMemorySaver."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._components import module_getattr

__all__ = ["AgentCoreMemorySaver"]

if TYPE_CHECKING:  # static tools see the class; at run time it loads on first use
    from ..langgraph_bindings.agentcore import AgentCoreMemorySaver

_getattr = module_getattr(__name__, globals(), __all__)


def __getattr__(name: str) -> Any:
    return _getattr(name)
