"""In-memory checkpoint repository.

Layout (plain dicts guarded by one lock):

- ``_checkpoints[(thread, ns)][checkpoint_id] -> StoredCheckpoint``
- ``_blobs[(thread, ns)][(channel, version)] -> ChannelBlob``
- ``_writes[(thread, ns, checkpoint_id)][(task_id, idx)] -> StoredWrite``

``thread`` is the ThreadKey value itself, so ids need no encoding. With
``ttl_seconds`` every write refreshes the thread's expiry; expired threads
read as absent and are dropped lazily.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Collection, Iterator, Sequence
from typing import Callable, Optional

from ...domain.models import (
    ChannelBlob,
    CheckpointKey,
    CheckpointQuery,
    CheckpointRecord,
    StoredCheckpoint,
    StoredWrite,
    ThreadData,
    ThreadKey,
)
from ...domain.policies import metadata_matches, plan_prune
from ...domain.ports import BlobRef

__all__ = ["InMemoryCheckpointRepository"]

_NsKey = tuple[ThreadKey, str]


class InMemoryCheckpointRepository:
    """A CheckpointRepository in process memory.

    Args:
        ttl_seconds: lifetime of a thread after its last write (None: forever).
        clock: time source, injectable for tests.
    """

    def __init__(self, *, ttl_seconds: Optional[float] = None, clock: Callable[[], float] = time.time) -> None:
        self._lock = threading.RLock()
        self._checkpoints: dict[_NsKey, dict[str, StoredCheckpoint]] = {}
        self._blobs: dict[_NsKey, dict[BlobRef, ChannelBlob]] = {}
        self._writes: dict[tuple[ThreadKey, str, str], dict[tuple[str, int], StoredWrite]] = {}
        self._expires: dict[ThreadKey, float] = {}
        self._ttl = ttl_seconds
        self._clock = clock

    # -- ttl -------------------------------------------------------------------
    def _touch(self, thread: ThreadKey) -> None:
        if self._ttl is not None:
            self._expires[thread] = self._clock() + self._ttl

    def _expire(self) -> None:
        if not self._expires:
            return
        now = self._clock()
        for thread in [t for t, at in self._expires.items() if at <= now]:
            self._drop(thread.__eq__)
            del self._expires[thread]

    def _drop(self, match: Callable[[ThreadKey], bool]) -> None:
        for nk in [k for k in self._checkpoints if match(k[0])]:
            del self._checkpoints[nk]
        for nk in [k for k in self._blobs if match(k[0])]:
            del self._blobs[nk]
        for wk in [k for k in self._writes if match(k[0])]:
            del self._writes[wk]

    # -- writes ------------------------------------------------------------------
    def put_checkpoint(self, checkpoint: StoredCheckpoint, blobs: Sequence[ChannelBlob]) -> None:
        nk = (checkpoint.thread, checkpoint.checkpoint_ns)
        with self._lock:
            self._expire()
            store = self._blobs.setdefault(nk, {})
            for blob in blobs:
                store[(blob.channel, blob.version)] = blob
            self._checkpoints.setdefault(nk, {})[checkpoint.checkpoint_id] = checkpoint
            self._touch(checkpoint.thread)

    def put_writes(self, writes: Sequence[StoredWrite]) -> None:
        with self._lock:
            self._expire()
            for w in writes:
                bucket = self._writes.setdefault((w.thread, w.checkpoint_ns, w.checkpoint_id), {})
                if w.idx >= 0 and (w.task_id, w.idx) in bucket:
                    continue
                bucket[(w.task_id, w.idx)] = w
                self._touch(w.thread)

    # -- reads ---------------------------------------------------------------------
    def _record(self, cp: StoredCheckpoint, with_values: bool = True) -> CheckpointRecord:
        if not with_values:
            return CheckpointRecord(cp)
        store = self._blobs.get((cp.thread, cp.checkpoint_ns), {})
        blobs = [
            store[(ch, str(v))] for ch, v in cp.channel_versions.items() if (ch, str(v)) in store
        ]
        return CheckpointRecord(cp, blobs, self._ordered_writes(cp.thread, cp.checkpoint_ns, cp.checkpoint_id))

    def _ordered_writes(self, thread: ThreadKey, ns: str, checkpoint_id: str) -> list[StoredWrite]:
        bucket = self._writes.get((thread, ns, checkpoint_id), {})
        return sorted(bucket.values(), key=lambda w: w.sort_key)

    def get_checkpoint(self, key: CheckpointKey) -> Optional[CheckpointRecord]:
        with self._lock:
            self._expire()
            cps = self._checkpoints.get((key.thread, key.checkpoint_ns))
            if not cps:
                return None
            cid = key.checkpoint_id if key.checkpoint_id is not None else max(cps)
            cp = cps.get(cid)
            return None if cp is None else self._record(cp)

    def list_checkpoints(self, query: CheckpointQuery) -> Iterator[CheckpointRecord]:
        with self._lock:
            self._expire()
            found: list[StoredCheckpoint] = []
            for (thread, ns), cps in self._checkpoints.items():
                if query.thread is not None and thread != query.thread:
                    continue
                if query.checkpoint_ns is not None and ns != query.checkpoint_ns:
                    continue
                for cid, cp in cps.items():
                    if query.checkpoint_id is not None and cid != query.checkpoint_id:
                        continue
                    if query.before_id is not None and cid >= query.before_id:
                        continue
                    if not metadata_matches(cp.metadata, query.metadata_filter):
                        continue
                    found.append(cp)
            found.sort(key=lambda c: c.checkpoint_id, reverse=True)
            if query.limit is not None:
                found = found[: query.limit]
            records = [self._record(cp, not query.headers_only) for cp in found]
        return iter(records)

    def scan_checkpoints(self, thread: ThreadKey, checkpoint_ns: Optional[str] = None) -> Iterator[StoredCheckpoint]:
        with self._lock:
            self._expire()
            out = [
                cp
                for (t, ns), cps in self._checkpoints.items()
                if t == thread and (checkpoint_ns is None or ns == checkpoint_ns)
                for cp in cps.values()
            ]
        return iter(out)

    def get_blobs(self, thread: ThreadKey, checkpoint_ns: str, refs: Sequence[BlobRef]) -> dict[BlobRef, ChannelBlob]:
        with self._lock:
            self._expire()
            store = self._blobs.get((thread, checkpoint_ns), {})
            return {r: store[r] for r in refs if r in store}

    def get_writes(self, thread: ThreadKey, checkpoint_ns: str, checkpoint_ids: Sequence[str]) -> dict[str, list[StoredWrite]]:
        with self._lock:
            self._expire()
            return {cid: self._ordered_writes(thread, checkpoint_ns, cid) for cid in checkpoint_ids}

    # -- deletes ---------------------------------------------------------------------
    def delete_thread(self, thread_id: str, actor_id: Optional[str] = None) -> None:
        def match(t: ThreadKey) -> bool:
            return t.thread_id == thread_id and (actor_id is None or t.actor_id == actor_id)

        with self._lock:
            self._drop(match)
            for t in [t for t in self._expires if match(t)]:
                del self._expires[t]

    def delete_checkpoints(self, thread: ThreadKey, checkpoint_ns: str, checkpoint_ids: Sequence[str]) -> None:
        with self._lock:
            cps = self._checkpoints.get((thread, checkpoint_ns), {})
            for cid in checkpoint_ids:
                cps.pop(cid, None)
                self._writes.pop((thread, checkpoint_ns, cid), None)

    def delete_blobs(self, thread: ThreadKey, checkpoint_ns: str, refs: Sequence[BlobRef]) -> None:
        with self._lock:
            store = self._blobs.get((thread, checkpoint_ns), {})
            for ref in refs:
                store.pop(ref, None)

    def prune(self, thread: ThreadKey, checkpoint_ns: str, keep_ids: Collection[str]) -> None:
        """Keep only ``keep_ids`` in the namespace; drop their writes and unreferenced blobs."""
        with self._lock:
            headers = list(self._checkpoints.get((thread, checkpoint_ns), {}).values())
            doomed, orphans = plan_prune(headers, keep_ids)
            self.delete_checkpoints(thread, checkpoint_ns, doomed)
            self.delete_blobs(thread, checkpoint_ns, orphans)

    def list_threads(self) -> Iterator[ThreadKey]:
        """Every thread (and actor) holding a checkpoint."""
        with self._lock:
            self._expire()
            found = dict.fromkeys(t for (t, _), cps in self._checkpoints.items() if cps)
        return iter(found)

    def setup(self) -> None:
        """Nothing to create in process memory."""

    def verify(self) -> None:
        """Process memory is always there."""

    def storage_stats(self) -> dict[str, int]:
        """How many records and payload bytes are held (for demos and benchmarks)."""
        with self._lock:
            cps = [c for m in self._checkpoints.values() for c in m.values()]
            blobs = [b for m in self._blobs.values() for b in m.values()]
            writes = [w for m in self._writes.values() for w in m.values()]
            return {
                "checkpoints": len(cps),
                "checkpoint_bytes": sum(c.payload.size for c in cps),
                "blobs": len(blobs),
                "blob_bytes": sum(b.payload.size for b in blobs),
                "writes": len(writes),
                "write_bytes": sum(w.payload.size for w in writes),
            }

    # -- bulk ------------------------------------------------------------------------
    def export_thread(self, thread: ThreadKey) -> ThreadData:
        with self._lock:
            self._expire()
            cps = [cp for (t, _), m in self._checkpoints.items() if t == thread for cp in m.values()]
            blobs = [(ns, b) for (t, ns), m in self._blobs.items() if t == thread for b in m.values()]
            writes = [w for (t, _, _), m in self._writes.items() if t == thread for w in m.values()]
        return ThreadData(thread=thread, checkpoints=cps, blobs=blobs, writes=writes)

    def import_thread(self, data: ThreadData) -> None:
        with self._lock:
            for ns, blob in data.blobs:
                self._blobs.setdefault((data.thread, ns), {})[(blob.channel, blob.version)] = blob
            for cp in data.checkpoints:
                self._checkpoints.setdefault((cp.thread, cp.checkpoint_ns), {})[cp.checkpoint_id] = cp
            for w in data.writes:
                self._writes.setdefault((w.thread, w.checkpoint_ns, w.checkpoint_id), {})[(w.task_id, w.idx)] = w
            if data.checkpoints or data.writes:
                self._touch(data.thread)
