"""Backend container: Amazon Bedrock session management (``bedrock-agent-runtime``), one session per thread.

The client is built from ``session``, ``region_name``, ``endpoint_url`` and
``boto_config`` (the user's Config merged over ours) and closed by
``shutdown_resources()``; a client passed as ``bedrock_sessions.client`` is used
as is and never closed here. Large records are split across steps by the
repository, so nothing is offloaded (no blob store).
"""

from __future__ import annotations

from typing import Any, Optional

from dependency_injector import providers, resources

from .base import BackendContainer, ExecutorResource, retry_policy
from .dynamodb import AwsClientResource
from .options import BedrockSessionsOptions

__all__ = ["BedrockSessionsBackend"]


class _RepositoryResource(resources.Resource[Any]):
    """The repository; its thread pool is shut down with the container."""

    def init(self, client: Any, section: BedrockSessionsOptions) -> Any:
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


def _none() -> None:
    return None


class BedrockSessionsBackend(BackendContainer):
    """Checkpoints in Bedrock sessions. Override ``bedrock_client`` to inject your own boto3 client."""

    options = BackendContainer.options
    section = options.provided.bedrock_sessions
    bedrock_client = providers.Resource(
        AwsClientResource,
        "bedrock-agent-runtime",
        section.client,
        section.session,
        section.region_name,
        section.endpoint_url,
        section.boto_config,
    )
    retry_policy = providers.Singleton(retry_policy, section.retry_attempts)
    checkpoint_repository = providers.Resource(_RepositoryResource, client=bedrock_client, section=section)
    blob_store = providers.Callable(_none)
    max_inline_bytes = providers.Callable(_none)
    # botocore keeps 10 connections per client by default: as many workers.
    executor = providers.Resource(ExecutorResource, max_workers=10, name="lgaws-bedrock-sessions")
