"""BedrockSessionSaver and AsyncBedrockSessionSaver: the seed API over Bedrock session management.

``AsyncBedrockSessionSaver`` given an ``aioboto3.Session`` or an aiobotocore
session (``session=``) runs natively: its async API and its ``session_client``
await an aiobotocore client opened from that session (the ``bedrock-async``
extra; aioboto3/aiobotocore are imported by nobody here, the session is the
user's). Otherwise both savers run on a boto3 client, the async API in the
saver's own thread pool.
"""

from __future__ import annotations

from typing import Any, Optional

from langgraph.checkpoint.serde.base import SerializerProtocol

from ..adapters.bedrock_sessions.sessions import (
    AsyncBedrockAgentRuntimeSessionClient,
    BedrockAgentRuntimeSessionClient,
    NativeAsyncBedrockAgentRuntimeSessionClient,
)
from ..container import PersistenceContainer, create_container
from ..domain.errors import ConfigurationError
from .checkpoint import RepositorySaver

__all__ = [
    "BedrockSessionSaver",
    "AsyncBedrockSessionSaver",
    "BedrockAgentRuntimeSessionClient",
    "AsyncBedrockAgentRuntimeSessionClient",
    "NativeAsyncBedrockAgentRuntimeSessionClient",
]


def _secret(value: Any) -> Optional[str]:
    """A pydantic ``SecretStr`` or a plain string, as a string."""
    if value is None:
        return None
    reveal = getattr(value, "get_secret_value", None)
    return str(reveal() if callable(reveal) else value)


def _section(
    client: Any,
    session: Any,
    region_name: Optional[str],
    credentials_profile_name: Optional[str],
    aws_access_key_id: Any,
    aws_secret_access_key: Any,
    aws_session_token: Any,
    endpoint_url: Optional[str],
    config: Any,
    extra: dict[str, Any],
) -> dict[str, Any]:
    section: dict[str, Any] = {"region_name": region_name, "endpoint_url": endpoint_url, **extra}
    if client is not None:
        section["client"] = client
    credentials = (aws_access_key_id, aws_secret_access_key, aws_session_token)
    if session is None and (credentials_profile_name is not None or any(c is not None for c in credentials)):
        if (aws_access_key_id is None) != (aws_secret_access_key is None):
            raise ConfigurationError("pass both aws_access_key_id and aws_secret_access_key, or neither")
        import boto3

        session = boto3.session.Session(
            profile_name=credentials_profile_name,
            region_name=region_name,
            aws_access_key_id=_secret(aws_access_key_id),
            aws_secret_access_key=_secret(aws_secret_access_key),
            aws_session_token=_secret(aws_session_token),
        )
    if session is not None:
        section["session"] = session
    if config is not None:
        section["boto_config"] = config
    return section


class BedrockSessionSaver(RepositorySaver):
    """A LangGraph checkpointer on Amazon Bedrock session management: one session per thread.

    By default a thread id is a session id: create sessions with
    ``saver.session_client.create_session()``. With ``create_missing_sessions=True``
    any thread id works (the saver maps it to a session of its own). Writes of
    sibling tasks are all kept, ``delete_thread`` deletes the thread's session,
    reads cost a bounded number of calls however long the session is, and large
    payloads span several steps. Sync and async API (the async methods run the
    same use cases in the saver's thread pool, never on the event loop).

    Args:
        client: a boto3 ``bedrock-agent-runtime`` client (used as is, never closed).
        session: a boto3 Session to build the client from (``AsyncBedrockSessionSaver``
            also takes an ``aioboto3.Session`` or an aiobotocore session: see there).
        region_name: AWS region.
        credentials_profile_name: a profile of the AWS config files.
        aws_access_key_id: access key (str or pydantic ``SecretStr``).
        aws_secret_access_key: secret key (str or ``SecretStr``).
        aws_session_token: session token for temporary credentials (str or ``SecretStr``).
        endpoint_url: a custom endpoint (the local emulator).
        config: a botocore Config, merged over the library's defaults.
        create_missing_sessions: map any thread id to a session of its own.
        registry_session_id: the session that maps thread ids to sessions (shared
            by every process that must find the same threads; created when None).
        max_step_bytes: text per invocation step (default 512 KiB).
        serde: serializer (default JsonPlusSerializer without pickle).
    """

    def __init__(
        self,
        client: Optional[Any] = None,
        session: Optional[Any] = None,
        region_name: Optional[str] = None,
        credentials_profile_name: Optional[str] = None,
        aws_access_key_id: Optional[Any] = None,
        aws_secret_access_key: Optional[Any] = None,
        aws_session_token: Optional[Any] = None,
        endpoint_url: Optional[str] = None,
        config: Optional[Any] = None,
        *,
        create_missing_sessions: bool = False,
        registry_session_id: Optional[str] = None,
        max_step_bytes: Optional[int] = None,
        serde: Optional[SerializerProtocol] = None,
    ) -> None:
        extra: dict[str, Any] = {"create_missing_sessions": create_missing_sessions}
        if registry_session_id is not None:
            extra["registry_session_id"] = registry_session_id
        if max_step_bytes is not None:
            extra["max_step_bytes"] = max_step_bytes
        section = _section(client, session, region_name, credentials_profile_name, aws_access_key_id,
                           aws_secret_access_key, aws_session_token, endpoint_url, config, extra)
        self._adopt(create_container({"backend": "bedrock_sessions", "bedrock_sessions": section}), serde)

    def _adopt(self, container: PersistenceContainer, serde: Optional[SerializerProtocol]) -> None:
        self.repository = container.checkpoint_repository()
        self.client = self.repository.client
        RepositorySaver.__init__(self, container.checkpoint_service(), serde=serde, container=container)
        self._make_session_client(container)

    def _make_session_client(self, container: PersistenceContainer) -> None:
        self.session_client: Any = BedrockAgentRuntimeSessionClient(self.client)

    @classmethod
    def from_container(
        cls, container: PersistenceContainer, *, serde: Optional[SerializerProtocol] = None
    ) -> BedrockSessionSaver:
        """A saver over the container's Bedrock sessions repository; the saver owns the container."""
        saver = cls.__new__(cls)
        saver._adopt(container, serde)
        return saver


class AsyncBedrockSessionSaver(BedrockSessionSaver):
    """``BedrockSessionSaver`` whose ``session_client`` is async: ``(await saver.session_client.create_session()).session_id``.

    With an ``aioboto3.Session`` or an aiobotocore session (``session=``), the
    async API and the session client run natively on an aiobotocore client
    opened from it on first use in the event loop (install the
    ``bedrock-async`` extra; aioboto3/aiobotocore stay optional) and closed by
    ``aclose()`` or ``async with``; sync calls made from other threads are
    served through that event loop. Otherwise (a client, a boto3 Session, or
    credentials) every call runs on a boto3 client in the saver's own thread
    pool: the event loop is never blocked, and never shares asyncio's default
    executor.
    """

    native: bool = False
    """Whether the saver runs on an aiobotocore client (an async session was given)."""

    def _adopt(self, container: PersistenceContainer, serde: Optional[SerializerProtocol]) -> None:
        from ..wiring.bedrock_sessions import is_async_section

        section = container.options().bedrock_sessions
        self.native = section is not None and is_async_section(section)
        if not self.native:
            super()._adopt(container, serde)
            return
        async_service = container.async_checkpoint_service()
        self.repository = async_service.repository
        self.client = None
        RepositorySaver.__init__(self, None, serde=serde, async_service=async_service, container=container)
        self.session_client = NativeAsyncBedrockAgentRuntimeSessionClient(self.repository.client)

    def _make_session_client(self, container: PersistenceContainer) -> None:
        self.session_client = AsyncBedrockAgentRuntimeSessionClient(self.client, container.backend().executor())

    async def aclose(self) -> None:
        """Close the aiobotocore client (if any), then what the container built."""
        if self.native:
            await self.repository.aclose()
        await super().aclose()
