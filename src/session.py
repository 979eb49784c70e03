"""Deprecated published import path ``langgraph_checkpoint_aws.session`` (BedrockAgentRuntimeSessionClient): still works, with a DeprecationWarning."""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

from ._components import module_getattr

__all__ = ["BedrockAgentRuntimeSessionClient"]

# As in 1.2.6: the path still works, and says where the name lives now.
warnings.warn(
    "Importing from 'langgraph_checkpoint_aws.session' is deprecated; "
    "use 'from langgraph_checkpoint_aws import BedrockAgentRuntimeSessionClient' instead",
    DeprecationWarning,
    stacklevel=2,
)

if TYPE_CHECKING:  # static tools see the classes; at run time they load on first use
    from .langgraph_bindings.bedrock_sessions import BedrockAgentRuntimeSessionClient

_getattr = module_getattr(__name__, globals(), ["BedrockAgentRuntimeSessionClient"])


def __getattr__(name: str) -> Any:
    return _getattr(name)
