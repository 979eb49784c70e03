"""Checkpoint use cases: the whole LangGraph persistence contract over the ports."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from typing import Optional

import attrs

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
    ThreadData,
    ThreadKey,
)
from ..domain.ports import BlobRef, CheckpointRepository
from .payloads import PayloadCodec

__all__ = ["CheckpointService", "ChannelHistory", "PRUNE_STRATEGIES", "copy_thread_between"]

PRUNE_STRATEGIES = ("keep_latest", "delete", "keep_last")


@attrs.frozen
class ChannelHistory:
    """One channel's history along a checkpoint's ancestry (oldest write first)."""

    writes: tuple[StoredWrite, ...]
    seed: Optional[ChannelBlob] = None


class CheckpointService:
    """Stores and reads checkpoints, blobs and writes through a CheckpointRepository.

    Policy lives here: only the blobs of changed channels are written, payloads
    are compressed and offloaded by the codec, writes are idempotent, and
    prune, copy and run deletion are written once for every backend.
    """

    def __init__(self, *, repository: CheckpointRepository, codec: PayloadCodec) -> None:
        self.repository = repository
        self.codec = codec

    # -- writes ---------------------------------------------------------------
    def put(self, checkpoint: StoredCheckpoint, blobs: Sequence[ChannelBlob]) -> None:
        """Store a checkpoint and the blobs of the channels in ``new_versions``."""
        thread = checkpoint.thread
        shaped_blobs = [
            attrs.evolve(
                b,
                payload=self.codec.encode(b.payload, thread=thread, what=f"channel {b.channel!r}"),
            )
            for b in blobs
        ]
        shaped = attrs.evolve(
            checkpoint,
            payload=self.codec.encode(checkpoint.payload, thread=thread, what="checkpoint"),
        )
        self.repository.put_checkpoint(shaped, shaped_blobs)

    def put_writes(self, writes: Sequence[StoredWrite]) -> None:
        """Store pending writes (idempotent per ``(task_id, idx)``)."""
        if not writes:
            return
        first = writes[0]
        for w in writes:
            if (w.thread, w.checkpoint_ns, w.checkpoint_id) != (
                first.thread,
                first.checkpoint_ns,
                first.checkpoint_id,
            ):
                raise InvalidInputError("put_writes: all writes must belong to one checkpoint")
        self.repository.put_writes(
            [
                attrs.evolve(
                    w,
                    payload=self.codec.encode(
                        w.payload, thread=w.thread, what=f"write to channel {w.channel!r}"
                    ),
                )
                for w in writes
            ]
        )

    # -- reads ----------------------------------------------------------------
    def get(self, key: CheckpointKey) -> Optional[CheckpointRecord]:
        """One checkpoint with its channel values and writes, or None."""
        record = self.repository.get_checkpoint(key)
        return None if record is None else self._decode_records([record])[0]

    def list(self, query: CheckpointQuery) -> Iterator[CheckpointRecord]:
        """Matching checkpoints, newest first, decoded in pages."""
        if query.limit is not None and query.limit <= 0:
            return
        page: list[CheckpointRecord] = []
        for record in self.repository.list_checkpoints(query):
            page.append(record)
            if len(page) >= 16:
                yield from self._decode_records(page)
                page = []
        if page:
            yield from self._decode_records(page)

    def _decode_records(self, records: Sequence[CheckpointRecord]) -> list[CheckpointRecord]:
        flat: list[Payload] = []
        for r in records:
            flat.append(r.checkpoint.payload)
            flat.extend(b.payload for b in r.blobs)
            flat.extend(w.payload for w in r.writes)
        decoded = iter(self.codec.decode_many(flat))
        out = []
        for r in records:
            cp = attrs.evolve(r.checkpoint, payload=next(decoded))
            blobs = tuple(attrs.evolve(b, payload=next(decoded)) for b in r.blobs)
            writes = tuple(attrs.evolve(w, payload=next(decoded)) for w in r.writes)
            out.append(CheckpointRecord(cp, blobs, writes))
        return out

    # -- deletion, pruning, copy ----------------------------------------------
    def delete_thread(self, thread_id: str, actor_id: Optional[str] = None) -> None:
        """Delete every namespace of a thread and its offloaded objects."""
        self.repository.delete_thread(thread_id, actor_id)
        self.codec.delete_thread_objects(thread_id, actor_id)

    def delete_for_runs(self, run_ids: Sequence[str]) -> None:
        """Delete every checkpoint (and its writes) whose metadata run_id is listed."""
        doomed: dict[tuple[ThreadKey, str], set[str]] = defaultdict(set)
        for run_id in dict.fromkeys(run_ids):
            query = CheckpointQuery(metadata_filter={"run_id": run_id}, headers_only=True)
            for record in self.repository.list_checkpoints(query):
                cp = record.checkpoint
                doomed[(cp.thread, cp.checkpoint_ns)].add(cp.checkpoint_id)
        for (thread, ns), ids in doomed.items():
            self._delete_and_collect(thread, ns, ids)

    def prune(self, thread_ids: Sequence[ThreadKey], strategy: str = "keep_latest", keep_last: int = 1) -> None:
        """Prune threads: keep the latest ``keep_last`` checkpoints per namespace, or delete all.

        Args:
            thread_ids: the threads to prune.
            strategy: ``"keep_latest"`` (keep 1), ``"keep_last"`` (keep ``keep_last``)
                or ``"delete"`` (remove everything).
            keep_last: how many checkpoints per namespace ``"keep_last"`` keeps.
        """
        if strategy not in PRUNE_STRATEGIES:
            raise InvalidInputError(f"prune strategy must be one of {PRUNE_STRATEGIES}, got {strategy!r}")
        if strategy == "keep_last" and (not isinstance(keep_last, int) or keep_last < 1):
            raise InvalidInputError(f"keep_last must be a positive int, got {keep_last!r}")
        keep = 1 if strategy == "keep_latest" else keep_last
        for thread in thread_ids:
            if strategy == "delete":
                self.delete_thread(thread.thread_id, thread.actor_id)
                continue
            by_ns: dict[str, list[StoredCheckpoint]] = defaultdict(list)
            for cp in self.repository.scan_checkpoints(thread):
                by_ns[cp.checkpoint_ns].append(cp)
            for ns, cps in by_ns.items():
                cps.sort(key=lambda c: c.checkpoint_id, reverse=True)
                doomed = {c.checkpoint_id for c in cps[keep:]}
                if doomed:
                    self._delete_and_collect(thread, ns, doomed, headers=cps)

    def _delete_and_collect(
        self,
        thread: ThreadKey,
        ns: str,
        doomed: set[str],
        headers: Optional[Sequence[StoredCheckpoint]] = None,
    ) -> None:
        """Delete checkpoints and the blobs that no surviving checkpoint references."""
        if headers is None:
            headers = list(self.repository.scan_checkpoints(thread, ns))
        referenced: set[BlobRef] = set()
        candidates: set[BlobRef] = set()
        for cp in headers:
            refs = {(ch, str(v)) for ch, v in cp.channel_versions.items()}
            (candidates if cp.checkpoint_id in doomed else referenced).update(refs)
        self.repository.delete_checkpoints(thread, ns, sorted(doomed))
        orphans = sorted(candidates - referenced)
        if orphans:
            self.repository.delete_blobs(thread, ns, orphans)

    def export_thread(self, thread: ThreadKey) -> ThreadData:
        """Everything stored for a thread, with payloads decoded (portable across backends)."""
        data = self.repository.export_thread(thread)
        flat = [c.payload for c in data.checkpoints]
        flat += [b.payload for _, b in data.blobs]
        flat += [w.payload for w in data.writes]
        decoded = iter(self.codec.decode_many(flat))
        return ThreadData(
            thread=data.thread,
            checkpoints=[attrs.evolve(c, payload=next(decoded)) for c in data.checkpoints],
            blobs=[(ns, attrs.evolve(b, payload=next(decoded))) for ns, b in data.blobs],
            writes=[attrs.evolve(w, payload=next(decoded)) for w in data.writes],
        )

    def import_thread(self, data: ThreadData) -> None:
        """Store decoded thread data, shaping payloads with this service's codec."""
        t = data.thread
        self.repository.import_thread(
            ThreadData(
                thread=t,
                checkpoints=[
                    attrs.evolve(c, payload=self.codec.encode(c.payload, thread=t, what="checkpoint"))
                    for c in data.checkpoints
                ],
                blobs=[
                    (
                        ns,
                        attrs.evolve(
                            b, payload=self.codec.encode(b.payload, thread=t, what=f"channel {b.channel!r}")
                        ),
                    )
                    for ns, b in data.blobs
                ],
                writes=[
                    attrs.evolve(w, payload=self.codec.encode(w.payload, thread=t, what="write"))
                    for w in data.writes
                ],
            )
        )

    def copy_thread(self, source: ThreadKey, target: ThreadKey) -> None:
        """Copy every checkpoint, blob and write of ``source`` to ``target``."""
        copy_thread_between(self, self, source, target)

    # -- delta channels -------------------------------------------------------
    def channel_history(self, key: CheckpointKey, channels: Sequence[str]) -> dict[str, ChannelHistory]:
        """Per channel: writes along the ancestry of ``key`` and the nearest stored value.

        One scan of the namespace's headers, one blob fetch and one write fetch,
        however long the ancestry is.
        """
        if not channels:
            return {}
        headers = {c.checkpoint_id: c for c in self.repository.scan_checkpoints(key.thread, key.checkpoint_ns)}
        target_id = key.checkpoint_id or max(headers, default=None)
        target = headers.get(target_id) if target_id is not None else None
        chain: list[StoredCheckpoint] = []
        cursor = target.parent_checkpoint_id if target is not None else None
        seen: set[str] = set()
        while cursor is not None and cursor in headers and cursor not in seen:
            seen.add(cursor)
            chain.append(headers[cursor])
            cursor = headers[cursor].parent_checkpoint_id
        wanted = set(channels)
        refs = sorted(
            {(ch, str(cp.channel_versions[ch])) for cp in chain for ch in wanted if ch in cp.channel_versions}
        )
        blobs = self.repository.get_blobs(key.thread, key.checkpoint_ns, refs) if refs else {}
        # Decide where each channel's walk ends before fetching any writes.
        seed_at: dict[str, int] = {}
        for depth, cp in enumerate(chain):
            for ch in wanted - seed_at.keys():
                ver = cp.channel_versions.get(ch)
                blob = blobs.get((ch, str(ver))) if ver is not None else None
                if blob is not None and blob.payload.type_tag != EMPTY_PAYLOAD.type_tag:
                    seed_at[ch] = depth
        depth_needed = max(
            (seed_at.get(ch, len(chain) - 1) for ch in wanted), default=-1
        )
        walk = chain[: depth_needed + 1]
        writes_by_cp = (
            self.repository.get_writes(key.thread, key.checkpoint_ns, [c.checkpoint_id for c in walk])
            if walk
            else {}
        )
        collected: dict[str, list[StoredWrite]] = {ch: [] for ch in channels}
        for depth, cp in enumerate(walk):
            for w in reversed(writes_by_cp.get(cp.checkpoint_id, [])):
                if w.channel in wanted and depth <= seed_at.get(w.channel, len(chain)):
                    collected[w.channel].append(w)
        seeds = {ch: blobs[(ch, str(chain[d].channel_versions[ch]))] for ch, d in seed_at.items()}
        # Decode everything in one pass (offloaded objects fetched together).
        flat = [s.payload for s in seeds.values()] + [w.payload for ws in collected.values() for w in ws]
        decoded = iter(self.codec.decode_many(flat))
        seeds = {ch: attrs.evolve(b, payload=next(decoded)) for ch, b in seeds.items()}
        result = {}
        for ch in channels:
            ws = [attrs.evolve(w, payload=next(decoded)) for w in collected[ch]]
            result[ch] = ChannelHistory(writes=tuple(reversed(ws)), seed=seeds.get(ch))
        return result


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

