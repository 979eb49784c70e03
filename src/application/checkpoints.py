"""Checkpoint use cases: the whole LangGraph persistence contract over the ports.

Each use case is a program (see ``effects``): written once, driven over sync
adapters by the ``CheckpointService`` methods and over async adapters by its
``a``-prefixed coroutines. Optional operations check for a capability port
(``domain.ports``) and fall back to the core port, or raise
``UnsupportedOperationError`` naming the capability, never a backend's name.
"""

from __future__ import annotations

import asyncio
import builtins
import weakref
from collections import defaultdict
from collections.abc import AsyncIterator, Iterator, Sequence
from concurrent.futures import Executor
from typing import Any, Optional

import attrs

from ..domain.errors import ForeignLayoutError, InvalidInputError, UnsupportedOperationError
from ..domain.models import (
    EMPTY_PAYLOAD,
    ChannelBlob,
    ChannelHistory,
    CheckpointKey,
    CheckpointQuery,
    CheckpointRecord,
    Payload,
    StoredCheckpoint,
    StoredWrite,
    ThreadData,
    ThreadKey,
)
from ..domain.policies import RetryPolicy
from ..domain.ports import (
    ActorLister,
    AncestryReader,
    AsyncResourceProvisioner,
    BlobRef,
    CheckpointPruner,
    LayoutProbe,
    ResourceProvisioner,
    ThreadLister,
    ThreadTransfer,
)
from .effects import Call, Program, run_async, run_sync
from .payloads import BLOB_STORE, PayloadCodec

__all__ = ["CheckpointService", "ChannelHistory", "PRUNE_STRATEGIES", "copy_thread_between"]

PRUNE_STRATEGIES = ("keep_latest", "delete", "keep_last")
REPOSITORY = "repository"
PROBE = "probe"
_PAGE = 16


class CheckpointService:
    """Stores and reads checkpoints, blobs and writes through a checkpoint repository.

    Policy lives here: only the blobs of changed channels are written, payloads
    are compressed and offloaded by the codec, writes are idempotent, every
    repository call is retried by the one ``RetryPolicy``, and prune, copy and
    run deletion are written once for every backend.

    Args:
        repository: a ``CheckpointRepository`` (sync API) or an
            ``AsyncCheckpointRepository`` (async API only).
        codec: payload shaping and offload.
        retry: the retry policy applied around each port call.
        executor: where the async API runs calls of a sync adapter (owned by
            the caller; None: the loop's default executor).
        max_concurrency: most calls of an async adapter in flight at once (the
            client's connections), so coroutines past it wait instead of failing.
    """

    def __init__(
        self,
        *,
        repository: Any,
        codec: PayloadCodec,
        retry: Optional[RetryPolicy] = None,
        executor: Optional[Executor] = None,
        max_concurrency: Optional[int] = None,
        probe: Optional[LayoutProbe] = None,
    ) -> None:
        self.repository = repository
        self.probe = probe
        self.codec = codec
        self.retry = retry if retry is not None else RetryPolicy()
        self.executor = executor
        self.max_concurrency = max_concurrency
        self._limiters: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
            weakref.WeakKeyDictionary()
        )
        self._ports = {REPOSITORY: repository, BLOB_STORE: codec.blob_store, PROBE: probe}
        # Checked once here: a runtime Protocol isinstance costs tens of microseconds per write.
        self._blob_store_checked = not isinstance(
            codec.blob_store, (ResourceProvisioner, AsyncResourceProvisioner)
        )

    # -- drivers ----------------------------------------------------------------------
    def run(self, program: Program[Any]) -> Any:
        """Drive a use case over sync adapters."""
        return run_sync(program, self._ports, self.retry)

    async def arun(self, program: Program[Any]) -> Any:
        """Drive a use case over async adapters (sync ones run in ``executor``)."""
        return await run_async(program, self._ports, self.retry, self.executor, self._limiter())

    def _limiter(self) -> Optional[asyncio.Semaphore]:
        if self.max_concurrency is None:
            return None
        loop = asyncio.get_running_loop()  # a semaphore belongs to one event loop
        limiter = self._limiters.get(loop)
        if limiter is None:
            limiter = self._limiters[loop] = asyncio.Semaphore(self.max_concurrency)
        return limiter

    def _require(self, capability: type, operation: str) -> None:
        if not isinstance(self.repository, capability):
            raise UnsupportedOperationError(
                f"{operation} needs a repository with the {capability.__name__} capability; "
                f"{type(self.repository).__name__} does not provide it"
            )

    # -- writes -----------------------------------------------------------------------
    def _check_blob_store(self) -> Program[None]:
        """Verify the offload store once, at the first write: a missing bucket surfaces
        now, not at the first payload over the threshold (which may be days later)."""
        if self._blob_store_checked:
            return
        yield Call(BLOB_STORE, "verify", ())
        self._blob_store_checked = True

    def _put(self, checkpoint: StoredCheckpoint, blobs: Sequence[ChannelBlob]) -> Program[None]:
        yield from self._check_blob_store()
        thread = checkpoint.thread
        shape = self.codec.shape
        offloads: list[tuple[str, bytes]] = []
        shaped_blobs: list[ChannelBlob] = []
        for b in blobs:
            payload, obj = shape(b.payload, thread=thread, what=f"channel {b.channel!r}")
            if obj is not None:
                offloads.append(obj)
            shaped_blobs.append(ChannelBlob(b.channel, b.version, payload))
        payload, obj = shape(checkpoint.payload, thread=thread, what="checkpoint")
        if obj is not None:
            offloads.append(obj)
        if offloads:
            yield from self.codec.offload(offloads)
        shaped = attrs.evolve(checkpoint, payload=payload) if payload is not checkpoint.payload else checkpoint
        yield Call(REPOSITORY, "put_checkpoint", (shaped, shaped_blobs))

    def _put_writes(self, writes: Sequence[StoredWrite]) -> Program[None]:
        if not writes:
            return
        yield from self._check_blob_store()
        first = writes[0]
        target = (first.thread, first.checkpoint_ns, first.checkpoint_id)
        shape = self.codec.shape
        offloads: list[tuple[str, bytes]] = []
        shaped: list[StoredWrite] = []
        for w in writes:
            if (w.thread, w.checkpoint_ns, w.checkpoint_id) != target:
                raise InvalidInputError("put_writes: all writes must belong to one checkpoint")
            payload, obj = shape(w.payload, thread=w.thread, what=f"write to channel {w.channel!r}")
            if obj is not None:
                offloads.append(obj)
            shaped.append(w if payload is w.payload else attrs.evolve(w, payload=payload))
        if offloads:
            yield from self.codec.offload(offloads)
        yield Call(REPOSITORY, "put_writes", (shaped,))

    def put(self, checkpoint: StoredCheckpoint, blobs: Sequence[ChannelBlob]) -> None:
        """Store a checkpoint and the blobs of the channels in ``new_versions``."""
        self.run(self._put(checkpoint, blobs))

    async def aput(self, checkpoint: StoredCheckpoint, blobs: Sequence[ChannelBlob]) -> None:
        """``put`` for the async API."""
        await self.arun(self._put(checkpoint, blobs))

    def put_writes(self, writes: Sequence[StoredWrite]) -> None:
        """Store pending writes (idempotent per ``(task_id, idx)``)."""
        self.run(self._put_writes(writes))

    async def aput_writes(self, writes: Sequence[StoredWrite]) -> None:
        """``put_writes`` for the async API."""
        await self.arun(self._put_writes(writes))

    # -- reads ------------------------------------------------------------------------
    def _decode_records(self, records: Sequence[CheckpointRecord]) -> Program[list[CheckpointRecord]]:
        flat: list[Payload] = []
        for r in records:
            flat.append(r.checkpoint.payload)
            flat.extend(b.payload for b in r.blobs)
            flat.extend(w.payload for w in r.writes)
        decoded_list = yield from self.codec.decode_many(flat)
        if decoded_list is flat:
            return builtins.list(records)  # nothing was compressed or offloaded
        decoded = iter(decoded_list)
        out = []
        for r in records:
            cp = attrs.evolve(r.checkpoint, payload=next(decoded))
            blobs = tuple(attrs.evolve(b, payload=next(decoded)) for b in r.blobs)
            writes = tuple(attrs.evolve(w, payload=next(decoded)) for w in r.writes)
            out.append(CheckpointRecord(cp, blobs, writes))
        return out

    def _get(self, key: CheckpointKey) -> Program[Optional[CheckpointRecord]]:
        record = yield Call(REPOSITORY, "get_checkpoint", (key,))
        if record is None:
            if key.checkpoint_id is None:
                yield from self._refuse_foreign(key.thread)
            return None
        decoded = yield from self._decode_records([record])
        return decoded[0]

    def get(self, key: CheckpointKey) -> Optional[CheckpointRecord]:
        """One checkpoint with its channel values and writes, or None."""
        return self.run(self._get(key))  # type: ignore[no-any-return]

    async def aget(self, key: CheckpointKey) -> Optional[CheckpointRecord]:
        """``get`` for the async API."""
        return await self.arun(self._get(key))  # type: ignore[no-any-return]

    def _refuse_foreign(self, thread: ThreadKey) -> Program[None]:
        """Raise ForeignLayoutError when the empty ``thread`` is held here in another package's layout."""
        if self.probe is None:
            return
        found = yield Call(PROBE, "foreign_layout", (thread,))
        if found:
            raise ForeignLayoutError(
                f"thread {thread.thread_id!r} is stored here in the {found} layout, which this package does not "
                f"read: run `langgraph-aws migrate SOURCE_URL TARGET_URL --source-format {found}` to move it "
                "into this package's layout (see the README's migration guide)"
            )

    @staticmethod
    def _whole_thread(query: CheckpointQuery) -> bool:
        return query.thread is not None and query.checkpoint_id is None and query.before_id is None and not query.metadata_filter

    def list(self, query: CheckpointQuery) -> Iterator[CheckpointRecord]:
        """Matching checkpoints, newest first, decoded in pages."""
        if query.limit is not None and query.limit <= 0:
            return
        page: builtins.list[CheckpointRecord] = []
        found = False
        for record in self.repository.list_checkpoints(query):
            found = True
            page.append(record)
            if len(page) >= _PAGE:
                yield from self.run(self._decode_records(page))
                page = []
        if page:
            yield from self.run(self._decode_records(page))
        if not found and self._whole_thread(query) and query.thread is not None:
            self.run(self._refuse_foreign(query.thread))

    async def alist(self, query: CheckpointQuery) -> AsyncIterator[CheckpointRecord]:
        """``list`` for the async API (a sync adapter lists in the executor)."""
        if query.limit is not None and query.limit <= 0:
            return
        records = await self.arun(self._collect(query))
        if not records and self._whole_thread(query) and query.thread is not None:
            await self.arun(self._refuse_foreign(query.thread))
        for start in range(0, len(records), _PAGE):
            for record in await self.arun(self._decode_records(records[start : start + _PAGE])):
                yield record

    def _collect(self, query: CheckpointQuery) -> Program[builtins.list[CheckpointRecord]]:
        records = yield Call(REPOSITORY, "list_checkpoints", (query,), collect=True)
        return records  # type: ignore[no-any-return]

    # -- deletion, pruning, copy ------------------------------------------------------
    def _delete_thread(self, thread_id: str, actor_id: Optional[str]) -> Program[None]:
        yield Call(REPOSITORY, "delete_thread", (thread_id, actor_id))
        yield from self.codec.delete_thread_objects(thread_id, actor_id)

    def delete_thread(self, thread_id: str, actor_id: Optional[str] = None) -> None:
        """Delete every namespace of a thread and its offloaded objects."""
        self.run(self._delete_thread(thread_id, actor_id))

    async def adelete_thread(self, thread_id: str, actor_id: Optional[str] = None) -> None:
        """``delete_thread`` for the async API."""
        await self.arun(self._delete_thread(thread_id, actor_id))

    def _headers(self, thread: Optional[ThreadKey], ns: Optional[str] = None, **filters: Any) -> Program[Any]:
        query = CheckpointQuery(thread=thread, checkpoint_ns=ns, headers_only=True, metadata_filter=filters)
        records = yield Call(REPOSITORY, "list_checkpoints", (query,), collect=True)
        return [r.checkpoint for r in records]

    def _delete_for_runs(self, run_ids: Sequence[str]) -> Program[None]:
        self._require(CheckpointPruner, "delete_for_runs")
        doomed: dict[tuple[ThreadKey, str], set[str]] = defaultdict(set)
        for run_id in dict.fromkeys(run_ids):
            for cp in (yield from self._headers(None, run_id=run_id)):
                doomed[(cp.thread, cp.checkpoint_ns)].add(cp.checkpoint_id)
        for (thread, ns), ids in doomed.items():
            survivors = [cp.checkpoint_id for cp in (yield from self._headers(thread, ns))]
            yield Call(REPOSITORY, "prune", (thread, ns, [c for c in survivors if c not in ids]))

    def delete_for_runs(self, run_ids: Sequence[str]) -> None:
        """Delete every checkpoint (and its writes) whose metadata run_id is listed."""
        self.run(self._delete_for_runs(run_ids))

    async def adelete_for_runs(self, run_ids: Sequence[str]) -> None:
        """``delete_for_runs`` for the async API."""
        await self.arun(self._delete_for_runs(run_ids))

    def _prune_keep(self, strategy: str, keep_last: int) -> int:
        """Check a prune request before anything is read; how many checkpoints per namespace stay."""
        if strategy not in PRUNE_STRATEGIES:
            raise InvalidInputError(f"prune strategy must be one of {PRUNE_STRATEGIES}, got {strategy!r}")
        if strategy == "keep_last" and (
            not isinstance(keep_last, int) or isinstance(keep_last, bool) or keep_last < 1
        ):
            raise InvalidInputError(f"keep_last must be a positive int, got {keep_last!r}")
        if strategy != "delete":
            self._require(CheckpointPruner, "prune")
        return 1 if strategy == "keep_latest" else keep_last

    def _prune(self, threads: Sequence[ThreadKey], strategy: str, keep_last: int) -> Program[None]:
        keep = self._prune_keep(strategy, keep_last)
        for thread in threads:
            if strategy == "delete":
                yield from self._delete_thread(thread.thread_id, thread.actor_id)
                continue
            by_ns: dict[tuple[ThreadKey, str], builtins.list[str]] = defaultdict(builtins.list)
            for cp in (yield from self._headers(thread)):
                by_ns[(cp.thread, cp.checkpoint_ns)].append(cp.checkpoint_id)
            for (owner, ns), ids in by_ns.items():
                if len(ids) > keep:
                    ids.sort(reverse=True)
                    yield Call(REPOSITORY, "prune", (owner, ns, ids[:keep]))

    def prune(self, threads: Sequence[ThreadKey], strategy: str = "keep_latest", keep_last: int = 1) -> None:
        """Prune threads: keep the newest ``keep_last`` checkpoints per namespace, or delete all.

        Args:
            threads: the threads to prune.
            strategy: ``"keep_latest"`` (keep 1), ``"keep_last"`` (keep ``keep_last``)
                or ``"delete"`` (remove everything).
            keep_last: how many checkpoints per namespace ``"keep_last"`` keeps.
        """
        self.run(self._prune(threads, strategy, keep_last))

    async def aprune(self, threads: Sequence[ThreadKey], strategy: str = "keep_latest", keep_last: int = 1) -> None:
        """``prune`` for the async API."""
        await self.arun(self._prune(threads, strategy, keep_last))

    # -- every actor of a thread (thread-id-only calls on a layout with actors) ---------
    def _actors(self, thread_id: str) -> Program[builtins.list[ThreadKey]]:
        if isinstance(self.repository, ActorLister):
            keys = yield Call(REPOSITORY, "list_actors", (thread_id,))
            return builtins.list(keys)
        if isinstance(self.repository, ThreadLister):
            # Every thread of the backend, to find one: correct, but a last resort.
            keys = yield Call(REPOSITORY, "list_threads", (), collect=True)
            return [k for k in keys if k.thread_id == thread_id]
        raise UnsupportedOperationError(
            f"acting on every actor of a thread needs a repository with the ActorLister or ThreadLister "
            f"capability; {type(self.repository).__name__} provides neither (name the actor)"
        )

    def thread_actors(self, thread_id: str) -> builtins.list[ThreadKey]:
        """A ThreadKey per actor of ``thread_id`` that holds a checkpoint (none for an unknown thread)."""
        return self.run(self._actors(thread_id))  # type: ignore[no-any-return]

    async def athread_actors(self, thread_id: str) -> builtins.list[ThreadKey]:
        """``thread_actors`` for the async API."""
        return await self.arun(self._actors(thread_id))  # type: ignore[no-any-return]

    def _copy_every_actor(self, source_id: str, target_id: str) -> Program[None]:
        for source in (yield from self._actors(source_id)):
            yield from self._copy(source, ThreadKey(target_id, source.actor_id))

    def copy_every_actor(self, source_id: str, target_id: str) -> None:
        """Copy each actor's checkpoints of thread ``source_id`` to the same actor under ``target_id``."""
        self.run(self._copy_every_actor(source_id, target_id))

    async def acopy_every_actor(self, source_id: str, target_id: str) -> None:
        """``copy_every_actor`` for the async API."""
        await self.arun(self._copy_every_actor(source_id, target_id))

    def _prune_every_actor(self, thread_ids: Sequence[str], strategy: str, keep_last: int) -> Program[None]:
        self._prune_keep(strategy, keep_last)
        threads: builtins.list[ThreadKey] = []
        for thread_id in dict.fromkeys(thread_ids):
            if strategy == "delete":
                # One delete of every actor's data, as delete_thread without an actor.
                yield from self._delete_thread(thread_id, None)
            else:
                threads.extend((yield from self._actors(thread_id)))
        yield from self._prune(threads, strategy, keep_last)

    def prune_every_actor(self, thread_ids: Sequence[str], strategy: str = "keep_latest", keep_last: int = 1) -> None:
        """``prune`` on every actor of each thread id (see ``prune`` for the strategies)."""
        self.run(self._prune_every_actor(thread_ids, strategy, keep_last))

    async def aprune_every_actor(
        self, thread_ids: Sequence[str], strategy: str = "keep_latest", keep_last: int = 1
    ) -> None:
        """``prune_every_actor`` for the async API."""
        await self.arun(self._prune_every_actor(thread_ids, strategy, keep_last))

    def _export_raw(self, thread: ThreadKey) -> Program[ThreadData]:
        if isinstance(self.repository, ThreadTransfer):
            data = yield Call(REPOSITORY, "export_thread", (thread,))
            return data  # type: ignore[no-any-return]
        # Core fallback: every record carries the blobs it references and its writes.
        query = CheckpointQuery(thread=thread)
        records = yield Call(REPOSITORY, "list_checkpoints", (query,), collect=True)
        blobs: dict[tuple[str, str, str], ChannelBlob] = {}
        writes: builtins.list[StoredWrite] = []
        for r in records:
            for b in r.blobs:
                blobs[(r.checkpoint.checkpoint_ns, b.channel, b.version)] = b
            writes.extend(r.writes)
        return ThreadData(
            thread=thread,
            checkpoints=tuple(r.checkpoint for r in records),
            blobs=tuple((ns, b) for (ns, _, _), b in blobs.items()),
            writes=tuple(writes),
        )

    def _export(self, thread: ThreadKey) -> Program[ThreadData]:
        data = yield from self._export_raw(thread)
        flat = [c.payload for c in data.checkpoints]
        flat += [b.payload for _, b in data.blobs]
        flat += [w.payload for w in data.writes]
        decoded = iter((yield from self.codec.decode_many(flat)))
        return ThreadData(
            thread=data.thread,
            checkpoints=tuple(attrs.evolve(c, payload=next(decoded)) for c in data.checkpoints),
            blobs=tuple((ns, attrs.evolve(b, payload=next(decoded))) for ns, b in data.blobs),
            writes=tuple(attrs.evolve(w, payload=next(decoded)) for w in data.writes),
        )

    def export_thread(self, thread: ThreadKey) -> ThreadData:
        """Everything stored for a thread, with payloads decoded (portable across backends)."""
        return self.run(self._export(thread))  # type: ignore[no-any-return]

    def _import(self, data: ThreadData) -> Program[None]:
        t = data.thread
        offloads: builtins.list[tuple[str, bytes]] = []

        def shaped(payload: Payload, what: str) -> Payload:
            stored, obj = self.codec.shape(payload, thread=t, what=what)
            if obj is not None:
                offloads.append(obj)
            return stored

        checkpoints = [attrs.evolve(c, payload=shaped(c.payload, "checkpoint")) for c in data.checkpoints]
        blobs = [(ns, attrs.evolve(b, payload=shaped(b.payload, f"channel {b.channel!r}"))) for ns, b in data.blobs]
        writes = [attrs.evolve(w, payload=shaped(w.payload, "write")) for w in data.writes]
        if offloads:
            yield from self.codec.offload(offloads)
        if isinstance(self.repository, ThreadTransfer):
            yield Call(REPOSITORY, "import_thread", (ThreadData(thread=t, checkpoints=checkpoints, blobs=blobs, writes=writes),))
            return
        # Core fallback: blobs go with the first checkpoint that references them,
        # checkpoints oldest first, then each checkpoint's writes per task.
        pending = {(ns, b.channel, b.version): b for ns, b in blobs}
        for cp in sorted(checkpoints, key=lambda c: (c.checkpoint_ns, c.checkpoint_id)):
            mine = [
                pending.pop((cp.checkpoint_ns, ch, str(v)))
                for ch, v in cp.channel_versions.items()
                if (cp.checkpoint_ns, ch, str(v)) in pending
            ]
            yield Call(REPOSITORY, "put_checkpoint", (cp, mine))
        by_task: dict[tuple[str, str, str], builtins.list[StoredWrite]] = defaultdict(builtins.list)
        for w in writes:
            by_task[(w.checkpoint_ns, w.checkpoint_id, w.task_id)].append(w)
        for group in by_task.values():
            yield Call(REPOSITORY, "put_writes", (group,))

    def import_thread(self, data: ThreadData) -> None:
        """Store decoded thread data, shaping payloads with this service's codec."""
        self.run(self._import(data))

    def _copy(self, source: ThreadKey, target: ThreadKey) -> Program[None]:
        data = yield from self._export(source)
        if data.checkpoints:
            yield from self._import(data.retarget(target))

    def copy_thread(self, source: ThreadKey, target: ThreadKey) -> None:
        """Copy every checkpoint, blob and write of ``source`` to ``target``."""
        self.run(self._copy(source, target))

    async def acopy_thread(self, source: ThreadKey, target: ThreadKey) -> None:
        """``copy_thread`` for the async API."""
        await self.arun(self._copy(source, target))

    # -- delta channels ---------------------------------------------------------------
    def _channel_history(self, key: CheckpointKey, channels: Sequence[str]) -> Program[dict[str, ChannelHistory]]:
        if not channels:
            return {}
        if isinstance(self.repository, AncestryReader):
            chain, blobs, writes_by_cp, seed_at = yield from self._ancestry_bulk(key, channels)
        else:
            chain, blobs, writes_by_cp, seed_at = yield from self._ancestry_walk(key, channels)
        wanted = set(channels)
        depth_needed = max((seed_at.get(ch, len(chain) - 1) for ch in wanted), default=-1)
        collected: dict[str, builtins.list[StoredWrite]] = {ch: [] for ch in channels}
        for depth, cp in enumerate(chain[: depth_needed + 1]):
            for w in reversed(writes_by_cp.get(cp.checkpoint_id, [])):
                if w.channel in wanted and depth <= seed_at.get(w.channel, len(chain)):
                    collected[w.channel].append(w)
        seeds = {ch: blobs[(ch, str(chain[d].channel_versions[ch]))] for ch, d in seed_at.items()}
        # Decode everything in one pass (offloaded objects fetched together).
        flat = [s.payload for s in seeds.values()] + [w.payload for ws in collected.values() for w in ws]
        decoded = iter((yield from self.codec.decode_many(flat)))
        seeds = {ch: attrs.evolve(b, payload=next(decoded)) for ch, b in seeds.items()}
        result = {}
        for ch in channels:
            ws = [attrs.evolve(w, payload=next(decoded)) for w in collected[ch]]
            result[ch] = ChannelHistory(writes=tuple(reversed(ws)), seed=seeds.get(ch))
        return result

    @staticmethod
    def _seeds(chain: Sequence[StoredCheckpoint], wanted: set[str], blobs: dict[BlobRef, ChannelBlob]) -> dict[str, int]:
        """Per channel, the depth of the nearest ancestor that stores a value for it."""
        seed_at: dict[str, int] = {}
        for depth, cp in enumerate(chain):
            for ch in wanted - seed_at.keys():
                ver = cp.channel_versions.get(ch)
                blob = blobs.get((ch, str(ver))) if ver is not None else None
                if blob is not None and blob.payload.type_tag != EMPTY_PAYLOAD.type_tag:
                    seed_at[ch] = depth
        return seed_at

    def _ancestry_bulk(self, key: CheckpointKey, channels: Sequence[str]) -> Program[Any]:
        """Three calls however long the ancestry: headers, blobs, writes."""
        headers_list = yield Call(REPOSITORY, "scan_checkpoints", (key.thread, key.checkpoint_ns), collect=True)
        headers = {c.checkpoint_id: c for c in headers_list}
        target_id = key.checkpoint_id or max(headers, default=None)
        target = headers.get(target_id) if target_id is not None else None
        chain: builtins.list[StoredCheckpoint] = []
        cursor = target.parent_checkpoint_id if target is not None else None
        seen: set[str] = set()
        while cursor is not None and cursor in headers and cursor not in seen:
            seen.add(cursor)
            chain.append(headers[cursor])
            cursor = headers[cursor].parent_checkpoint_id
        wanted = set(channels)
        refs = sorted({(ch, str(cp.channel_versions[ch])) for cp in chain for ch in wanted if ch in cp.channel_versions})
        blobs = (yield Call(REPOSITORY, "get_blobs", (key.thread, key.checkpoint_ns, refs))) if refs else {}
        # Decide where each channel's walk ends before fetching any writes.
        seed_at = self._seeds(chain, wanted, blobs)
        depth_needed = max((seed_at.get(ch, len(chain) - 1) for ch in wanted), default=-1)
        walk = [c.checkpoint_id for c in chain[: depth_needed + 1]]
        writes_by_cp = (yield Call(REPOSITORY, "get_writes", (key.thread, key.checkpoint_ns, walk))) if walk else {}
        return chain, blobs, writes_by_cp, seed_at

    def _ancestry_walk(self, key: CheckpointKey, channels: Sequence[str]) -> Program[Any]:
        """Core fallback: one get_checkpoint per ancestor, stopping once every channel has a seed."""
        wanted = set(channels)
        record = yield Call(REPOSITORY, "get_checkpoint", (key,))
        chain: builtins.list[StoredCheckpoint] = []
        blobs: dict[BlobRef, ChannelBlob] = {}
        writes_by_cp: dict[str, builtins.list[StoredWrite]] = {}
        seen: set[str] = set()
        cursor = record.checkpoint.parent_checkpoint_id if record is not None else None
        while cursor is not None and cursor not in seen:
            seen.add(cursor)
            parent = yield Call(REPOSITORY, "get_checkpoint", (CheckpointKey(key.thread, key.checkpoint_ns, cursor),))
            if parent is None:
                break
            chain.append(parent.checkpoint)
            blobs.update({(b.channel, b.version): b for b in parent.blobs})
            writes_by_cp[cursor] = builtins.list(parent.writes)
            if wanted <= self._seeds(chain, wanted, blobs).keys():
                break
            cursor = parent.checkpoint.parent_checkpoint_id
        return chain, blobs, writes_by_cp, self._seeds(chain, wanted, blobs)

    def channel_history(self, key: CheckpointKey, channels: Sequence[str]) -> dict[str, ChannelHistory]:
        """Per channel: writes along the ancestry of ``key`` and the nearest stored value."""
        return self.run(self._channel_history(key, channels))  # type: ignore[no-any-return]

    async def achannel_history(self, key: CheckpointKey, channels: Sequence[str]) -> dict[str, ChannelHistory]:
        """``channel_history`` for the async API."""
        return await self.arun(self._channel_history(key, channels))  # type: ignore[no-any-return]


def copy_thread_between(
    source: CheckpointService, target: CheckpointService, source_thread: ThreadKey, target_thread: ThreadKey
) -> int:
    """Copy one thread from one service (backend) to another; returns checkpoints copied.

    Payloads are decoded with the source's codec and re-shaped with the
    target's, so offloaded objects are copied too, never shared.
    """
    data = source.export_thread(source_thread)
    if not data.checkpoints:
        return 0
    target.import_thread(data.retarget(target_thread))
    return len(data.checkpoints)
