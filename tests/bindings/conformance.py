"""Run the official langgraph-checkpoint-conformance suite through both saver APIs.

The suite only calls async methods; ``SyncOnly`` re-routes every async method
it uses to the saver's sync method (in a worker thread), so the sync API is
what actually runs. The suite builds its own configs, which name no actor:
for a saver that requires one (``require_actor_id``), ``WithActor`` adds
``configurable.actor_id`` to every config that names a thread, as a user of
an AgentCore saver does; the thread-id-only methods (``delete_thread``,
``copy_thread``, ``prune``) get no actor, so they must act on every actor.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.conformance import checkpointer_test, validate
from langgraph.checkpoint.conformance.report import CapabilityReport

__all__ = ["SyncOnly", "WithActor", "CONFORMANCE_ACTOR", "run_conformance", "assert_all_passed"]

CONFORMANCE_ACTOR = "conformance-actor"


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


class WithActor(BaseCheckpointSaver):
    """Adds ``configurable.actor_id`` to every config the suite passes that names a thread.

    Configs without a thread (listing across threads) stay as they are: an
    actor alone names nothing, and the saver rejects it.
    """

    def __init__(self, inner: BaseCheckpointSaver, actor_id: str = CONFORMANCE_ACTOR) -> None:
        super().__init__(serde=inner.serde)
        self.inner = inner
        self.actor_id = actor_id

    def _with_actor(self, config):  # type: ignore[no-untyped-def]
        if config is None:
            return None
        configurable = config.get("configurable") or {}
        if configurable.get("thread_id") in (None, ""):
            return config
        return {**config, "configurable": {**configurable, "actor_id": self.actor_id}}

    async def aget_tuple(self, config):  # type: ignore[no-untyped-def]
        return await self.inner.aget_tuple(self._with_actor(config))

    async def alist(self, config, *, filter=None, before=None, limit=None):  # type: ignore[no-untyped-def]
        async for item in self.inner.alist(
            self._with_actor(config), filter=filter, before=self._with_actor(before), limit=limit
        ):
            yield item

    async def aput(self, config, checkpoint, metadata, new_versions):  # type: ignore[no-untyped-def]
        return await self.inner.aput(self._with_actor(config), checkpoint, metadata, new_versions)

    async def aput_writes(self, config, writes, task_id, task_path=""):  # type: ignore[no-untyped-def]
        return await self.inner.aput_writes(self._with_actor(config), writes, task_id, task_path)

    async def adelete_thread(self, thread_id):  # type: ignore[no-untyped-def]
        return await self.inner.adelete_thread(thread_id)

    async def adelete_for_runs(self, run_ids):  # type: ignore[no-untyped-def]
        return await self.inner.adelete_for_runs(run_ids)

    async def acopy_thread(self, source_thread_id, target_thread_id):  # type: ignore[no-untyped-def]
        return await self.inner.acopy_thread(source_thread_id, target_thread_id)

    async def aprune(self, thread_ids, *, strategy="keep_latest"):  # type: ignore[no-untyped-def]
        return await self.inner.aprune(thread_ids, strategy=strategy)

    def get_next_version(self, current, channel):  # type: ignore[no-untyped-def]
        return self.inner.get_next_version(current, channel)


async def run_conformance(name: str, make_saver: Callable[[], Any], *, sync_api: bool) -> CapabilityReport:
    """Run all 8 capability groups against fresh savers from ``make_saver``.

    A saver that requires an actor gets ``WithActor`` on top (after ``SyncOnly``
    with ``sync_api``), so both APIs see the actor in configs only.
    """

    async def factory() -> AsyncIterator[BaseCheckpointSaver]:
        saver = make_saver()
        if asyncio.iscoroutine(saver):
            saver = await saver
        wrapped = SyncOnly(saver) if sync_api else saver
        yield WithActor(wrapped) if getattr(saver, "require_actor_id", False) else wrapped

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
