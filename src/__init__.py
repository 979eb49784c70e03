"""LangGraph persistence on AWS: checkpoint savers, a store and a cache for every backend.

Public names are imported lazily so that a Valkey user never needs boto3 and
an AWS user never needs valkey.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    "create_container": "langgraph_checkpoint_aws.container",
    "create_saver": "langgraph_checkpoint_aws.factories",
    "create_store": "langgraph_checkpoint_aws.factories",
    "create_cache": "langgraph_checkpoint_aws.factories",
    "PersistenceContainer": "langgraph_checkpoint_aws.container",
    "RepositorySaver": "langgraph_checkpoint_aws.langgraph_bindings.checkpoint",
    "DynamoDBSaver": "langgraph_checkpoint_aws.langgraph_bindings.dynamodb",
    "AgentCoreMemorySaver": "langgraph_checkpoint_aws.langgraph_bindings.agentcore",
    "AgentCoreMemoryStore": "langgraph_checkpoint_aws.langgraph_bindings.agentcore_store",
    "S3CheckpointSaver": "langgraph_checkpoint_aws.langgraph_bindings.s3",
    "BedrockSessionSaver": "langgraph_checkpoint_aws.langgraph_bindings.bedrock_sessions",
    "AsyncBedrockSessionSaver": "langgraph_checkpoint_aws.langgraph_bindings.bedrock_sessions",
    "BedrockAgentRuntimeSessionClient": "langgraph_checkpoint_aws.langgraph_bindings.bedrock_sessions",
    "AsyncBedrockAgentRuntimeSessionClient": "langgraph_checkpoint_aws.langgraph_bindings.bedrock_sessions",
    "AsyncS3CheckpointSaver": "langgraph_checkpoint_aws.langgraph_bindings.s3",
    "ValkeySaver": "langgraph_checkpoint_aws.langgraph_bindings.valkey",
    "AsyncValkeySaver": "langgraph_checkpoint_aws.langgraph_bindings.valkey",
    "AgentCoreValkeySaver": "langgraph_checkpoint_aws.langgraph_bindings.valkey",
    "ValkeyCache": "langgraph_checkpoint_aws.langgraph_bindings.valkey_cache",
    "ValkeyStore": "langgraph_checkpoint_aws.langgraph_bindings.valkey_store",
    "AsyncValkeyStore": "langgraph_checkpoint_aws.langgraph_bindings.valkey_store",
    "ValkeyIndexConfig": "langgraph_checkpoint_aws.langgraph_bindings.valkey_store",
    "RepositoryStore": "langgraph_checkpoint_aws.langgraph_bindings.store",
    "RepositoryCache": "langgraph_checkpoint_aws.langgraph_bindings.cache",
    "PersistenceError": "langgraph_checkpoint_aws.domain.errors",
    "ConfigurationError": "langgraph_checkpoint_aws.domain.errors",
    "InvalidInputError": "langgraph_checkpoint_aws.domain.errors",
    "PayloadTooLargeError": "langgraph_checkpoint_aws.domain.errors",
    "CorruptRecordError": "langgraph_checkpoint_aws.domain.errors",
    "BackendError": "langgraph_checkpoint_aws.domain.errors",
    "TransientBackendError": "langgraph_checkpoint_aws.domain.errors",
    "BackendConnectionError": "langgraph_checkpoint_aws.domain.errors",
    "CertificateVerificationError": "langgraph_checkpoint_aws.domain.errors",
    "NotFoundError": "langgraph_checkpoint_aws.domain.errors",
    "ForeignLayoutError": "langgraph_checkpoint_aws.domain.errors",
    "UnsupportedOperationError": "langgraph_checkpoint_aws.domain.errors",
    "RetryPolicy": "langgraph_checkpoint_aws.domain.policies",
    # Names of the published 1.2.6 package not built yet: importing one raises an
    # ImportError saying so and what to use instead (not in __all__: star imports work).
    "AsyncBatchFlushable": "langgraph_checkpoint_aws._components",
    "DeferredCheckpointSaver": "langgraph_checkpoint_aws._components",
    "DynamoDBStore": "langgraph_checkpoint_aws._components",
    "PendingWrite": "langgraph_checkpoint_aws._components",
    "SDK_USER_AGENT": "langgraph_checkpoint_aws._components",
    "SyncBatchFlushable": "langgraph_checkpoint_aws._components",
    "ValkeyConnectionError": "langgraph_checkpoint_aws._components",
    "ValkeyDocumentParsingError": "langgraph_checkpoint_aws._components",
    "ValkeyEmbeddingGenerationError": "langgraph_checkpoint_aws._components",
    "ValkeySearchIndexError": "langgraph_checkpoint_aws._components",
    "ValkeyStoreError": "langgraph_checkpoint_aws._components",
    "ValkeyTTLConfigurationError": "langgraph_checkpoint_aws._components",
    "ValkeyValidationError": "langgraph_checkpoint_aws._components",
    "valkey_available": "langgraph_checkpoint_aws._components",
}

__all__ = [
    "AsyncBedrockAgentRuntimeSessionClient",
    "AsyncBedrockSessionSaver",
    "BedrockAgentRuntimeSessionClient",
    "BedrockSessionSaver",
    "AgentCoreMemorySaver",
    "AgentCoreMemoryStore",
    "AgentCoreValkeySaver",
    "AsyncS3CheckpointSaver",
    "AsyncValkeySaver",
    "AsyncValkeyStore",
    "BackendConnectionError",
    "BackendError",
    "CertificateVerificationError",
    "ConfigurationError",
    "CorruptRecordError",
    "DynamoDBSaver",
    "ForeignLayoutError",
    "InvalidInputError",
    "NotFoundError",
    "PayloadTooLargeError",
    "PersistenceContainer",
    "PersistenceError",
    "RepositoryCache",
    "RepositorySaver",
    "RepositoryStore",
    "RetryPolicy",
    "S3CheckpointSaver",
    "TransientBackendError",
    "UnsupportedOperationError",
    "ValkeyCache",
    "ValkeyIndexConfig",
    "ValkeySaver",
    "ValkeyStore",
    "create_cache",
    "create_container",
    "create_saver",
    "create_store",
]

if TYPE_CHECKING:  # what static tools and editors see; at run time names load on first use
    from .container import PersistenceContainer, create_container
    from .domain.errors import (
        BackendConnectionError,
        BackendError,
        CertificateVerificationError,
        ConfigurationError,
        CorruptRecordError,
        ForeignLayoutError,
        InvalidInputError,
        NotFoundError,
        PayloadTooLargeError,
        PersistenceError,
        TransientBackendError,
        UnsupportedOperationError,
    )
    from .domain.policies import RetryPolicy
    from .factories import create_cache, create_saver, create_store
    from .langgraph_bindings.agentcore import AgentCoreMemorySaver
    from .langgraph_bindings.agentcore_store import AgentCoreMemoryStore
    from .langgraph_bindings.bedrock_sessions import (
        AsyncBedrockAgentRuntimeSessionClient,
        AsyncBedrockSessionSaver,
        BedrockAgentRuntimeSessionClient,
        BedrockSessionSaver,
    )
    from .langgraph_bindings.cache import RepositoryCache
    from .langgraph_bindings.checkpoint import RepositorySaver
    from .langgraph_bindings.dynamodb import DynamoDBSaver
    from .langgraph_bindings.s3 import AsyncS3CheckpointSaver, S3CheckpointSaver
    from .langgraph_bindings.store import RepositoryStore
    from .langgraph_bindings.valkey import AgentCoreValkeySaver, AsyncValkeySaver, ValkeySaver
    from .langgraph_bindings.valkey_cache import ValkeyCache
    from .langgraph_bindings.valkey_store import AsyncValkeyStore, ValkeyIndexConfig, ValkeyStore


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'langgraph_checkpoint_aws' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
