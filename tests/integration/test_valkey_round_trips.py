"""Round trips per operation, counted at the socket (a pipeline or a script counts once)."""

from __future__ import annotations

import pytest

from langgraph_checkpoint_aws.langgraph_bindings.valkey import AgentCoreValkeySaver, ValkeySaver
from tests.integration._valkey_data import config, put_step
from tests.integration._valkey_support import counting_client


@pytest.mark.parametrize("cls", [ValkeySaver, AgentCoreValkeySaver])
def test_one_round_trip_per_operation(valkey_sync, valkey_standalone, cls) -> None:  # type: ignore[no-untyped-def]
    client, counter = counting_client(valkey_standalone.port)
    extra = {"actor_id": "agent"} if cls is AgentCoreValkeySaver else {}
    saver = cls(client)
    parent = None
    for i in range(40):
        parent = put_step(saver, "t", i, parent and parent["configurable"]["checkpoint_id"], big="x" * 20_000, **extra)
        saver.put_writes(parent, [("a", i), ("b", i), ("c", i), ("d", i), ("e", i)], task_id=f"task-{i}")
    latest_id = parent["configurable"]["checkpoint_id"]

    def count(fn):  # type: ignore[no-untyped-def]
        before = counter["round_trips"]
        result = fn()
        return counter["round_trips"] - before, result

    trips, tup = count(lambda: saver.get_tuple(config("t", **extra)))
    assert trips == 1 and tup.checkpoint["id"] == latest_id
    assert len(tup.pending_writes) == 5 and tup.checkpoint["channel_values"]["big"] == "x" * 20_000
    trips, tup = count(lambda: saver.get_tuple(config("t", latest_id, **extra)))
    assert trips == 1 and len(tup.pending_writes) == 5
    trips, _ = count(lambda: put_step(saver, "t", 40, latest_id, big="x" * 20_000, **extra))
    assert trips == 1
    trips, _ = count(lambda: saver.put_writes(config("t", latest_id, **extra), [("a", 1)] * 5, task_id="again"))
    assert trips == 1
    trips, listed = count(lambda: list(saver.list(config("t", **extra), limit=10)))
    assert trips == 1 and len(listed) == 10
    trips, listed = count(lambda: list(saver.list(config("t", **extra), filter={"step": 7})))
    assert trips == 1 and [t.metadata["step"] for t in listed] == [7]
    trips, listed = count(lambda: list(saver.list(config("t", **extra), before=config("t", latest_id), limit=3)))
    assert trips == 1 and len(listed) == 3
    trips, _ = count(lambda: saver.delete_thread("t"))
    assert trips == 1
    assert saver.get_tuple(config("t", **extra)) is None


def test_unchanged_channel_is_stored_once(valkey_sync) -> None:  # type: ignore[no-untyped-def]
    saver = ValkeySaver(valkey_sync)
    parent = None
    for i in range(30):
        parent = put_step(saver, "t", i, parent and parent["configurable"]["checkpoint_id"], big="y" * 20_000)
    blob_key = saver.repository.thread_keys("t")[3]
    assert "blobs" in blob_key
    assert valkey_sync.hlen(blob_key) == 31  # 30 versions of "step" + one of "big"
    raw = valkey_sync.hvals(blob_key)
    assert sum(len(v) for v in raw) < 20_000 + 31 * 100
    assert any(b"y" * 1000 in v for v in raw)  # raw bytes, not base64
