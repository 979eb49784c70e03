"""Backend container: Amazon Bedrock AgentCore Memory (boto3 service ``bedrock-agentcore``).

Checkpoints are events of one session per thread; store items are memory
records. boto3 is imported only when the client is built: from
``session``, ``region_name``, ``endpoint_url`` and ``boto_config`` (the
user's Config merged over ours, so botocore retries nothing and the
RetryPolicy is the one retry layer), closed by ``shutdown_resources()``; a
client passed as ``agentcore.client`` is used as is and never closed here.
"""

from __future__ import annotations

from typing import Any

from dependency_injector import providers

from ..domain.policies import RetryPolicy
from .base import BackendContainer, ExecutorResource, StoreBackend
from .dynamodb import AwsClientResource
from .options import AgentCoreOptions

__all__ = ["AgentCoreBackend"]


def _retry_policy(section: AgentCoreOptions) -> RetryPolicy:
    return RetryPolicy(
        attempts=section.retry_attempts, initial_backoff=section.initial_backoff, max_backoff=section.max_backoff
    )


def _repository(client: Any, section: AgentCoreOptions) -> Any:
    from ..adapters.agentcore.checkpoints import AgentCoreCheckpointRepository

    return AgentCoreCheckpointRepository(
        client=client,
        memory_id=section.memory_id,
        items_per_event=section.items_per_event,
        max_workers=section.max_workers,
    )


def _item_repository(client: Any, section: AgentCoreOptions) -> Any:
    from ..adapters.agentcore.store import AgentCoreItemRepository

    return AgentCoreItemRepository(client=client, memory_id=section.memory_id, max_workers=section.max_workers)


class AgentCoreBackend(BackendContainer, StoreBackend):
    """Checkpoints and store items in one AgentCore Memory.

    Override ``agentcore_client`` to inject your own boto3 client. The store
    has no vector index: ``search(query=...)`` runs RetrieveMemoryRecords
    through ``text_index`` (the item repository itself).
    """

    options = BackendContainer.options
    section = options.provided.agentcore
    agentcore_client = providers.Resource(
        AwsClientResource,
        "bedrock-agentcore",
        section.client,
        section.session,
        section.region_name,
        section.endpoint_url,
        section.boto_config,
    )
    retry_policy = providers.Singleton(_retry_policy, section)
    checkpoint_repository = providers.Singleton(_repository, client=agentcore_client, section=section)
    blob_store: providers.Provider[Any] = providers.Object(None)
    max_inline_bytes: providers.Provider[Any] = providers.Object(None)
    # botocore keeps 10 connections per client by default: as many workers.
    executor = providers.Resource(ExecutorResource, max_workers=10, name="lgaws-agentcore")
    item_repository = providers.Singleton(_item_repository, client=agentcore_client, section=section)
    vector_index: providers.Provider[Any] = providers.Object(None)
    text_index = item_repository
