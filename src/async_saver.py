"""Deprecated published import path ``langgraph_checkpoint_aws.async_saver`` (AsyncBedrockSessionSaver): not built yet, and says so."""

from __future__ import annotations

import warnings
from typing import Any

from ._components import module_getattr

__all__: list[str] = []
"""Empty: every name this path had in 1.2.6 is planned (``from ... import Name`` says what to use)."""

# As in 1.2.6: the path still works, and says where the name lives now.
warnings.warn(
    "Importing from 'langgraph_checkpoint_aws.async_saver' is deprecated; "
    "use 'from langgraph_checkpoint_aws import AsyncBedrockSessionSaver' instead",
    DeprecationWarning,
    stacklevel=2,
)

_getattr = module_getattr(__name__, globals(), ["AsyncBedrockSessionSaver"])


def __getattr__(name: str) -> Any:
    return _getattr(name)
