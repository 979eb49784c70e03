"""The composition root: a dependency-injector container and the public factories.

Users compose components from a dict, a YAML file or environment variables::

    create_saver({"backend": "memory"})
    create_saver("persistence.yaml")
    create_saver(config_from_env())          # LANGGRAPH_AWS_BACKEND=valkey ...

Every backend is a sub-container in ``langgraph_checkpoint_aws.wiring`` that
provides repositories; this container picks one with ``Selector`` on
``config.backend`` and wires the use cases and LangGraph bindings over it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Optional, Union

from dependency_injector import containers, providers

from .application.checkpoints import CheckpointService
from .application.payloads import PayloadCodec
from .domain.errors import ConfigurationError
from .domain.policies import PayloadPolicy
from .wiring.dynamodb import DYNAMODB_OPTIONS, DynamoDBBackend, blob_ttl_days
from .wiring.memory import MemoryBackend
from .wiring.valkey import OPTIONS as VALKEY_OPTIONS
from .wiring.valkey import ValkeyBackend, requires_actor_id

__all__ = [
    "PersistenceContainer",
    "BACKENDS",
    "create_container",
    "create_saver",
    "create_store",
    "create_cache",
    "load_config",
    "config_from_env",
    "validate_config",
]

ConfigSource = Union[Mapping[str, Any], str, os.PathLike, None]

# option -> (type(s), required?) per section; None section means "no options".
_COMMON: dict[str, tuple[Any, bool]] = {
    "backend": (str, True),
    "ttl_seconds": ((int, float, type(None)), False),
    "compression": (bool, False),
    "offload_threshold_bytes": (int, False),
    "serde": (object, False),
    "memory": (dict, False),
    "store": (dict, False),
    "cache": (dict, False),
}

BACKENDS: dict[str, dict[str, tuple[Any, bool]]] = {
    "memory": {"offload": (bool, False)},
    "dynamodb": DYNAMODB_OPTIONS,
    "valkey": VALKEY_OPTIONS,
}
"""Options each backend section accepts: name -> (types, required)."""

_STORE_OPTIONS: dict[str, tuple[Any, bool]] = {
    "index": (dict, False),
    "ttl": (dict, False),
}
_CACHE_OPTIONS: dict[str, tuple[Any, bool]] = {
    "ttl_seconds": ((int, float, type(None)), False),
    "prefix": (str, False),
}


def _check_section(section: Mapping[str, Any], schema: Mapping[str, tuple[Any, bool]], path: str) -> None:
    for name, value in section.items():
        if name not in schema:
            raise ConfigurationError(
                f"unknown option {path}{name} (known: {', '.join(sorted(schema)) or 'none'})"
            )
        types, _ = schema[name]
        if types is not object and not isinstance(value, types) or (types is int and isinstance(value, bool)):
            raise ConfigurationError(f"option {path}{name} has the wrong type: {value!r}")
    for name, (_, required) in schema.items():
        if required and section.get(name) in (None, ""):
            raise ConfigurationError(f"missing option {path}{name}")


def validate_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """Check a configuration dict; errors name the full option path (e.g. ``valkey.url``)."""
    if not isinstance(config, Mapping):
        raise ConfigurationError(f"configuration must be a mapping, got {type(config).__name__}")
    cfg = dict(config)
    backend = cfg.get("backend")
    if backend in (None, ""):
        raise ConfigurationError("missing option backend (one of: " + ", ".join(sorted(BACKENDS)) + ")")
    if backend not in BACKENDS:
        raise ConfigurationError(
            f"unknown backend {backend!r} at option backend (one of: {', '.join(sorted(BACKENDS))})"
        )
    schema = dict(_COMMON)
    for name in BACKENDS:
        schema.setdefault(name, (dict, False))
    _check_section(cfg, schema, "")
    section = cfg.get(backend) or {}
    _check_section(section, BACKENDS[backend], f"{backend}.")
    _check_section(cfg.get("store") or {}, _STORE_OPTIONS, "store.")
    _check_section(cfg.get("cache") or {}, _CACHE_OPTIONS, "cache.")
    for other in BACKENDS:
        if other != backend and other in cfg and other != "memory":
            # Sections of unselected backends are allowed (one file, many
            # environments) but still checked so typos surface early.
            _check_section(cfg[other] or {}, BACKENDS[other], f"{other}.")
    ttl = cfg.get("ttl_seconds")
    if ttl is not None and ttl <= 0:
        raise ConfigurationError(f"option ttl_seconds must be positive, got {ttl!r}")
    return cfg


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


def _serde_or_default(serde: Any) -> Any:
    from .langgraph_bindings.checkpoint import default_serde

    return serde if serde is not None else default_serde()


def _build_saver(service: CheckpointService, serde: Any, require_actor_id: bool) -> Any:
    from .langgraph_bindings.checkpoint import RepositorySaver

    return RepositorySaver(service, serde=_serde_or_default(serde), require_actor_id=require_actor_id)


def _store_service(**kwargs: Any) -> Any:
    from .application.store import StoreService

    return StoreService(**kwargs)


def _cache_service(**kwargs: Any) -> Any:
    from .application.cache import CacheService

    return CacheService(**kwargs)


def _build_store(service: Any, options: Mapping[str, Any]) -> Any:
    from .langgraph_bindings.store import RepositoryStore

    return RepositoryStore(service, index=options.get("index"), ttl=options.get("ttl"))


def _build_cache(service: Any, serde: Any) -> Any:
    from .langgraph_bindings.cache import RepositoryCache

    return RepositoryCache(service, serde=serde)


class PersistenceContainer(containers.DeclarativeContainer):
    """Wires repositories (per backend) to use cases and LangGraph bindings.

    Override a repository or client provider to inject your own, e.g.
    ``container.memory.checkpoint_repository.override(my_repo)``.
    """

    config = providers.Configuration(strict=True)

    memory = providers.Container(MemoryBackend, config=config)
    dynamodb = providers.Container(DynamoDBBackend, config=config)
    valkey = providers.Container(ValkeyBackend, config=config)

    checkpoint_repository = providers.Selector(config.backend, memory=memory.checkpoint_repository, dynamodb=dynamodb.checkpoint_repository, valkey=valkey.checkpoint_repository)
    blob_store = providers.Selector(config.backend, memory=memory.blob_store, dynamodb=dynamodb.blob_store, valkey=valkey.blob_store)
    item_repository = providers.Selector(config.backend, memory=memory.item_repository, dynamodb=dynamodb.item_repository, valkey=valkey.item_repository)
    vector_index = providers.Selector(config.backend, memory=memory.vector_index, dynamodb=dynamodb.vector_index, valkey=valkey.vector_index)
    cache_repository = providers.Selector(config.backend, memory=memory.cache_repository, dynamodb=dynamodb.cache_repository, valkey=valkey.cache_repository)
    max_inline_bytes = providers.Selector(config.backend, memory=memory.max_inline_bytes, dynamodb=dynamodb.max_inline_bytes, valkey=valkey.max_inline_bytes)

    payload_policy = providers.Singleton(
        PayloadPolicy,
        compress=config.compression,
        offload_threshold_bytes=config.offload_threshold_bytes,
        max_inline_bytes=max_inline_bytes,
    )
    codec = providers.Singleton(
        PayloadCodec,
        policy=payload_policy,
        blob_store=blob_store,
        blob_ttl_days=providers.Callable(blob_ttl_days, config.ttl_seconds),
    )
    checkpoint_service = providers.Singleton(CheckpointService, repository=checkpoint_repository, codec=codec)
    store_service = providers.Singleton(_store_service, items=item_repository, vectors=vector_index)
    cache_service = providers.Singleton(
        _cache_service, repository=cache_repository, default_ttl_seconds=config.cache.ttl_seconds
    )

    require_actor_id = providers.Callable(requires_actor_id, backend=config.backend, valkey=config.valkey)
    saver = providers.Singleton(_build_saver, service=checkpoint_service, serde=config.serde, require_actor_id=require_actor_id)
    store = providers.Singleton(_build_store, service=store_service, options=config.store)
    cache = providers.Singleton(_build_cache, service=cache_service, serde=config.serde)


_DEFAULTS: dict[str, Any] = {
    "ttl_seconds": None,
    "compression": False,
    "offload_threshold_bytes": 350 * 1024,
    "serde": None,
    "memory": {"offload": False},
    "valkey": {},
    "store": {"index": None, "ttl": None},
    "cache": {"ttl_seconds": None, "prefix": "langgraph:cache:"},
}


def _merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in extra.items():
        out[k] = _merge(out[k], v) if isinstance(v, Mapping) and isinstance(out.get(k), dict) else v
    return out


def create_container(config: ConfigSource = None, **overrides: Any) -> PersistenceContainer:
    """A configured container (one per app or test; there is no global one).

    Args:
        config: a dict, a YAML file path, or None to read the environment.
        overrides: top-level options that win over ``config`` (e.g. ``serde=``).
    """
    cfg = validate_config(_merge(load_config(config), overrides))
    container = PersistenceContainer()
    container.config.from_dict(_merge(_DEFAULTS, cfg))
    return container


def create_saver(config: ConfigSource = None, **overrides: Any) -> Any:
    """A LangGraph checkpoint saver for the configured backend."""
    return create_container(config, **overrides).saver()


def create_store(config: ConfigSource = None, **overrides: Any) -> Any:
    """A LangGraph store (BaseStore) for the configured backend."""
    return create_container(config, **overrides).store()


def create_cache(config: ConfigSource = None, **overrides: Any) -> Any:
    """A LangGraph cache (BaseCache) for the configured backend."""
    return create_container(config, **overrides).cache()
