"""S3CheckpointSaver and AsyncS3CheckpointSaver: seed 004's API over the container's plain-S3 backend."""

from __future__ import annotations

import asyncio
from typing import Any, Optional

from langgraph.checkpoint.serde.base import SerializerProtocol

from ..container import PersistenceContainer, create_container
from ..domain.errors import ConfigurationError
from ..domain.ports import AsyncResourceProvisioner, ResourceProvisioner
from .checkpoint import RepositorySaver

__all__ = ["S3CheckpointSaver", "AsyncS3CheckpointSaver"]

_OPTIONS = ("session", "region_name", "endpoint_url", "boto_config", "max_workers", "retry_attempts")
"""Keyword arguments that go to the ``s3`` options section."""
_ROOT_OPTIONS = {"enable_checkpoint_compression": "compression"}


def _config(
    owner: str, bucket_name: Any, prefix: Any, client: Any, kwargs: dict[str, Any]
) -> tuple[dict[str, Any], Optional[SerializerProtocol]]:
    """The configuration dict of a saver's constructor arguments, and its serde."""
    if not isinstance(bucket_name, str) or not bucket_name:
        raise ConfigurationError(f"{owner}: bucket_name must be a non-empty string, got {bucket_name!r}")
    if not isinstance(prefix, str):
        raise ConfigurationError(f"{owner}: prefix must be a string, got {prefix!r}")
    serde = kwargs.pop("serde", None)
    section: dict[str, Any] = {"bucket_name": bucket_name, "prefix": prefix}
    if client is not None:
        section["client"] = client
    config: dict[str, Any] = {"backend": "s3", "s3": section}
    for name in list(kwargs):
        if name in _OPTIONS:
            value = kwargs.pop(name)
            if value is not None:
                section[name] = value
        elif name in _ROOT_OPTIONS:
            config[_ROOT_OPTIONS[name]] = bool(kwargs.pop(name))
    if kwargs:
        known = ", ".join(["serde", *_OPTIONS, *_ROOT_OPTIONS])
        raise ConfigurationError(f"{owner}: unknown keyword arguments {', '.join(sorted(kwargs))} (known: {known})")
    return config, serde


class S3CheckpointSaver(RepositorySaver):
    """A LangGraph checkpointer on one S3 bucket prefix (seed 004's ``S3CheckpointSaver``).

    Each channel value is stored once per version, ids are encoded so that
    distinct ids never share a key, and every read is a bounded number of
    parallel request rounds (see ``adapters.s3.checkpoints``). The async
    methods run the same use cases in the saver's worker threads.

    Args:
        bucket_name: the bucket; checked on initialization (an error names the
            bucket and the cause: missing, access denied, another region).
        prefix: key prefix (default ``"checkpoints/"``).
        s3_client: a boto3 S3 client to use as is (never closed here); None:
            one is built (from ``session``, ``region_name``, ``endpoint_url``,
            ``boto_config``) and closed by ``close()``.
        **kwargs: ``serde`` (BaseCheckpointSaver's), and the library's
            ``session``, ``region_name``, ``endpoint_url``, ``boto_config``,
            ``enable_checkpoint_compression``, ``max_workers``, ``retry_attempts``.

    Raises:
        NotFoundError, BackendError, ConfigurationError: the bucket check failed,
            or the prefix holds langgraph-checkpoint-s3 0.1.3 data (the message
            names the migration command).
    """

    def __init__(
        self,
        bucket_name: str,
        *,
        prefix: str = "checkpoints/",
        s3_client: Optional[Any] = None,
        **kwargs: Any,
    ) -> None:
        config, serde = _config(type(self).__name__, bucket_name, prefix, s3_client, dict(kwargs))
        container = create_container(config)
        self._adopt(container, serde)
        try:
            self.verify()
        except BaseException:
            self.close()
            raise

    def _adopt(self, container: PersistenceContainer, serde: Optional[SerializerProtocol]) -> None:
        options = container.options()
        assert options.s3 is not None
        self.bucket_name = options.s3.bucket_name
        self.repository = container.checkpoint_repository()
        self.prefix = self.repository.prefix
        RepositorySaver.__init__(self, container.checkpoint_service(), serde=serde, container=container)

    @classmethod
    def from_container(
        cls, container: PersistenceContainer, *, serde: Optional[SerializerProtocol] = None
    ) -> S3CheckpointSaver:
        """A saver over the container's S3 repository (the bucket is checked); the saver owns the container."""
        saver = cls.__new__(cls)
        saver._adopt(container, serde)
        try:
            saver.verify()
        except BaseException:
            saver.close()
            raise
        return saver

    def setup(self) -> None:
        """Create the bucket if missing (local development and tests)."""
        if isinstance(self.repository, ResourceProvisioner):
            self.repository.setup()

    def verify(self) -> None:
        """Check the bucket and the prefix; errors name the bucket and the cause."""
        if isinstance(self.repository, ResourceProvisioner):
            self.repository.verify()


class AsyncS3CheckpointSaver(RepositorySaver):
    """Seed 004's ``AsyncS3CheckpointSaver``: use it as an async context manager.

    With an ``aioboto3.Session`` or an aiobotocore session, the async API runs
    natively on an aiobotocore client opened from it (aioboto3 and
    aiobotocore stay optional dependencies); sync calls are served from other
    threads while its event loop runs. Without a session (or with a boto3
    Session) it runs the sync repository in threads the saver owns, so the
    event loop is never blocked and aioboto3 is not needed.

    The bucket is checked on ``async with`` entry (and, if the saver is used
    without it, before its first operation).

    Args:
        bucket_name: the bucket.
        prefix: key prefix (default ``"checkpoints/"``).
        session: an ``aioboto3.Session``, an aiobotocore session, a boto3
            Session, or None (a default boto3 session).
        **kwargs: as for ``S3CheckpointSaver`` (``s3_client`` included).
    """

    def __init__(
        self,
        bucket_name: str,
        *,
        prefix: str = "checkpoints/",
        session: Optional[Any] = None,
        **kwargs: Any,
    ) -> None:
        extra = dict(kwargs)
        client = extra.pop("s3_client", None)
        if session is not None:
            extra["session"] = session
        config, serde = _config(type(self).__name__, bucket_name, prefix, client, extra)
        container = create_container(config)
        options = container.options()
        assert options.s3 is not None
        self.bucket_name = options.s3.bucket_name
        from ..wiring.s3 import is_async_section

        self.native = is_async_section(options.s3)
        if self.native:
            async_service = container.async_checkpoint_service()
            self.repository = async_service.repository
            RepositorySaver.__init__(self, None, serde=serde, async_service=async_service, container=container)
        else:
            self.repository = container.checkpoint_repository()
            RepositorySaver.__init__(self, container.checkpoint_service(), serde=serde, container=container)
        self.prefix = self.repository.prefix

    async def __aenter__(self) -> AsyncS3CheckpointSaver:
        try:
            await self.averify()
        except BaseException:
            await self.aclose()
            raise
        return self

    async def averify(self) -> None:
        """Check the bucket and the prefix (off the event loop for the sync repository)."""
        if isinstance(self.repository, AsyncResourceProvisioner) and self.native:
            await self.repository.verify()
        elif isinstance(self.repository, ResourceProvisioner):
            await asyncio.get_running_loop().run_in_executor(self._executor(), self.repository.verify)

    async def asetup(self) -> None:
        """Create the bucket if missing (local development and tests)."""
        if self.native:
            await self.repository.setup()
        else:
            await asyncio.get_running_loop().run_in_executor(self._executor(), self.repository.setup)

    def _executor(self) -> Any:
        service = self.service
        return service.executor if service is not None else None

    async def aclose(self) -> None:
        """Close the async client (if any), then what the container built."""
        if self.native:
            await self.repository.aclose()
        await super().aclose()

    def close(self) -> None:
        """Release what the container built; an async client is closed by ``aclose()`` (or ``async with``)."""
        super().close()
