"""`make demo`: a scripted agent that checkpoints every step, pauses for approval, resumes.

No LLM and no network: the "model" is a deterministic function. Each run sends
one new request to the same thread, so on a persistent backend (the default,
an embedded Valkey) a second run continues the conversation of the first.
"""

from __future__ import annotations

import argparse
import importlib
import operator
import sys
import time
from pathlib import Path
from typing import Annotated, Any, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.store.base import BaseStore
from langgraph.types import CachePolicy, Command, interrupt

REQUESTS = [
    "book a table for two on friday",
    "move the booking to saturday",
    "add a birthday cake to the booking",
    "cancel the cake, keep the table",
]


USER = ("users", "demo-user")  # the store namespace of the demo user's long-term memories
SUMMARIES = {"calls": 0}  # how often the cached node really ran in this process


class AgentState(TypedDict):
    messages: Annotated[list[dict[str, str]], operator.add]
    plan: list[str]
    approved: bool
    handbook: str  # a large part of the state that never changes after the first step
    rules: str


def embed(texts: list[str]) -> list[list[float]]:
    """A deterministic stand-in for an embedding model: hashed bag of words in 64 dimensions."""
    import zlib

    vectors = []
    for text in texts:
        vector = [0.0] * 64
        for word in text.lower().split():
            vector[zlib.crc32(word.encode()) % 64] += 1.0
        vectors.append(vector)
    return vectors


INDEX = {"dims": 64, "embed": embed, "fields": ["text"]}
"""The store's semantic index (the demo backends pass it to their store)."""


def scripted_model(messages: list[dict[str, str]]) -> list[str]:
    """A deterministic stand-in for an LLM: turns the last request into a plan."""
    request = messages[-1]["content"]
    verbs = [w for w in request.split() if w in {"book", "move", "add", "cancel", "keep"}] or ["handle"]
    return [f"{verb}: {request}" for verb in verbs] + ["confirm with the user"]


def build_graph(saver: Any, store: Any = None, cache: Any = None) -> Any:
    def summarize(state: AgentState) -> dict[str, Any]:
        SUMMARIES["calls"] += 1  # expensive in real life: cached across runs by the node's CachePolicy
        return {"rules": f"{len(state['handbook'].split('.')) - 1} house rules"}

    def plan(state: AgentState, *, store: BaseStore) -> dict[str, Any]:
        steps = scripted_model(state["messages"])
        if store is not None:  # long-term memory: what this user asked before, in any thread
            request = state["messages"][-1]["content"]
            hits = store.search(USER, query=request if _searchable(store) else None, limit=1)
            store.put(USER, f"request-{len(state['messages'])}", {"text": request})
            if hits:
                steps.insert(0, f"recall: {hits[0].value['text']}")
        return {"plan": steps, "messages": [{"role": "assistant", "content": f"plan: {'; '.join(steps)}"}]}

    def approve(state: AgentState) -> dict[str, Any]:
        answer = interrupt({"question": "Approve this plan?", "plan": state["plan"]})
        return {"approved": answer == "yes", "messages": [{"role": "human", "content": f"approval: {answer}"}]}

    def execute(state: AgentState) -> dict[str, Any]:
        if not state["approved"]:
            return {"messages": [{"role": "assistant", "content": "nothing done"}]}
        done = [f"done {step.split(':')[0]}" for step in state["plan"][:-1] if not step.startswith("recall:")]
        return {"messages": [{"role": "tool", "content": ", ".join(done)}]}

    def report(state: AgentState) -> dict[str, Any]:
        return {"messages": [{"role": "assistant", "content": f"finished ({len(state['messages'])} messages so far)"}]}

    builder = StateGraph(AgentState)
    builder.add_node("summarize", summarize, cache_policy=CachePolicy(ttl=3600, key_func=lambda s: s["handbook"]))
    for name, fn in [("plan", plan), ("approve", approve), ("execute", execute), ("report", report)]:
        builder.add_node(name, fn)
    builder.add_edge(START, "summarize")
    builder.add_edge("summarize", "plan")
    builder.add_edge("plan", "approve")
    builder.add_edge("approve", "execute")
    builder.add_edge("execute", "report")
    builder.add_edge("report", END)
    return builder.compile(checkpointer=saver, store=store, cache=cache)


def _searchable(store: Any) -> bool:
    """Whether the store ranks by a query (an index is configured and, on Valkey, the search module is there;
    or the store ranks by the query itself, ``searches_by_query``, as AgentCore Memory does)."""
    if getattr(store, "searches_by_query", False) is True:
        return True
    return getattr(store, "index_config", None) is not None and getattr(store, "search_module", True) is not False


def recall_in_new_thread(saver: Any, store: Any, request: str, configurable: dict[str, Any] | None = None) -> list[str]:
    """A second, tiny graph in a fresh thread: it finds the user's earlier requests in the store."""

    class Recall(TypedDict):
        query: str
        found: list[str]

    def lookup(state: Recall, *, store: BaseStore) -> dict[str, Any]:
        query = state["query"] if _searchable(store) else None
        return {"found": [f"{h.value['text']}" for h in store.search(USER, query=query, limit=3)]}

    builder = StateGraph(Recall)
    builder.add_node("lookup", lookup)
    builder.add_edge(START, "lookup")
    builder.add_edge("lookup", END)
    graph = builder.compile(checkpointer=saver, store=store)
    thread = {"configurable": {"thread_id": "demo-recall", **(configurable or {})}}  # not the agent's thread
    return list(graph.invoke({"query": request, "found": []}, thread)["found"])


def table(rows: list[tuple[Any, ...]], headers: tuple[str, ...]) -> str:
    cells = [tuple(str(c) for c in headers)] + [tuple(str(c) for c in r) for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    line = "+-" + "-+-".join("-" * w for w in widths) + "-+"
    out = [line, "| " + " | ".join(h.ljust(w) for h, w in zip(cells[0], widths)) + " |", line]
    out += ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |" for r in cells[1:]]
    out.append(line)
    return "\n".join(out)


def run(backend_name: str, data_dir: Path, port: int | None, thread_id: str, answer: str) -> int:
    backend_module = importlib.import_module(f"demo.backends.{backend_name}")
    SUMMARIES["calls"] = 0
    with backend_module.open_backend(data_dir, port) as backend:
        store, cache = getattr(backend, "store", None), getattr(backend, "cache", None)
        graph = build_graph(backend.saver, store, cache)
        extra = dict(getattr(backend, "configurable", None) or {})  # keys a backend needs, e.g. AgentCore's actor_id
        config = {"configurable": {"thread_id": thread_id, **extra}}
        state = graph.get_state(config)
        if state.next == ("approve",):
            print(f"Thread {thread_id!r} was waiting for approval from an earlier run: resuming it.")
            graph.invoke(Command(resume=answer), config)
            state = graph.get_state(config)
        turns = sum(1 for m in state.values.get("messages", []) if m["role"] == "user")
        if turns:
            print(f"Thread {thread_id!r} already has {turns} request(s) stored: continuing the conversation.")
        else:
            print(f"Thread {thread_id!r} is new.")
        request = REQUESTS[turns % len(REQUESTS)]
        print(f"\n> user: {request}")
        inputs: dict[str, Any] = {"messages": [{"role": "user", "content": request}]}
        if not turns:
            inputs["handbook"] = "House rules for the booking assistant. " * 500  # ~20 KB, never changes
        started = time.perf_counter()
        result = graph.invoke(inputs, config)
        pending = result.get("__interrupt__")
        if pending:
            print(f"  paused at human approval: {pending[0].value['question']} plan={pending[0].value['plan']}")
            print(f"  the human answers {answer!r}; resuming from the stored checkpoint")
            result = graph.invoke(Command(resume=answer), config)
        elapsed = time.perf_counter() - started
        for m in result["messages"][-4:]:
            print(f"  {m['role']}: {m['content']}")

        history = list(graph.get_state_history(config))
        rows = []
        for snap in reversed(history):
            md = snap.metadata or {}
            messages = snap.values.get("messages", [])
            last = f"{messages[-1]['role']}: {messages[-1]['content']}" if messages else "-"
            rows.append(
                (
                    md.get("step"),
                    md.get("source"),
                    ",".join(snap.next) or "-",
                    len(messages),
                    last if len(last) <= 40 else last[:37] + "...",
                    snap.config["configurable"]["checkpoint_id"][:13] + "...",
                )
            )
        print(f"\nHistory of thread {thread_id!r} ({len(history)} checkpoints, this run took {elapsed * 1000:.0f} ms):")
        print(table(rows[-12:], ("step", "source", "next", "messages", "last message", "checkpoint id")))
        if len(rows) > 12:
            print(f"  ... {len(rows) - 12} older checkpoints not shown")
        if cache is not None:
            how = "ran" if SUMMARIES["calls"] else "was served from the cache (computed by an earlier run)"
            print(f"\nCache: the 'summarize' node (CachePolicy, ttl 1 h) {how}: {result.get('rules')}.")
        if store is not None:
            mode = "ranked by similarity" if _searchable(store) else "newest first (no search module loaded)"
            found = recall_in_new_thread(backend.saver, store, request, extra)
            print(f"Store: a new thread recalls this user's requests from long-term memory ({mode}):")
            for text in found:
                print(f"  - {text}")
        else:
            print("\nStore and cache: this backend has none; run the valkey or memory demo to see them.")
        print(f"\nWhat is stored ({backend_name} backend):")
        print(table(backend.describe_storage(), ("what", "where / size")))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="memory", help="memory, valkey, dynamodb or agentcore")
    parser.add_argument("--data-dir", default=".demo-data", type=Path, help="where embedded servers keep data")
    parser.add_argument("--port", default=None, type=int, help="port for an embedded server (default: pick one)")
    parser.add_argument("--thread", default="demo-thread", help="thread id to use")
    parser.add_argument("--answer", default="yes", help="the human's answer at the approval step")
    args = parser.parse_args(argv)
    try:
        importlib.import_module(f"demo.backends.{args.backend}")
    except ModuleNotFoundError:
        print(f"unknown demo backend {args.backend!r}", file=sys.stderr)
        return 2
    try:
        return run(args.backend, args.data_dir, args.port, args.thread, args.answer)
    except RuntimeError as exc:  # an embedded server could not start (e.g. its port is taken)
        print(f"demo: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
