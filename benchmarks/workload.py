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
