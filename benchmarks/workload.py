"""The benchmark workload shared by every backend's benchmark.

A graph whose state holds 20 KB that never changes (``handbook``) and a
growing message list; ``THREADS`` threads of ``SUPERSTEPS`` supersteps each.
"""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

from langgraph.graph import END, START, StateGraph

__all__ = ["THREADS", "SUPERSTEPS", "HANDBOOK", "State", "build_graph"]

THREADS = 5
SUPERSTEPS = 40
HANDBOOK = ("The handbook never changes. " * 800)[:20_000]


class State(TypedDict):
    messages: Annotated[list[dict[str, str]], operator.add]
    handbook: str
    count: int
    last: str


def build_graph(saver: Any, supersteps: int = SUPERSTEPS) -> Any:
    """A one-node loop that appends a message per superstep until ``supersteps``."""

    def step(state: State) -> dict[str, Any]:
        n = state["count"] + 1
        text = f"step {n}: " + "lorem ipsum dolor sit amet " * 4
        return {"messages": [{"role": "assistant", "content": text}], "count": n, "last": text[:20]}

    def route(state: State) -> str:
        return "step" if state["count"] < supersteps else END

    builder = StateGraph(State)
    builder.add_node("step", step)
    builder.add_edge(START, "step")
    builder.add_conditional_edges("step", route)
    return builder.compile(checkpointer=saver)


# -- the message list as langchain_core messages (--messages langchain) ----------------------

MESSAGE_KINDS = ("dicts", "langchain")


def message_factory(kind: str = "dicts") -> Any:
    """``(role, content) -> message``: for ``"dicts"`` the plain dict ``build_graph`` appends; for
    ``"langchain"`` a ``langchain_core`` ``HumanMessage`` (role ``"user"``) or ``AIMessage`` (any other
    role) with the same text content, as real agents keep in state. langchain_core is imported only
    for ``"langchain"`` (it comes with langgraph)."""
    if kind == "dicts":
        return lambda role, content: {"role": role, "content": content}
    if kind == "langchain":
        from langchain_core.messages import AIMessage, HumanMessage

        return lambda role, content: HumanMessage(content=content) if role == "user" else AIMessage(content=content)
    raise ValueError(f"unknown message kind {kind!r}; known: {', '.join(MESSAGE_KINDS)}")


class MessageState(TypedDict):
    """``State`` with messages of any kind; the same reducer (``operator.add``) as ``State``."""

    messages: Annotated[list[Any], operator.add]
    handbook: str
    count: int
    last: str


def build_message_graph(saver: Any, supersteps: int = SUPERSTEPS, kind: str = "dicts") -> Any:
    """``build_graph`` with the messages made by ``message_factory(kind)``: for ``"dicts"``,
    ``build_graph`` itself; otherwise the same loop, the same text and the same ``operator.add``
    reducer, each appended message built by the factory."""
    if kind == "dicts":
        return build_graph(saver, supersteps)
    make = message_factory(kind)

    def step(state: MessageState) -> dict[str, Any]:
        n = state["count"] + 1
        text = f"step {n}: " + "lorem ipsum dolor sit amet " * 4
        return {"messages": [make("assistant", text)], "count": n, "last": text[:20]}

    def route(state: MessageState) -> str:
        return "step" if state["count"] < supersteps else END

    builder = StateGraph(MessageState)
    builder.add_node("step", step)
    builder.add_edge(START, "step")
    builder.add_conditional_edges("step", route)
    return builder.compile(checkpointer=saver)
