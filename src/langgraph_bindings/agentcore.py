"""AgentCoreMemorySaver: the seed API over the AgentCore Memory backend of the container."""

from __future__ import annotations

from typing import Any, Optional

from langgraph.checkpoint.serde.base import SerializerProtocol

from ..container import PersistenceContainer, create_container
from ..domain.errors import ConfigurationError, InvalidInputError
from ._actors import ActorCarrier
from .checkpoint import RepositorySaver

__all__ = ["AgentCoreMemorySaver"]

_BOTO_CLIENT_KWARGS = frozenset({"aws_access_key_id", "aws_secret_access_key", "aws_session_token", "profile_name"})


class AgentCoreMemorySaver(ActorCarrier, RepositorySaver):
    """A LangGraph checkpointer on Amazon Bedrock AgentCore Memory: thread = session, actor required.

    Every config must carry ``configurable.actor_id`` (the AgentCore actor)
    next to ``thread_id`` (the session); a subgraph's config takes the actor
    of its parent run. Each checkpoint is one event of the session (split
    across events when larger than one), found again by event metadata, so
    reads and writes cost a bounded number of API calls however long the
    session grows (see ``adapters.agentcore.checkpoints``). Sync and async
    API; the async methods run the calls in the saver's own threads.

    ``delete_thread``, ``copy_thread`` and ``prune`` take thread ids: with
    ``actor_id=`` (or ``default_actor_id``) they act on that actor only,
    without one on every actor of the memory that has the session.

    Args:
        memory_id: the AgentCore memory's id (or ARN).
        region_name: AWS region.
        session: a boto3 Session to build the client from (profiles, roles).
        endpoint_url: a custom endpoint (the project's emulator, a VPC endpoint).
        config: a botocore Config (1.2.6's name), merged over the library's
            defaults; ``boto_config`` is the same.
        boto_config: see ``config``.
        client: a ``bedrock-agentcore`` boto3 client to use as is.
        serde: serializer (default JsonPlusSerializer without pickle).
        max_retries: retries of a throttled, conflicting or failed call
            (``ThrottledException``, ``RetryableConflictException``, 5xx,
            connection errors), with exponential backoff from
            ``initial_backoff`` up to ``max_backoff`` seconds.
        initial_backoff: see ``max_retries``.
        max_backoff: see ``max_retries``.
        default_actor_id: actor used when a config names none (and carries
            none over from its parent run).
        boto3_kwargs: credentials for the client (``aws_access_key_id``,
            ``aws_secret_access_key``, ``aws_session_token``, ``profile_name``).
    """

    def __init__(
        self,
        memory_id: str,
        *,
        region_name: Optional[str] = None,
        session: Optional[Any] = None,
        endpoint_url: Optional[str] = None,
        config: Optional[Any] = None,
        boto_config: Optional[Any] = None,
        client: Optional[Any] = None,
        serde: Optional[SerializerProtocol] = None,
        max_retries: int = 3,
        initial_backoff: float = 0.1,
        max_backoff: float = 2.0,
        default_actor_id: Optional[str] = None,
        **boto3_kwargs: Any,
    ) -> None:
        if not isinstance(memory_id, str) or not memory_id:
            raise ConfigurationError("AgentCoreMemorySaver: memory_id must be a non-empty string")
        if config is not None and boto_config is not None:
            raise ConfigurationError("AgentCoreMemorySaver: pass config or boto_config, not both")
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
            raise ConfigurationError(f"AgentCoreMemorySaver: max_retries must be an int >= 0, got {max_retries!r}")
        section = agentcore_section(
            "AgentCoreMemorySaver", memory_id, region_name=region_name, session=session, endpoint_url=endpoint_url,
            boto_config=config or boto_config, client=client, max_retries=max_retries,
            initial_backoff=initial_backoff, max_backoff=max_backoff, boto3_kwargs=boto3_kwargs,
        )
        self.default_actor_id = _check_actor(default_actor_id)
        self._adopt(create_container({"backend": "agentcore", "agentcore": section}), serde)

    def _adopt(self, container: PersistenceContainer, serde: Optional[SerializerProtocol]) -> None:
        options = container.options()
        assert options.agentcore is not None
        self.memory_id = options.agentcore.memory_id
        self.repository = container.checkpoint_repository()
        RepositorySaver.__init__(
            self, container.checkpoint_service(), serde=serde, require_actor_id=True, container=container
        )

    @classmethod
    def from_container(
        cls, container: PersistenceContainer, *, serde: Optional[SerializerProtocol] = None
    ) -> AgentCoreMemorySaver:
        """A saver over the container's AgentCore repository; the saver owns the container."""
        saver = cls.__new__(cls)
        saver.default_actor_id = None
        saver._adopt(container, serde)
        return saver


def agentcore_section(
    owner: str,
    memory_id: str,
    *,
    region_name: Optional[str],
    session: Optional[Any],
    endpoint_url: Optional[str],
    boto_config: Optional[Any],
    client: Optional[Any],
    max_retries: int,
    initial_backoff: float,
    max_backoff: float,
    boto3_kwargs: dict[str, Any],
) -> dict[str, Any]:
    """The ``agentcore`` options section of the saver's and the store's constructor arguments.

    Credentials in ``boto3_kwargs`` build a boto3 Session when none is given.

    Raises:
        ConfigurationError: an argument boto3 does not take (named, with ``owner``).
    """
    unknown = sorted(set(boto3_kwargs) - _BOTO_CLIENT_KWARGS)
    if unknown:
        raise ConfigurationError(
            f"{owner}: unknown argument {unknown[0]!r} "
            f"(boto3 arguments accepted: {', '.join(sorted(_BOTO_CLIENT_KWARGS))})"
        )
    if boto3_kwargs and session is None:
        import boto3

        session = boto3.session.Session(region_name=region_name, **boto3_kwargs)
    section: dict[str, Any] = {
        "memory_id": memory_id,
        "region_name": region_name,
        "endpoint_url": endpoint_url,
        "retry_attempts": int(max_retries) + 1,
        "initial_backoff": float(initial_backoff),
        "max_backoff": float(max_backoff),
    }
    for name, value in (("session", session), ("boto_config", boto_config), ("client", client)):
        if value is not None:
            section[name] = value
    return section


def _check_actor(actor_id: Optional[str]) -> Optional[str]:
    if actor_id is not None and (not isinstance(actor_id, str) or not actor_id):
        raise InvalidInputError(f"default_actor_id must be a non-empty string, got {actor_id!r}")
    return actor_id
