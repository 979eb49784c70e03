"""AgentCoreMemorySaver and AgentCoreMemoryStore on the emulator: bounded calls, faults, actors, the store's search."""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.tools import tool
from langgraph.graph import StateGraph
from langgraph.prebuilt import create_react_agent
from langgraph.types import Command, interrupt

from langgraph_checkpoint_aws import (
    AgentCoreMemorySaver,
    AgentCoreMemoryStore,
    BackendConnectionError,
    InvalidInputError,
    PayloadTooLargeError,
)
from langgraph_checkpoint_aws.emulator import Emulator
from tests.backends.agentcore import AGENTCORE_REGION, new_memory_id


class State(TypedDict):
    items: Annotated[list, operator.add]


def _graph(saver: Any) -> Any:
    b = StateGraph(State)
    b.add_node("a", lambda s: {"items": ["a"]})
    b.add_edge("__start__", "a")
    return b.compile(checkpointer=saver)


def _calls_of(emulator: Emulator, fn: Any) -> dict[str, int]:
    emulator.reset_calls()
    fn()
    return dict(emulator.calls().get("bedrock-agentcore", {}))


def test_calls_per_operation_do_not_grow_with_the_session(make_agentcore_saver, agentcore_emulator) -> None:  # type: ignore[no-untyped-def]
    saver = make_agentcore_saver()
    graph = _graph(saver)
    config = {"configurable": {"thread_id": "long session", "actor_id": "bench"}}
    measured = {}
    done = 0
    for target in (10, 300):
        while done < target:
            graph.invoke({"items": [str(done)]}, config)
            done += 1
        latest = saver.get_tuple(config)
        by_id = {"configurable": {**config["configurable"], "checkpoint_id": latest.config["configurable"]["checkpoint_id"]}}
        measured[target] = {
            "get_tuple latest": _calls_of(agentcore_emulator, lambda: saver.get_tuple(config)),
            "get_tuple by id": _calls_of(agentcore_emulator, lambda by_id=by_id: saver.get_tuple(by_id)),
            "invoke (get + 3 puts + writes)": _calls_of(agentcore_emulator, lambda: graph.invoke({"items": ["x"]}, config)),
        }
        done += 1
    assert measured[10] == measured[300], measured
    assert sum(measured[300]["get_tuple latest"].values()) <= 4
    assert len(saver.get_tuple(config).checkpoint["channel_values"]["items"]) == 2 * done


def test_actor_id_is_required_and_carried_to_subgraphs(make_agentcore_saver) -> None:  # type: ignore[no-untyped-def]
    saver = make_agentcore_saver()
    with pytest.raises(InvalidInputError, match="configurable.actor_id"):
        saver.get_tuple({"configurable": {"thread_id": "t"}})

    inner = StateGraph(State)
    inner.add_node("ask", lambda s: {"items": [interrupt("name?")]})
    inner.add_edge("__start__", "ask")
    sub = inner.compile()
    outer = StateGraph(State)
    outer.add_node("sub", sub)
    outer.add_edge("__start__", "sub")
    graph = outer.compile(checkpointer=saver)
    config = {"configurable": {"thread_id": "ünï|code/ id:*", "actor_id": "user:42/x"}}
    first = graph.invoke({"items": ["start"]}, config)
    assert "__interrupt__" in first
    assert graph.invoke(Command(resume="bob"), config)["items"] == ["start", "start", "bob"]  # the subgraph returns its whole state
    namespaces = {t.config["configurable"]["checkpoint_ns"] for t in saver.list({"configurable": config["configurable"]})}
    assert any(ns.startswith("sub:") for ns in namespaces)
    saver.delete_thread(config["configurable"]["thread_id"])
    assert saver.get_tuple(config) is None


def test_long_and_refused_thread_ids_map_to_distinct_sessions(make_agentcore_saver) -> None:  # type: ignore[no-untyped-def]
    saver = make_agentcore_saver()
    graph = _graph(saver)
    ids = ["a", "A", "a b", "a_b", "a__b", "x__", "h__" + "0" * 64, "é" * 300, "é" * 301]
    for tid in ids:
        graph.invoke({"items": [tid]}, {"configurable": {"thread_id": tid, "actor_id": "u"}})
    for tid in ids:
        got = saver.get_tuple({"configurable": {"thread_id": tid, "actor_id": "u"}})
        assert got.checkpoint["channel_values"]["items"] == [tid, "a"]


def test_throttling_and_conflicts_are_retried(make_agentcore_saver, agentcore_faults) -> None:  # type: ignore[no-untyped-def]
    saver = make_agentcore_saver(max_retries=3, initial_backoff=0.01)
    graph = _graph(saver)
    config = {"configurable": {"thread_id": "t", "actor_id": "u"}}
    agentcore_faults.add_fault("CreateEvent", "ThrottledException", count=2)
    agentcore_faults.add_fault("ListEvents", "RetryableConflictException", count=1)
    agentcore_faults.add_fault("CreateEvent", "ThrottledException", count=1, when="after")  # a lost answer
    assert graph.invoke({"items": ["x"]}, config)["items"] == ["x", "a"]
    assert saver.get_tuple(config).checkpoint["channel_values"]["items"] == ["x", "a"]
    assert len(list(saver.list(config))) == 3  # input, __start__, a: the lost answer's retry wrote nothing twice


def test_a_server_that_goes_away_is_a_connection_error(agentcore_session) -> None:  # type: ignore[no-untyped-def]
    emulator = Emulator("127.0.0.1", 0).start()
    saver = AgentCoreMemorySaver(new_memory_id(), region_name=AGENTCORE_REGION, session=agentcore_session,
                                 endpoint_url=emulator.endpoint_url, max_retries=1, initial_backoff=0.01)
    config = {"configurable": {"thread_id": "t", "actor_id": "u"}}
    _graph(saver).invoke({"items": ["x"]}, config)
    emulator.stop()
    with pytest.raises(ConnectionError) as info:
        saver.get_tuple(config)
    assert isinstance(info.value, BackendConnectionError)


def test_create_react_agent_with_a_scripted_model_and_the_store(make_agentcore_saver, agentcore_endpoint, agentcore_session) -> None:  # type: ignore[no-untyped-def]
    @tool
    def weather(city: str) -> str:
        """The weather in a city."""
        return f"sunny in {city}"

    class ScriptedModel(GenericFakeChatModel):
        def bind_tools(self, tools, **kwargs):  # type: ignore[no-untyped-def,override]
            return self

    model = ScriptedModel(messages=iter([
        AIMessage("", tool_calls=[{"name": "weather", "args": {"city": "Paris"}, "id": "call-1"}]),
        AIMessage("It is sunny in Paris."),
    ]))
    memory_id = new_memory_id()
    saver = make_agentcore_saver(memory_id)
    store = AgentCoreMemoryStore(memory_id=memory_id, region_name=AGENTCORE_REGION, session=agentcore_session,
                                 endpoint_url=agentcore_endpoint)

    def pre_model_hook(state, config, *, store):  # type: ignore[no-untyped-def]
        c = config["configurable"]
        for msg in reversed(state["messages"]):
            if isinstance(msg, HumanMessage):
                store.put((c["actor_id"], c["thread_id"]), "last-human", {"message": msg})
                break
        return {"llm_input_messages": state["messages"]}

    agent = create_react_agent(model, [weather], checkpointer=saver, store=store, pre_model_hook=pre_model_hook)
    config = {"configurable": {"thread_id": "chat-1", "actor_id": "alice"}}
    out = agent.invoke({"messages": [("human", "Weather in Paris?")]}, config)
    assert out["messages"][-1].content == "It is sunny in Paris."
    restored = saver.get_tuple(config).checkpoint["channel_values"]["messages"]
    assert [type(m).__name__ for m in restored] == ["HumanMessage", "AIMessage", "ToolMessage", "AIMessage"]
    assert restored == out["messages"]  # exactly what was saved: no placeholder messages
    item = store.get(("alice", "chat-1"), "last-human")
    assert item is not None and item.value["message"]["data"]["content"] == "Weather in Paris?"
    events = saver.repository.memory.list_events("alice", "chat-1")
    assert any("conversational" in p for e in events for p in e["payload"])


def test_store_search_ranks_filters_and_limits(agentcore_endpoint, agentcore_session) -> None:  # type: ignore[no-untyped-def]
    store = AgentCoreMemoryStore(new_memory_id(), region_name=AGENTCORE_REGION, session=agentcore_session,
                                 endpoint_url=agentcore_endpoint)
    store.put(("prefs", "u1"), "food", {"text": "likes sushi with tuna", "kind": "food"})
    store.put(("prefs", "u1"), "sport", {"text": "plays tennis", "kind": "sport"})
    store.put(("prefs", "u2"), "food", {"text": "likes pizza", "kind": "food"})
    hits = store.search(("prefs",), query="sushi tuna")
    assert hits[0].key == "food" and hits[0].namespace == ("prefs", "u1")
    assert all(a.score >= b.score for a, b in zip(hits, hits[1:]))
    assert {h.value["kind"] for h in store.search(("prefs",), query="likes", filter={"kind": "food"})} == {"food"}
    store.put(("prefs", "u1"), "food", {"text": "likes ramen", "kind": "food"})
    assert store.get(("prefs", "u1"), "food").value["text"] == "likes ramen"
    assert len(store.search(("prefs", "u1"))) == 2
    store.delete(("prefs", "u1"), "food")
    assert store.get(("prefs", "u1"), "food") is None
    assert store.list_namespaces(prefix=("prefs",)) == [("prefs", "u1"), ("prefs", "u2")]
    with pytest.raises(PayloadTooLargeError, match="16,000"):
        store.put(("prefs", "u1"), "big", {"text": "x" * 16_001})
