"""Plans: the port operations of an adapter written once, run by a sync or an async driver.

A plan is a generator that yields rounds of requests (a list), receives their
answers (a list in the same order) and returns the operation's result. The S3
and Bedrock sessions adapters keep every operation as a plan in one ``plans``
object; their sync repository runs a round on threads, their async one on
aiobotocore. The mixins below give both repositories the port methods, each
one plan handed to ``run``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Collection, Generator, Iterator, Sequence
from typing import Any, Callable, Optional, TypeVar

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
from ...domain.ports import BlobRef

__all__ = ["Plan", "in_parallel", "PlanDrivenRepository", "AsyncPlanDrivenRepository"]

T = TypeVar("T")

Plan = Generator[list[Any], list[Any], T]


def in_parallel(plans: Sequence[Plan[Any]]) -> Plan[list[Any]]:
    """Run plans side by side: each round holds the requests of every plan still running;
    returns their values, in order."""
    results: list[Any] = [None] * len(plans)
    pending: dict[int, list[Any]] = {}
    for i, plan in enumerate(plans):
        try:
            pending[i] = next(plan)
        except StopIteration as done:
            results[i] = done.value
    while pending:
        order = list(pending)
        merged = [op for i in order for op in pending[i]]
        answers = yield merged
        pos = 0
        nxt: dict[int, list[Any]] = {}
        for i in order:
            n = len(pending[i])
            try:
                nxt[i] = plans[i].send(answers[pos : pos + n])
            except StopIteration as done:
                results[i] = done.value
            pos += n
        pending = nxt
    return results


class PlanDrivenRepository:
    """The checkpoint port and its capabilities (AncestryReader, CheckpointPruner,
    ThreadLister, ThreadTransfer) over ``self.plans``, each plan run by ``self.run``."""

    plans: Any
    run: Callable[[Plan[Any]], Any]

    def put_checkpoint(self, checkpoint: StoredCheckpoint, blobs: Sequence[ChannelBlob]) -> None:
        self.run(self.plans.put_checkpoint(checkpoint, blobs))

    def put_writes(self, writes: Sequence[StoredWrite]) -> None:
        if writes:
            self.run(self.plans.put_writes(writes))

    def get_checkpoint(self, key: CheckpointKey) -> Optional[CheckpointRecord]:
        found: Optional[CheckpointRecord] = self.run(self.plans.get_checkpoint(key))
        return found

    def list_checkpoints(self, query: CheckpointQuery) -> Iterator[CheckpointRecord]:
        records: list[CheckpointRecord] = self.run(self.plans.list_checkpoints(query))
        return iter(records)

    def delete_thread(self, thread_id: str, actor_id: Optional[str] = None) -> None:
        self.run(self.plans.delete_thread(thread_id, actor_id))

    def scan_checkpoints(self, thread: ThreadKey, checkpoint_ns: Optional[str] = None) -> list[StoredCheckpoint]:
        headers: list[StoredCheckpoint] = self.run(self.plans.scan_checkpoints(thread, checkpoint_ns))
        return headers

    def get_blobs(self, thread: ThreadKey, checkpoint_ns: str, refs: Sequence[BlobRef]) -> dict[BlobRef, ChannelBlob]:
        found: dict[BlobRef, ChannelBlob] = self.run(self.plans.get_blobs(thread, checkpoint_ns, refs))
        return found

    def get_writes(self, thread: ThreadKey, checkpoint_ns: str, checkpoint_ids: Sequence[str]) -> dict[str, list[StoredWrite]]:
        found: dict[str, list[StoredWrite]] = self.run(self.plans.get_writes(thread, checkpoint_ns, checkpoint_ids))
        return found

    def delete_checkpoints(self, thread: ThreadKey, checkpoint_ns: str, checkpoint_ids: Sequence[str]) -> None:
        """Delete checkpoint headers and their writes."""
        self.run(self.plans.delete_checkpoints(thread, checkpoint_ns, checkpoint_ids))

    def delete_blobs(self, thread: ThreadKey, checkpoint_ns: str, refs: Sequence[BlobRef]) -> None:
        """Delete channel blobs by ``(channel, version)``; missing ones are ignored."""
        self.run(self.plans.delete_blobs(thread, checkpoint_ns, refs))

    def prune(self, thread: ThreadKey, checkpoint_ns: str, keep_ids: Collection[str]) -> None:
        self.run(self.plans.prune(thread, checkpoint_ns, keep_ids))

    def list_threads(self) -> Iterator[ThreadKey]:
        threads: list[ThreadKey] = self.run(self.plans.list_threads())
        return iter(threads)

    def export_thread(self, thread: ThreadKey) -> ThreadData:
        data: ThreadData = self.run(self.plans.export_thread(thread))
        return data

    def import_thread(self, data: ThreadData) -> None:
        self.run(self.plans.import_thread(data))


class AsyncPlanDrivenRepository:
    """``PlanDrivenRepository`` for the async ports: each plan awaited through ``self.run``."""

    plans: Any
    run: Callable[[Plan[Any]], Awaitable[Any]]

    async def put_checkpoint(self, checkpoint: StoredCheckpoint, blobs: Sequence[ChannelBlob]) -> None:
        await self.run(self.plans.put_checkpoint(checkpoint, blobs))

    async def put_writes(self, writes: Sequence[StoredWrite]) -> None:
        if writes:
            await self.run(self.plans.put_writes(writes))

    async def get_checkpoint(self, key: CheckpointKey) -> Optional[CheckpointRecord]:
        found: Optional[CheckpointRecord] = await self.run(self.plans.get_checkpoint(key))
        return found

    async def list_checkpoints(self, query: CheckpointQuery) -> AsyncIterator[CheckpointRecord]:
        for record in await self.run(self.plans.list_checkpoints(query)):
            yield record

    async def delete_thread(self, thread_id: str, actor_id: Optional[str] = None) -> None:
        await self.run(self.plans.delete_thread(thread_id, actor_id))

    async def scan_checkpoints(self, thread: ThreadKey, checkpoint_ns: Optional[str] = None) -> list[StoredCheckpoint]:
        headers: list[StoredCheckpoint] = await self.run(self.plans.scan_checkpoints(thread, checkpoint_ns))
        return headers

    async def get_blobs(self, thread: ThreadKey, checkpoint_ns: str, refs: Sequence[BlobRef]) -> dict[BlobRef, ChannelBlob]:
        found: dict[BlobRef, ChannelBlob] = await self.run(self.plans.get_blobs(thread, checkpoint_ns, refs))
        return found

    async def get_writes(
        self, thread: ThreadKey, checkpoint_ns: str, checkpoint_ids: Sequence[str]
    ) -> dict[str, list[StoredWrite]]:
        found: dict[str, list[StoredWrite]] = await self.run(self.plans.get_writes(thread, checkpoint_ns, checkpoint_ids))
        return found

    async def delete_checkpoints(self, thread: ThreadKey, checkpoint_ns: str, checkpoint_ids: Sequence[str]) -> None:
        await self.run(self.plans.delete_checkpoints(thread, checkpoint_ns, checkpoint_ids))

    async def delete_blobs(self, thread: ThreadKey, checkpoint_ns: str, refs: Sequence[BlobRef]) -> None:
        await self.run(self.plans.delete_blobs(thread, checkpoint_ns, refs))

    async def prune(self, thread: ThreadKey, checkpoint_ns: str, keep_ids: Collection[str]) -> None:
        await self.run(self.plans.prune(thread, checkpoint_ns, keep_ids))

    async def list_threads(self) -> AsyncIterator[ThreadKey]:
        for thread in await self.run(self.plans.list_threads()):
            yield thread

    async def export_thread(self, thread: ThreadKey) -> ThreadData:
        data: ThreadData = await self.run(self.plans.export_thread(thread))
        return data

    async def import_thread(self, data: ThreadData) -> None:
        await self.run(self.plans.import_thread(data))
