"""The LangGraph checkpoint saver over CheckpointService (every backend shares it)."""

from __future__ import annotations

import asyncio
import builtins
import json
import math
import random
from collections.abc import AsyncIterator, Coroutine, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Optional, TypeVar

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    WRITES_IDX_MAP,
    BaseCheckpointSaver,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    DeltaChannelHistory,
    get_checkpoint_id,
    get_serializable_checkpoint_metadata,
)
from langgraph.checkpoint.serde.base import SerializerProtocol
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

from ..application.checkpoints import CheckpointService
from ..domain.errors import InvalidInputError
from ..domain.models import (
    EMPTY_PAYLOAD,
    ChannelBlob,
    CheckpointKey,
    CheckpointQuery,
    CheckpointRecord,
    Payload,
    StoredCheckpoint,
    StoredWrite,
    ThreadKey,
)
from ..domain.policies import is_plain_json, validate_metadata_filter

if TYPE_CHECKING:
    from ..container import PersistenceContainer

__all__ = ["RepositorySaver", "default_serde"]

T = TypeVar("T")


def default_serde() -> SerializerProtocol:
    """LangGraph's JSON-plus serializer with the pickle fallback off."""
    return JsonPlusSerializer(pickle_fallback=False)


def _json_projection(metadata: Mapping[str, Any]) -> tuple[dict[str, Any], bool]:
    """Metadata as strict JSON values, and whether that projection is exact.

    The projection is what backends store and filter on, so it must be valid
    JSON on every one of them: NaN and infinities (which ``json`` would write
    as ``NaN``/``Infinity``, and DynamoDB cannot store) become null here, and
    values JSON cannot hold become their ``repr``. Exactness is checked with
    types (``1`` is not ``1.0``, a tuple is not a list, a ``str`` subclass is
    not a ``str``): when it fails, the saver keeps a typed copy, and that copy
    is what reads return.
    """
    if is_plain_json(metadata):
        return dict(metadata), True  # the common case: nothing to convert, nothing lost
    return _lossy_projection(metadata)


def _lossy_projection(metadata: Mapping[str, Any]) -> tuple[dict[str, Any], bool]:
    """The strict-JSON projection of metadata that is not plain JSON, and whether it is exact."""

    def finite(value: Any) -> Any:
        if isinstance(value, float):
            return value if math.isfinite(value) else None
        if isinstance(value, dict):
            return {k: finite(v) for k, v in value.items()}
        if isinstance(value, list):
            return [finite(v) for v in value]
        return value

    def same(projected: Any, original: Any) -> bool:
        if type(projected) is not type(original):
            return False
        if isinstance(projected, dict):
            return projected.keys() == original.keys() and all(same(v, original[k]) for k, v in projected.items())
        if isinstance(projected, list):
            return len(projected) == len(original) and all(same(a, b) for a, b in zip(projected, original))
        return bool(projected == original)

    try:
        text = json.dumps(metadata)
    except (TypeError, ValueError):
        text = json.dumps(metadata, default=repr)
    projected = finite(json.loads(text))
    return projected, same(projected, metadata)


class RepositorySaver(BaseCheckpointSaver[str]):
    """A LangGraph checkpointer over any checkpoint repository, with the sync and async API.

    Args:
        service: the checkpoint use cases over a sync repository (the sync API,
            and the async API through the service's executor); None when the
            saver runs on an async client only.
        serde: serializer for checkpoints and writes (default: JsonPlusSerializer,
            pickle off); any SerializerProtocol, e.g. EncryptedSerializer, works.
        require_actor_id: read ``actor_id`` from ``configurable`` and make it part
            of the thread identity (AgentCore layouts); missing -> clear error.
        async_service: the use cases over an async repository (the user's async
            client used as given); the async API prefers it.
        container: the container that built the services; the saver owns it and
            releases what it built (clients, pools, threads) on ``close()``.
    """

    def __init__(
        self,
        service: Optional[CheckpointService],
        *,
        serde: Optional[SerializerProtocol] = None,
        require_actor_id: bool = False,
        async_service: Optional[CheckpointService] = None,
        container: Optional[PersistenceContainer] = None,
    ) -> None:
        super().__init__(serde=serde or default_serde())
        if service is None and async_service is None:
            raise InvalidInputError("a saver needs a checkpoint service (sync or async)")
        self.service = service
        self.async_service = async_service
        self.require_actor_id = require_actor_id
        self._container = container
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        if service is None:
            try:
                self._loop = asyncio.get_running_loop()
            except RuntimeError:
                self._loop = None

    @classmethod
    def from_container(
        cls, container: PersistenceContainer, *, serde: Optional[SerializerProtocol] = None
    ) -> RepositorySaver:
        """A saver over ``container``'s checkpoint service; the saver owns the container."""
        return RepositorySaver(container.checkpoint_service(), serde=serde, container=container)

    def _entered(self, config: Optional[RunnableConfig]) -> None:
        """Called first by every entry point that takes a config (a hook for subclasses)."""

    @property
    def _aservice(self) -> CheckpointService:
        if self.async_service is not None:
            if self._loop is None:
                self._loop = asyncio.get_running_loop()
            return self.async_service
        assert self.service is not None
        return self.service

    @property
    def _sservice(self) -> CheckpointService:
        if self.service is None:
            raise InvalidInputError(
                f"{type(self).__name__} runs on an async client: use the async API "
                "(aget_tuple, alist, aput...) or pass a sync client"
            )
        return self.service

    def _bridge(self, coro: Coroutine[Any, Any, T], name: str) -> T:
        """Run an async-only saver's coroutine from a sync call made in another thread."""
        loop = self._loop
        if loop is None or loop.is_closed():
            coro.close()
            raise InvalidInputError(
                f"{type(self).__name__}.{name}() needs the event loop its async client runs on: "
                f"call `await saver.a{name}(...)` first, or use the async API"
            )
        try:
            running: Optional[asyncio.AbstractEventLoop] = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            coro.close()
            raise InvalidInputError(
                f"{type(self).__name__}.{name}() is synchronous and was called from inside its running "
                f"event loop, where it would block the loop: use `await saver.a{name}(...)` there, or "
                f"call {name}() from another thread"
            )
        return asyncio.run_coroutine_threadsafe(coro, loop).result()

    # -- config mapping ---------------------------------------------------------------
    def _thread(self, config: Optional[RunnableConfig], *, what: str = "config") -> ThreadKey:
        configurable = (config or {}).get("configurable") or {}
        thread_id = configurable.get("thread_id")
        if thread_id is None or thread_id == "":
            raise InvalidInputError(f"{what} is missing configurable.thread_id")
        actor_id = None
        if self.require_actor_id:
            actor_id = configurable.get("actor_id")
            if actor_id is None or actor_id == "":
                raise InvalidInputError(
                    f"{what} is missing configurable.actor_id (required by {type(self).__name__})"
                )
            actor_id = str(actor_id)
        return ThreadKey(str(thread_id), actor_id)

    def _actor_for_ids(self, actor_id: Optional[str]) -> Optional[str]:
        """The actor a thread-id-only call (``copy_thread``, ``prune``) names.

        None means no actor: every actor of the thread on a layout with actors
        (as ``delete_thread`` without one), the only one on a layout without.
        """
        if not self.require_actor_id:
            return None
        if actor_id is not None and (not isinstance(actor_id, str) or actor_id == ""):
            raise InvalidInputError(f"actor_id must be a non-empty string or None, got {actor_id!r}")
        return actor_id

    def _every_actor(self, actor_id: Optional[str]) -> bool:
        """Whether a thread-id-only call given ``_actor_for_ids``'s answer acts on every actor of the thread."""
        return self.require_actor_id and actor_id is None

    def _thread_for_id(self, thread_id: str, actor_id: Optional[str]) -> ThreadKey:
        if thread_id is None or thread_id == "":
            raise InvalidInputError("thread_id must be a non-empty string")
        if self.require_actor_id and actor_id is None:
            raise InvalidInputError(f"actor_id is required by {type(self).__name__}")
        return ThreadKey(str(thread_id), actor_id if self.require_actor_id else None)

    def _key(self, config: RunnableConfig) -> CheckpointKey:
        thread = self._thread(config)
        configurable = config.get("configurable") or {}
        return CheckpointKey(thread, configurable.get("checkpoint_ns") or "", get_checkpoint_id(config))

    def _config(self, thread: ThreadKey, ns: str, checkpoint_id: str) -> RunnableConfig:
        configurable: dict[str, Any] = {"thread_id": thread.thread_id, "checkpoint_ns": ns, "checkpoint_id": checkpoint_id}
        if thread.actor_id is not None:
            configurable["actor_id"] = thread.actor_id
        return {"configurable": configurable}

    def _loads(self, payload: Payload) -> Any:
        return self.serde.loads_typed(payload.as_tuple())

    def _dumps(self, value: Any) -> Payload:
        type_tag, data = self.serde.dumps_typed(value)
        return Payload(type_tag, data)

    def _to_tuple(self, record: CheckpointRecord, config: Optional[RunnableConfig] = None) -> CheckpointTuple:
        cp = record.checkpoint
        checkpoint: Checkpoint = self._loads(cp.payload)
        checkpoint["channel_versions"] = dict(cp.channel_versions)
        checkpoint["channel_values"] = {
            b.channel: self._loads(b.payload) for b in record.blobs if b.payload.type_tag != EMPTY_PAYLOAD.type_tag
        }
        metadata: CheckpointMetadata = (
            self._loads(cp.metadata_payload) if cp.metadata_payload is not None else dict(cp.metadata)  # type: ignore[assignment]
        )
        parent = (
            self._config(cp.thread, cp.checkpoint_ns, cp.parent_checkpoint_id)
            if cp.parent_checkpoint_id
            else None
        )
        return CheckpointTuple(
            config=config or self._config(cp.thread, cp.checkpoint_ns, cp.checkpoint_id),
            checkpoint=checkpoint,
            metadata=metadata,
            parent_config=parent,
            pending_writes=[(w.task_id, w.channel, self._loads(w.payload)) for w in record.writes],
        )

    # -- sync API ------------------------------------------------------------------------
    def get_tuple(self, config: RunnableConfig) -> Optional[CheckpointTuple]:
        """The checkpoint named by ``config`` (latest of its namespace without an id)."""
        self._entered(config)
        if self.service is None:
            return self._bridge(self.aget_tuple(config), "get_tuple")
        key = self._key(config)
        record = self.service.get(key)
        return None if record is None else self._to_tuple(record, config if key.checkpoint_id is not None else None)

    def list(
        self,
        config: Optional[RunnableConfig],
        *,
        filter: Optional[dict[str, Any]] = None,
        before: Optional[RunnableConfig] = None,
        limit: Optional[int] = None,
    ) -> Iterator[CheckpointTuple]:
        """Checkpoints newest first; every namespace when ``checkpoint_ns`` is absent."""
        self._entered(config)
        query = self._query(config, filter, before, limit)
        if self.service is None:
            yield from self._bridge(self._alist_all(query), "list")
            return
        for record in self.service.list(query):
            yield self._to_tuple(record)

    def _query(
        self,
        config: Optional[RunnableConfig],
        filter: Optional[dict[str, Any]],
        before: Optional[RunnableConfig],
        limit: Optional[int],
    ) -> CheckpointQuery:
        if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool)):
            raise InvalidInputError(f"limit must be an int, got {limit!r}")
        metadata_filter = validate_metadata_filter(filter)
        thread = None
        ns = None
        checkpoint_id = None
        if config is not None:
            configurable = config.get("configurable") or {}
            if configurable.get("thread_id") not in (None, ""):
                thread = self._thread(config)
            elif self.require_actor_id and configurable.get("actor_id"):
                raise InvalidInputError("config is missing configurable.thread_id")
            ns = configurable.get("checkpoint_ns")
            checkpoint_id = get_checkpoint_id(config)
        before_id = get_checkpoint_id(before) if before else None
        return CheckpointQuery(
            thread=thread,
            checkpoint_ns=ns,
            checkpoint_id=checkpoint_id,
            before_id=before_id,
            metadata_filter=metadata_filter,
            limit=limit,
        )

    def put(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        """Store a checkpoint; only channels in ``new_versions`` get new blobs."""
        self._entered(config)
        if self.service is None:
            return self._bridge(self.aput(config, checkpoint, metadata, new_versions), "put")
        stored, blobs = self._to_stored(config, checkpoint, metadata, new_versions)
        self.service.put(stored, blobs)
        return self._config(stored.thread, stored.checkpoint_ns, stored.checkpoint_id)

    def _to_stored(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> tuple[StoredCheckpoint, builtins.list[ChannelBlob]]:
        thread = self._thread(config)
        configurable = config.get("configurable") or {}
        header: dict[str, Any] = dict(checkpoint)
        values: dict[str, Any] = header.pop("channel_values", None) or {}
        versions: dict[str, Any] = header.pop("channel_versions", None) or {}
        blobs = [
            ChannelBlob(ch, str(ver), self._dumps(values[ch]) if ch in values else EMPTY_PAYLOAD)
            for ch, ver in new_versions.items()
        ]
        md = get_serializable_checkpoint_metadata(config, metadata)
        projected, exact = _json_projection(md)
        stored = StoredCheckpoint(
            thread=thread,
            checkpoint_ns=configurable.get("checkpoint_ns") or "",
            checkpoint_id=checkpoint["id"],
            parent_checkpoint_id=configurable.get("checkpoint_id"),
            payload=self._dumps(header),
            channel_versions=dict(versions),
            metadata=projected,
            metadata_payload=None if exact else self._dumps(md),
        )
        return stored, blobs

    def _to_writes(
        self, config: RunnableConfig, writes: Sequence[tuple[str, Any]], task_id: str, task_path: str
    ) -> builtins.list[StoredWrite]:
        key = self._key(config)
        if key.checkpoint_id is None:
            raise InvalidInputError("put_writes: config is missing configurable.checkpoint_id")
        return [
            StoredWrite(
                thread=key.thread,
                checkpoint_ns=key.checkpoint_ns,
                checkpoint_id=key.checkpoint_id,
                task_id=task_id,
                idx=WRITES_IDX_MAP.get(channel, idx),
                channel=channel,
                payload=self._dumps(value),
                task_path=task_path,
            )
            for idx, (channel, value) in enumerate(writes)
        ]

    def put_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        """Store a task's writes against the checkpoint in ``config`` (idempotent)."""
        self._entered(config)
        if self.service is None:
            return self._bridge(self.aput_writes(config, writes, task_id, task_path), "put_writes")
        self.service.put_writes(self._to_writes(config, writes, task_id, task_path))

    def _thread_arg(self, thread_id: str) -> str:
        if thread_id is None or thread_id == "":
            raise InvalidInputError("thread_id must be a non-empty string")
        return str(thread_id)

    def delete_thread(self, thread_id: str, actor_id: Optional[str] = None) -> None:
        """Delete every namespace of a thread (of one actor when ``actor_id`` is given)."""
        if self.service is None:
            return self._bridge(self.adelete_thread(thread_id, actor_id), "delete_thread")
        self.service.delete_thread(self._thread_arg(thread_id), actor_id if self.require_actor_id else None)

    def delete_for_runs(self, run_ids: Sequence[str]) -> None:
        """Delete every checkpoint (and its writes) created by the given runs."""
        if self.service is None:
            return self._bridge(self.adelete_for_runs(run_ids), "delete_for_runs")
        self.service.delete_for_runs(builtins.list(run_ids))

    def copy_thread(self, source_thread_id: str, target_thread_id: str, *, actor_id: Optional[str] = None) -> None:
        """Copy every checkpoint and write of a thread to another thread id.

        Args:
            source_thread_id: the thread to copy.
            target_thread_id: the thread id the copy is stored under.
            actor_id: on a layout with actors, copy this actor's checkpoints
                only; without it, each actor's go to the same actor of the target.
        """
        if self.service is None:
            return self._bridge(self.acopy_thread(source_thread_id, target_thread_id, actor_id=actor_id), "copy_thread")
        actor = self._actor_for_ids(actor_id)
        if self._every_actor(actor):
            self.service.copy_every_actor(self._thread_arg(source_thread_id), self._thread_arg(target_thread_id))
            return None
        self.service.copy_thread(
            self._thread_for_id(source_thread_id, actor), self._thread_for_id(target_thread_id, actor)
        )

    def _prune_args(
        self, thread_ids: Sequence[str], strategy: str, keep_last: Optional[int], actor_id: Optional[str]
    ) -> tuple[Optional[builtins.list[ThreadKey]], builtins.list[str], str, int]:
        """The threads to prune (None: every actor of each id in the second item), strategy and keep count."""
        if keep_last is not None and strategy == "keep_latest":
            strategy = "keep_last"
        keep = keep_last if keep_last is not None else 1
        actor = self._actor_for_ids(actor_id)
        if self._every_actor(actor):
            return None, [self._thread_arg(t) for t in thread_ids], strategy, keep
        return [self._thread_for_id(t, actor) for t in thread_ids], [], strategy, keep

    def prune(
        self,
        thread_ids: Sequence[str],
        *,
        strategy: str = "keep_latest",
        keep_last: Optional[int] = None,
        actor_id: Optional[str] = None,
    ) -> None:
        """Prune threads.

        Args:
            thread_ids: threads to prune.
            strategy: ``"keep_latest"``, ``"keep_last"`` or ``"delete"``.
            keep_last: with ``strategy="keep_last"`` (or alone), how many of the
                newest checkpoints to keep per namespace.
            actor_id: on a layout with actors, prune this actor's checkpoints
                only; without it, every actor's of each thread.
        """
        if self.service is None:
            return self._bridge(
                self.aprune(thread_ids, strategy=strategy, keep_last=keep_last, actor_id=actor_id), "prune"
            )
        threads, ids, strategy, keep = self._prune_args(thread_ids, strategy, keep_last, actor_id)
        if threads is None:
            self.service.prune_every_actor(ids, strategy, keep)
        else:
            self.service.prune(threads, strategy, keep)

    def _history(self, history: Mapping[str, Any]) -> dict[str, DeltaChannelHistory]:
        result: dict[str, DeltaChannelHistory] = {}
        for ch, h in history.items():
            entry: DeltaChannelHistory = {
                "writes": [(w.task_id, w.channel, self._loads(w.payload)) for w in h.writes]
            }
            if h.seed is not None:
                entry["seed"] = self._loads(h.seed.payload)
            result[ch] = entry
        return result

    def get_delta_channel_history(
        self, *, config: RunnableConfig, channels: Sequence[str]
    ) -> Mapping[str, DeltaChannelHistory]:
        """Writes and seed per channel along the ancestry, in one walk of the namespace."""
        self._entered(config)
        if self.service is None:
            return self._bridge(
                self.aget_delta_channel_history(config=config, channels=channels), "get_delta_channel_history"
            )
        return self._history(self.service.channel_history(self._key(config), builtins.list(channels)))

    def get_next_version(self, current: Optional[str], channel: None) -> str:
        """Monotonic string versions that sort lexicographically (as InMemorySaver's)."""
        if current is None:
            current_v = 0
        elif isinstance(current, int):
            current_v = current
        else:
            current_v = int(str(current).split(".")[0])
        return f"{current_v + 1:032}.{random.random():016}"

    # -- async API (native on an async repository; a sync one runs in the saver's executor) --
    async def aget_tuple(self, config: RunnableConfig) -> Optional[CheckpointTuple]:
        self._entered(config)
        key = self._key(config)
        record = await self._aservice.aget(key)
        return None if record is None else self._to_tuple(record, config if key.checkpoint_id is not None else None)

    async def alist(
        self,
        config: Optional[RunnableConfig],
        *,
        filter: Optional[dict[str, Any]] = None,
        before: Optional[RunnableConfig] = None,
        limit: Optional[int] = None,
    ) -> AsyncIterator[CheckpointTuple]:
        self._entered(config)
        query = self._query(config, filter, before, limit)
        async for record in self._aservice.alist(query):
            yield self._to_tuple(record)

    async def _alist_all(self, query: CheckpointQuery) -> builtins.list[CheckpointTuple]:
        return [self._to_tuple(r) async for r in self._aservice.alist(query)]

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        self._entered(config)
        stored, blobs = self._to_stored(config, checkpoint, metadata, new_versions)
        await self._aservice.aput(stored, blobs)
        return self._config(stored.thread, stored.checkpoint_ns, stored.checkpoint_id)

    async def aput_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        self._entered(config)
        await self._aservice.aput_writes(self._to_writes(config, writes, task_id, task_path))

    async def adelete_thread(self, thread_id: str, actor_id: Optional[str] = None) -> None:
        await self._aservice.adelete_thread(self._thread_arg(thread_id), actor_id if self.require_actor_id else None)

    async def adelete_for_runs(self, run_ids: Sequence[str]) -> None:
        await self._aservice.adelete_for_runs(builtins.list(run_ids))

    async def acopy_thread(self, source_thread_id: str, target_thread_id: str, *, actor_id: Optional[str] = None) -> None:
        actor = self._actor_for_ids(actor_id)
        if self._every_actor(actor):
            await self._aservice.acopy_every_actor(self._thread_arg(source_thread_id), self._thread_arg(target_thread_id))
            return
        await self._aservice.acopy_thread(
            self._thread_for_id(source_thread_id, actor), self._thread_for_id(target_thread_id, actor)
        )

    async def aprune(
        self,
        thread_ids: Sequence[str],
        *,
        strategy: str = "keep_latest",
        keep_last: Optional[int] = None,
        actor_id: Optional[str] = None,
    ) -> None:
        threads, ids, strategy, keep = self._prune_args(thread_ids, strategy, keep_last, actor_id)
        if threads is None:
            await self._aservice.aprune_every_actor(ids, strategy, keep)
        else:
            await self._aservice.aprune(threads, strategy, keep)

    async def aget_delta_channel_history(
        self, *, config: RunnableConfig, channels: Sequence[str]
    ) -> Mapping[str, DeltaChannelHistory]:
        self._entered(config)
        history = await self._aservice.achannel_history(self._key(config), builtins.list(channels))
        return self._history(history)

    # -- resources -----------------------------------------------------------------------------
    def __enter__(self) -> RepositorySaver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> RepositorySaver:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def close(self) -> None:
        """Release what this saver's container built (clients, pools, threads); borrowed clients stay open."""
        container, self._container = self._container, None
        if container is not None:
            container.shutdown_resources()

    async def aclose(self) -> None:
        """``close()`` for async code (threads are joined off the event loop)."""
        container, self._container = self._container, None
        if container is not None:
            await asyncio.get_running_loop().run_in_executor(None, container.shutdown_resources)
