"""Backend container: DynamoDB, with payloads over the threshold offloaded to S3.

boto3 is imported only when a client is built. Clients the container builds
(from ``session``, ``region_name``, ``endpoint_url`` and ``boto_config``, the
user's Config merged over ours) are Resources closed by ``shutdown_resources()``;
a client passed as ``dynamodb.client`` or ``dynamodb.s3_offload.client`` is
used as is and never closed here.
"""

from __future__ import annotations

from typing import Any, Optional

from dependency_injector import providers, resources

from .base import BackendContainer, ExecutorResource, retry_policy
from .options import DynamoDBOptions, S3OffloadOptions, blob_ttl_days

__all__ = ["DynamoDBBackend", "AwsClientResource"]


class AwsClientResource(resources.Resource[Any]):
    """A boto3 client: the user's as given, or one built here and closed on shutdown."""

    def init(self, service: str, given: Any, session: Any, region_name: Optional[str],
             endpoint_url: Optional[str], boto_config: Any) -> Any:
        self.owned = given is None
        if given is not None:
            return given
        from ..adapters.aws.clients import build_client

        return build_client(
            service,
            session=session,
            region_name=region_name,
            endpoint_url=endpoint_url,
            boto_config=boto_config,
            s3_path_style=service == "s3" and endpoint_url is not None,
        )

    def shutdown(self, client: Any) -> None:
        if getattr(self, "owned", False) and client is not None:
            client.close()


class _S3ClientResource(AwsClientResource):
    """The S3 client, only when offload is configured."""

    def init(self, section: DynamoDBOptions) -> Any:  # type: ignore[override]
        offload = section.s3_offload
        if offload is None:
            self.owned = False
            return None
        return super().init(
            "s3",
            offload.client,
            section.session,
            offload.region_name or section.region_name,
            offload.endpoint_url,
            section.boto_config,
        )


def _repository(client: Any, section: DynamoDBOptions, ttl_seconds: Optional[float], backoff: Any) -> Any:
    from ..adapters.dynamodb.checkpoints import DynamoDBCheckpointRepository

    return DynamoDBCheckpointRepository(
        client=client, table_name=section.table_name, ttl_seconds=ttl_seconds, backoff=backoff
    )


def _blob_store(client: Any, offload: Optional[S3OffloadOptions], ttl_seconds: Optional[float], backoff: Any) -> Any:
    if offload is None or client is None:
        return None
    from ..adapters.s3.blobs import S3BlobStore

    return S3BlobStore(
        client=client,
        bucket_name=offload.bucket_name,
        prefix=offload.prefix,
        manage_lifecycle=offload.manage_lifecycle,
        lifecycle_days=blob_ttl_days(ttl_seconds),
        backoff=backoff,
    )


def _max_inline_bytes() -> int:
    from ..adapters.dynamodb.checkpoints import MAX_INLINE_BYTES

    return MAX_INLINE_BYTES


class DynamoDBBackend(BackendContainer):
    """Checkpoints in one DynamoDB table, large payloads offloaded to S3 when configured.

    Override ``dynamodb_client`` or ``s3_client`` to inject your own boto3 clients.
    """

    options = BackendContainer.options
    section = options.provided.dynamodb
    dynamodb_client = providers.Resource(
        AwsClientResource,
        "dynamodb",
        section.client,
        section.session,
        section.region_name,
        section.endpoint_url,
        section.boto_config,
    )
    s3_client = providers.Resource(_S3ClientResource, section)
    retry_policy = providers.Singleton(retry_policy, section.retry_attempts)
    checkpoint_repository = providers.Singleton(
        _repository,
        client=dynamodb_client,
        section=section,
        ttl_seconds=options.provided.ttl_seconds,
        backoff=retry_policy,
    )
    blob_store = providers.Singleton(
        _blob_store,
        client=s3_client,
        offload=section.s3_offload,
        ttl_seconds=options.provided.ttl_seconds,
        backoff=retry_policy,
    )
    max_inline_bytes = providers.Callable(_max_inline_bytes)
    # botocore keeps 10 connections per client by default: as many workers.
    executor = providers.Resource(ExecutorResource, max_workers=10, name="lgaws-dynamodb")
