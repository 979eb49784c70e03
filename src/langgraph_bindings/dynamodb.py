"""DynamoDBSaver: the seed API over the DynamoDB+S3 composition of the container."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Optional

from langgraph.checkpoint.serde.base import SerializerProtocol

from ..container import create_container
from ..domain.errors import ConfigurationError
from ._async import run_blocking
from .checkpoint import RepositorySaver, default_serde

__all__ = ["DynamoDBSaver"]

_S3_KEYS = {"bucket_name", "endpoint_url", "region_name", "prefix", "manage_lifecycle", "client", "offload_threshold_bytes"}


class DynamoDBSaver(RepositorySaver):
    """A LangGraph checkpointer on one DynamoDB table, large payloads offloaded to S3.

    Sync and async API; the async methods run the same use cases in worker
    threads, so the event loop is never blocked.

    Args:
        table_name: the DynamoDB table (string ``PK`` and ``SK``; see ``setup()``).
        session: a boto3 Session to build clients from (profiles, assumed roles).
        region_name: AWS region.
        endpoint_url: custom DynamoDB endpoint (DynamoDB Local, moto).
        boto_config: a botocore Config; merged over the library's defaults.
        ttl_seconds: items expire this long after they are written; offloaded
            objects are tagged and expired by a bucket lifecycle rule.
        enable_checkpoint_compression: gzip (level 6) payloads over 1 KB when
            that saves at least 10%.
        s3_offload_config: ``{"bucket_name": ..., "endpoint_url": ...}``; payloads
            over ``offload_threshold_bytes`` (default 350 KB) go to S3.
        serde: serializer (default JsonPlusSerializer without pickle).
    """

    def __init__(
        self,
        table_name: str,
        session: Optional[Any] = None,
        region_name: Optional[str] = None,
        endpoint_url: Optional[str] = None,
        boto_config: Optional[Any] = None,
        ttl_seconds: Optional[int] = None,
        enable_checkpoint_compression: bool = False,
        s3_offload_config: Optional[Mapping[str, Any]] = None,
        *,
        serde: Optional[SerializerProtocol] = None,
    ) -> None:
        if not isinstance(table_name, str) or not table_name:
            raise ConfigurationError("DynamoDBSaver: table_name must be a non-empty string")
        section: dict[str, Any] = {"table_name": table_name, "region_name": region_name, "endpoint_url": endpoint_url}
        if session is not None:
            section["session"] = session
        if boto_config is not None:
            section["boto_config"] = boto_config
        config: dict[str, Any] = {
            "backend": "dynamodb",
            "ttl_seconds": ttl_seconds,
            "compression": bool(enable_checkpoint_compression),
            "dynamodb": section,
        }
        if s3_offload_config is not None:
            if not isinstance(s3_offload_config, Mapping):
                raise ConfigurationError("s3_offload_config must be a dict with bucket_name")
            unknown = set(s3_offload_config) - _S3_KEYS
            if unknown:
                raise ConfigurationError(
                    f"unknown option s3_offload_config.{sorted(unknown)[0]} (known: {', '.join(sorted(_S3_KEYS))})"
                )
            offload = dict(s3_offload_config)
            if "offload_threshold_bytes" in offload:
                config["offload_threshold_bytes"] = offload.pop("offload_threshold_bytes")
            if not offload.get("bucket_name"):
                raise ConfigurationError("missing option s3_offload_config.bucket_name")
            section["s3_offload"] = offload
        self.container = create_container(config)
        super().__init__(self.container.checkpoint_service(), serde=serde or default_serde())
        self.table_name = table_name
        self.repository = self.container.checkpoint_repository()
        self.blob_store = self.container.blob_store()

    def setup(self, *, enable_ttl: bool = True) -> None:
        """Create the table (on-demand, TTL on ``ttl``) and the offload bucket if missing.

        Meant for local development and tests; production resources come from
        the CloudFormation template.
        """
        from ..adapters.dynamodb.setup import create_table

        create_table(self.repository.client, self.table_name, enable_ttl=enable_ttl)
        if self.blob_store is not None:
            self.blob_store.create_bucket()

    async def asetup(self, *, enable_ttl: bool = True) -> None:
        """``setup()`` in a worker thread."""
        await run_blocking(self.setup, enable_ttl=enable_ttl)
