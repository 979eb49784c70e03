"""DynamoDBSaver: the seed API over the DynamoDB+S3 composition of the container."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, Optional

from langgraph.checkpoint.serde.base import SerializerProtocol

from ..container import PersistenceContainer, create_container
from ..domain.errors import ConfigurationError
from ..domain.ports import ResourceProvisioner
from .checkpoint import RepositorySaver

__all__ = ["DynamoDBSaver"]


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
            offload = dict(s3_offload_config)
            if "offload_threshold_bytes" in offload:
                config["offload_threshold_bytes"] = offload.pop("offload_threshold_bytes")
            section["s3_offload"] = offload
        self._adopt(create_container(config), serde)

    def _adopt(self, container: PersistenceContainer, serde: Optional[SerializerProtocol]) -> None:
        options = container.options()
        assert options.dynamodb is not None
        self.table_name = options.dynamodb.table_name
        self.repository = container.checkpoint_repository()
        self.blob_store = container.blob_store()
        RepositorySaver.__init__(self, container.checkpoint_service(), serde=serde, container=container)

    @classmethod
    def from_container(
        cls, container: PersistenceContainer, *, serde: Optional[SerializerProtocol] = None
    ) -> DynamoDBSaver:
        """A saver over the container's DynamoDB (+S3) repositories; the saver owns the container."""
        saver = cls.__new__(cls)
        saver._adopt(container, serde)
        return saver

    def setup(self) -> None:
        """Create the table (on-demand, TTL on ``ttl``) and the offload bucket if missing.

        Meant for local development and tests; production resources come from
        the CloudFormation template.
        """
        for resource in (self.repository, self.blob_store):
            if isinstance(resource, ResourceProvisioner):
                resource.setup()

    def verify(self) -> None:
        """Check the table (key schema) and the offload bucket; errors name what is wrong."""
        for resource in (self.repository, self.blob_store):
            if isinstance(resource, ResourceProvisioner):
                resource.verify()

    async def asetup(self) -> None:
        """``setup()`` off the event loop."""
        await asyncio.get_running_loop().run_in_executor(None, self.setup)
