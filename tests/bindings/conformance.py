"""Run the official langgraph-checkpoint-conformance suite through both saver APIs.

The suite only calls async methods; ``SyncOnly`` re-routes every async method
it uses to the saver's sync method (in a worker thread), so the sync API is
what actually runs.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.conformance import checkpointer_test, validate
from langgraph.checkpoint.conformance.report import CapabilityReport

__all__ = ["SyncOnly", "run_conformance", "assert_all_passed"]


class SyncOnly(BaseCheckpointSaver):
    """Exposes a saver's sync API under the async names the suite calls."""

    def __init__(self, inner: BaseCheckpointSaver) -> None:
        super().__init__(serde=inner.serde)
        self.inner = inner

    async def aget_tuple(self, config):  # type: ignore[no-untyped-def]
        return await asyncio.to_thread(self.inner.get_tuple, config)

    async def alist(self, config, *, filter=None, before=None, limit=None):  # type: ignore[no-untyped-def]
        items = await asyncio.to_thread(lambda: list(self.inner.list(config, filter=filter, before=before, limit=limit)))
        for item in items:
            yield item

    async def aput(self, config, checkpoint, metadata, new_versions):  # type: ignore[no-untyped-def]
        return await asyncio.to_thread(self.inner.put, config, checkpoint, metadata, new_versions)

    async def aput_writes(self, config, writes, task_id, task_path=""):  # type: ignore[no-untyped-def]
        return await asyncio.to_thread(self.inner.put_writes, config, writes, task_id, task_path)

    async def adelete_thread(self, thread_id):  # type: ignore[no-untyped-def]
        return await asyncio.to_thread(self.inner.delete_thread, thread_id)

    async def adelete_for_runs(self, run_ids):  # type: ignore[no-untyped-def]
        return await asyncio.to_thread(self.inner.delete_for_runs, run_ids)

    async def acopy_thread(self, source_thread_id, target_thread_id):  # type: ignore[no-untyped-def]
        return await asyncio.to_thread(self.inner.copy_thread, source_thread_id, target_thread_id)

    async def aprune(self, thread_ids, *, strategy="keep_latest"):  # type: ignore[no-untyped-def]
        return await asyncio.to_thread(self.inner.prune, thread_ids, strategy=strategy)

    def get_next_version(self, current, channel):  # type: ignore[no-untyped-def]
        return self.inner.get_next_version(current, channel)


async def run_conformance(name: str, make_saver: Callable[[], Any], *, sync_api: bool) -> CapabilityReport:
    """Run all 8 capability groups against fresh savers from ``make_saver``."""

    async def factory() -> AsyncIterator[BaseCheckpointSaver]:
        saver = make_saver()
        if asyncio.iscoroutine(saver):
            saver = await saver
        yield SyncOnly(saver) if sync_api else saver

    registered = checkpointer_test(name=name)(factory)
    return await validate(registered)


def assert_all_passed(report: CapabilityReport, expected_total: int = 81) -> None:
    """81 passed, 0 failed, 0 skipped across the 8 groups, or a readable failure."""
    passed = sum(r.tests_passed for r in report.results.values())
    failed = sum(r.tests_failed for r in report.results.values())
    skipped = sum(r.tests_skipped for r in report.results.values())
    failures = [f for r in report.results.values() for f in r.failures]
    assert (passed, failed, skipped) == (expected_total, 0, 0), (
        f"conformance {report.checkpointer_name}: {passed} passed, {failed} failed, "
        f"{skipped} skipped\n" + "\n".join(failures)
    )
