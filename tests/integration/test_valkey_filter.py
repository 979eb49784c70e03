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
