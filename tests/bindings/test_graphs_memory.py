"""LangGraph graphs run end to end on the memory saver (sync and async)."""

from __future__ import annotations

import operator
from typing import Annotated, TypedDict

import pytest
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, Send, interrupt

from langgraph_checkpoint_aws import create_saver


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


@pytest.mark.parametrize("durability", ["sync", "async", "exit"])
def test_interrupt_and_resume_sync(durability: str) -> None:
    saver = create_saver({"backend": "memory"})
    graph = _approval_graph(saver)
    cfg = {"configurable": {"thread_id": f"t-{durability}"}}
    first = graph.invoke({"items": [], "approved": False}, cfg, durability=durability)
    assert "__interrupt__" in first
    state = graph.get_state(cfg)
    assert state.next == ("review",)
    assert state.tasks[0].interrupts[0].value["question"] == "approve?"
    result = graph.invoke(Command(resume="yes"), cfg, durability=durability)
    assert result["items"] == ["draft", "review:yes", "published"]
    assert graph.get_state(cfg).next == ()
    history = list(graph.get_state_history(cfg))
    assert history[0].values["items"][-1] == "published"
    if durability != "exit":
        assert len(history) >= 4  # input, draft, review (interrupted), publish...


async def test_interrupt_and_resume_async() -> None:
    saver = create_saver({"backend": "memory"})
    graph = _approval_graph(saver)
    cfg = {"configurable": {"thread_id": "t-async"}}
    await graph.ainvoke({"items": [], "approved": False}, cfg)
    assert (await graph.aget_state(cfg)).next == ("review",)
    result = await graph.ainvoke(Command(resume="no"), cfg)
    assert result["items"][-1] == "discarded"
    history = [s async for s in graph.aget_state_history(cfg)]
    assert len(history) >= 4


def test_update_state_and_time_travel() -> None:
    saver = create_saver({"backend": "memory"})
    graph = _approval_graph(saver)
    cfg = {"configurable": {"thread_id": "tt"}}
    graph.invoke({"items": [], "approved": False}, cfg)
    new_cfg = graph.update_state(cfg, {"items": ["human-edit"]})
    assert graph.get_state(new_cfg).values["items"][-1] == "human-edit"
    graph.invoke(Command(resume="yes"), cfg)
    history = list(graph.get_state_history(cfg))
    # Fork from the checkpoint right after "draft" and replay from there.
    after_draft = next(s for s in history if s.next == ("review",) and s.values["items"] == ["draft"])
    forked = graph.update_state(after_draft.config, {"items": ["forked"]})
    assert graph.get_state(forked).values["items"] == ["draft", "forked"]
    assert saver.get_tuple(forked).metadata["source"] == "update"


def test_subgraph_namespaces_are_checkpointed() -> None:
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
    saver = create_saver({"backend": "memory"})
    graph = outer_b.compile(checkpointer=saver)
    cfg = {"configurable": {"thread_id": "sub"}}
    graph.invoke({"items": ["start"]}, cfg)
    state = graph.get_state(cfg, subgraphs=True)
    assert state.tasks[0].state is not None  # the subgraph's own checkpoint
    namespaces = {t.config["configurable"]["checkpoint_ns"] for t in saver.list({"configurable": {"thread_id": "sub"}})}
    assert "" in namespaces and any(ns.startswith("sub:") for ns in namespaces)
    result = graph.invoke(Command(resume="ok"), cfg)
    # The subgraph returns its whole state, so the reducer sees "start" twice (as InMemorySaver).
    assert result["items"] == ["start", "start", "inner:ok", "after"]
    saver.delete_thread("sub")
    assert list(saver.list({"configurable": {"thread_id": "sub"}})) == []


def test_parallel_branches_write_in_one_superstep() -> None:
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
    saver = create_saver({"backend": "memory"})
    graph = b.compile(checkpointer=saver)
    cfg = {"configurable": {"thread_id": "fan"}}
    out = graph.invoke({"results": []}, cfg)
    assert sorted(out["results"]) == sorted(["a", "b"] + [f"done-{i}" for i in range(5)])
    # Replaying the same thread from storage yields the same state.
    fresh = b.compile(checkpointer=saver)
    assert sorted(fresh.get_state(cfg).values["results"]) == sorted(out["results"])


def test_large_state_survives_compression_and_offload() -> None:
    saver = create_saver(
        {"backend": "memory", "compression": True, "offload_threshold_bytes": 1024, "memory": {"offload": True}}
    )

    b = StateGraph(Big)
    b.add_node("grow", lambda s: {"blob": s["blob"] * 2, "n": s["n"] + 1})
    b.add_edge(START, "grow")
    graph = b.compile(checkpointer=saver)
    cfg = {"configurable": {"thread_id": "big"}}
    out = graph.invoke({"blob": "x" * 700_000, "n": 0}, cfg)
    assert len(out["blob"]) == 1_400_000
    assert graph.get_state(cfg).values["blob"] == out["blob"]


def test_same_history_as_langgraphs_inmemorysaver() -> None:
    """Differential check: our saver and LangGraph's InMemorySaver see the same run."""
    from langgraph.checkpoint.memory import InMemorySaver

    def run(saver):  # type: ignore[no-untyped-def]
        graph = _approval_graph(saver)
        cfg = {"configurable": {"thread_id": "diff"}}
        graph.invoke({"items": [], "approved": False}, cfg)
        graph.update_state(cfg, {"items": ["edit"]})
        graph.invoke(Command(resume="yes"), cfg)
        return [
            (s.values, s.next, s.metadata["source"], s.metadata["step"], len(s.tasks))
            for s in graph.get_state_history(cfg)
        ]

    assert run(create_saver({"backend": "memory"})) == run(InMemorySaver())
