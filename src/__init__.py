"""LangGraph persistence on AWS: checkpoint savers, a store and a cache for every backend.

Public names are imported lazily so that a Valkey user never needs boto3 and
an AWS user never needs valkey.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    "create_container": "langgraph_checkpoint_aws.container",
    "create_saver": "langgraph_checkpoint_aws.container",
    "create_store": "langgraph_checkpoint_aws.container",
    "create_cache": "langgraph_checkpoint_aws.container",
    "PersistenceContainer": "langgraph_checkpoint_aws.container",
    "RepositorySaver": "langgraph_checkpoint_aws.langgraph_bindings.checkpoint",
    "DynamoDBSaver": "langgraph_checkpoint_aws.langgraph_bindings.dynamodb",
    "ValkeySaver": "langgraph_checkpoint_aws.langgraph_bindings.valkey",
    "AsyncValkeySaver": "langgraph_checkpoint_aws.langgraph_bindings.valkey",
    "AgentCoreValkeySaver": "langgraph_checkpoint_aws.langgraph_bindings.valkey",
    "RepositoryStore": "langgraph_checkpoint_aws.langgraph_bindings.store",
    "RepositoryCache": "langgraph_checkpoint_aws.langgraph_bindings.cache",
    "PersistenceError": "langgraph_checkpoint_aws.domain.errors",
    "ConfigurationError": "langgraph_checkpoint_aws.domain.errors",
    "InvalidInputError": "langgraph_checkpoint_aws.domain.errors",
    "PayloadTooLargeError": "langgraph_checkpoint_aws.domain.errors",
    "CorruptRecordError": "langgraph_checkpoint_aws.domain.errors",
    "BackendError": "langgraph_checkpoint_aws.domain.errors",
    "TransientBackendError": "langgraph_checkpoint_aws.domain.errors",
    "NotFoundError": "langgraph_checkpoint_aws.domain.errors",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'langgraph_checkpoint_aws' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
