"""Sub-container for DynamoDB (+ S3 offload): builds the boto3 clients and the two adapters.

Options (section ``dynamodb`` of the root configuration)::

    dynamodb:
      table_name: my-checkpoints        # required
      region_name: us-east-1
      endpoint_url: http://127.0.0.1:8000
      session: <boto3.Session>          # objects are accepted from Python
      boto_config: <botocore Config>    # merged over the library's defaults, never replaced
      client: <boto3 dynamodb client>   # use this client as is
      s3_offload:                       # offload payloads over offload_threshold_bytes
        bucket_name: my-bucket          # required in this section
        endpoint_url: http://...
        client: <boto3 s3 client>

boto3 is imported only when a client is built.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Optional

from dependency_injector import containers, providers

from ..domain.errors import ConfigurationError

__all__ = ["DynamoDBBackend", "DYNAMODB_OPTIONS", "merged_boto_config", "blob_ttl_days"]

DYNAMODB_OPTIONS: dict[str, tuple[Any, bool]] = {
    "table_name": (str, True),
    "region_name": ((str, type(None)), False),
    "endpoint_url": ((str, type(None)), False),
    "session": (object, False),
    "boto_config": (object, False),
    "client": (object, False),
    "s3_offload": ((dict, type(None)), False),
}
"""Options of the ``dynamodb`` section: name -> (types, required)."""

_S3_OPTIONS = {"bucket_name", "endpoint_url", "client", "region_name", "prefix", "manage_lifecycle"}


def merged_boto_config(user_config: Any = None, *, s3: bool = False, endpoint_url: Optional[str] = None) -> Any:
    """The library's defaults (standard retries, 5 attempts) with the user's Config merged over them."""
    from botocore.config import Config

    defaults: dict[str, Any] = {"retries": {"mode": "standard", "max_attempts": 5}, "user_agent_extra": "langgraph-checkpoint-aws-hex"}
    if s3 and endpoint_url:
        defaults["s3"] = {"addressing_style": "path"}
    base = Config(**defaults)
    return base.merge(user_config) if user_config is not None else base


def _session(section: Mapping[str, Any]) -> Any:
    session = section.get("session")
    if session is not None:
        return session
    import boto3

    return boto3.session.Session(region_name=section.get("region_name"))


def _dynamodb_client(section: Mapping[str, Any]) -> Any:
    if section.get("client") is not None:
        return section["client"]
    return _session(section).client(
        "dynamodb",
        region_name=section.get("region_name"),
        endpoint_url=section.get("endpoint_url"),
        config=merged_boto_config(section.get("boto_config")),
    )


def _s3_section(section: Mapping[str, Any]) -> Optional[Mapping[str, Any]]:
    offload = section.get("s3_offload")
    if not offload:
        return None
    unknown = set(offload) - _S3_OPTIONS
    if unknown:
        raise ConfigurationError(
            f"unknown option dynamodb.s3_offload.{sorted(unknown)[0]} (known: {', '.join(sorted(_S3_OPTIONS))})"
        )
    if not isinstance(offload.get("bucket_name"), str) or not offload["bucket_name"]:
        raise ConfigurationError("missing option dynamodb.s3_offload.bucket_name")
    return offload


def _s3_client(section: Mapping[str, Any]) -> Any:
    offload = _s3_section(section)
    if offload is None:
        return None
    if offload.get("client") is not None:
        return offload["client"]
    endpoint = offload.get("endpoint_url")
    return _session(section).client(
        "s3",
        region_name=offload.get("region_name") or section.get("region_name"),
        endpoint_url=endpoint,
        config=merged_boto_config(section.get("boto_config"), s3=True, endpoint_url=endpoint),
    )


def _repository(client: Any, section: Mapping[str, Any], ttl_seconds: Optional[float], batch_retry: Any) -> Any:
    from ..adapters.dynamodb.checkpoints import DynamoDBCheckpointRepository

    return DynamoDBCheckpointRepository(
        client=client, table_name=section["table_name"], ttl_seconds=ttl_seconds, batch_retry=batch_retry
    )


def _blob_store(client: Any, section: Mapping[str, Any]) -> Any:
    offload = _s3_section(section)
    if offload is None or client is None:
        return None
    from ..adapters.s3.blobs import S3BlobStore

    return S3BlobStore(
        client=client,
        bucket_name=offload["bucket_name"],
        prefix=offload.get("prefix", ""),
        manage_lifecycle=offload.get("manage_lifecycle", True),
    )


def _batch_retry() -> Any:
    from ..adapters.dynamodb.checkpoints import default_batch_retry

    return default_batch_retry()


def _max_inline_bytes() -> int:
    from ..adapters.dynamodb.checkpoints import MAX_INLINE_BYTES

    return MAX_INLINE_BYTES


def blob_ttl_days(ttl_seconds: Optional[float]) -> Optional[int]:
    """Days an offloaded object must live to outlast items of ``ttl_seconds`` (rounded up)."""
    return None if ttl_seconds is None else max(1, math.ceil(ttl_seconds / 86400))


def _unsupported(what: str) -> Any:
    raise ConfigurationError(
        f"backend 'dynamodb' provides checkpoints only; {what} is not available on it "
        "(use backend 'memory' for the store and the cache)"
    )


class DynamoDBBackend(containers.DeclarativeContainer):
    """Checkpoints in one DynamoDB table, large payloads offloaded to S3 when configured."""

    config = providers.Configuration()
    """The root configuration (this backend reads ``ttl_seconds`` and ``dynamodb.*``)."""

    dynamodb_client = providers.Singleton(_dynamodb_client, section=config.dynamodb)
    s3_client = providers.Singleton(_s3_client, section=config.dynamodb)
    batch_retry = providers.Singleton(_batch_retry)
    checkpoint_repository = providers.Singleton(
        _repository,
        client=dynamodb_client,
        section=config.dynamodb,
        ttl_seconds=config.ttl_seconds,
        batch_retry=batch_retry,
    )
    blob_store = providers.Singleton(_blob_store, client=s3_client, section=config.dynamodb)
    max_inline_bytes = providers.Callable(_max_inline_bytes)
    item_repository = providers.Callable(_unsupported, "the store (create_store)")
    vector_index = providers.Callable(_unsupported, "the store's vector index")
    cache_repository = providers.Callable(_unsupported, "the cache (create_cache)")

