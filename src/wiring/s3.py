"""Backend container: plain S3 checkpoints (one bucket prefix; no table).

boto3 is imported only when a client is built. A sync client built here (from
``session``, ``region_name``, ``endpoint_url`` and ``boto_config``) is a
Resource closed by ``shutdown_resources()``; a client passed as ``s3.client``
is used as is and never closed here. With an aioboto3 or aiobotocore
``s3.session`` the async repository opens its own client on first use in the
event loop, and the saver closes it on ``aclose()``/context exit; the sync
repository is then not available (no sync twin is derived from an async session).
"""

from __future__ import annotations

from typing import Any, Optional

from dependency_injector import providers

from ..domain.errors import ConfigurationError
from .base import BackendContainer, ExecutorResource, is_async_section, retry_policy
from .dynamodb import AwsClientResource
from .options import S3Options

__all__ = ["S3Backend", "is_async_section"]


class _S3ClientResource(AwsClientResource):
    """The sync S3 client: the user's, or one built here with a pool of ``max_workers`` connections."""

    def init(self, section: S3Options) -> Any:  # type: ignore[override]
        if is_async_section(section):
            self.owned = False
            return None
        from botocore.config import Config

        pool = Config(max_pool_connections=section.max_workers)
        config = pool.merge(section.boto_config) if section.boto_config is not None else pool
        return super().init("s3", section.client, section.session, section.region_name, section.endpoint_url, config)


def _repository(client: Any, section: S3Options, executor: Any, backoff: Any) -> Any:
    if client is None:
        raise ConfigurationError(
            "s3.session is an async (aioboto3/aiobotocore) session: use the async API "
            "(AsyncS3CheckpointSaver), or pass a boto3 session or s3.client for the sync API"
        )
    from ..adapters.s3.checkpoints import S3CheckpointRepository

    return S3CheckpointRepository(
        client=client, bucket_name=section.bucket_name, prefix=section.prefix, executor=executor, backoff=backoff
    )


def _async_repository(section: S3Options, backoff: Any) -> Any:
    if not is_async_section(section):
        raise ConfigurationError(
            "the native async S3 repository needs s3.session to be an aioboto3.Session or an aiobotocore session"
        )
    from ..adapters.s3.aio import AsyncS3CheckpointRepository

    return AsyncS3CheckpointRepository(
        session=section.session,
        bucket_name=section.bucket_name,
        prefix=section.prefix,
        region_name=section.region_name,
        endpoint_url=section.endpoint_url,
        boto_config=section.boto_config,
        max_concurrency=section.max_workers,
        backoff=backoff,
    )


def _no_limit() -> Optional[int]:
    return None


class S3Backend(BackendContainer):
    """Checkpoints as objects in one S3 bucket prefix.

    Override ``s3_client`` to inject your own boto3 client, ``retry_policy``
    to inject a RetryPolicy.
    """

    options = BackendContainer.options
    section = options.provided.s3
    s3_client = providers.Resource(_S3ClientResource, section)
    retry_policy = providers.Singleton(retry_policy, section.retry_attempts)
    # The requests of one round run here, in parallel; never the executor below, which runs
    # whole calls of the async API and waits on these.
    request_executor = providers.Resource(ExecutorResource, max_workers=section.max_workers, name="lgaws-s3-requests")
    checkpoint_repository = providers.Singleton(
        _repository, client=s3_client, section=section, executor=request_executor, backoff=retry_policy
    )
    async_checkpoint_repository = providers.Singleton(_async_repository, section=section, backoff=retry_policy)
    # Rounds are bounded by the client's pool inside the repository: nothing to cap per call.
    async_concurrency = providers.Callable(_no_limit)
    blob_store: providers.Provider[Any] = providers.Object(None)
    # S3 objects take up to 5 GB per PUT: payloads stay inline (compression still applies).
    max_inline_bytes: providers.Provider[Any] = providers.Object(None)
    executor = providers.Resource(ExecutorResource, max_workers=10, name="lgaws-s3")
