"""LangGraph graphs run end to end on every registered saver, through the sync and the async API.

Every test takes ``saver_factory``, so it runs on each variant the backend
modules in tests/backends/ register (memory, Valkey standalone and cluster on
sync, async and multiplexed clients, the AgentCore layout, DynamoDB plain,
compressed and offloading to S3). The tests are coroutines so that savers on
an async client have their event loop running: the sync API (``invoke``,
``get_state``...) runs in a worker thread, as an application thread would.
"""

from __future__ import annotations

import asyncio
import operator
import secrets
from collections.abc import Callable
from typing import Annotated, Any, TypedDict, TypeVar

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, Send, interrupt

T = TypeVar("T")

ACTOR = "graph-actor"
"""AgentCore savers need ``configurable.actor_id``; the other savers ignore it."""


def cfg(thread_id: str) -> dict[str, Any]:
    return {"configurable": {"thread_id": thread_id, "actor_id": ACTOR}}


async def in_thread(fn: Callable[[], T]) -> T:
    """Run a block of sync API calls off the event loop (async-client savers bridge into it)."""
    return await asyncio.to_thread(fn)


class Inner(TypedDict):
    items: Annotated[list[str], operator.add]


class Fan(TypedDict):
    results: Annotated[list[str], operator.add]


class Big(TypedDict):
    blob: str
    n: int


class State(TypedDict):
    items: Annotated[list[str], operator.add]
    approved: bool


def _approval_graph(saver):  # type: ignore[no-untyped-def]
    def draft(state: State) -> dict:
        return {"items": ["draft"]}

    def review(state: State) -> dict:
        answer = interrupt({"question": "approve?", "items": state["items"]})
        return {"approved": answer == "yes", "items": [f"review:{answer}"]}

    def publish(state: State) -> dict:
        return {"items": ["published" if state["approved"] else "discarded"]}

    b = StateGraph(State)
    b.add_node("draft", draft)
    b.add_node("review", review)
    b.add_node("publish", publish)
    b.add_edge(START, "draft")
    b.add_edge("draft", "review")
    b.add_edge("review", "publish")
    b.add_edge("publish", END)
    return b.compile(checkpointer=saver)


def _subgraph_graph(saver):  # type: ignore[no-untyped-def]
    def inner_step(state: Inner) -> dict:
        value = interrupt("inner?")
        return {"items": [f"inner:{value}"]}

    inner_b = StateGraph(Inner)
    inner_b.add_node("inner_step", inner_step)
    inner_b.add_edge(START, "inner_step")
    inner = inner_b.compile()

    outer_b = StateGraph(Inner)
    outer_b.add_node("sub", inner)
    outer_b.add_node("after", lambda s: {"items": ["after"]})
    outer_b.add_edge(START, "sub")
    outer_b.add_edge("sub", "after")
    return outer_b.compile(checkpointer=saver)


@pytest.mark.parametrize("durability", ["sync", "async", "exit"])
async def test_interrupt_and_resume_sync(saver_factory, durability: str) -> None:  # type: ignore[no-untyped-def]
    saver = saver_factory()
    graph = _approval_graph(saver)
    config = cfg(f"t-{durability}")

    def run() -> None:
        first = graph.invoke({"items": [], "approved": False}, config, durability=durability)
        assert "__interrupt__" in first
        state = graph.get_state(config)
        assert state.next == ("review",)
        assert state.tasks[0].interrupts[0].value["question"] == "approve?"
        result = graph.invoke(Command(resume="yes"), config, durability=durability)
        assert result["items"] == ["draft", "review:yes", "published"]
        assert graph.get_state(config).next == ()
        history = list(graph.get_state_history(config))
        assert history[0].values["items"][-1] == "published"
        if durability != "exit":
            assert len(history) >= 4  # input, draft, review (interrupted), publish...

    await in_thread(run)


async def test_interrupt_and_resume_async(saver_factory) -> None:  # type: ignore[no-untyped-def]
    saver = saver_factory()
    graph = _approval_graph(saver)
    config = cfg("t-async")
    await graph.ainvoke({"items": [], "approved": False}, config)
    assert (await graph.aget_state(config)).next == ("review",)
    result = await graph.ainvoke(Command(resume="no"), config)
    assert result["items"][-1] == "discarded"
    history = [s async for s in graph.aget_state_history(config)]
    assert len(history) >= 4


async def test_update_state_and_time_travel(saver_factory) -> None:  # type: ignore[no-untyped-def]
    saver = saver_factory()
    graph = _approval_graph(saver)
    config = cfg("tt")

    def run() -> None:
        graph.invoke({"items": [], "approved": False}, config)
        new_cfg = graph.update_state(config, {"items": ["human-edit"]})
        assert graph.get_state(new_cfg).values["items"][-1] == "human-edit"
        graph.invoke(Command(resume="yes"), config)
        history = list(graph.get_state_history(config))
        # Fork from the checkpoint right after "draft" and replay from there.
        after_draft = next(s for s in history if s.next == ("review",) and s.values["items"] == ["draft"])
        forked = graph.update_state(after_draft.config, {"items": ["forked"]})
        assert graph.get_state(forked).values["items"] == ["draft", "forked"]
        assert saver.get_tuple(forked).metadata["source"] == "update"

    await in_thread(run)


async def test_subgraph_namespaces_are_checkpointed_sync(saver_factory) -> None:  # type: ignore[no-untyped-def]
    saver = saver_factory()
    graph = _subgraph_graph(saver)
    config = cfg("sub")

    def run() -> None:
        graph.invoke({"items": ["start"]}, config)
        state = graph.get_state(config, subgraphs=True)
        assert state.tasks[0].state is not None  # the subgraph's own checkpoint
        listed = list(saver.list(config))
        namespaces = {t.config["configurable"]["checkpoint_ns"] for t in listed}
        assert "" in namespaces and any(ns.startswith("sub:") for ns in namespaces)
        # A subgraph checkpoint names its parent under the empty namespace key.
        assert any("" in (t.metadata.get("parents") or {}) for t in listed)
        result = graph.invoke(Command(resume="ok"), config)
        # The subgraph returns its whole state, so the reducer sees "start" twice (as InMemorySaver).
        assert result["items"] == ["start", "start", "inner:ok", "after"]
        saver.delete_thread("sub")
        assert list(saver.list(config)) == []

    await in_thread(run)


async def test_subgraph_namespaces_are_checkpointed_async(saver_factory) -> None:  # type: ignore[no-untyped-def]
    saver = saver_factory()
    graph = _subgraph_graph(saver)
    config = cfg("sub-async")
    await graph.ainvoke({"items": ["start"]}, config)
    state = await graph.aget_state(config, subgraphs=True)
    assert state.tasks[0].state is not None
    listed = [t async for t in saver.alist(config)]
    assert any(t.config["configurable"]["checkpoint_ns"].startswith("sub:") for t in listed)
    assert any("" in (t.metadata.get("parents") or {}) for t in listed)
    result = await graph.ainvoke(Command(resume="ok"), config)
    assert result["items"] == ["start", "start", "inner:ok", "after"]
    await saver.adelete_thread("sub-async")
    assert [t async for t in saver.alist(config)] == []


async def test_parallel_branches_write_in_one_superstep(saver_factory) -> None:  # type: ignore[no-untyped-def]
    def fan_out(state: Fan) -> list[Send]:
        return [Send("work", {"results": [str(i)]}) for i in range(5)]

    def work(state: Fan) -> dict:
        return {"results": [f"done-{state['results'][0]}"]}

    b = StateGraph(Fan)
    b.add_node("work", work)
    b.add_node("a", lambda s: {"results": ["a"]})
    b.add_node("b", lambda s: {"results": ["b"]})
    b.add_conditional_edges(START, fan_out, ["work"])
    b.add_edge(START, "a")
    b.add_edge(START, "b")
    saver = saver_factory()
    graph = b.compile(checkpointer=saver)
    config = cfg("fan")
    out = await graph.ainvoke({"results": []}, config)
    assert sorted(out["results"]) == sorted(["a", "b"] + [f"done-{i}" for i in range(5)])

    def replay() -> None:
        # Replaying the same thread from storage (sync API) yields the same state.
        fresh = b.compile(checkpointer=saver)
        assert sorted(fresh.get_state(config).values["results"]) == sorted(out["results"])

    await in_thread(replay)


async def test_large_state_survives_compression_and_offload(saver_factory) -> None:  # type: ignore[no-untyped-def]
    """A state that doubles to ~290 KB: inline on plain DynamoDB (under its 400 KB item), compressed
    or offloaded on the shaped variants. Random text keeps part of it incompressible."""
    saver = saver_factory()
    b = StateGraph(Big)
    b.add_node("grow", lambda s: {"blob": s["blob"] * 2, "n": s["n"] + 1})
    b.add_edge(START, "grow")
    graph = b.compile(checkpointer=saver)
    config = cfg("big")
    seed = secrets.token_urlsafe(45_000) + "x" * 85_000  # ~145 KB, half of it random

    def run() -> None:
        out = graph.invoke({"blob": seed, "n": 0}, config)
        assert out["blob"] == seed * 2 and out["n"] == 1
        assert graph.get_state(config).values["blob"] == out["blob"]

    await in_thread(run)
    assert (await graph.aget_state(config)).values["blob"] == seed * 2


async def test_same_history_as_langgraphs_inmemorysaver(saver_factory) -> None:  # type: ignore[no-untyped-def]
    """Differential check: the saver and LangGraph's InMemorySaver see the same run."""

    def run(saver):  # type: ignore[no-untyped-def]
        graph = _approval_graph(saver)
        config = cfg("diff")
        graph.invoke({"items": [], "approved": False}, config)
        graph.update_state(config, {"items": ["edit"]})
        graph.invoke(Command(resume="yes"), config)
        return [
            (s.values, s.next, s.metadata["source"], s.metadata["step"], len(s.tasks))
            for s in graph.get_state_history(config)
        ]

    saver = saver_factory()
    assert await in_thread(lambda: run(saver)) == run(InMemorySaver())
