"""The official conformance suite on the memory saver, through the async and the sync API."""

from __future__ import annotations

import pytest

from langgraph_checkpoint_aws.adapters.memory import InMemoryBlobStore, InMemoryCheckpointRepository
from langgraph_checkpoint_aws.application.checkpoints import CheckpointService
from langgraph_checkpoint_aws.application.payloads import PayloadCodec
from langgraph_checkpoint_aws.domain.policies import PayloadPolicy
from langgraph_checkpoint_aws.langgraph_bindings.checkpoint import RepositorySaver
from tests.bindings.conformance import assert_all_passed, run_conformance


def _memory_saver(compress: bool = False, offload: bool = False) -> RepositorySaver:
    codec = PayloadCodec(
        policy=PayloadPolicy(compress=compress, offload_threshold_bytes=64),
        blob_store=InMemoryBlobStore() if offload else None,
    )
    return RepositorySaver(CheckpointService(repository=InMemoryCheckpointRepository(), codec=codec))


@pytest.mark.parametrize("sync_api", [False, True], ids=["async-api", "sync-api"])
@pytest.mark.parametrize("shaping", ["plain", "compressed+offloaded"])
async def test_memory_saver_conformance(sync_api: bool, shaping: str) -> None:
    shaped = shaping != "plain"
    report = await run_conformance(
        f"memory-{shaping}", lambda: _memory_saver(compress=shaped, offload=shaped), sync_api=sync_api
    )
    assert_all_passed(report)
