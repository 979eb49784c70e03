"""One AgentCoreMemorySaver measured on the emulator, in its own process: API calls and latency per operation.

Run by ``benchmarks/agentcore_bench.py`` with our ``.venv`` python for
``--impl ours`` and with the python of ``.bench/venvs/published-aws`` for
``--impl published-aws`` (langgraph-checkpoint-aws 1.2.6 has our import root,
so it needs its own process), or by hand::

    python benchmarks/peers/agentcore_worker.py --impl ours --endpoint http://127.0.0.1:PORT \\
        --memory-id bench_ours-0123456789

For each thread length N (10 and 300 checkpoints by default) it runs the
benchmark graph of ``benchmarks/workload.py`` (20 KB that never changes, a
message list that grows by one message per superstep) with ``graph.invoke`` on
a fresh thread until the thread holds N checkpoints, then measures single
operations on that thread:

- ``get_tuple`` of the latest checkpoint, and by the id of the middle one;
- ``list(limit=10)``;
- ``put`` of a checkpoint that changes the message list (child of the latest);
- ``put_writes`` of 5 writes of one task;
- one superstep through the graph: ``graph.invoke`` of a new message, which
  reads the latest checkpoint, puts the input checkpoint and the step's
  checkpoint and the writes of both.

API calls are the emulator's own counters (``DELETE /_emulator/calls`` before
the operation, ``GET /_emulator/calls`` after it: every request that reached
an operation, failed ones included); latency is the median of ``--repeat``
unmetered runs of the same operation. An operation that raises is recorded as
failed with its error, and the next one runs. It prints ONE JSON line on
stdout. Standard library, boto3 and ``langgraph`` only, so the same file runs
in every venv.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import traceback
import urllib.request
from importlib import metadata
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # noqa: E402 - run as a script; benchmarks.workload is shared

from benchmarks.workload import HANDBOOK, build_graph  # noqa: E402

IMPLS = ("ours", "published-aws")
REGION = "us-east-1"
ACTOR = "bench-actor"
SERVICE = "bedrock-agentcore"


# -- the emulator's call counters ------------------------------------------------------------------
def _control(endpoint: str, method: str) -> dict[str, Any]:
    request = urllib.request.Request(f"{endpoint}/_emulator/calls", method=method)
    with urllib.request.urlopen(request, timeout=30) as answer:
        body = answer.read()
    return json.loads(body) if body else {}


def reset_calls(endpoint: str) -> None:
    _control(endpoint, "DELETE")


def read_calls(endpoint: str) -> dict[str, int]:
    return dict(_control(endpoint, "GET").get("calls", {}).get(SERVICE, {}))


def metered(endpoint: str, fn: Callable[[], Any]) -> tuple[Any, dict[str, int]]:
    """``fn()`` and the API calls it made, by operation."""
    reset_calls(endpoint)
    result = fn()
    return result, read_calls(endpoint)


# -- the savers ------------------------------------------------------------------------------------
def make_saver(impl: str, endpoint: str, memory_id: str) -> Any:
    from langgraph_checkpoint_aws import AgentCoreMemorySaver  # ours or the published one, by venv

    credentials = {"aws_access_key_id": "bench", "aws_secret_access_key": "bench"}
    if impl == "ours":
        import boto3

        session = boto3.session.Session(region_name=REGION, **credentials)
        return AgentCoreMemorySaver(memory_id, region_name=REGION, session=session, endpoint_url=endpoint)
    # 1.2.6: AgentCoreMemorySaver(memory_id, *, serde, limit, max_results, max_retries, initial_backoff,
    # max_backoff, checkpoint_format, **boto3_kwargs), the kwargs going to boto3.client("bedrock-agentcore").
    return AgentCoreMemorySaver(memory_id, region_name=REGION, endpoint_url=endpoint, **credentials)


def _config(thread_id: str, checkpoint_id: str | None = None) -> dict[str, Any]:
    configurable: dict[str, Any] = {"thread_id": thread_id, "actor_id": ACTOR, "checkpoint_ns": ""}
    if checkpoint_id:
        configurable["checkpoint_id"] = checkpoint_id
    return {"configurable": configurable}


def _error(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:300]}"


def measure_thread(saver: Any, endpoint: str, size: int, repeat: int) -> dict[str, Any]:
    """Grow one thread to ``size`` checkpoints, then meter each operation on it."""
    from langgraph.checkpoint.base.id import uuid6

    thread = f"bench-{size}"
    config = _config(thread)
    supersteps = size - 2  # graph.invoke of build_graph(n) writes the input checkpoint + n + 1
    graph = build_graph(saver, supersteps=supersteps)
    started = time.perf_counter()
    _, build_calls = metered(endpoint, lambda: graph.invoke(
        {"messages": [{"role": "user", "content": "go"}], "handbook": HANDBOOK, "count": 0, "last": ""},
        {**config, "recursion_limit": size + 10},
    ))
    build_s = time.perf_counter() - started
    out: dict[str, Any] = {
        "size": size,
        "build": {"calls": build_calls, "checkpoints_written": supersteps + 2, "seconds": build_s},
        "ops": [],
    }
    try:
        history = list(saver.list(config))
        out["checkpoints"] = len(history)
        middle = history[len(history) // 2].config["configurable"]["checkpoint_id"]
    except Exception as exc:  # noqa: BLE001 - reported as data
        out["checkpoints"] = None
        out["list_error"] = _error(exc)
        middle = None

    state: dict[str, Any] = {"latest": None, "put": []}

    def get_latest() -> Any:
        found = saver.get_tuple(config)
        if found is None:
            raise LookupError("get_tuple returned None for the latest checkpoint")
        state["latest"] = found
        return found

    def get_by_id() -> Any:
        if middle is None:
            raise LookupError("no checkpoint id to read (list failed)")
        found = saver.get_tuple(_config(thread, middle))
        if found is None or found.config["configurable"]["checkpoint_id"] != middle:
            raise LookupError(f"get_tuple by id did not return checkpoint {middle}")
        return found

    def listed() -> Any:
        found = list(saver.list(config, limit=10))
        if len(found) != 10:
            raise LookupError(f"list(limit=10) returned {len(found)} checkpoints")
        return found

    def put() -> Any:
        latest = state["latest"] or get_latest()
        checkpoint = dict(latest.checkpoint, id=str(uuid6()))
        values = dict(checkpoint["channel_values"])
        values["messages"] = list(values.get("messages", [])) + [{"role": "assistant", "content": "put by the bench"}]
        checkpoint["channel_values"] = values
        new_versions = {"messages": saver.get_next_version(checkpoint["channel_versions"].get("messages"), None)}
        checkpoint["channel_versions"] = dict(checkpoint["channel_versions"], **new_versions)
        written = saver.put(latest.config, checkpoint, {"source": "update", "step": 10_000, "parents": {}}, new_versions)
        state["put"].append(written)
        return written

    def put_writes() -> Any:
        target = state["put"][-1] if state["put"] else (state["latest"] or get_latest()).config
        task = str(uuid6())
        return saver.put_writes(target, [(f"ch{i}", {"value": i, "text": "w" * 100}) for i in range(5)], task_id=task)

    def superstep() -> Any:
        return graph.invoke({"messages": [{"role": "user", "content": "one more"}]}, config)

    operations: list[tuple[str, Callable[[], Any]]] = [
        ("get_tuple (latest)", get_latest),
        ("get_tuple (by id)", get_by_id),
        ("list(limit=10)", listed),
        ("put", put),
        ("put_writes (5 writes)", put_writes),
        ("superstep (graph.invoke)", superstep),
    ]
    for name, fn in operations:
        row: dict[str, Any] = {"name": name, "calls": None, "ms": None, "error": None}
        try:
            _, row["calls"] = metered(endpoint, fn)
            times = []
            for _ in range(repeat):
                t0 = time.perf_counter()
                fn()
                times.append((time.perf_counter() - t0) * 1000)
            row["ms"] = statistics.median(times) if times else None
        except Exception as exc:  # noqa: BLE001 - a failed operation is a result
            row["error"] = _error(exc)
            row["calls"] = row["calls"] or read_calls(endpoint)
        out["ops"].append(row)
    return out


def run(impl: str, endpoint: str, memory_id: str, sizes: list[int], repeat: int) -> dict[str, Any]:
    saver = make_saver(impl, endpoint, memory_id)
    result: dict[str, Any] = {
        "impl": impl,
        "version": "this tree" if impl == "ours" else metadata.version("langgraph-checkpoint-aws"),
        "memory_id": memory_id,
        "python": sys.version.split()[0],
        "sizes": {},
    }
    for size in sizes:
        try:
            result["sizes"][str(size)] = measure_thread(saver, endpoint, size, repeat)
        except Exception as exc:  # noqa: BLE001 - building the thread failed: reported as data
            result["sizes"][str(size)] = {"size": size, "error": _error(exc), "traceback": traceback.format_exc()}
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--impl", choices=IMPLS, required=True)
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--memory-id", required=True)
    parser.add_argument("--sizes", default="10,300", help="comma-separated checkpoints per thread")
    parser.add_argument("--repeat", type=int, default=10, help="unmetered runs per operation for the median latency")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s]
    try:
        result = run(args.impl, args.endpoint, args.memory_id, sizes, args.repeat)
    except Exception as exc:  # noqa: BLE001 - reported to the driver as data
        result = {"impl": args.impl, "error": _error(exc), "traceback": traceback.format_exc()}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
