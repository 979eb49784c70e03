"""Operations use cases: inspect, verify, prune and migrate threads on any backend, through the ports.

These are what the ``langgraph-aws`` command line runs; apps can call them too.
Everything goes through a ``CheckpointService`` (its repository and its
capabilities), so a backend added later is covered by implementing the ports:

- listing threads needs ``ThreadLister``;
- stats, verify and migrate read whole threads with ``ThreadTransfer.export_thread``
  (falling back to ``list_checkpoints``);
- pruning needs ``CheckpointPruner``.

Threads are handled one at a time, so memory stays bounded by the largest thread.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator, Sequence
from typing import Callable, Optional

import attrs

from ..domain.errors import UnsupportedOperationError
from ..domain.models import CheckpointQuery, StoredCheckpoint, ThreadData, ThreadKey
from ..domain.ports import CheckpointPruner, ThreadLister, ThreadTransfer
from .checkpoints import CheckpointService
from .effects import Call, Program

__all__ = [
    "Operations",
    "ThreadStats",
    "Problem",
    "MigrationOutcome",
    "checkpoint_time",
]

_UUID_EPOCH = 0x01B21DD213814000  # 100 ns intervals between 1582-10-15 and 1970-01-01


def checkpoint_time(checkpoint_id: str) -> Optional[float]:
    """POSIX seconds encoded in a LangGraph checkpoint id (a UUID v6 or v1); None for other ids."""
    try:
        value = uuid.UUID(checkpoint_id)
    except (ValueError, AttributeError, TypeError):
        return None
    if value.version == 6:
        n = value.int >> 64
        ticks = ((n >> 16) << 12) | (n & 0x0FFF)
    elif value.version == 1:
        ticks = value.time
    else:
        return None
    return (ticks - _UUID_EPOCH) / 1e7


@attrs.frozen
class ThreadStats:
    """What one thread holds."""

    thread: ThreadKey
    checkpoints: int
    writes: int
    blobs: int
    bytes: int
    """Stored payload bytes (after compression, as the backend keeps them)."""
    namespaces: int
    oldest: Optional[float] = None
    newest: Optional[float] = None


@attrs.frozen
class Problem:
    """An integrity problem found by ``verify``."""

    thread: ThreadKey
    kind: str
    """``missing-blob``, ``missing-parent``, ``orphan-write`` or ``orphan-blob``."""
    detail: str


@attrs.frozen
class MigrationOutcome:
    """What ``migrate_thread`` did for one thread."""

    source: ThreadKey
    target: ThreadKey
    status: str
    """``copied``, ``skipped`` (already complete at the target) or ``failed``."""
    checkpoints: int = 0
    writes: int = 0
    error: Optional[str] = None


def _size(data: ThreadData) -> int:
    total = sum(len(c.payload.data) + len(c.metadata_payload.data if c.metadata_payload else b"") for c in data.checkpoints)
    total += sum(len(b.payload.data) for _, b in data.blobs)
    total += sum(len(w.payload.data) for w in data.writes)
    return total


class Operations:
    """Inspection, integrity, pruning and migration over one backend's CheckpointService."""

    def __init__(self, service: CheckpointService) -> None:
        self.service = service
        self.repository = service.repository

    # -- threads ----------------------------------------------------------------------------
    def can_list_threads(self) -> bool:
        return isinstance(self.repository, ThreadLister)

    def threads(self) -> Iterator[ThreadKey]:
        """Every thread (and actor) that holds data, without a full scan where the backend allows.

        Raises:
            UnsupportedOperationError: the backend cannot enumerate its threads.
        """
        if not isinstance(self.repository, ThreadLister):
            raise UnsupportedOperationError(
                f"{type(self.repository).__name__} cannot list its threads; name the threads explicitly"
            )
        keys = self.service.run(_listed(self.repository))
        return iter(keys)

    def resolve(self, thread_id: str) -> list[ThreadKey]:
        """The thread's keys: one per actor on backends keyed by actor (AgentCore), else one."""
        keys = self.service.thread_actors(thread_id)
        return keys or [ThreadKey(thread_id)]

    def raw_thread(self, thread: ThreadKey) -> ThreadData:
        """Everything stored for a thread as the backend keeps it (payloads not decoded)."""
        if isinstance(self.repository, ThreadTransfer):
            data: ThreadData = self.service.run(_exported(thread))
            return data
        records = list(self.service.list(CheckpointQuery(thread=thread)))
        blobs = {(r.checkpoint.checkpoint_ns, b.channel, b.version): (r.checkpoint.checkpoint_ns, b) for r in records for b in r.blobs}
        return ThreadData(
            thread=thread,
            checkpoints=tuple(r.checkpoint for r in records),
            blobs=tuple(blobs.values()),
            writes=tuple(w for r in records for w in r.writes),
        )

    def checkpoint_ids(self, thread: ThreadKey) -> set[tuple[str, str]]:
        """``(namespace, checkpoint id)`` of every checkpoint of a thread (headers only: no values read)."""
        query = CheckpointQuery(thread=thread, headers_only=True)
        return {(c.checkpoint_ns, c.checkpoint_id) for c in (r.checkpoint for r in self.repository.list_checkpoints(query))}

    # -- stats and verify -----------------------------------------------------------------------
    def stats(self, thread: ThreadKey) -> ThreadStats:
        data = self.raw_thread(thread)
        times = [t for t in (checkpoint_time(c.checkpoint_id) for c in data.checkpoints) if t is not None]
        return ThreadStats(
            thread=thread,
            checkpoints=len(data.checkpoints),
            writes=len(data.writes),
            blobs=len(data.blobs),
            bytes=_size(data),
            namespaces=len({c.checkpoint_ns for c in data.checkpoints}),
            oldest=min(times) if times else None,
            newest=max(times) if times else None,
        )

    def verify(self, thread: ThreadKey) -> list[Problem]:
        """Integrity of one thread: every checkpoint's blobs present, parents present, no orphans."""
        data = self.raw_thread(thread)
        problems: list[Problem] = []
        ids = {(c.checkpoint_ns, c.checkpoint_id) for c in data.checkpoints}
        blobs = {(ns, b.channel, str(b.version)) for ns, b in data.blobs}
        referenced: set[tuple[str, str, str]] = set()
        oldest: dict[str, str] = {}
        for cp in data.checkpoints:
            if cp.checkpoint_ns not in oldest or cp.checkpoint_id < oldest[cp.checkpoint_ns]:
                oldest[cp.checkpoint_ns] = cp.checkpoint_id
        for cp in data.checkpoints:
            for channel, version in cp.channel_versions.items():
                ref = (cp.checkpoint_ns, channel, str(version))
                referenced.add(ref)
                if ref not in blobs and not getattr(self.repository, "omits_cleared_channels", False):
                    problems.append(
                        Problem(thread, "missing-blob", f"checkpoint {cp.checkpoint_id} (ns {cp.checkpoint_ns!r}) "
                                f"needs channel {channel!r} version {version!r}")  # fmt: skip
                    )
            # A pruned history starts at its oldest stored checkpoint, whose parent is gone by design.
            truncated = cp.checkpoint_id == oldest[cp.checkpoint_ns]
            if cp.parent_checkpoint_id and (cp.checkpoint_ns, cp.parent_checkpoint_id) not in ids and not truncated:
                problems.append(
                    Problem(thread, "missing-parent", f"checkpoint {cp.checkpoint_id} (ns {cp.checkpoint_ns!r}) "
                            f"has parent {cp.parent_checkpoint_id} that is not stored")  # fmt: skip
                )
        for w in data.writes:
            if (w.checkpoint_ns, w.checkpoint_id) not in ids:
                problems.append(
                    Problem(thread, "orphan-write", f"write {w.task_id}/{w.idx} to {w.channel!r} of checkpoint "
                            f"{w.checkpoint_id} that is not stored")  # fmt: skip
                )
        for ns, channel, version in sorted(blobs - referenced):
            problems.append(Problem(thread, "orphan-blob", f"channel {channel!r} version {version!r} (ns {ns!r}) is referenced by no checkpoint"))
        return problems

    # -- prune --------------------------------------------------------------------------------------
    def prune(
        self,
        thread: ThreadKey,
        *,
        keep_last: Optional[int] = None,
        older_than: Optional[float] = None,
        now: Callable[[], float] = time.time,
        dry_run: bool = False,
    ) -> int:
        """Delete checkpoints of each namespace (never its newest); returns how many go.

        Args:
            thread: the thread (and actor).
            keep_last: keep this many newest checkpoints per namespace.
            older_than: delete checkpoints older than this many seconds.
            now: the clock for ``older_than``.
            dry_run: count, delete nothing.

        Raises:
            UnsupportedOperationError: the backend cannot prune.
        """
        if not isinstance(self.repository, CheckpointPruner):
            raise UnsupportedOperationError(f"{type(self.repository).__name__} cannot prune checkpoints")
        records = self.service.list(CheckpointQuery(thread=thread, headers_only=True))
        by_ns: dict[str, list[StoredCheckpoint]] = {}
        for record in records:
            by_ns.setdefault(record.checkpoint.checkpoint_ns, []).append(record.checkpoint)
        cutoff = None if older_than is None else now() - older_than
        removed = 0
        for ns, checkpoints in by_ns.items():
            newest_first = sorted(checkpoints, key=lambda c: c.checkpoint_id, reverse=True)
            keep = {newest_first[0].checkpoint_id}
            for i, cp in enumerate(newest_first):
                young = cutoff is None or (checkpoint_time(cp.checkpoint_id) or cutoff) >= cutoff
                recent = keep_last is None or i < keep_last
                if young and recent:
                    keep.add(cp.checkpoint_id)
            gone = len(newest_first) - len(keep)
            if gone and not dry_run:
                self.service.run(_pruned(thread, ns, sorted(keep)))
            removed += gone
        return removed

    # -- migrate -------------------------------------------------------------------------------------
    def migrate_thread(self, target: Operations, source: ThreadKey, destination: Optional[ThreadKey] = None) -> MigrationOutcome:
        """Copy one thread to ``target`` unless it is already complete there (resumable, idempotent).

        A failure is reported in the outcome; it never raises, so one bad thread
        does not stop a migration of many.
        """
        dest = destination or source
        try:
            data = self.service.export_thread(source)
            present = target.checkpoint_ids(dest)
            wanted = {(c.checkpoint_ns, c.checkpoint_id) for c in data.checkpoints}
            if wanted and wanted <= present:
                return MigrationOutcome(source, dest, "skipped", len(data.checkpoints), len(data.writes))
            if data.checkpoints:
                target.service.import_thread(data.retarget(dest))
            copied = target.checkpoint_ids(dest)
            if not wanted <= copied:
                missing = len(wanted - copied)
                return MigrationOutcome(source, dest, "failed", error=f"{missing} checkpoints missing at the target after the copy")
            return MigrationOutcome(source, dest, "copied", len(data.checkpoints), len(data.writes))
        except Exception as exc:  # noqa: BLE001 - reported per thread, the migration goes on
            return MigrationOutcome(source, dest, "failed", error=f"{type(exc).__name__}: {exc}")

    def copy(self, source: ThreadKey, target: Operations, destination: ThreadKey) -> int:
        """Copy a thread to another thread id, on this backend or another; returns checkpoints copied."""
        data = self.service.export_thread(source)
        if data.checkpoints:
            target.service.import_thread(data.retarget(destination))
        return len(data.checkpoints)


def _listed(repository: ThreadLister) -> Program[list[ThreadKey]]:
    keys: list[ThreadKey] = yield Call("repository", "list_threads", (), collect=True)
    return keys


def _exported(thread: ThreadKey) -> Program[ThreadData]:
    data: ThreadData = yield Call("repository", "export_thread", (thread,))
    return data


def _pruned(thread: ThreadKey, ns: str, keep: Sequence[str]) -> Program[None]:
    yield Call("repository", "prune", (thread, ns, keep))
