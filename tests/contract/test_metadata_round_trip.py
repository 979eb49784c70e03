"""Any checkpoint metadata round-trips, and filters on it, the same way on every saver.

Subgraph checkpoints carry ``parents={"": <id>}``: an empty key, which DynamoDB
cannot store as a map key. Keys with ``.``, ``#``, ``:`` or unicode are
expression syntax on some backends, and NaN or infinite floats have no JSON
form. Every saver must hand back exactly what was put, and ``list(filter=...)``
must select the same checkpoints on every backend.
"""

from __future__ import annotations

import asyncio
import math
from typing import Any

from langgraph.checkpoint.base import create_checkpoint, empty_checkpoint

ACTOR = "metadata-actor"
"""AgentCore savers need ``configurable.actor_id``; the others ignore it."""

ODD_KEYS = ["", ".", "a.b", "#", "a#b", ":", "a:b", "ünï©ødé", "日本", "~", "~x", "~~", "$", "a b", "md"]


def odd_metadata(i: int) -> dict[str, Any]:
    """Metadata with every awkward key and value, varied by ``i`` so filters can tell them apart."""
    md: dict[str, Any] = {
        "source": "loop",
        "step": i,
        "parents": {"": f"parent-{i}"},
        "nan": math.nan,
        "inf": math.inf,
        "ninf": -math.inf,
        "floats": [1.5, math.nan, -math.inf],
        "nested": {"": {"a.b": {"#": [i, {"": None}]}, ":": math.inf}, "u:ñ": "v", "~": "tilde"},
        "tree": {"": {"a.b": {"#": [i, {"": None}]}}, "u:ñ": "v", "~": "tilde"},
        "empty": {},
        "parity": "even" if i % 2 == 0 else "odd",
    }
    for k in ODD_KEYS:
        md[k] = f"{k}-{i}"
    return md


def expected(i: int) -> dict[str, Any]:
    """What a saver returns: LangGraph adds the config's plain ``configurable`` values (here ``actor_id``)."""
    return {**odd_metadata(i), "actor_id": ACTOR}


def same(a: Any, b: Any) -> bool:
    """Deep equality where NaN equals NaN and types must match (1 is not 1.0 nor True)."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return bool(a == b)


def config(thread: str, ns: str = "", checkpoint_id: str | None = None) -> dict[str, Any]:
    configurable: dict[str, Any] = {"thread_id": thread, "checkpoint_ns": ns, "actor_id": ACTOR}
    if checkpoint_id is not None:
        configurable["checkpoint_id"] = checkpoint_id
    return {"configurable": configurable}


async def _put_three(saver: Any, thread: str) -> list[str]:
    """Three checkpoints of ``thread`` (steps 0, 1, 2), each with ``odd_metadata(step)``."""
    ids = []
    parent = config(thread)
    checkpoint = empty_checkpoint()
    for i in range(3):
        checkpoint = create_checkpoint(checkpoint, None, i)
        stored = await saver.aput(parent, checkpoint, odd_metadata(i), {})
        ids.append(stored["configurable"]["checkpoint_id"])
        parent = config(thread, checkpoint_id=ids[-1])
    return ids


async def test_any_metadata_round_trips_through_get_tuple_and_list(saver_factory) -> None:  # type: ignore[no-untyped-def]
    saver = saver_factory()
    ids = await _put_three(saver, "md-thread")

    latest = await saver.aget_tuple(config("md-thread"))
    assert latest is not None and same(latest.metadata, expected(2)), latest.metadata
    first = await saver.aget_tuple(config("md-thread", checkpoint_id=ids[0]))
    assert first is not None and same(first.metadata, expected(0)), first.metadata

    listed = [t async for t in saver.alist(config("md-thread"))]
    assert [t.config["configurable"]["checkpoint_id"] for t in listed] == ids[::-1]
    for t, step in zip(listed, (2, 1, 0)):
        assert same(t.metadata, expected(step)), t.metadata
    # Listing every thread (no config) decodes the same items.
    everything = [t async for t in saver.alist(None)]
    assert sorted(t.metadata["step"] for t in everything) == [0, 1, 2]

    # The sync API reads the same values (from another thread: async-client savers need their loop free).
    sync_latest = await asyncio.to_thread(saver.get_tuple, config("md-thread"))
    assert same(sync_latest.metadata, expected(2))
    sync_listed = await asyncio.to_thread(lambda: list(saver.list(config("md-thread"))))
    assert [t.metadata["step"] for t in sync_listed] == [2, 1, 0]


async def test_filters_on_awkward_keys_and_values(saver_factory) -> None:  # type: ignore[no-untyped-def]
    saver = saver_factory()
    ids = await _put_three(saver, "flt-thread")
    await _put_three(saver, "other-thread")

    async def steps(flt: dict[str, Any], cfg: Any = None) -> list[int]:
        cfg = config("flt-thread") if cfg is None else cfg
        return [t.metadata["step"] async for t in saver.alist(cfg, filter=flt)]

    # Ordinary keys, as LangGraph filters them (on the server on Valkey and DynamoDB).
    assert await steps({"source": "loop"}) == [2, 1, 0]
    assert await steps({"step": 1}) == [1]
    assert await steps({"parity": "even"}) == [2, 0]
    assert await steps({"parity": "even", "step": 0}) == [0]
    assert await steps({"parity": "odd", "step": 0}) == []
    assert await steps({"missing": None}) == []
    # Keys that are expression syntax, unicode or escape characters, and nested values with such keys.
    for key in ODD_KEYS:
        if key:  # an empty filter key is rejected by validation, see test_empty_filter_key_is_rejected
            assert await steps({key: f"{key}-1"}) == [1], key
    assert await steps({"parents": {"": "parent-2"}}) == [2]
    assert await steps({"parents": {"": "parent-9"}}) == []
    assert await steps({"empty": {}}) == [2, 1, 0]
    assert await steps({"tree": odd_metadata(1)["tree"]}) == [1]
    assert await steps({"tree": {"": {}}}) == []
    # Every thread, every namespace.
    across = [t.metadata["step"] async for t in saver.alist(None, filter={"a.b": "a.b-0"})]
    assert across == [0, 0]
    assert len(ids) == 3


async def test_non_finite_floats_are_null_to_every_backend(saver_factory) -> None:  # type: ignore[no-untyped-def]
    """Backends see strict JSON: NaN and infinities are stored (and so filtered) as null everywhere alike.

    Reads still return the exact floats, from the typed copy the saver keeps.
    """
    saver = saver_factory()
    await _put_three(saver, "nan-thread")
    matched = [t async for t in saver.alist(config("nan-thread"), filter={"nan": None, "inf": None, "ninf": None})]
    assert [t.metadata["step"] for t in matched] == [2, 1, 0]
    assert all(math.isnan(t.metadata["nan"]) and t.metadata["ninf"] == -math.inf for t in matched)
    assert [t async for t in saver.alist(config("nan-thread"), filter={"nan": "NaN"})] == []
