"""The components of the published package's import paths: where each one built here lives, what to use for the rest.

Code written against ``langgraph-checkpoint-aws`` 1.2.6 imports its classes
from a dozen module paths (``checkpoint.valkey``, ``store.valkey``,
``cache.valkey``, the deprecated ``saver``...). Each of those modules here
names the components it offers and answers every other name through
``module_getattr``: a component built here loads on first use (so that a
Valkey user never imports boto3, and the reverse); one that is not built yet
raises an ImportError that says so and what to use instead, where a bare
``cannot import name`` would leave the user guessing.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, MutableMapping
from typing import Any, Callable

__all__ = ["AVAILABLE", "PLANNED", "DISTRIBUTION", "unavailable", "module_getattr"]

DISTRIBUTION = "langgraph-checkpoint-aws-hex"

AVAILABLE: dict[str, str] = {
    "ValkeySaver": ".langgraph_bindings.valkey",
    "AsyncValkeySaver": ".langgraph_bindings.valkey",
    "AgentCoreValkeySaver": ".langgraph_bindings.valkey",
    "DynamoDBSaver": ".langgraph_bindings.dynamodb",
    "AgentCoreMemorySaver": ".langgraph_bindings.agentcore",
    "AgentCoreMemoryStore": ".langgraph_bindings.agentcore_store",
    "S3CheckpointSaver": ".langgraph_bindings.s3",
    "BedrockSessionSaver": ".langgraph_bindings.bedrock_sessions",
    "AsyncBedrockSessionSaver": ".langgraph_bindings.bedrock_sessions",
    "BedrockAgentRuntimeSessionClient": ".langgraph_bindings.bedrock_sessions",
    "AsyncBedrockAgentRuntimeSessionClient": ".langgraph_bindings.bedrock_sessions",
    "AsyncS3CheckpointSaver": ".langgraph_bindings.s3",
    "ValkeyCache": ".langgraph_bindings.valkey_cache",
    "ValkeyStore": ".langgraph_bindings.valkey_store",
    "AsyncValkeyStore": ".langgraph_bindings.valkey_store",
    "ValkeyIndexConfig": ".langgraph_bindings.valkey_store",
}
"""Component name -> the module that defines it, relative to the package (the same class on every path)."""

_MEMORY_STORE = 'use ValkeyStore or create_store({"backend": "memory"})'
_SAVER = 'use ValkeySaver, DynamoDBSaver or create_saver({"backend": "memory"})'
_NOT_DEFERRED = "writes are not deferred yet: pass the saver itself to compile(checkpointer=...)"

PLANNED: dict[str, str] = {
    "DeferredCheckpointSaver": _NOT_DEFERRED,
    "PendingWrite": _NOT_DEFERRED,
    "SyncBatchFlushable": _NOT_DEFERRED,
    "AsyncBatchFlushable": _NOT_DEFERRED,
    "DynamoDBStore": _MEMORY_STORE,
    "ValkeyStoreError": "catch langgraph_checkpoint_aws.PersistenceError",
    "ValkeyConnectionError": "catch ConnectionError (or langgraph_checkpoint_aws.BackendConnectionError)",
    "ValkeyDocumentParsingError": "catch langgraph_checkpoint_aws.PersistenceError",
    "ValkeyEmbeddingGenerationError": "catch langgraph_checkpoint_aws.PersistenceError",
    "ValkeySearchIndexError": "catch langgraph_checkpoint_aws.PersistenceError",
    "ValkeyTTLConfigurationError": "catch langgraph_checkpoint_aws.ConfigurationError",
    "ValkeyValidationError": "catch langgraph_checkpoint_aws.InvalidInputError",
    "valkey_available": 'use importlib.util.find_spec("valkey") is not None',
    "SDK_USER_AGENT": "set user_agent_extra in the botocore Config you pass as boto_config",
}
"""Names the published package exports that this one does not build yet -> what to use meanwhile."""


def unavailable(name: str) -> ImportError:
    """The ImportError for a component of the published package that is not built here (names the alternative)."""
    return ImportError(
        f"{name} is not available in this version of {DISTRIBUTION} (planned); {PLANNED[name]}",
        name=name,
    )


def module_getattr(
    module: str, namespace: MutableMapping[str, Any], names: Iterable[str]
) -> Callable[[str], Any]:
    """A module-level ``__getattr__`` serving ``names`` for the module ``module``.

    Args:
        module: the module's ``__name__`` (for the AttributeError of other names).
        namespace: the module's ``globals()``: a loaded component is cached
            there, so the next access is a plain attribute lookup.
        names: the component names this module offers, built here or planned.

    Returns:
        The function to assign to the module's ``__getattr__``. It raises the
        ImportError of :func:`unavailable` for a planned component, which is
        what ``from module import Name`` shows.
    """
    offered = frozenset(names)
    unknown = offered - AVAILABLE.keys() - PLANNED.keys()
    if unknown:
        raise AssertionError(f"{module} offers components no table names: {sorted(unknown)}")

    def __getattr__(name: str) -> Any:
        if name in offered:
            if name in PLANNED:
                raise unavailable(name)
            value = getattr(importlib.import_module(AVAILABLE[name], __package__), name)
            namespace[name] = value
            return value
        raise AttributeError(f"module {module!r} has no attribute {name!r}")

    return __getattr__


def __getattr__(name: str) -> Any:
    # The package root sends its planned names here (its ``_EXPORTS``), so that
    # ``from langgraph_checkpoint_aws import ValkeyStore`` explains itself too.
    if name in PLANNED:
        raise unavailable(name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
