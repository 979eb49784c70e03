"""One typed options schema: an attrs class per section, structured by cattrs.

Every default lives here and only here. Unknown keys are rejected at every
level and every error names the full option path::

    unknown option valkey.pool_sise (known: cluster, layout, pool_size, retry_attempts, url)
    dynamodb.table_name is required
    option valkey.pool_size has the wrong type: 'ten' (expected int)

A backend adds one options class and one ``BACKEND_OPTIONS`` entry.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Optional, Union, get_args, get_origin

import attrs
import cattrs
from cattrs.errors import ClassValidationError, ForbiddenExtraKeysError, IterableValidationError

from ..domain.errors import ConfigurationError

__all__ = [
    "MemoryOptions",
    "ValkeyOptions",
    "S3OffloadOptions",
    "DynamoDBOptions",
    "S3Options",
    "BedrockSessionsOptions",
    "AgentCoreOptions",
    "BedrockSessionsOptions",
    "StoreOptions",
    "CacheOptions",
    "PersistenceOptions",
    "BACKEND_OPTIONS",
    "parse_options",
    "blob_ttl_days",
]


class _BadValue(ValueError):
    """A validator's complaint about one attribute (the path is added by ``_describe``)."""

    def __init__(self, name: str, problem: str) -> None:
        super().__init__(problem)
        self.name = name


def _positive(inst: Any, attribute: "attrs.Attribute[Any]", value: Any) -> None:
    if value is not None and value <= 0:
        raise _BadValue(attribute.name, f"must be positive, got {value!r}")


def _at_least_one(inst: Any, attribute: "attrs.Attribute[Any]", value: Any) -> None:
    if value < 1:
        raise _BadValue(attribute.name, f"must be >= 1, got {value!r}")


def _one_of(*choices: str) -> Any:
    def check(inst: Any, attribute: "attrs.Attribute[Any]", value: Any) -> None:
        if value not in choices:
            raise _BadValue(attribute.name, f"must be one of {', '.join(choices)}, got {value!r}")

    return check


@attrs.frozen(kw_only=True)
class MemoryOptions:
    """Section ``memory``: the embedded in-process backend."""

    offload: bool = False
    """Send payloads over ``offload_threshold_bytes`` to an in-memory blob store."""
    retry_attempts: int = attrs.field(default=1, validator=_at_least_one)


@attrs.frozen(kw_only=True)
class ValkeyOptions:
    """Section ``valkey``: Valkey, ElastiCache or Redis, standalone or cluster."""

    url: Optional[str] = None
    """``valkey://[user:password@]host:port[/db]``; ``valkeys://`` for TLS."""
    pool_size: int = attrs.field(default=10, validator=_at_least_one)
    cluster: Optional[bool] = None
    """None: ask the server; True/False to force."""
    layout: str = attrs.field(default="plain", validator=_one_of("plain", "agentcore"))
    """``agentcore``: AgentCoreValkeySaver's keys, ``configurable.actor_id`` required."""
    retry_attempts: int = attrs.field(default=1, validator=_at_least_one)
    """Tries per operation on transient errors (exponential backoff)."""


@attrs.frozen(kw_only=True)
class S3OffloadOptions:
    """Section ``dynamodb.s3_offload``: where payloads over the threshold go."""

    bucket_name: str
    endpoint_url: Optional[str] = None
    region_name: Optional[str] = None
    prefix: str = ""
    manage_lifecycle: bool = True
    client: Any = None
    """A boto3 S3 client to use as is."""


@attrs.frozen(kw_only=True)
class DynamoDBOptions:
    """Section ``dynamodb``: one table, large payloads offloaded to S3."""

    table_name: str
    region_name: Optional[str] = None
    endpoint_url: Optional[str] = None
    session: Any = None
    """A boto3 Session (profiles, assumed roles)."""
    boto_config: Any = None
    """A botocore Config, merged over the library's defaults."""
    client: Any = None
    """A boto3 DynamoDB client to use as is."""
    s3_offload: Optional[S3OffloadOptions] = None
    retry_attempts: int = attrs.field(default=5, validator=_at_least_one)
    """Tries per operation on throttling and transient errors (exponential backoff)."""


@attrs.frozen(kw_only=True)
class S3Options:
    """Section ``s3``: plain S3 checkpoints (langgraph-checkpoint-s3's tree, ids encoded, values once per version)."""

    bucket_name: str
    prefix: str = "checkpoints/"
    """Key prefix; normalised to end with ``/``."""
    region_name: Optional[str] = None
    endpoint_url: Optional[str] = None
    session: Any = None
    """A boto3 Session (sync client), or an aioboto3/aiobotocore session (native async API)."""
    boto_config: Any = None
    """A botocore Config, merged over the library's defaults."""
    client: Any = None
    """A boto3 S3 client to use as is (never closed by the library)."""
    max_workers: int = attrs.field(default=16, validator=_at_least_one)
    """Requests of one round sent in parallel (threads, and the client's connection pool)."""
    retry_attempts: int = attrs.field(default=5, validator=_at_least_one)
    """Tries per operation on throttling and transient errors (exponential backoff)."""


@attrs.frozen(kw_only=True)
class AgentCoreOptions:
    """Section ``agentcore``: Amazon Bedrock AgentCore Memory (checkpoints as events, store items as records)."""

    memory_id: str
    region_name: Optional[str] = None
    endpoint_url: Optional[str] = None
    session: Any = None
    """A boto3 Session (profiles, assumed roles)."""
    boto_config: Any = None
    """A botocore Config, merged over the library's defaults (botocore retries nothing)."""
    client: Any = None
    """A boto3 ``bedrock-agentcore`` client to use as is (never closed by the library)."""
    retry_attempts: int = attrs.field(default=4, validator=_at_least_one)
    """Tries per operation on throttling, conflicts and transient errors (1.2.6: ``max_retries=3`` retries)."""
    initial_backoff: float = attrs.field(default=0.1, validator=_positive)
    max_backoff: float = attrs.field(default=2.0, validator=_positive)
    items_per_event: int = attrs.field(default=10, validator=_at_least_one)
    """Payload items of 96,000 characters per event; larger records are split across events."""
    max_workers: int = attrs.field(default=8, validator=_at_least_one)
    """Independent API calls of one operation sent in parallel."""


@attrs.frozen(kw_only=True)
class BedrockSessionsOptions:
    """Section ``bedrock_sessions``: Amazon Bedrock session management, one session per thread."""

    region_name: Optional[str] = None
    endpoint_url: Optional[str] = None
    session: Any = None
    """A boto3 Session, or an aioboto3 / aiobotocore session (AsyncBedrockSessionSaver then runs natively on aiobotocore)."""
    boto_config: Any = None
    """A botocore Config, merged over the library's defaults."""
    client: Any = None
    """A boto3 ``bedrock-agent-runtime`` client to use as is (never closed by the library)."""
    create_missing_sessions: bool = False
    """Map any thread id to a session of its own (else a thread id must be a session id)."""
    registry_session_id: Optional[str] = None
    """The session that maps thread ids to sessions (created on first need when None)."""
    max_step_bytes: int = attrs.field(default=512 * 1024, validator=_at_least_one)
    """Text per invocation step; larger records span several steps."""
    max_workers: int = attrs.field(default=10, validator=_at_least_one)
    """Calls of one round sent in parallel."""
    retry_attempts: int = attrs.field(default=5, validator=_at_least_one)
    """Tries per operation on throttling and transient errors (exponential backoff)."""


@attrs.frozen(kw_only=True)
class StoreOptions:
    """Section ``store``: LangGraph's IndexConfig and TTLConfig, as dicts."""

    index: Optional[dict[str, Any]] = None
    ttl: Optional[dict[str, Any]] = None
    prefix: str = "langgraph:store:"
    """Valkey: head of every key of the store (no braces)."""
    search_fallback: str = attrs.field(default="error", validator=_one_of("error", "exact"))
    """Valkey without a search module: ``error`` (a query search raises) or ``exact``
    (every vector of the namespace prefix scored in the client)."""


@attrs.frozen(kw_only=True)
class CacheOptions:
    """Section ``cache``."""

    ttl_seconds: Optional[float] = attrs.field(default=None, validator=_positive)
    prefix: str = "langgraph:cache:"


@attrs.frozen(kw_only=True)
class PersistenceOptions:
    """The root of the configuration (a dict, a YAML file or ``LANGGRAPH_AWS_*``)."""

    backend: str
    ttl_seconds: Optional[float] = attrs.field(default=None, validator=_positive)
    """Checkpoint lifetime in seconds, refreshed on write (None: forever)."""
    compression: bool = False
    """gzip level 6, only over 1 KB and only when it saves at least 10%."""
    offload_threshold_bytes: int = attrs.field(default=350 * 1024, validator=_at_least_one)
    serde: Any = None
    """A LangGraph SerializerProtocol (default: JsonPlusSerializer, pickle off)."""
    memory: MemoryOptions = attrs.field(factory=MemoryOptions)
    valkey: Optional[ValkeyOptions] = None
    dynamodb: Optional[DynamoDBOptions] = None
    s3: Optional[S3Options] = None
    agentcore: Optional[AgentCoreOptions] = None
    bedrock_sessions: Optional[BedrockSessionsOptions] = None
    store: StoreOptions = attrs.field(factory=StoreOptions)
    cache: CacheOptions = attrs.field(factory=CacheOptions)

    def section(self) -> Any:
        """The options of the selected backend."""
        return getattr(self, self.backend)


BACKEND_OPTIONS: dict[str, type] = {
    "memory": MemoryOptions,
    "valkey": ValkeyOptions,
    "dynamodb": DynamoDBOptions,
    "s3": S3Options,
    "agentcore": AgentCoreOptions,
    "bedrock_sessions": BedrockSessionsOptions,
}
"""Backend name -> its options class (the section of the same name)."""


# -- strict structuring ----------------------------------------------------------------
class _WrongType(TypeError):
    def __init__(self, value: Any, expected: str) -> None:
        super().__init__(f"has the wrong type: {value!r} (expected {expected})")


def _strict(kind: type, *accepted: type) -> Any:
    def structure(value: Any, _: Any) -> Any:
        if isinstance(value, bool) and kind is not bool or not isinstance(value, accepted):
            raise _WrongType(value, kind.__name__)
        if isinstance(value, float) and not math.isfinite(value):
            raise _WrongType(value, "a finite number")
        return value

    return structure


def _converter() -> cattrs.Converter:
    conv = cattrs.Converter(forbid_extra_keys=True)
    conv.register_structure_hook(bool, _strict(bool, bool))
    conv.register_structure_hook(int, _strict(int, int))
    conv.register_structure_hook(float, _strict(float, int, float))
    conv.register_structure_hook(str, _strict(str, str))

    def structure_dict(value: Any, _: Any) -> Any:
        if not isinstance(value, Mapping):
            raise _WrongType(value, "a mapping")
        return dict(value)

    conv.register_structure_hook_func(lambda t: t == dict[str, Any], structure_dict)
    conv.register_structure_hook_func(lambda t: t is Any, lambda value, _: value)  # clients, sessions: as given
    return conv


_CONVERTER = _converter()


def _known(cls: type) -> str:
    return ", ".join(sorted(a.name for a in attrs.fields(cls))) or "none"


def _class_at(path: list[str]) -> Optional[type]:
    cls: type = PersistenceOptions
    for part in path:
        field = next((a for a in attrs.fields(cls) if a.name == part), None)
        if field is None:
            return None
        typ = field.type
        if get_origin(typ) is Union:
            typ = next(t for t in get_args(typ) if t is not type(None))
        if not attrs.has(typ):
            return None
        cls = typ
    return cls


def _describe(exc: BaseException, path: list[str], value: Any) -> str:
    """The first problem in a cattrs error tree, as one sentence naming the option path."""
    if isinstance(exc, ForbiddenExtraKeysError):
        name = ".".join([*path, sorted(exc.extra_fields)[0]])
        cls = _class_at(path)
        return f"unknown option {name}" + (f" (known: {_known(cls)})" if cls is not None else "")
    if isinstance(exc, (ClassValidationError, IterableValidationError)):
        for sub in exc.exceptions:
            note = next(iter(getattr(sub, "__notes__", [])), "")
            attr = getattr(note, "name", None)
            if attr is None and "'" in str(note):
                attr = str(note).split("'")[1]
            if attr is None:
                return _describe(sub, path, value)
            sub_value = value.get(attr) if isinstance(value, Mapping) else None
            return _describe(sub, [*path, attr], sub_value)
    where = ".".join(path)
    if isinstance(exc, KeyError):
        return f"{where} is required"
    if isinstance(exc, _WrongType):
        return f"option {where} {exc}"
    if isinstance(exc, _BadValue):
        return f"option {'.'.join([*path, exc.name])} {exc}"
    if isinstance(exc, (ValueError, TypeError)) and value is not None and where:
        return f"option {where} has the wrong value: {value!r} ({exc})"
    return f"option {where or 'configuration'}: {exc}"


def _structure(cls: type, raw: Any, path: list[str]) -> Any:
    try:
        return _CONVERTER.structure(raw, cls)
    except Exception as exc:  # noqa: BLE001 - cattrs groups every failure under one error
        raise ConfigurationError(_describe(exc, path, raw)) from exc


def parse_options(raw: Mapping[str, Any]) -> PersistenceOptions:
    """Validate and structure a configuration mapping.

    Raises:
        ConfigurationError: naming the full option path of the first problem.
    """
    if not isinstance(raw, Mapping):
        raise ConfigurationError(f"configuration must be a mapping, got {type(raw).__name__}")
    backend = raw.get("backend")
    names = ", ".join(sorted(BACKEND_OPTIONS))
    if backend in (None, ""):
        raise ConfigurationError(f"missing option backend (one of: {names})")
    if backend not in BACKEND_OPTIONS:
        raise ConfigurationError(f"unknown backend {backend!r} at option backend (one of: {names})")
    cfg = dict(raw)
    if cfg.get(backend) is None:
        cfg[backend] = {}  # the selected backend's section exists, so its required options are checked
    for section in ("memory", "store", "cache"):
        if cfg.get(section) is None:
            cfg.pop(section, None)
    options: PersistenceOptions = _structure(PersistenceOptions, cfg, [])
    return options


def blob_ttl_days(ttl_seconds: Optional[float]) -> Optional[int]:
    """Days an offloaded object must live to outlast items of ``ttl_seconds`` (rounded up)."""
    return None if ttl_seconds is None else max(1, math.ceil(ttl_seconds / 86400))
