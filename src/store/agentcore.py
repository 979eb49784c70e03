"""Published import path ``langgraph_checkpoint_aws.store.agentcore`` (AgentCoreMemoryStore): not built yet, and says so."""

from __future__ import annotations

from typing import Any

from .._components import module_getattr

__all__: list[str] = []
"""Empty: every name this path had in 1.2.6 is planned (``from ... import Name`` says what to use)."""

_getattr = module_getattr(__name__, globals(), ["AgentCoreMemoryStore"])


def __getattr__(name: str) -> Any:
    return _getattr(name)
