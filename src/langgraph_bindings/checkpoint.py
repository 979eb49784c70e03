"""The LangGraph checkpoint saver over CheckpointService (every backend shares it)."""

from __future__ import annotations

import json
import random
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from typing import Any, Optional

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
from ..domain.policies import validate_metadata_filter
from ._async import run_blocking

__all__ = ["RepositorySaver", "default_serde"]


def default_serde() -> SerializerProtocol:
    """LangGraph's JSON-plus serializer with the pickle fallback off."""
    return JsonPlusSerializer(pickle_fallback=False)


def _json_projection(metadata: Mapping[str, Any]) -> tuple[dict[str, Any], bool]:
    """Metadata as plain JSON values, and whether that projection is exact."""
    try:
        projected = json.loads(json.dumps(metadata))
        return projected, projected == metadata
    except (TypeError, ValueError):
        return json.loads(json.dumps(metadata, default=repr)), False


class RepositorySaver(BaseCheckpointSaver[str]):
    """A LangGraph checkpointer over any CheckpointRepository, with the sync and async API.

    Args:
        service: the checkpoint use cases, wired to a repository by the container.
        serde: serializer for checkpoints and writes (default: JsonPlusSerializer,
            pickle off); any SerializerProtocol, e.g. EncryptedSerializer, works.
        require_actor_id: read ``actor_id`` from ``configurable`` and make it part
            of the thread identity (AgentCore layouts); missing -> clear error.
    """

    def __init__(
        self,
        service: CheckpointService,
        *,
        serde: Optional[SerializerProtocol] = None,
        require_actor_id: bool = False,
    ) -> None:
        super().__init__(serde=serde or default_serde())
        self.service = service
        self.require_actor_id = require_actor_id

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
        metadata = self._loads(cp.metadata_payload) if cp.metadata_payload is not None else dict(cp.metadata)
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
        key = self._key(config)
        record = self.service.get(key)
        if record is None:
            return None
        return self._to_tuple(record, config if key.checkpoint_id is not None else None)

    def list(
        self,
        config: Optional[RunnableConfig],
        *,
        filter: Optional[dict[str, Any]] = None,
        before: Optional[RunnableConfig] = None,
        limit: Optional[int] = None,
    ) -> Iterator[CheckpointTuple]:
        """Checkpoints newest first; every namespace when ``checkpoint_ns`` is absent."""
        query = self._query(config, filter, before, limit)
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
        thread = self._thread(config)
        configurable = config.get("configurable") or {}
        ns = configurable.get("checkpoint_ns") or ""
        stored, blobs = self._to_stored(thread, ns, configurable.get("checkpoint_id"), checkpoint, metadata, config, new_versions)
        self.service.put(stored, blobs)
        return self._config(thread, ns, checkpoint["id"])

    def _to_stored(
        self,
        thread: ThreadKey,
        ns: str,
        parent_id: Optional[str],
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        config: RunnableConfig,
        new_versions: ChannelVersions,
    ) -> tuple[StoredCheckpoint, list[ChannelBlob]]:
        header = dict(checkpoint)
        values = header.pop("channel_values", {}) or {}
        versions = header.pop("channel_versions", {}) or {}
        blobs = [
            ChannelBlob(ch, str(ver), self._dumps(values[ch]) if ch in values else EMPTY_PAYLOAD)
            for ch, ver in new_versions.items()
        ]
        md = get_serializable_checkpoint_metadata(config, metadata)
        projected, exact = _json_projection(md)
        stored = StoredCheckpoint(
            thread=thread,
            checkpoint_ns=ns,
            checkpoint_id=checkpoint["id"],
            parent_checkpoint_id=parent_id,
            payload=self._dumps(header),
            channel_versions=dict(versions),
            metadata=projected,
            metadata_payload=None if exact else self._dumps(md),
        )
        return stored, blobs

    def put_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        """Store a task's writes against the checkpoint in ``config`` (idempotent)."""
        key = self._key(config)
        if key.checkpoint_id is None:
            raise InvalidInputError("put_writes: config is missing configurable.checkpoint_id")
        stored = [
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
        self.service.put_writes(stored)

    def delete_thread(self, thread_id: str, actor_id: Optional[str] = None) -> None:
        """Delete every namespace of a thread (of one actor when ``actor_id`` is given)."""
        if thread_id is None or thread_id == "":
            raise InvalidInputError("thread_id must be a non-empty string")
        self.service.delete_thread(str(thread_id), actor_id if self.require_actor_id else None)

    def delete_for_runs(self, run_ids: Sequence[str]) -> None:
        """Delete every checkpoint (and its writes) created by the given runs."""
        self.service.delete_for_runs(list(run_ids))

    def copy_thread(self, source_thread_id: str, target_thread_id: str, *, actor_id: Optional[str] = None) -> None:
        """Copy every checkpoint and write of a thread to another thread id."""
        self.service.copy_thread(
            self._thread_for_id(source_thread_id, actor_id), self._thread_for_id(target_thread_id, actor_id)
        )

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
            actor_id: the actor, for AgentCore layouts.
        """
        if keep_last is not None and strategy == "keep_latest":
            strategy = "keep_last"
        threads = [self._thread_for_id(t, actor_id) for t in thread_ids]
        self.service.prune(threads, strategy, keep_last if keep_last is not None else 1)

    def get_delta_channel_history(
        self, *, config: RunnableConfig, channels: Sequence[str]
    ) -> Mapping[str, DeltaChannelHistory]:
        """Writes and seed per channel along the ancestry, in one walk of the namespace."""
        history = self.service.channel_history(self._key(config), list(channels))
        result: dict[str, DeltaChannelHistory] = {}
        for ch, h in history.items():
            entry: DeltaChannelHistory = {
                "writes": [(w.task_id, w.channel, self._loads(w.payload)) for w in h.writes]
            }
            if h.seed is not None:
                entry["seed"] = self._loads(h.seed.payload)
            result[ch] = entry
        return result

    def get_next_version(self, current: Optional[str], channel: None) -> str:
        """Monotonic string versions that sort lexicographically (as InMemorySaver's)."""
        if current is None:
            current_v = 0
        elif isinstance(current, int):
            current_v = current
        else:
            current_v = int(str(current).split(".")[0])
        return f"{current_v + 1:032}.{random.random():016}"

    # -- async API (runs the sync use cases in worker threads) ----------------------------
    async def aget_tuple(self, config: RunnableConfig) -> Optional[CheckpointTuple]:
        return await run_blocking(self.get_tuple, config)

    async def alist(
        self,
        config: Optional[RunnableConfig],
        *,
        filter: Optional[dict[str, Any]] = None,
        before: Optional[RunnableConfig] = None,
        limit: Optional[int] = None,
    ) -> AsyncIterator[CheckpointTuple]:
        iterator = self.list(config, filter=filter, before=before, limit=limit)
        sentinel = object()
        while True:
            item = await run_blocking(next, iterator, sentinel)
            if item is sentinel:
                return
            yield item  # type: ignore[misc]

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        return await run_blocking(self.put, config, checkpoint, metadata, new_versions)

    async def aput_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        await run_blocking(self.put_writes, config, writes, task_id, task_path)

    async def adelete_thread(self, thread_id: str, actor_id: Optional[str] = None) -> None:
        await run_blocking(self.delete_thread, thread_id, actor_id)

    async def adelete_for_runs(self, run_ids: Sequence[str]) -> None:
        await run_blocking(self.delete_for_runs, run_ids)

    async def acopy_thread(self, source_thread_id: str, target_thread_id: str, *, actor_id: Optional[str] = None) -> None:
        await run_blocking(self.copy_thread, source_thread_id, target_thread_id, actor_id=actor_id)

    async def aprune(
        self,
        thread_ids: Sequence[str],
        *,
        strategy: str = "keep_latest",
        keep_last: Optional[int] = None,
        actor_id: Optional[str] = None,
    ) -> None:
        await run_blocking(self.prune, thread_ids, strategy=strategy, keep_last=keep_last, actor_id=actor_id)

    async def aget_delta_channel_history(
        self, *, config: RunnableConfig, channels: Sequence[str]
    ) -> Mapping[str, DeltaChannelHistory]:
        return await run_blocking(self.get_delta_channel_history, config=config, channels=channels)

    # -- context manager support -----------------------------------------------------------
    def __enter__(self) -> RepositorySaver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> RepositorySaver:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await run_blocking(self.close)

    def close(self) -> None:
        """Release resources the saver owns (nothing for borrowed clients)."""
