"""The composition root: a dependency-injector container over typed options.

``create_container(config)`` reads a dict, a YAML file or the environment,
validates it into ``PersistenceOptions`` (errors name the full option path),
and returns a ``PersistenceContainer``: one ``Selector`` picks the backend
container (``wiring.BACKENDS``) and the use cases are wired over whatever it
provides. The container never imports a binding: the public factories
(``create_saver`` and friends) put the seed-named classes on top of it.

Override any provider before building, e.g.
``container.dynamodb.dynamodb_client.override(providers.Object(my_client))``,
and release what the container built with ``shutdown_resources()`` (savers,
stores and caches do this on ``close()``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Optional, Union

from dependency_injector import containers, providers

from .application.cache import CacheService
from .application.checkpoints import CheckpointService
from .application.payloads import PayloadCodec
from .application.store import StoreService
from .domain.errors import ConfigurationError
from .domain.policies import PayloadPolicy
from .wiring import BACKENDS
from .wiring.legacy import layout_probe
from .wiring.options import PersistenceOptions, blob_ttl_days, parse_options

__all__ = [
    "PersistenceContainer",
    "create_container",
    "load_config",
    "config_from_env",
    "ConfigSource",
]

ConfigSource = Union[Mapping[str, Any], str, "os.PathLike[str]", None]


def _component(backend: containers.Container, name: str, what: str, options: PersistenceOptions) -> Any:
    """A provider's value from the selected backend, or a clear error if it has no such component."""
    provider = backend.providers.get(name)
    if provider is None:
        able = sorted(n for n, cls in BACKENDS.items() if name in cls.providers)
        raise ConfigurationError(
            f"backend {options.backend!r} provides no {what}; backends that do: {', '.join(able)}"
        )
    return provider()


def _store_service(backend: containers.Container, options: PersistenceOptions) -> StoreService:
    """Store use cases on the backend's sync repositories (its async API runs them in the executor)."""
    return StoreService(
        items=_component(backend, "item_repository", "store (create_store)", options),
        vectors=_component(backend, "vector_index", "vector index", options),
        retry=backend.retry_policy(),
        executor=backend.executor(),
        text_index=backend.providers["text_index"]() if "text_index" in backend.providers else None,
    )


def _async_store_service(backend: containers.Container, options: PersistenceOptions) -> StoreService:
    """Store use cases on the backend's async repositories only (the async stores: their sync API bridges)."""
    items = _component(backend, "async_item_repository", "async store", options)
    vectors = _component(backend, "async_vector_index", "async vector index", options)
    return StoreService(
        items=items,
        vectors=vectors,
        retry=backend.retry_policy(),
        executor=backend.executor(),
        async_items=items,
        async_vectors=vectors,
    )


def _cache_service(backend: containers.Container, options: PersistenceOptions) -> CacheService:
    return CacheService(
        repository=_component(backend, "cache_repository", "cache (create_cache)", options),
        default_ttl_seconds=options.cache.ttl_seconds,
        retry=backend.retry_policy(),
    )


def _async_repository(backend: containers.Container, options: PersistenceOptions) -> Any:
    return _component(backend, "async_checkpoint_repository", "async checkpoint repository", options)


def _backend_containers(options: providers.Provider[Any]) -> dict[str, providers.Container[Any]]:
    return {name: providers.Container(cls, options=options) for name, cls in BACKENDS.items()}


class PersistenceContainer(containers.DeclarativeContainer):
    """Wires the selected backend's repositories to the use cases.

    Attributes:
        options: the validated ``PersistenceOptions``.
        backend: the selected backend container (one Selector over ``BACKENDS``);
            each backend container is also an attribute by name (``memory``,
            ``valkey``, ``dynamodb``), so its providers can be overridden.
    """

    memory: providers.Container[Any]
    valkey: providers.Container[Any]
    dynamodb: providers.Container[Any]
    """Each backend container, by name (the same providers the Selector picks from)."""

    options = providers.Dependency(instance_of=PersistenceOptions)
    backend = providers.Selector(
        options.provided.backend,
        **_backend_containers(options),
    )
    checkpoint_repository = backend.provided.checkpoint_repository.call()
    blob_store = backend.provided.blob_store.call()
    payload_policy = providers.Singleton(
        PayloadPolicy,
        compress=options.provided.compression,
        offload_threshold_bytes=options.provided.offload_threshold_bytes,
        max_inline_bytes=backend.provided.max_inline_bytes.call(),
    )
    codec = providers.Singleton(
        PayloadCodec,
        policy=payload_policy,
        blob_store=blob_store,
        blob_ttl_days=providers.Callable(blob_ttl_days, options.provided.ttl_seconds),
    )
    # Refuses to show a thread stored in a published package's layout as empty (names the migrate command).
    layout_probe = providers.Singleton(layout_probe, backend, options)
    checkpoint_service = providers.Singleton(
        CheckpointService,
        repository=checkpoint_repository,
        codec=codec,
        retry=backend.provided.retry_policy.call(),
        executor=backend.provided.executor.call(),
        probe=layout_probe,
    )
    async_checkpoint_service = providers.Singleton(
        CheckpointService,
        repository=providers.Callable(_async_repository, backend, options),
        codec=codec,
        retry=backend.provided.retry_policy.call(),
        max_concurrency=backend.provided.async_concurrency.call(),
        probe=layout_probe,
    )
    store_service = providers.Singleton(_store_service, backend, options)
    async_store_service = providers.Singleton(_async_store_service, backend, options)
    cache_service = providers.Singleton(_cache_service, backend, options)


for _name in BACKENDS:
    # ``container.memory``, ``container.valkey``...: the same providers the Selector picks from.
    setattr(PersistenceContainer, _name, getattr(PersistenceContainer.backend, _name))


def load_config(source: ConfigSource = None) -> dict[str, Any]:
    """A configuration dict from a mapping, a YAML file path, or (None) the environment."""
    if source is None:
        return config_from_env()
    if isinstance(source, Mapping):
        return dict(source)
    path = Path(source)
    if not path.exists():
        raise ConfigurationError(f"configuration file {str(path)!r} does not exist")
    try:
        import yaml
    except ImportError as exc:  # pragma: no cover - pyyaml is in the [yaml] extra
        raise ConfigurationError("reading YAML configuration needs pyyaml: pip install pyyaml") from exc
    loaded = yaml.safe_load(path.read_text()) or {}
    if not isinstance(loaded, dict):
        raise ConfigurationError(f"configuration file {str(path)!r} must hold a mapping")
    return loaded


def config_from_env(environ: Optional[Mapping[str, str]] = None, prefix: str = "LANGGRAPH_AWS_") -> dict[str, Any]:
    """Configuration from environment variables.

    ``LANGGRAPH_AWS_BACKEND=valkey`` sets ``backend``; a double underscore nests,
    so ``LANGGRAPH_AWS_VALKEY__URL=valkey://...`` sets ``valkey.url``. Values
    are parsed as YAML scalars when pyyaml is present (``true``, ``10``...).
    """
    env = os.environ if environ is None else environ
    out: dict[str, Any] = {}
    for name, raw in env.items():
        if not name.startswith(prefix):
            continue
        path = [p.lower() for p in name[len(prefix):].split("__") if p]
        if not path:
            continue
        node = out
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = _parse_scalar(raw)
    return out


def _parse_scalar(raw: str) -> Any:
    try:
        import yaml

        value = yaml.safe_load(raw)
        return value if isinstance(value, (str, int, float, bool, type(None))) else raw
    except Exception:  # noqa: BLE001 - a value that is not YAML stays a string
        return raw


def _merge(base: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in extra.items():
        out[k] = _merge(out[k], v) if isinstance(v, Mapping) and isinstance(out.get(k), Mapping) else v
    return out


def create_container(config: ConfigSource = None, **overrides: Any) -> PersistenceContainer:
    """A configured container (one per app, saver or test; there is no global one).

    Args:
        config: a dict, a YAML file path, or None to read the environment.
        overrides: options that win over ``config`` (e.g. ``serde=``; nested
            dicts merge, e.g. ``valkey={"pool_size": 50}``).

    Raises:
        ConfigurationError: naming the full option path of the first problem.
    """
    options = parse_options(_merge(load_config(config), overrides))
    return PersistenceContainer(options=options)
