"""Valkey savers with the seed APIs: ValkeySaver, AsyncValkeySaver and AgentCoreValkeySaver.

Thin classes: each composes a ValkeyCheckpointRepository through the
container (client injected) and inherits everything else from
RepositorySaver, so both the sync and the async API work on every class.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from typing import Any, Optional

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import ChannelVersions, Checkpoint, CheckpointMetadata, CheckpointTuple
from langgraph.checkpoint.serde.base import SerializerProtocol

from ..domain.errors import InvalidInputError
from ..domain.models import ThreadKey
from .checkpoint import RepositorySaver

__all__ = ["ValkeySaver", "AsyncValkeySaver", "AgentCoreValkeySaver"]

_UNSET: Any = object()


def _compose(client: Any, *, layout: str, ttl: Optional[float], retry: Any) -> Any:
    """The checkpoint service over ``client``, wired by the container."""
    from dependency_injector import providers

    from ..container import create_container

    container = create_container({"backend": "valkey", "ttl_seconds": ttl, "valkey": {"layout": layout}})
    container.valkey.client.override(providers.Object(client))
    container.valkey.retry_policy.override(providers.Object(retry))
    return container.checkpoint_service()


def _clients() -> Any:
    from ..adapters.valkey import clients

    return clients


class ValkeySaver(RepositorySaver):
    """A LangGraph checkpointer on Valkey (standalone or cluster), sync and async API.

    Args:
        client: a ``valkey.Valkey`` or ``valkey.cluster.ValkeyCluster`` (a
            valkey.asyncio client works too: a sync twin is derived from it).
        ttl: seconds every key of a thread lives after the thread's last write.
        serde: serializer (default JsonPlusSerializer with pickle off).
        retry: a tenacity ``Retrying`` for transient errors (None: no retries).

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
        sync_client: Any = None,
    ) -> None:
        self.client = client
        clients = _clients()
        if sync_client is None:
            sync_client = clients.sync_client_from_async(client) if clients.is_async_client(client) else client
        self.sync_client = sync_client
        self._owns_sync_client = sync_client is not client and clients.is_async_client(client)
        if retry is _UNSET:
            from ..wiring.valkey import retry_policy

            retry = retry_policy(self._default_retry_attempts)
        self.ttl = ttl
        service = _compose(sync_client, layout=self._layout, ttl=ttl, retry=retry)
        super().__init__(service, serde=serde, require_actor_id=self._require_actor_id)

    @property
    def repository(self) -> Any:
        """The ValkeyCheckpointRepository under this saver."""
        return self.service.repository

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
            pool_size: most connections kept open.
            serde: serializer.
            cluster: force cluster mode (None: ask the server).
            kwargs: more constructor options (``retry=``) and valkey-py options
                (``socket_timeout=``, ``ssl_ca_certs=``...).
        """
        own = {k: kwargs.pop(k) for k in ("retry", "default_actor_id") if k in kwargs}
        client = _clients().client_from_url(conn_string, pool_size=pool_size, cluster=cluster, **kwargs)
        try:
            yield cls(client, ttl=ttl_seconds, serde=serde, **own)
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
        yield cls(client, ttl=ttl_seconds, serde=serde, **kwargs)

    def close(self) -> None:
        """Close the sync twin this saver derived from an async client (borrowed clients stay open)."""
        if self._owns_sync_client:
            self.sync_client.close()


class AsyncValkeySaver(ValkeySaver):
    """ValkeySaver over ``valkey.asyncio``: ``async with AsyncValkeySaver.from_conn_string(url)``.

    The use cases run in worker threads over a sync twin of the async client
    (same server, credentials and TLS), so the event loop never blocks. Sync
    methods work from any thread that is not running an event loop; called
    from inside a running loop they raise (the call would stall the loop).
    """

    def _guard(self, name: str) -> None:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return
        raise InvalidInputError(
            f"{type(self).__name__}.{name}() is synchronous and was called from inside a running event "
            f"loop, where it would block the loop: use `await saver.a{name}(...)` there, or call "
            f"{name}() from another thread"
        )

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
        """An async saver on new connection pools (async client and its sync twin), closed on exit."""
        import valkey.asyncio
        import valkey.cluster

        from ._async import run_blocking

        own = {k: kwargs.pop(k) for k in ("retry",) if k in kwargs}
        clients = _clients()
        sync_client = await run_blocking(
            clients.client_from_url, conn_string, pool_size=pool_size, cluster=cluster, **kwargs
        )
        if isinstance(sync_client, valkey.cluster.ValkeyCluster):
            aclient: Any = valkey.asyncio.ValkeyCluster.from_url(conn_string, **kwargs)
        else:
            aclient = clients.async_client_from_url(conn_string, pool_size=pool_size, **kwargs)
        saver = cls(aclient, ttl=ttl_seconds, serde=serde, sync_client=sync_client, **own)
        try:
            yield saver
        finally:
            await aclient.aclose()
            await run_blocking(sync_client.close)

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
        """An async saver over a valkey.asyncio ``ConnectionPool`` (yours to close)."""
        import valkey.asyncio

        from ._async import run_blocking

        aclient = valkey.asyncio.Valkey(connection_pool=pool)
        sync_client = _clients().client_from_pool(pool)
        yield cls(aclient, ttl=ttl_seconds, serde=serde, sync_client=sync_client, **kwargs)
        await run_blocking(sync_client.close)

    # -- sync API, guarded against use inside the running loop ---------------------------
    def get_tuple(self, config: RunnableConfig) -> Optional[CheckpointTuple]:
        self._guard("get_tuple")
        return super().get_tuple(config)

    def list(
        self,
        config: Optional[RunnableConfig],
        *,
        filter: Optional[dict[str, Any]] = None,
        before: Optional[RunnableConfig] = None,
        limit: Optional[int] = None,
    ) -> Iterator[CheckpointTuple]:
        # A generator: the guard runs on first next(), which alist does in a worker thread.
        self._guard("list")
        yield from super().list(config, filter=filter, before=before, limit=limit)

    def put(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        self._guard("put")
        return super().put(config, checkpoint, metadata, new_versions)

    def put_writes(
        self, config: RunnableConfig, writes: Sequence[tuple[str, Any]], task_id: str, task_path: str = ""
    ) -> None:
        self._guard("put_writes")
        super().put_writes(config, writes, task_id, task_path)

    def delete_thread(self, thread_id: str, actor_id: Optional[str] = None) -> None:
        self._guard("delete_thread")
        super().delete_thread(thread_id, actor_id)

    def delete_for_runs(self, run_ids: Sequence[str]) -> None:
        self._guard("delete_for_runs")
        super().delete_for_runs(run_ids)

    def copy_thread(self, source_thread_id: str, target_thread_id: str, *, actor_id: Optional[str] = None) -> None:
        self._guard("copy_thread")
        super().copy_thread(source_thread_id, target_thread_id, actor_id=actor_id)

    def prune(
        self,
        thread_ids: Sequence[str],
        *,
        strategy: str = "keep_latest",
        keep_last: Optional[int] = None,
        actor_id: Optional[str] = None,
    ) -> None:
        self._guard("prune")
        super().prune(thread_ids, strategy=strategy, keep_last=keep_last, actor_id=actor_id)

    def get_delta_channel_history(self, *, config: RunnableConfig, channels: Sequence[str]) -> Mapping[str, Any]:
        self._guard("get_delta_channel_history")
        return super().get_delta_channel_history(config=config, channels=channels)


class AgentCoreValkeySaver(ValkeySaver):
    """AgentCore-style checkpointer on Valkey: ``agentcore:`` keys, session = thread_id, actor_id required.

    Every config must carry ``configurable.actor_id`` (a missing one raises
    InvalidInputError naming it) unless ``default_actor_id`` is given.
    Transient errors are retried with exponential backoff (3 attempts by
    default; pass ``retry=`` to change). Data is not compatible with
    ValkeySaver's layout.

    Args:
        client: a sync or valkey.asyncio client (standalone or cluster).
        ttl: seconds every key of a session lives after its last write.
        serde: serializer.
        retry: tenacity policy (default: 3 attempts, exponential backoff).
        default_actor_id: actor used when a config, ``copy_thread`` or
            ``prune`` names none (``delete_thread`` without an actor deletes
            every actor's session).
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
        sync_client: Any = None,
        default_actor_id: Optional[str] = None,
    ) -> None:
        if default_actor_id is not None and (not isinstance(default_actor_id, str) or not default_actor_id):
            raise InvalidInputError(f"default_actor_id must be a non-empty string, got {default_actor_id!r}")
        self.default_actor_id = default_actor_id
        super().__init__(client, ttl, serde, retry=retry, sync_client=sync_client)

    def _thread(self, config: Optional[RunnableConfig], *, what: str = "config") -> ThreadKey:
        if self.default_actor_id is not None:
            configurable = (config or {}).get("configurable") or {}
            if configurable.get("actor_id") in (None, ""):
                config = {**(config or {}), "configurable": {**configurable, "actor_id": self.default_actor_id}}
        return super()._thread(config, what=what)

    def _thread_for_id(self, thread_id: str, actor_id: Optional[str]) -> ThreadKey:
        return super()._thread_for_id(thread_id, actor_id if actor_id is not None else self.default_actor_id)

    def _config(self, thread: ThreadKey, ns: str, checkpoint_id: str) -> RunnableConfig:
        config = super()._config(thread, ns, checkpoint_id)
        if self.default_actor_id is not None and thread.actor_id == self.default_actor_id:
            config["configurable"].pop("actor_id", None)
        return config
