"""AgentCoreMemoryStore: LangGraph's BaseStore on Amazon Bedrock AgentCore Memory records."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Optional

from langchain_core.messages import BaseMessage, message_to_dict
from langgraph.store.base import Op, PutOp, Result, TTLConfig

from ..container import create_container
from ..domain.errors import ConfigurationError
from .agentcore import agentcore_section
from .store import RepositoryStore

__all__ = ["AgentCoreMemoryStore"]


class AgentCoreMemoryStore(RepositoryStore):
    """A LangGraph store whose items are AgentCore Memory records, searched by the service.

    ``put(namespace, key, value)`` writes a memory record at once
    (BatchCreateMemoryRecords; a re-put updates it in place), with the key in
    the record's metadata, so ``get``, ``search`` and ``delete`` see it
    immediately. A value holding a LangChain message (``{"message": msg}``, as
    a pre-model hook writes under ``(actor_id, session_id)``) is stored as
    ``message_to_dict(msg)`` and also recorded as a conversational event of
    that actor's session, which feeds AgentCore's long-term extraction.
    ``search(namespace, query=...)`` runs RetrieveMemoryRecords under the
    namespace (scores: higher is more relevant); ``filter`` and ``offset``
    apply in the client, within the service's 100 best records. Without a
    query, search lists the namespace's records. A value over 16,000
    characters of record text raises PayloadTooLargeError naming the limit;
    an ``index`` (vectors) raises UnsupportedOperationError: the service
    embeds records itself.

    Args:
        memory_id: the memory's id (or ARN); also accepted positionally, as the seed writes it.
        region_name, session, endpoint_url, config / boto_config, client: as for AgentCoreMemorySaver.
        max_retries, initial_backoff, max_backoff: retries of throttled or conflicting calls.
        ttl: LangGraph's TTLConfig (minutes), applied by the library.
        boto3_kwargs: credentials for the client.
    """

    def __init__(
        self,
        *args: str,
        memory_id: Optional[str] = None,
        region_name: Optional[str] = None,
        session: Optional[Any] = None,
        endpoint_url: Optional[str] = None,
        config: Optional[Any] = None,
        boto_config: Optional[Any] = None,
        client: Optional[Any] = None,
        max_retries: int = 3,
        initial_backoff: float = 0.1,
        max_backoff: float = 2.0,
        ttl: Optional[TTLConfig] = None,
        index: Optional[Any] = None,
        **boto3_kwargs: Any,
    ) -> None:
        if args:
            if len(args) > 1 or memory_id is not None:
                raise ConfigurationError("AgentCoreMemoryStore takes one memory_id")
            memory_id = args[0]
        if not isinstance(memory_id, str) or not memory_id:
            raise ConfigurationError("AgentCoreMemoryStore: memory_id must be a non-empty string")
        if index is not None:
            raise ConfigurationError(
                "AgentCoreMemoryStore: index is not supported: AgentCore Memory embeds records itself; "
                "search with query= instead"
            )
        section = agentcore_section(
            "AgentCoreMemoryStore", memory_id, region_name=region_name, session=session, endpoint_url=endpoint_url,
            boto_config=config or boto_config, client=client, max_retries=max_retries,
            initial_backoff=initial_backoff, max_backoff=max_backoff, boto3_kwargs=boto3_kwargs,
        )
        container = create_container({"backend": "agentcore", "agentcore": section})
        self.memory_id = memory_id
        super().__init__(container.store_service(), ttl=ttl, container=container)

    @staticmethod
    def _plain(ops: Iterable[Op]) -> list[Op]:
        """Messages in values become ``message_to_dict`` form (JSON the record and the event can hold)."""
        out: list[Op] = []
        for op in ops:
            if isinstance(op, PutOp) and op.value is not None and isinstance(op.value.get("message"), BaseMessage):
                value = {**op.value, "message": message_to_dict(op.value["message"])}
                op = PutOp(op.namespace, op.key, value, index=op.index, ttl=op.ttl)
            out.append(op)
        return out

    def batch(self, ops: Iterable[Op]) -> list[Result]:
        return super().batch(self._plain(ops))

    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        return await super().abatch(self._plain(ops))
