"""Published import path ``langgraph_checkpoint_aws.checkpoint.bedrock_sessions`` (AsyncBedrockSessionSaver, BedrockSessionSaver), loaded on first use."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._components import module_getattr

__all__ = ["AsyncBedrockSessionSaver", "BedrockSessionSaver"]

if TYPE_CHECKING:  # static tools see the classes; at run time they load on first use
    from ..langgraph_bindings.bedrock_sessions import AsyncBedrockSessionSaver, BedrockSessionSaver

_getattr = module_getattr(__name__, globals(), ["AsyncBedrockSessionSaver", "BedrockSessionSaver"])


def __getattr__(name: str) -> Any:
    return _getattr(name)
