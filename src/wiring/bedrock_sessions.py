"""Backend container: Amazon Bedrock session management (``bedrock-agent-runtime``), one session per thread.

The sync client is built from ``session``, ``region_name``, ``endpoint_url`` and
``boto_config`` (the user's Config merged over ours) and closed by
``shutdown_resources()``; a client passed as ``bedrock_sessions.client`` is used
as is and never closed here. With an aioboto3 or aiobotocore
``bedrock_sessions.session`` the async repository (``async_checkpoint_repository``)
opens its own aiobotocore client on first use in the event loop, and the saver
closes it on ``aclose()``/context exit; the sync repository is then not available
(no sync twin is derived from an async session). Large records are split across
steps by the repositories, so nothing is offloaded (no blob store).
"""

from __future__ import annotations

from typing import Any, Optional

from dependency_injector import providers, resources

from ..domain.errors import ConfigurationError
from .base import BackendContainer, ExecutorResource, is_async_section, retry_policy
from .dynamodb import AwsClientResource
from .options import BedrockSessionsOptions

__all__ = ["BedrockSessionsBackend", "is_async_section"]


class _ClientResource(AwsClientResource):
    """The sync boto3 client (None when the section names an async session)."""

    def init(self, section: BedrockSessionsOptions) -> Any:  # type: ignore[override]
        if is_async_section(section):
            self.owned = False
            return None
        return super().init("bedrock-agent-runtime", section.client, section.session, section.region_name,
                            section.endpoint_url, section.boto_config)


class _RepositoryResource(resources.Resource[Any]):
    """The sync repository; its thread pool is shut down with the container."""

    def init(self, client: Any, section: BedrockSessionsOptions) -> Any:
        if client is None:
            raise ConfigurationError(
                "bedrock_sessions.session is an async (aioboto3/aiobotocore) session: use the async API "
                "(AsyncBedrockSessionSaver), or pass a boto3 session or bedrock_sessions.client for the sync API"
            )
        from ..adapters.bedrock_sessions.checkpoints import BedrockSessionCheckpointRepository

        return BedrockSessionCheckpointRepository(
            client=client,
            create_missing_sessions=section.create_missing_sessions,
            registry_session_id=section.registry_session_id,
            max_step_bytes=section.max_step_bytes,
            max_workers=section.max_workers,
        )

    def shutdown(self, repository: Optional[Any]) -> None:
        if repository is not None:
            repository.close()


def _async_repository(section: BedrockSessionsOptions) -> Any:
    if not is_async_section(section):
        raise ConfigurationError(
            "the native async Bedrock sessions repository needs bedrock_sessions.session to be an "
            "aioboto3.Session or an aiobotocore session"
        )
    from ..adapters.bedrock_sessions.aio import AsyncBedrockSessionCheckpointRepository

    return AsyncBedrockSessionCheckpointRepository(
        session=section.session,
        region_name=section.region_name,
        endpoint_url=section.endpoint_url,
        boto_config=section.boto_config,
        create_missing_sessions=section.create_missing_sessions,
        registry_session_id=section.registry_session_id,
        max_step_bytes=section.max_step_bytes,
        max_concurrency=section.max_workers,
    )


def _none() -> None:
    return None


class BedrockSessionsBackend(BackendContainer):
    """Checkpoints in Bedrock sessions. Override ``bedrock_client`` to inject your own boto3 client."""

    options = BackendContainer.options
    section = options.provided.bedrock_sessions
    bedrock_client = providers.Resource(_ClientResource, section)
    retry_policy = providers.Singleton(retry_policy, section.retry_attempts)
    checkpoint_repository = providers.Resource(_RepositoryResource, client=bedrock_client, section=section)
    async_checkpoint_repository = providers.Singleton(_async_repository, section=section)
    # Rounds are bounded by the repository (max_workers calls in flight): nothing to cap per call.
    async_concurrency = providers.Callable(_none)
    blob_store = providers.Callable(_none)
    max_inline_bytes = providers.Callable(_none)
    # botocore keeps 10 connections per client by default: as many workers.
    executor = providers.Resource(ExecutorResource, max_workers=10, name="lgaws-bedrock-sessions")
