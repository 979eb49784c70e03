"""AgentCoreValkeySaver: thread-id-only copy and prune over every actor, and subgraphs that keep the actor.

Every test runs on the standalone server and on the 3-node cluster, through the
sync API (a sync client) and the async API (a valkey.asyncio client, native).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import valkey
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, interrupt
from typing_extensions import TypedDict
from valkey.cluster import ValkeyCluster

from langgraph_checkpoint_aws import AgentCoreValkeySaver
from langgraph_checkpoint_aws.domain.errors import InvalidInputError
from tests.backends.valkey import flush_cluster, flush_standalone
from tests.integration._valkey_data import config, put_step

ACTORS = ("alice", "bob")


@pytest.fixture(params=["standalone", "cluster"])
def server(request: pytest.FixtureRequest) -> tuple[str, int]:
    """(kind, port) of a flushed server: the standalone one or a node of the cluster."""
    if request.param == "standalone":
        standalone = request.getfixturevalue("valkey_standalone")
        flush_standalone(standalone)
        return "standalone", standalone.port
    cluster = request.getfixturevalue("valkey_cluster")
    flush_cluster(cluster)
    return "cluster", cluster.ports[0]


@pytest.fixture
def sync_saver(server: tuple[str, int]) -> Iterator[AgentCoreValkeySaver]:
    kind, port = server
    client: Any = valkey.Valkey(port=port) if kind == "standalone" else ValkeyCluster(host="127.0.0.1", port=port)
    with AgentCoreValkeySaver(client) as saver:
        yield saver
    client.close()


@pytest.fixture
async def async_saver(server: tuple[str, int]) -> AsyncIterator[AgentCoreValkeySaver]:
    kind, port = server
    client: Any = (
        valkey.asyncio.Valkey(port=port)
        if kind == "standalone"
        else valkey.asyncio.ValkeyCluster(host="127.0.0.1", port=port)
    )
    async with AgentCoreValkeySaver(client) as saver:
        yield saver
    await client.aclose()


def _steps(saver: AgentCoreValkeySaver, thread_id: str, actor: str, ns: str = "") -> list[int]:
    return [t.metadata["step"] for t in saver.list(config(thread_id, ns=ns, actor_id=actor))]


async def _asteps(saver: AgentCoreValkeySaver, thread_id: str, actor: str, ns: str = "") -> list[int]:
    return [t.metadata["step"] async for t in saver.alist(config(thread_id, ns=ns, actor_id=actor))]


def _seed(saver: AgentCoreValkeySaver, thread_id: str = "src") -> None:
    """Three checkpoints in the root and two in a child namespace, for each actor (sync API)."""
    for actor in ACTORS:
        parent = None
        for i in (1, 2, 3):
            parent = put_step(saver, thread_id, i, parent, actor_id=actor)["configurable"]["checkpoint_id"]
        put_step(saver, thread_id, 1, ns="child:1", actor_id=actor)
        put_step(saver, thread_id, 2, ns="child:1", actor_id=actor)


async def _aseed(saver: AgentCoreValkeySaver, thread_id: str = "src") -> None:
    """``_seed`` through the async API (``put_step`` calls the sync one, so wrap the saver)."""

    class Async:
        def put(self, *args: Any) -> Any:
            return saver.aput(*args)

    for actor in ACTORS:
        parent = None
        for i in (1, 2, 3):
            parent = (await put_step(Async(), thread_id, i, parent, actor_id=actor))["configurable"]["checkpoint_id"]
        await put_step(Async(), thread_id, 1, ns="child:1", actor_id=actor)
        await put_step(Async(), thread_id, 2, ns="child:1", actor_id=actor)


# -- copy_thread and prune take thread ids: every actor without actor_id, one with it ----------
def test_copy_thread_without_an_actor_copies_every_actor(sync_saver: AgentCoreValkeySaver) -> None:
    _seed(sync_saver)
    sync_saver.copy_thread("src", "dst")
    for actor in ACTORS:
        assert _steps(sync_saver, "dst", actor) == [3, 2, 1]
        assert _steps(sync_saver, "dst", actor, ns="child:1") == [2, 1]
        assert _steps(sync_saver, "src", actor) == [3, 2, 1]
    sync_saver.copy_thread("src", "only-alice", actor_id="alice")
    assert _steps(sync_saver, "only-alice", "alice") == [3, 2, 1]
    assert _steps(sync_saver, "only-alice", "bob") == []
    sync_saver.copy_thread("nothing-here", "dst2")  # no actor holds it: nothing to copy
    assert sync_saver.repository.list_actors("dst2") == []


async def test_acopy_thread_without_an_actor_copies_every_actor(async_saver: AgentCoreValkeySaver) -> None:
    await _aseed(async_saver)
    await async_saver.acopy_thread("src", "dst")
    for actor in ACTORS:
        assert await _asteps(async_saver, "dst", actor) == [3, 2, 1]
        assert await _asteps(async_saver, "dst", actor, ns="child:1") == [2, 1]
    await async_saver.acopy_thread("src", "only-bob", actor_id="bob")
    assert await _asteps(async_saver, "only-bob", "bob") == [3, 2, 1]
    assert await _asteps(async_saver, "only-bob", "alice") == []


def test_prune_without_an_actor_prunes_every_actor(sync_saver: AgentCoreValkeySaver) -> None:
    _seed(sync_saver, "a")
    _seed(sync_saver, "b")
    sync_saver.prune(["a"], strategy="keep_latest")
    for actor in ACTORS:
        assert _steps(sync_saver, "a", actor) == [3]
        assert _steps(sync_saver, "a", actor, ns="child:1") == [2]
        assert _steps(sync_saver, "b", actor) == [3, 2, 1]  # another thread: untouched
    sync_saver.prune(["b"], keep_last=2, actor_id="bob")
    assert _steps(sync_saver, "b", "bob") == [3, 2]
    assert _steps(sync_saver, "b", "alice") == [3, 2, 1]
    sync_saver.prune(["a", "b"], strategy="delete")
    for actor in ACTORS:
        assert _steps(sync_saver, "a", actor) == _steps(sync_saver, "b", actor) == []
    sync_saver.prune(["never-written"])  # a no-op, not an error


async def test_aprune_without_an_actor_prunes_every_actor(async_saver: AgentCoreValkeySaver) -> None:
    await _aseed(async_saver, "a")
    await async_saver.aprune(["a"], strategy="keep_last", keep_last=2)
    for actor in ACTORS:
        assert await _asteps(async_saver, "a", actor) == [3, 2]
        assert await _asteps(async_saver, "a", actor, ns="child:1") == [2, 1]
    await async_saver.aprune(["a"], actor_id="alice")
    assert await _asteps(async_saver, "a", "alice") == [3]
    assert await _asteps(async_saver, "a", "bob") == [3, 2]
    await async_saver.aprune(["a"], strategy="delete")
    assert [await _asteps(async_saver, "a", actor) for actor in ACTORS] == [[], []]
    with pytest.raises(InvalidInputError, match="strategy"):
        await async_saver.aprune(["a"], strategy="everything")


def test_default_actor_id_still_scopes_copy_and_prune(sync_saver: AgentCoreValkeySaver) -> None:
    _seed(sync_saver)
    saver = AgentCoreValkeySaver(sync_saver.client, default_actor_id="alice")
    saver.copy_thread("src", "dst")
    assert _steps(saver, "dst", "alice") == [3, 2, 1]
    assert _steps(saver, "dst", "bob") == []
    saver.prune(["src"])
    assert _steps(saver, "src", "alice") == [3]
    assert _steps(saver, "src", "bob") == [3, 2, 1]
    assert [t.metadata["step"] for t in saver.list(config("src"))] == [3]  # configs without an actor too
    saver.close()


# -- subgraphs: LangGraph rebuilds their configs without actor_id ---------------------------------
class State(TypedDict):
    value: str


def _graph(checkpointer: AgentCoreValkeySaver) -> Any:
    """A parent whose only node is a subgraph that interrupts for an answer and appends it."""

    def ask(state: State) -> State:
        return {"value": state["value"] + interrupt("answer?")}

    sub = StateGraph(State)
    sub.add_node("ask", ask)
    sub.add_edge(START, "ask")
    sub.add_edge("ask", END)
    parent = StateGraph(State)
    parent.add_node("child", sub.compile())
    parent.add_edge(START, "child")
    parent.add_edge("child", END)
    return parent.compile(checkpointer=checkpointer)


def _run(graph: Any, actor: str, start: str, answer: str) -> None:
    """Interrupt in the subgraph, inspect it, resume, inspect again (sync API)."""
    cfg = {"configurable": {"thread_id": "t", "actor_id": actor}}
    out = graph.invoke({"value": start}, cfg)
    assert [i.value for i in out["__interrupt__"]] == ["answer?"]

    state = graph.get_state(cfg, subgraphs=True)
    (task,) = state.tasks
    assert task.state.values == {"value": start}
    assert [i.value for i in task.state.interrupts] == ["answer?"]
    assert task.state.config["configurable"]["actor_id"] == actor
    # The subgraph's config as LangGraph hands it out: thread_id and checkpoint_ns, no actor.
    sub_cfg = graph.get_state(cfg).tasks[0].state
    assert "actor_id" not in sub_cfg["configurable"] and sub_cfg["configurable"]["checkpoint_ns"]
    history = list(graph.get_state_history(sub_cfg))
    assert history and all(s.config["configurable"]["actor_id"] == actor for s in history)
    assert history[0].values == {"value": start}

    assert graph.invoke(Command(resume=answer), cfg) == {"value": start + answer}
    assert graph.get_state(cfg, subgraphs=True).values == {"value": start + answer}
    assert len(list(graph.get_state_history(sub_cfg))) >= len(history)


async def _arun(graph: Any, actor: str, start: str, answer: str) -> None:
    """``_run`` through the async API."""
    cfg = {"configurable": {"thread_id": "t", "actor_id": actor}}
    out = await graph.ainvoke({"value": start}, cfg)
    assert [i.value for i in out["__interrupt__"]] == ["answer?"]

    state = await graph.aget_state(cfg, subgraphs=True)
    (task,) = state.tasks
    assert task.state.values == {"value": start}
    assert [i.value for i in task.state.interrupts] == ["answer?"]
    assert task.state.config["configurable"]["actor_id"] == actor
    sub_cfg = (await graph.aget_state(cfg)).tasks[0].state
    assert "actor_id" not in sub_cfg["configurable"] and sub_cfg["configurable"]["checkpoint_ns"]
    history = [s async for s in graph.aget_state_history(sub_cfg)]
    assert history and all(s.config["configurable"]["actor_id"] == actor for s in history)
    assert history[0].values == {"value": start}

    assert await graph.ainvoke(Command(resume=answer), cfg) == {"value": start + answer}
    assert (await graph.aget_state(cfg, subgraphs=True)).values == {"value": start + answer}
    assert len([s async for s in graph.aget_state_history(sub_cfg)]) >= len(history)


def test_subgraph_interrupt_resume_state_and_history_sync(sync_saver: AgentCoreValkeySaver) -> None:
    graph = _graph(sync_saver)
    _run(graph, "alice", "a", "b")
    # Concurrent graphs in threads, each with its own actor on the same thread id.
    graph2 = _graph(sync_saver)
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda args: _run(graph2, *args), [("carol", "c", "d"), ("dave", "e", "f")]))
    assert sorted(k.actor_id for k in sync_saver.repository.list_actors("t")) == ["alice", "carol", "dave"]


async def test_subgraph_interrupt_resume_state_and_history_async(async_saver: AgentCoreValkeySaver) -> None:
    graph = _graph(async_saver)
    await _arun(graph, "alice", "a", "b")
    # Concurrent graphs in tasks, each with its own actor on the same thread id.
    await asyncio.gather(_arun(graph, "carol", "c", "d"), _arun(graph, "dave", "e", "f"))
    # The sync API of a saver on an async client runs in the loop's tasks: the actor still carries.
    await asyncio.to_thread(_run, graph, "erin", "g", "h")


def test_a_top_level_config_without_an_actor_stays_an_error(sync_saver: AgentCoreValkeySaver) -> None:
    graph = _graph(sync_saver)
    graph.invoke({"value": "a"}, {"configurable": {"thread_id": "t", "actor_id": "alice"}})
    with pytest.raises(InvalidInputError, match="configurable.actor_id"):
        graph.get_state({"configurable": {"thread_id": "t"}})
    with pytest.raises(InvalidInputError, match="configurable.actor_id"):
        graph.invoke({"value": "a"}, {"configurable": {"thread_id": "t"}})
    # A subgraph's config on another thread finds no actor to carry over either.
    with pytest.raises(InvalidInputError, match="configurable.actor_id"):
        sync_saver.get_tuple(config("other", ns="child:1"))
