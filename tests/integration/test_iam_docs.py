"""The IAM actions the README lists cover every API operation the AgentCore and Bedrock savers call.

The emulator counts the operations it receives; a full workload (a graph with
a subgraph and an interrupt, history, copy, prune, delete, the store, the
session client) must call nothing the README's IAM lists leave out.
"""

from __future__ import annotations

import operator
import re
from pathlib import Path
from typing import Annotated, Any

import pytest
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, interrupt
from typing_extensions import TypedDict

from langgraph_checkpoint_aws import AgentCoreMemorySaver, AgentCoreMemoryStore, BedrockSessionSaver
from langgraph_checkpoint_aws.emulator import Emulator

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


class State(TypedDict):
    log: Annotated[list[str], operator.add]


def _graph(saver: Any) -> Any:
    def ask(state: State) -> dict[str, Any]:
        return {"log": [str(interrupt("ok?"))]}

    builder = StateGraph(State)
    builder.add_node("first", lambda s: {"log": ["first"]})
    builder.add_node("ask", ask)
    builder.add_edge(START, "first")
    builder.add_edge("first", "ask")
    builder.add_edge("ask", END)
    return builder.compile(checkpointer=saver)


def _exercise(saver: Any, config: dict[str, Any]) -> None:
    graph = _graph(saver)
    graph.invoke({"log": []}, config)
    graph.invoke(Command(resume="yes"), config)
    assert list(graph.get_state_history(config))
    thread = config["configurable"]["thread_id"]
    saver.copy_thread(thread, thread + "-copy")
    saver.prune([thread + "-copy"], strategy="keep_latest")
    saver.delete_thread(thread + "-copy")


def _documented(section_start: str) -> set[str]:
    """The API operation names (CamelCase words) of the README paragraph that starts with ``section_start``."""
    start = README.index(section_start)
    end = README.find("\n\n", start)
    return set(re.findall(r"\b[A-Z][a-z]+(?:[A-Z][a-z]+)+\b", README[start:end]))


@pytest.fixture
def emulator() -> Any:
    with Emulator() as running:
        yield running


def test_agentcore_calls_only_documented_actions(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    memory = "iam_docs-0123456789"
    saver = AgentCoreMemorySaver(memory, region_name="us-east-1", endpoint_url=emulator.endpoint_url)
    _exercise(saver, {"configurable": {"thread_id": "t1", "actor_id": "a1"}})
    store = AgentCoreMemoryStore(memory_id=memory, region_name="us-east-1", endpoint_url=emulator.endpoint_url)
    store.put(("a1", "s1"), "k", {"text": "likes tea"})
    assert store.get(("a1", "s1"), "k") is not None
    store.search(("a1", "s1"), query="tea")
    store.list_namespaces()
    store.delete(("a1", "s1"), "k")
    called = set(emulator.calls().get("bedrock-agentcore", {}))
    documented = _documented("IAM actions (`bedrock-agentcore:`")
    assert called and called <= documented, sorted(called - documented)


def test_bedrock_sessions_call_only_documented_actions(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    saver = BedrockSessionSaver(region_name="us-east-1", endpoint_url=emulator.endpoint_url, create_missing_sessions=True)
    _exercise(saver, {"configurable": {"thread_id": "t1"}})
    session_id = saver.session_client.create_session().session_id
    _graph(saver).invoke({"log": []}, {"configurable": {"thread_id": session_id}})
    called = {op for service, ops in emulator.calls().items() if service != "bedrock-agentcore" for op in ops}
    documented = _documented("IAM: `bedrock:CreateSession`")
    assert called and called <= documented, sorted(called - documented)
