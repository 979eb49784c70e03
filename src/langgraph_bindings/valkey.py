"""Valkey savers with the seed APIs: ValkeySaver, AsyncValkeySaver and AgentCoreValkeySaver.

Thin classes: each asks the container for the checkpoint use cases over the
client it is given, and inherits everything else from RepositorySaver. A sync
client serves the sync API directly and the async API through the saver's own
thread pool (as many threads as the client has connections); a
``valkey.asyncio`` client is used as given by a native async repository, and
serves sync calls made from other threads while its event loop runs.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from typing import Any, Optional, Union

from dependency_injector import providers
from langgraph.checkpoint.serde.base import SerializerProtocol

from ..container import PersistenceContainer, create_container
from ..domain.errors import InvalidInputError
from ..domain.policies import RetryPolicy
from ._actors import ActorCarrier
from .checkpoint import RepositorySaver

__all__ = ["ValkeySaver", "AsyncValkeySaver", "AgentCoreValkeySaver"]

_UNSET: Any = object()
RetryArg = Union[RetryPolicy, int, None]

def _clients() -> Any:
    from ..adapters.valkey import clients

    return clients


def _retry_policy(retry: RetryArg) -> RetryPolicy:
    if isinstance(retry, RetryPolicy):
        return retry
    if retry is None:
        return RetryPolicy(attempts=1)
    if isinstance(retry, int) and not isinstance(retry, bool):
        return RetryPolicy(attempts=retry)
    raise InvalidInputError(f"retry must be a RetryPolicy, an int of attempts or None, got {retry!r}")


class ValkeySaver(RepositorySaver):
    """A LangGraph checkpointer on Valkey (standalone or cluster), sync and async API.

    Args:
        client: a ``valkey.Valkey`` or ``valkey.cluster.ValkeyCluster`` (or a
            valkey.asyncio client, used as given for the async API). The
            client stays yours: ``close()`` never closes it.
        ttl: seconds every key of a thread lives after the thread's last write.
        serde: serializer (default JsonPlusSerializer with pickle off).
        retry: a ``RetryPolicy`` (or a number of attempts) for transient errors.

    Example:
        >>> with ValkeySaver.from_conn_string("valkey://localhost:6379", ttl_seconds=3600) as saver:
        ...     graph = builder.compile(checkpointer=saver)
    """

    _layout = "plain"
    _require_actor_id = False
    _default_retry_attempts = 1

    def __init__(
        self,
        client: Any,
        ttl: Optional[float] = None,
        serde: Optional[SerializerProtocol] = None,
        *,
        retry: Any = _UNSET,
        pool_size: Optional[int] = None,
    ) -> None:
        if pool_size is None:
            # As many threads (sync client) or calls in flight (async client) as
            # the client's pool has connections; 10 when the pool is unbounded.
            limit = _clients().pool_limit(client)
            pool_size = limit if limit is not None and limit <= 1024 else 10
        container = create_container(
            {
                "backend": "valkey",
                "ttl_seconds": ttl,
                "valkey": {
                    "layout": self._layout,
                    "pool_size": pool_size,
                    "retry_attempts": self._default_retry_attempts,
                },
            }
        )
        if retry is not _UNSET:
            container.valkey.retry_policy.override(providers.Object(_retry_policy(retry)))
        if _clients().is_async_client(client):
            container.valkey.async_client.override(providers.Object(client))
        else:
            container.valkey.client.override(providers.Object(client))
        self._adopt(container, serde)

    def _adopt(self, container: PersistenceContainer, serde: Optional[SerializerProtocol]) -> None:
        backend = container.valkey
        self.ttl = container.options().ttl_seconds
        if backend.async_client.overridden:
            self.client = backend.async_client()
            service, async_service = None, container.async_checkpoint_service()
        else:
            self.client = backend.client()
            service, async_service = container.checkpoint_service(), None
        RepositorySaver.__init__(
            self,
            service,
            serde=serde,
            require_actor_id=self._require_actor_id,
            async_service=async_service,
            container=container,
        )

    @classmethod
    def from_container(
        cls, container: PersistenceContainer, *, serde: Optional[SerializerProtocol] = None
    ) -> ValkeySaver:
        """A saver over the container's Valkey client (built from ``valkey.url``); closing it closes the client."""
        saver = cls.__new__(cls)
        saver._init_defaults()
        saver._adopt(container, serde)
        return saver

    def _init_defaults(self) -> None:
        """Attributes a subclass sets in ``__init__`` (``from_container`` skips ``__init__``)."""

    @property
    def repository(self) -> Any:
        """The Valkey checkpoint repository under this saver (sync or async)."""
        return (self.service or self.async_service).repository  # type: ignore[union-attr]

    @classmethod
    @contextlib.contextmanager
    def from_conn_string(
        cls,
        conn_string: str,
        *,
        ttl_seconds: Optional[float] = None,
        pool_size: int = 10,
        serde: Optional[SerializerProtocol] = None,
        cluster: Optional[bool] = None,
        **kwargs: Any,
    ) -> Iterator[Any]:
        """A saver on a new connection pool, closed on exit.

        Args:
            conn_string: ``valkey://[user:password@]host:port[/db]``; ``valkeys://``
                for TLS; ``redis://`` and ``rediss://`` work too.
            ttl_seconds: TTL of every key of a thread, refreshed on write.
            pool_size: most connections kept open (and threads for the async API).
            serde: serializer.
            cluster: force cluster mode (None: ask the server).
            kwargs: more constructor options (``retry=``, ``default_actor_id=``)
                and valkey-py options (``socket_timeout=``, ``ssl_ca_certs=``...).
        """
        own = {k: kwargs.pop(k) for k in ("retry", "default_actor_id") if k in kwargs}
        client = _clients().client_from_url(conn_string, pool_size=pool_size, cluster=cluster, **kwargs)
        try:
            saver = cls(client, ttl=ttl_seconds, serde=serde, pool_size=pool_size, **own)
            with saver:
                yield saver
        finally:
            client.close()

    @classmethod
    @contextlib.contextmanager
    def from_pool(
        cls,
        pool: Any,
        *,
        ttl_seconds: Optional[float] = None,
        serde: Optional[SerializerProtocol] = None,
        **kwargs: Any,
    ) -> Iterator[Any]:
        """A saver over an existing ``valkey.ConnectionPool`` (the pool stays open: it is yours)."""
        client = _clients().client_from_pool(pool)
        with cls(client, ttl=ttl_seconds, serde=serde, pool_size=pool.max_connections, **kwargs) as saver:
            yield saver


class AsyncValkeySaver(ValkeySaver):
    """ValkeySaver over ``valkey.asyncio``: ``async with AsyncValkeySaver.from_conn_string(url)``.

    The async API runs on the async client as given (never a sync twin of it).
    Sync methods work from other threads while the client's event loop runs;
    called from inside that loop they raise (the call would stall the loop).
    """

    @classmethod
    @contextlib.asynccontextmanager
    async def from_conn_string(  # type: ignore[override]
        cls,
        conn_string: str,
        *,
        ttl_seconds: Optional[float] = None,
        pool_size: int = 10,
        serde: Optional[SerializerProtocol] = None,
        cluster: Optional[bool] = None,
        **kwargs: Any,
    ) -> AsyncIterator[Any]:
        """An async saver on a new async connection pool, closed on exit."""
        own = {k: kwargs.pop(k) for k in ("retry", "default_actor_id") if k in kwargs}
        client = await _clients().async_client_from_url(
            conn_string, pool_size=pool_size, cluster=cluster, multiplexed=True, **kwargs
        )
        try:
            async with cls(client, ttl=ttl_seconds, serde=serde, pool_size=pool_size, **own) as saver:
                yield saver
        finally:
            await client.aclose()

    @classmethod
    @contextlib.asynccontextmanager
    async def from_pool(  # type: ignore[override]
        cls,
        pool: Any,
        *,
        ttl_seconds: Optional[float] = None,
        serde: Optional[SerializerProtocol] = None,
        **kwargs: Any,
    ) -> AsyncIterator[Any]:
        """An async saver over a valkey.asyncio ``ConnectionPool`` (the pool stays yours)."""
        import valkey.asyncio

        client = valkey.asyncio.Valkey(connection_pool=pool)
        async with cls(client, ttl=ttl_seconds, serde=serde, pool_size=pool.max_connections, **kwargs) as saver:
            yield saver


class AgentCoreValkeySaver(ActorCarrier, ValkeySaver):
    """AgentCore-style checkpointer on Valkey: ``agentcore:`` keys, session = thread_id, actor_id required.

    Every config must carry ``configurable.actor_id``. A subgraph's config
    (a non-empty ``checkpoint_ns``, which LangGraph rebuilds without the
    actor) takes the actor of the last call on the same thread in the same
    context (thread or asyncio task) whose config had one: the parent run's.
    Otherwise a config without an actor takes ``default_actor_id``, or raises
    InvalidInputError naming ``configurable.actor_id``.
    ``delete_thread``, ``copy_thread`` and ``prune`` take thread ids: with
    ``actor_id=`` (or ``default_actor_id``) they act on that actor only,
    without one on every actor of the thread. Transient errors are retried
    with exponential backoff (3 attempts by default; pass ``retry=`` to
    change). Data is not compatible with ValkeySaver's layout.

    Args:
        client: a sync or valkey.asyncio client (standalone or cluster).
        ttl: seconds every key of a session lives after its last write.
        serde: serializer.
        retry: a ``RetryPolicy`` or a number of attempts (default: 3).
        default_actor_id: actor used when a config names none (and carries
            none over from its parent run), and by ``copy_thread``
            and ``prune`` without ``actor_id=`` (``delete_thread`` without an
            actor deletes every actor's session).
    """

    _layout = "agentcore"
    _require_actor_id = True
    _default_retry_attempts = 3

    def __init__(
        self,
        client: Any,
        ttl: Optional[float] = None,
        serde: Optional[SerializerProtocol] = None,
        *,
        retry: Any = _UNSET,
        pool_size: Optional[int] = None,
        default_actor_id: Optional[str] = None,
    ) -> None:
        if default_actor_id is not None and (not isinstance(default_actor_id, str) or not default_actor_id):
            raise InvalidInputError(f"default_actor_id must be a non-empty string, got {default_actor_id!r}")
        self.default_actor_id = default_actor_id
        super().__init__(client, ttl, serde, retry=retry, pool_size=pool_size)

    def _init_defaults(self) -> None:
        self.default_actor_id = None
