"""Bad input to the saver: clear errors or the documented empty result, nothing corrupted."""

from __future__ import annotations

import asyncio

import pytest
from langgraph.checkpoint.base import empty_checkpoint

from langgraph_checkpoint_aws import InvalidInputError, create_saver


@pytest.fixture
def saver():  # type: ignore[no-untyped-def]
    s = create_saver({"backend": "memory"})
    cp = empty_checkpoint()
    s.put({"configurable": {"thread_id": "keep", "checkpoint_ns": ""}}, cp, {"step": 1}, {})
    return s


def test_missing_thread_id(saver) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidInputError, match="configurable.thread_id"):
        saver.put({"configurable": {}}, empty_checkpoint(), {}, {})
    with pytest.raises(InvalidInputError, match="configurable.thread_id"):
        saver.get_tuple({"configurable": {"checkpoint_ns": ""}})
    with pytest.raises(InvalidInputError, match="configurable.thread_id"):
        asyncio.run(saver.aget_tuple({}))
    with pytest.raises(InvalidInputError, match="thread_id"):
        saver.delete_thread("")


def test_unknown_checkpoint_id_is_none(saver) -> None:  # type: ignore[no-untyped-def]
    assert saver.get_tuple({"configurable": {"thread_id": "keep", "checkpoint_id": "nope"}}) is None
    assert list(saver.list({"configurable": {"thread_id": "keep", "checkpoint_id": "nope"}})) == []


@pytest.mark.parametrize("flt", [["step", 1], {1: "x"}, "step=1"])
def test_malformed_filter(saver, flt) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidInputError, match="filter"):
        list(saver.list(None, filter=flt))
    assert len(list(saver.list({"configurable": {"thread_id": "keep"}}))) == 1


def test_put_writes_needs_a_checkpoint_id(saver) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidInputError, match="checkpoint_id"):
        saver.put_writes({"configurable": {"thread_id": "keep"}}, [("c", 1)], "task")


def test_actor_required_when_configured() -> None:
    from langgraph_checkpoint_aws import RepositorySaver, create_container

    container = create_container({"backend": "memory"})
    saver = RepositorySaver(container.checkpoint_service(), require_actor_id=True, container=container)
    with pytest.raises(InvalidInputError, match="configurable.actor_id"):
        saver.put({"configurable": {"thread_id": "s"}}, empty_checkpoint(), {}, {})
    cfg = saver.put({"configurable": {"thread_id": "s", "actor_id": "a", "checkpoint_ns": ""}}, empty_checkpoint(), {}, {})
    assert cfg["configurable"]["actor_id"] == "a"
    assert saver.get_tuple(cfg) is not None
    assert saver.get_tuple({"configurable": {"thread_id": "s", "actor_id": "b"}}) is None


def test_metadata_that_is_not_json_round_trips(saver) -> None:  # type: ignore[no-untyped-def]
    import datetime

    when = datetime.datetime(2026, 1, 2, tzinfo=datetime.timezone.utc)
    cfg = {"configurable": {"thread_id": "md", "checkpoint_ns": ""}}
    stored = saver.put(cfg, empty_checkpoint(), {"when": when, "pair": (1, 2), "step": 3}, {})
    md = saver.get_tuple(stored).metadata
    assert md["when"] == when and md["step"] == 3
    assert [t.metadata["step"] for t in saver.list(None, filter={"step": 3})] == [3]


@pytest.mark.parametrize("value", [float("nan"), float("inf"), {"nested": [float("-inf")]}])
def test_a_filter_on_a_non_finite_number_is_refused(value: object) -> None:
    saver = create_saver({"backend": "memory"})
    with pytest.raises(InvalidInputError, match="filter values must be finite"):
        list(saver.list(None, filter={"score": value}))
