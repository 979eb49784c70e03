"""Public factories: a saver, store or cache of the seed-named class for a configuration.

``create_saver({"backend": "valkey", ...})`` returns a ``ValkeySaver`` (an
``AgentCoreValkeySaver`` with ``valkey.layout: agentcore``), ``dynamodb``
returns a ``DynamoDBSaver``, ``s3`` an ``S3CheckpointSaver``, ``memory`` a ``RepositorySaver``; ``create_cache`` with
``valkey`` returns a ``ValkeyCache``. What is returned
owns its container: ``close()`` (or the context manager) releases the clients,
pools and threads the container built.
"""

from __future__ import annotations

from typing import Any, Callable

from .container import ConfigSource, PersistenceContainer, create_container
from .langgraph_bindings.cache import RepositoryCache
from .langgraph_bindings.checkpoint import RepositorySaver
from .langgraph_bindings.store import RepositoryStore

__all__ = ["create_saver", "create_store", "create_cache", "saver_class"]


def saver_class(container: PersistenceContainer) -> Callable[..., RepositorySaver]:
    """The seed-named saver class for the container's backend (and layout)."""
    options = container.options()
    if options.backend == "valkey":
        from .langgraph_bindings.valkey import AgentCoreValkeySaver, ValkeySaver

        assert options.valkey is not None
        return AgentCoreValkeySaver if options.valkey.layout == "agentcore" else ValkeySaver
    if options.backend == "dynamodb":
        from .langgraph_bindings.dynamodb import DynamoDBSaver

        return DynamoDBSaver
    if options.backend == "s3":
        from .langgraph_bindings.s3 import S3CheckpointSaver

        return S3CheckpointSaver
    if options.backend == "bedrock_sessions":
        from .langgraph_bindings.bedrock_sessions import BedrockSessionSaver

        return BedrockSessionSaver
    if options.backend == "agentcore":
        from .langgraph_bindings.agentcore import AgentCoreMemorySaver

        return AgentCoreMemorySaver
    return RepositorySaver


def create_saver(config: ConfigSource = None, **overrides: Any) -> Any:
    """A LangGraph checkpoint saver for the configured backend (it owns what it builds).

    Args:
        config: a dict, a YAML file path, or None to read ``LANGGRAPH_AWS_*``.
        overrides: options that win over ``config`` (e.g. ``serde=``).

    Raises:
        ConfigurationError: naming the full option path of the first problem.
    """
    container = create_container(config, **overrides)
    cls: Any = saver_class(container)
    return cls.from_container(container, serde=container.options().serde)


def create_store(config: ConfigSource = None, **overrides: Any) -> RepositoryStore:
    """A LangGraph store (BaseStore) for the configured backend (it owns what it builds).

    ``valkey`` returns a ``ValkeyStore``; other backends a ``RepositoryStore``.
    """
    container = create_container(config, **overrides)
    if container.options().backend == "valkey":
        from .langgraph_bindings.valkey_store import ValkeyStore

        return ValkeyStore.from_container(container)
    options = container.options().store
    return RepositoryStore(container.store_service(), index=options.index, ttl=options.ttl, container=container)  # type: ignore[arg-type]


def create_cache(config: ConfigSource = None, **overrides: Any) -> RepositoryCache[Any]:
    """A LangGraph cache (BaseCache) for the configured backend (it owns what it builds).

    ``valkey`` returns a ``ValkeyCache``; other backends a ``RepositoryCache``.
    """
    container = create_container(config, **overrides)
    options = container.options()
    if options.backend == "valkey":
        from .langgraph_bindings.valkey_cache import ValkeyCache

        return ValkeyCache.from_container(container, serde=options.serde)
    return RepositoryCache(container.cache_service(), serde=options.serde, container=container)
