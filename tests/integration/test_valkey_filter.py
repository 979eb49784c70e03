"""list(filter=...) on Valkey returns what InMemorySaver returns, needle pre-check included."""

from __future__ import annotations

from typing import Any

import pytest
from langgraph.checkpoint.base import empty_checkpoint
from langgraph.checkpoint.memory import InMemorySaver

from langgraph_checkpoint_aws import ValkeySaver

METADATA: list[dict[str, Any]] = [
    {"step": 5, "source": "loop"},
    {"step": 5.0, "source": "loopy"},
    {"step": 50, "source": "input"},
    {"step": -5, "source": "loop", "tags": {"step": 5}},
    {"step": 7, "source": "lo\"op", "flag": True},
    {"step": 0.5, "source": "émoji ☃", "flag": False, "none": None},
    {"nested": {"a": 1, "b": [1, 2]}, "source": "loop"},
    {"step": 2**60, "source": "big"},
]

FILTERS: list[dict[str, Any]] = [
    {"step": 5},
    {"step": 5.0},
    {"step": 50},
    {"step": -5},
    {"step": 0.5},
    {"source": "loop"},
    {"source": "lo\"op"},
    {"source": "émoji ☃"},
    {"flag": False},
    {"flag": True},
    # {"none": None} is left out on purpose: InMemorySaver matches a missing key
    # (metadata.get(k) == None) while this library, like the Postgres saver's
    # JSONB containment, matches only a key stored with null.
    {"nested": {"a": 1, "b": [1, 2]}},
    {"step": 5, "source": "loopy"},
    {"step": 2**60},
    {"missing": 1},
]


def _fill(saver: Any) -> None:
    for i, md in enumerate(METADATA):
        cp = empty_checkpoint()
        cp["id"] = f"1ef00000-0000-6000-8000-{i:012d}"
        saver.put({"configurable": {"thread_id": "t", "checkpoint_ns": ""}}, cp, md, {})


@pytest.mark.parametrize("flt", FILTERS, ids=[repr(f) for f in FILTERS])
def test_filters_match_in_memory_saver(valkey_sync, flt: dict[str, Any]) -> None:  # type: ignore[no-untyped-def]
    ours, control = ValkeySaver(valkey_sync), InMemorySaver()
    _fill(ours)
    _fill(control)
    config = {"configurable": {"thread_id": "t"}}

    def ids(saver: Any) -> list[str]:
        return [t.checkpoint["id"] for t in saver.list(config, filter=flt)]

    assert ids(ours) == ids(control)
    ours.close()


# -- metadata copies: the fast path, and threads written before copies existed -------------

COPY_MODES = ("every copy", "no copy", "some copies")


def _drop_copies(client: Any, saver: Any, mode: str) -> None:
    """Make the thread look as if (part of) it was written before metadata copies existed."""
    keys = [k for k in saver.repository.thread_keys("t") if ":metadata:" in k]
    assert keys, "every namespace has a metadata hash"
    for key in keys:
        if mode == "no copy":
            client.delete(key)
        elif mode == "some copies":
            fields = sorted(client.hkeys(key))
            client.hdel(key, *fields[::2])


@pytest.mark.parametrize("mode", COPY_MODES)
def test_filters_agree_with_and_without_metadata_copies(valkey_sync, mode: str) -> None:  # type: ignore[no-untyped-def]
    ours, control = ValkeySaver(valkey_sync), InMemorySaver()
    for saver in (ours, control):
        _fill(saver)
        for i, md in enumerate(METADATA[:4]):  # a second namespace with the same metadata
            cp = empty_checkpoint()
            cp["id"] = f"1ef00000-0000-6000-8000-{i + 100:012d}"
            saver.put({"configurable": {"thread_id": "t", "checkpoint_ns": "sub"}}, cp, md, {})
    _drop_copies(valkey_sync, ours, mode)
    before = {"configurable": {"thread_id": "t", "checkpoint_ns": "", "checkpoint_id": "1ef00000-0000-6000-8000-000000000003"}}

    def ids(saver: Any, config: Any, flt: dict[str, Any], **kw: Any) -> list[tuple[str, str]]:
        return [(t.config["configurable"]["checkpoint_ns"], t.checkpoint["id"])
                for t in saver.list(config, filter=flt, **kw)]

    for flt in FILTERS:
        for config, kw in (
            ({"configurable": {"thread_id": "t"}}, {}),
            ({"configurable": {"thread_id": "t", "checkpoint_ns": ""}}, {"limit": 1}),
            ({"configurable": {"thread_id": "t", "checkpoint_ns": "sub"}}, {}),
            ({"configurable": {"thread_id": "t", "checkpoint_ns": ""}}, {"before": before}),
        ):
            got, want = ids(ours, config, flt, **kw), ids(control, config, flt, **kw)
            if "checkpoint_ns" not in config["configurable"]:
                # InMemorySaver lists namespace by namespace; ours newest id first across them.
                assert got == sorted(got, key=lambda r: r[1], reverse=True)
                got, want = sorted(got), sorted(want)
            assert got == want, (mode, flt, config, kw)
    ours.close()


def test_filter_scans_metadata_copies_not_headers(valkey_sync) -> None:  # type: ignore[no-untyped-def]
    """One HGETALL of the small metadata copies, one HGET per match: no header is read by id
    batch (HMGET through a script costs far more per field than HGETALL)."""
    saver = ValkeySaver(valkey_sync)
    cfg: Any = {"configurable": {"thread_id": "t", "checkpoint_ns": ""}}
    for step in range(60):
        cp = empty_checkpoint()
        cp["id"] = f"1ef00000-0000-6000-8000-{step:012d}"
        cfg = saver.put(cfg, cp, {"source": "loop", "step": step, "padding": "x" * 500}, {})
    valkey_sync.config_resetstat()
    found = list(saver.list({"configurable": {"thread_id": "t"}}, filter={"step": 17}))
    assert [t.metadata["step"] for t in found] == [17]
    stats = valkey_sync.info("commandstats")
    calls = {k.removeprefix("cmdstat_"): v["calls"] for k, v in stats.items()}
    assert calls.get("hgetall") == 1, calls
    assert calls.get("hget") == 1, calls
    assert "zrevrangebylex" not in calls, calls
    # With a limit the index is walked newest first, and the walk stops at the limit: a
    # recent match costs one small chunk of copies, not every copy of the thread.
    valkey_sync.config_resetstat()
    found = list(saver.list({"configurable": {"thread_id": "t"}}, filter={"source": "loop"}, limit=1))
    assert [t.metadata["step"] for t in found] == [59]
    stats = valkey_sync.info("commandstats")
    calls = {k.removeprefix("cmdstat_"): v["calls"] for k, v in stats.items()}
    assert "hgetall" not in calls, calls
    assert calls.get("hmget") == 1 and calls.get("hget") == 1, calls
    saver.close()
