"""One implementation of the concurrency benchmark, in its own process.

Run by ``benchmarks/concurrency_bench.py`` (with our ``.venv`` python for our
savers and InMemorySaver, and with a peer's own venv python for the peers), or
by hand::

    python benchmarks/peers/concurrency_worker.py --impl ours-async \
        --url valkey://127.0.0.1:6379 --n 1,16,64,256

For each N it opens one saver, starts N coroutines on one event loop, each on
its own thread_id, and each awaits ``graph.ainvoke`` ``rounds(N)`` times in a
row; all N share the saver. It prints ONE JSON line on stdout (and nothing else
there): versions, and per N the wall time, supersteps, per-``ainvoke``
latencies (p50, p99) and errors (count, and the first error's type and message).

Standard library and ``langgraph`` only (plus the implementation's own package),
so the same file runs in every venv. The graph is defined here, so every
implementation runs the very same graph.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import operator
import os
import platform
import sys
import time
import traceback
import uuid
from importlib import metadata
from typing import Annotated, Any, AsyncIterator, Callable, TypedDict

from langgraph.graph import END, START, StateGraph

NODES = 4  # supersteps per ainvoke: four nodes in sequence, one superstep each
POOL = 1000  # connections given to the peers whose default pool is too small

IMPLS = ("ours-async", "ours-sync", "inmemory", "floor", "published-aws", "redis")


# -- the graph (identical for every implementation) -----------------------------------------


class State(TypedDict):
    messages: Annotated[list[dict[str, str]], operator.add]
    count: int


def _node(name: str) -> Callable[[State], dict[str, Any]]:
    def node(state: State) -> dict[str, Any]:
        n = state["count"] + 1
        return {"messages": [{"role": "assistant", "content": f"{name} step {n}"}], "count": n}

    node.__name__ = name
    return node


def build_graph(saver: Any) -> Any:
    """Four nodes in sequence (a -> b -> c -> d): four supersteps per ainvoke, small state."""
    builder = StateGraph(State)
    names = [f"n{i}" for i in range(NODES)]
    for name in names:
        builder.add_node(name, _node(name))
    builder.add_edge(START, names[0])
    for a, b in zip(names, names[1:]):
        builder.add_edge(a, b)
    builder.add_edge(names[-1], END)
    return builder.compile(checkpointer=saver)


def rounds(n: int) -> int:
    """ainvokes per coroutine, in a row: more at small N so the run lasts long enough to measure."""
    if n == 1:
        return 100
    if n <= 16:
        return 10
    return 4 if n <= 64 else 2


# -- the implementations -------------------------------------------------------------------


@contextlib.asynccontextmanager
async def open_saver(impl: str, url: str) -> AsyncIterator[Any]:
    if impl == "ours-async":
        from langgraph_checkpoint_aws import AsyncValkeySaver

        async with AsyncValkeySaver.from_conn_string(url) as saver:
            yield saver
    elif impl == "ours-sync":
        from langgraph_checkpoint_aws import ValkeySaver

        with ValkeySaver.from_conn_string(url) as saver:
            yield saver
    elif impl == "inmemory":
        from langgraph.checkpoint.memory import InMemorySaver

        yield InMemorySaver()
    elif impl == "floor":
        # The floor of any saver making one round trip per write: InMemorySaver, plus one
        # awaited valkey-py PING after each aput and aput_writes (a pool as large as the peers').
        import valkey.asyncio
        from langgraph.checkpoint.memory import InMemorySaver

        # A blocking pool waits for a free connection where a plain one raises "Too many connections".
        pool = valkey.asyncio.BlockingConnectionPool.from_url(url, max_connections=POOL)
        client = valkey.asyncio.Valkey(connection_pool=pool)

        class Floor(InMemorySaver):
            async def aput(self, *args: Any, **kwargs: Any) -> Any:
                config = self.put(*args, **kwargs)
                await client.ping()
                return config

            async def aput_writes(self, *args: Any, **kwargs: Any) -> None:
                self.put_writes(*args, **kwargs)
                await client.ping()

        try:
            yield Floor()
        finally:
            await client.aclose()
            await pool.disconnect()
    elif impl == "published-aws":
        # langgraph-checkpoint-aws 1.2.6: from_conn_string(conn_string, *, ttl_seconds, serde,
        # pool_size=10, **kwargs) builds AsyncValkey.from_url(..., max_connections=pool_size).
        from langgraph_checkpoint_aws import AsyncValkeySaver

        async with AsyncValkeySaver.from_conn_string(url, pool_size=POOL) as saver:
            yield saver
    elif impl == "redis":
        # langgraph-checkpoint-redis: connection_args go to redis.asyncio.Redis.from_url
        # (through redisvl's connection factory); the context manager runs asetup().
        from langgraph.checkpoint.redis.aio import AsyncRedisSaver

        redis_url = url.replace("valkey://", "redis://", 1)
        async with AsyncRedisSaver.from_conn_string(redis_url, connection_args={"max_connections": POOL}) as saver:
            yield saver
    else:
        raise ValueError(f"unknown implementation {impl!r}; known: {', '.join(IMPLS)}")


def versions(impl: str) -> dict[str, str]:
    packages = ["langgraph", "langgraph-checkpoint"]
    packages += {
        "ours-async": ["langgraph-checkpoint-aws-hex", "valkey"],
        "ours-sync": ["langgraph-checkpoint-aws-hex", "valkey"],
        "inmemory": [],
        "floor": ["valkey"],
        "published-aws": ["langgraph-checkpoint-aws", "valkey"],
        "redis": ["langgraph-checkpoint-redis", "redis", "redisvl"],
    }.get(impl, [])
    out = {"python": platform.python_version()}
    for p in packages:
        try:
            out[p] = metadata.version(p)
        except metadata.PackageNotFoundError:
            out[p] = "-"
    return out


# -- the measurement -----------------------------------------------------------------------


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    if not sorted_values:
        return float("nan")
    k = max(0, min(len(sorted_values) - 1, int(-(-q * len(sorted_values) // 100)) - 1))
    return sorted_values[k]


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__module__}.{type(exc).__qualname__}: {str(exc)[:300]}"


async def run_one_n(impl: str, url: str, n: int, timeout: float) -> dict[str, Any]:
    r = rounds(n)
    tag = uuid.uuid4().hex[:8]
    latencies: list[float] = []
    errors = 0
    failed_coroutines = 0
    first_error: str | None = None
    ok_invokes = 0

    async with open_saver(impl, url) as saver:
        graph = build_graph(saver)
        # Untimed warm-up on a thread of its own: imports, first connection, compiled graph caches.
        await graph.ainvoke({"messages": [], "count": 0}, {"configurable": {"thread_id": f"warm-{tag}-{n}"}})

        async def worker(i: int) -> None:
            nonlocal errors, failed_coroutines, first_error, ok_invokes
            config = {"configurable": {"thread_id": f"{impl}-{tag}-n{n}-c{i}"}}
            failed = False
            for k in range(r):
                t0 = time.perf_counter()
                try:
                    # Later rounds send no count: it must come back from the saver's checkpoint.
                    message = [{"role": "user", "content": f"go {k}"}]
                    update = {"messages": message, "count": 0} if k == 0 else {"messages": message}
                    out = await graph.ainvoke(update, config)
                    expected = NODES * (k + 1)
                    if out.get("count") != expected or len(out.get("messages", ())) != (NODES + 1) * (k + 1):
                        raise AssertionError(
                            f"wrong state after ainvoke {k}: count={out.get('count')} (expected {expected}), "
                            f"{len(out.get('messages', ()))} messages (expected {(NODES + 1) * (k + 1)})"
                        )
                except Exception as exc:  # noqa: BLE001 - counted and reported
                    errors += 1
                    failed = True
                    if first_error is None:
                        first_error = _describe(exc)
                    break  # the thread's state is unknown now; this coroutine stops
                latencies.append((time.perf_counter() - t0) * 1000)
                ok_invokes += 1
            if failed:
                failed_coroutines += 1

        start = time.perf_counter()
        tasks = [asyncio.ensure_future(worker(i)) for i in range(n)]
        done, pending = await asyncio.wait(tasks, timeout=timeout)
        wall = time.perf_counter() - start
        for t in pending:
            t.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
            errors += len(pending)
            failed_coroutines += len(pending)
            if first_error is None:
                first_error = f"TimeoutError: {len(pending)} coroutines still running after {timeout:.0f}s"

    latencies.sort()
    supersteps = ok_invokes * NODES
    return {
        "n": n,
        "rounds": r,
        "invokes": n * r,
        "ok_invokes": ok_invokes,
        "supersteps": supersteps,
        "wall_s": wall,
        "supersteps_per_s": supersteps / wall if wall > 0 else 0.0,
        "p50_ms": percentile(latencies, 50),
        "p99_ms": percentile(latencies, 99),
        "errors": errors,
        "failed_coroutines": failed_coroutines,
        "first_error": first_error,
    }


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    ns = [int(x) for x in args.n.split(",") if x.strip()]
    result: dict[str, Any] = {"impl": args.impl, "pid": os.getpid(), "versions": versions(args.impl), "results": []}
    for n in ns:
        try:
            result["results"].append(await run_one_n(args.impl, args.url, n, args.timeout))
        except Exception as exc:  # noqa: BLE001 - a set-up failure (import, connect, index) for this N
            traceback.print_exc(file=sys.stderr)
            result["results"].append({"n": n, "setup_error": _describe(exc)})
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--impl", required=True, choices=IMPLS)
    parser.add_argument("--url", default="valkey://127.0.0.1:6379")
    parser.add_argument("--n", default="1,16,64,256", help="comma-separated coroutine counts")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds allowed per N")
    args = parser.parse_args()
    result = asyncio.run(main_async(args))
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
