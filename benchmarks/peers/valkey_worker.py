"""One implementation of the Valkey benchmark, in its own process.

Run by ``benchmarks/valkey_bench.py`` (with our ``.venv`` python for our savers
and InMemorySaver, with ``.bench/venvs/published-aws/bin/python`` for the
published ``langgraph-checkpoint-aws`` 1.2.6, which has our import root), or
by hand::

    python benchmarks/peers/valkey_worker.py --impl ours --mode sync --url valkey://127.0.0.1:6379

It expects an empty database (the orchestrator flushes it before each worker)
and prints ONE JSON line on stdout (and nothing else there).

``--mode sync``: the saver's sync API. End to end (``graph.invoke``, after an
untimed warm-up thread that is deleted again), ``--rounds`` times on new
threads; the bytes stored after the first round (every key of the db, found
by SCAN, summed with ``MEMORY USAGE key SAMPLES 0``); then the per-operation
measurements on a 200-checkpoint thread (``--repeat`` calls each).
``--mode async``: the async API, end to end only (``graph.ainvoke``) and the
bytes stored.

What it counts in this process:

- round trips: each ``send_packed_command`` of valkey-py's sync or asyncio
  connections (a pipeline or a MULTI/EXEC counts once), except the metering
  connection's; for our multiplexed async client, each write to its socket
  (the commands of one event-loop turn go in one write);
- server commands: the INFO commandstats delta (INFO itself excluded);
- client CPU: ``time.process_time()`` over the end-to-end run.

Standard library, ``valkey`` and ``langgraph`` only (plus the implementation's
own package), so the same file runs in every venv. The graph and the workload
come from ``benchmarks/workload.py`` (imported by path from the repository).
``--messages langchain``: the message list is made of ``langchain_core``
``HumanMessage`` (the input) and ``AIMessage`` (one per superstep), with the same
text as the default plain dicts and the same ``operator.add`` reducer
(langchain_core comes with langgraph, in every venv).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import statistics
import sys
import time
import traceback
import uuid
from importlib import metadata
from pathlib import Path
from typing import Any, AsyncIterator, Callable, Iterator, Optional

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # benchmarks.workload; the repository root holds no langgraph_checkpoint_aws

import valkey  # noqa: E402
import valkey.asyncio.connection as async_connection  # noqa: E402
from valkey.connection import AbstractConnection, Connection  # noqa: E402

from benchmarks.workload import (  # noqa: E402
    HANDBOOK,
    MESSAGE_KINDS,
    SUPERSTEPS,
    THREADS,
    build_message_graph,
    message_factory,
)

IMPLS = ("ours", "published", "inmemory", "floor")
MODES = ("sync", "async")
LONG_THREAD = 200
VICTIMS = 3
ACTOR = "bench-actor"
MESSAGES = "dicts"  # the kind of message in state (--messages): set once by main() before run()

OPERATIONS = (
    "get_tuple (latest)",
    "get_tuple (by id, with writes)",
    "list(limit=10)",
    "list(filter={'step': k})",
    "put",
    "put_writes (5 writes)",
    "delete_thread (42 checkpoints)",
)


def initial_state() -> dict[str, Any]:
    return {"messages": [message_factory(MESSAGES)("user", "go")], "handbook": HANDBOOK, "count": 0, "last": ""}


def build_graph(saver: Any, supersteps: int = SUPERSTEPS) -> Any:
    """The workload's graph, its messages of the kind chosen by --messages (the same for every implementation)."""
    return build_message_graph(saver, supersteps, MESSAGES)


# -- counting round trips -------------------------------------------------------------------

SYNC, ASYNC, MUX = "valkey-py sync", "valkey-py asyncio", "mux socket writes"
TRIPS: dict[str, int] = {SYNC: 0, ASYNC: 0, MUX: 0}


class AdminConnection(Connection):
    """The metering connection (INFO, SCAN, MEMORY USAGE): never counted."""

    bench_uncounted = True


def count_valkey_py() -> None:
    """Count every packed send of valkey-py's sync and asyncio connections (not the admin's)."""
    sync_send = AbstractConnection.send_packed_command

    def send_packed_command(self: Any, command: Any, check_health: bool = True) -> None:
        if not getattr(self, "bench_uncounted", False):
            TRIPS[SYNC] += 1
        sync_send(self, command, check_health)

    AbstractConnection.send_packed_command = send_packed_command  # type: ignore[method-assign]

    async_send = async_connection.AbstractConnection.send_packed_command

    async def async_send_packed_command(self: Any, command: Any, check_health: bool = True) -> None:
        TRIPS[ASYNC] += 1
        await async_send(self, command, check_health)

    async_connection.AbstractConnection.send_packed_command = async_send_packed_command  # type: ignore[method-assign]


def count_mux() -> bool:
    """Count socket writes of our multiplexed async client, when it exists in this process."""
    try:
        from langgraph_checkpoint_aws.adapters.valkey import mux
    except Exception:  # noqa: BLE001 - not our package, or it moved
        return False
    protocol = getattr(mux, "_Protocol", None)
    if protocol is None or not hasattr(protocol, "connection_made"):
        return False
    made = protocol.connection_made

    def connection_made(self: Any, transport: Any) -> None:
        write = transport.write

        def counted_write(data: Any) -> None:
            TRIPS[MUX] += 1
            write(data)

        transport.write = counted_write
        made(self, transport)

    protocol.connection_made = connection_made
    return True


class Meter:
    """Round trips (this process) and server commands (INFO commandstats) since the last ``take``."""

    def __init__(self, host: str, port: int) -> None:
        pool = valkey.ConnectionPool(host=host, port=port, connection_class=AdminConnection)
        self.admin = valkey.Valkey(connection_pool=pool)
        self._trips = dict(TRIPS)
        self._commands = 0
        self._script_usec = 0
        self.script_usec = 0  # server microseconds spent in scripts (EVALSHA) since the last take
        self.by_source: dict[str, int] = {}
        self.take()

    def _server_commands(self) -> tuple[int, int]:
        stats = self.admin.info("commandstats")
        calls = sum(v["calls"] for k, v in stats.items() if k != "cmdstat_info")
        return calls, sum(v["usec"] for k, v in stats.items() if k in ("cmdstat_evalsha", "cmdstat_eval"))

    def take(self) -> tuple[int, int]:
        """(round trips, server commands) since the last call; ``by_source`` splits the round trips,
        ``script_usec`` is the server time of the scripts run since the last call."""
        trips, (commands, usec) = dict(TRIPS), self._server_commands()
        self.by_source = {k: trips[k] - self._trips[k] for k in trips if trips[k] != self._trips[k]}
        out = (sum(self.by_source.values()), commands - self._commands)
        self.script_usec = usec - self._script_usec
        self._trips, self._commands, self._script_usec = trips, commands, usec
        return out

    def keys(self) -> list[bytes]:
        return list(self.admin.scan_iter(count=1000))

    def stored(self, exclude: set[bytes]) -> dict[str, int]:
        """Keys, payload bytes (fields and values) and MEMORY USAGE (SAMPLES 0) of every key not in ``exclude``."""
        keys = [k for k in self.keys() if k not in exclude]
        memory = payload = 0
        for i in range(0, len(keys), 200):
            batch = keys[i : i + 200]
            pipe = self.admin.pipeline(transaction=False)
            for k in batch:
                pipe.execute_command("MEMORY", "USAGE", k, "SAMPLES", 0)
                pipe.type(k)
            replies = pipe.execute()
            memory += sum(int(r or 0) for r in replies[0::2])
            kinds = replies[1::2]
            pipe = self.admin.pipeline(transaction=False)
            for k, kind in zip(batch, kinds):
                if kind == b"string":
                    pipe.get(k)
                elif kind == b"hash":
                    pipe.hgetall(k)
                elif kind == b"list":
                    pipe.lrange(k, 0, -1)
                elif kind == b"zset":
                    pipe.zrange(k, 0, -1)
                elif kind == b"set":
                    pipe.smembers(k)
                else:
                    pipe.echo(b"")
            for value in pipe.execute():
                if isinstance(value, dict):
                    payload += sum(len(f) + len(v) for f, v in value.items())
                elif isinstance(value, (list, set)):
                    payload += sum(len(m) for m in value)
                elif value:
                    payload += len(value)
        return {"keys": len(keys), "payload": payload, "memory": memory}


# -- the implementations -------------------------------------------------------------------


@contextlib.contextmanager
def open_sync(impl: str, url: str, agentcore: bool) -> Iterator[Any]:
    if impl == "ours":
        from langgraph_checkpoint_aws import AgentCoreValkeySaver, ValkeySaver

        cls = AgentCoreValkeySaver if agentcore else ValkeySaver
        with cls.from_conn_string(url) as saver:
            yield saver
    elif impl == "published":
        # langgraph-checkpoint-aws 1.2.6: ValkeySaver.from_conn_string(conn_string, *, ttl_seconds, pool_size=10)
        from langgraph_checkpoint_aws import ValkeySaver

        with ValkeySaver.from_conn_string(url) as saver:
            yield saver
    elif impl == "inmemory":
        from langgraph.checkpoint.memory import InMemorySaver

        yield InMemorySaver()
    elif impl == "floor":
        client = valkey.Valkey.from_url(url)
        try:
            yield floor_saver(client.ping)
        finally:
            client.close()
    else:
        raise ValueError(f"unknown implementation {impl!r}")


def floor_saver(ping: Callable[[], Any]) -> Any:
    """The floor of any saver making one local round trip per put and per put_writes:
    langgraph's InMemorySaver, plus one valkey-py PING after each (sync or awaited)."""
    from langgraph.checkpoint.memory import InMemorySaver

    class Floor(InMemorySaver):
        def put(self, *args: Any, **kwargs: Any) -> Any:
            config = super().put(*args, **kwargs)
            ping()
            return config

        def put_writes(self, *args: Any, **kwargs: Any) -> None:
            super().put_writes(*args, **kwargs)
            ping()

        async def aput(self, *args: Any, **kwargs: Any) -> Any:
            config = super().put(*args, **kwargs)
            await ping()
            return config

        async def aput_writes(self, *args: Any, **kwargs: Any) -> None:
            super().put_writes(*args, **kwargs)
            await ping()

    return Floor()


@contextlib.asynccontextmanager
async def open_async(impl: str, url: str, agentcore: bool, pool_size: Optional[int] = None) -> AsyncIterator[Any]:
    if impl == "ours":
        if agentcore:
            raise RuntimeError("no async from_conn_string for AgentCoreValkeySaver")
        from langgraph_checkpoint_aws import AsyncValkeySaver

        async with AsyncValkeySaver.from_conn_string(url) as saver:
            yield saver
    elif impl == "published":
        # 1.2.6: AsyncValkeySaver.from_conn_string(conn_string, *, ttl_seconds, serde, pool_size=10, **kwargs);
        # its valkey.asyncio pool raises "Too many connections" when full (langgraph's background
        # checkpoint writes can hold dozens at once), hence --pool-size.
        from langgraph_checkpoint_aws import AsyncValkeySaver

        sizing = {"pool_size": pool_size} if pool_size else {}
        async with AsyncValkeySaver.from_conn_string(url, **sizing) as saver:
            yield saver
    elif impl == "inmemory":
        from langgraph.checkpoint.memory import InMemorySaver

        yield InMemorySaver()
    elif impl == "floor":
        import valkey.asyncio

        client = valkey.asyncio.Valkey.from_url(url)
        try:
            yield floor_saver(client.ping)
        finally:
            await client.aclose()
    else:
        raise ValueError(f"unknown implementation {impl!r}")


def versions(impl: str) -> dict[str, str]:
    packages = ["langgraph", "langgraph-checkpoint", "valkey"] + (["langchain-core"] if MESSAGES == "langchain" else [])
    packages += {"ours": ["langgraph-checkpoint-aws-hex", "libvalkey"], "published": ["langgraph-checkpoint-aws"]}.get(
        impl, []
    )
    out = {"python": platform.python_version()}
    for p in packages:
        try:
            out[p] = metadata.version(p)
        except metadata.PackageNotFoundError:
            out[p] = "-"
    return out


# -- the measurements ----------------------------------------------------------------------


def make_cfg(agentcore: bool) -> Callable[[str], dict[str, Any]]:
    extra = {"actor_id": ACTOR} if agentcore else {}

    def cfg(thread_id: str) -> dict[str, Any]:
        return {"configurable": {"thread_id": thread_id, **extra}}

    return cfg


def supersteps() -> int:
    return THREADS * (SUPERSTEPS + 1)  # the input checkpoint and one per node run, per thread


def round_threads(r: int) -> list[str]:
    """Thread ids of end-to-end round ``r`` (round 0's are the ones whose bytes are measured)."""
    return [f"thread-{t}" if r == 0 else f"thread-r{r}-{t}" for t in range(THREADS)]


class Rounds:
    """Timing and counts of the end-to-end rounds; the bytes stored after round 0 (on a flushed db)."""

    def __init__(self, meter: Optional[Meter], leftover: set[bytes]) -> None:
        self.meter, self.leftover = meter, leftover
        self.runs: list[dict[str, Any]] = []
        self.stored: Optional[dict[str, int]] = None
        self._t0 = self._cpu0 = 0.0

    def start(self) -> None:
        if self.meter:
            self.meter.take()
        self._cpu0, self._t0 = time.process_time(), time.perf_counter()

    def stop(self) -> None:
        seconds, cpu = time.perf_counter() - self._t0, time.process_time() - self._cpu0
        run: dict[str, Any] = {"seconds": seconds, "cpu_s": cpu}
        if self.meter:
            run["trips"], run["commands"] = self.meter.take()
            run["by_source"] = self.meter.by_source
            if self.stored is None:
                self.stored = self.meter.stored(self.leftover)
        self.runs.append(run)

    def result(self) -> dict[str, Any]:
        out: dict[str, Any] = {"supersteps": supersteps(), "runs": self.runs}
        if self.meter:
            out["stored"] = self.stored
            out["leftover_keys"] = len(self.leftover)
        return out


def end_to_end_sync(saver: Any, meter: Optional[Meter], cfg: Callable[[str], dict[str, Any]], rounds: int) -> dict[str, Any]:
    # Untimed warm-up on a thread of its own (connections, scripts, graph caches), deleted again.
    build_graph(saver, 2).invoke(initial_state(), cfg("warm-up"))
    saver.delete_thread("warm-up")
    measured = Rounds(meter, set(meter.keys()) if meter else set())
    graph = build_graph(saver, SUPERSTEPS)
    for r in range(rounds):
        threads = round_threads(r)
        measured.start()
        for tid in threads:
            graph.invoke(initial_state(), {**cfg(tid), "recursion_limit": 500})
        measured.stop()
    out = measured.result()
    whole = checkpoints = 0
    for tid in round_threads(0):
        for t in saver.list(cfg(tid)):
            checkpoints += 1
            whole += len(saver.serde.dumps_typed(t.checkpoint["channel_values"])[1])
    out["checkpoints"], out["whole_state"] = checkpoints, whole
    return out


async def end_to_end_async(
    saver: Any, meter: Optional[Meter], cfg: Callable[[str], dict[str, Any]], rounds: int
) -> dict[str, Any]:
    await build_graph(saver, 2).ainvoke(initial_state(), cfg("warm-up"))
    await saver.adelete_thread("warm-up")
    measured = Rounds(meter, set(meter.keys()) if meter else set())
    graph = build_graph(saver, SUPERSTEPS)
    for r in range(rounds):
        threads = round_threads(r)
        measured.start()
        for tid in threads:
            await graph.ainvoke(initial_state(), {**cfg(tid), "recursion_limit": 500})
        measured.stop()
    out = measured.result()
    checkpoints = 0
    for tid in round_threads(0):
        async for _ in saver.alist(cfg(tid)):
            checkpoints += 1
    out["checkpoints"] = checkpoints
    return out


def operations(saver: Any, meter: Optional[Meter], cfg: Callable[[str], dict[str, Any]], repeat: int) -> dict[str, Any]:
    """The per-operation measurements on a 200-checkpoint thread (sync API)."""
    build_graph(saver, LONG_THREAD - 2).invoke(initial_state(), {**cfg("long"), "recursion_limit": 1000})
    history = list(saver.list(cfg("long")))
    latest = history[0]
    read_back = {type(m).__name__ for m in latest.checkpoint["channel_values"]["messages"]}
    expected = {"dict"} if MESSAGES == "dicts" else {"HumanMessage", "AIMessage"}
    if read_back != expected:  # the saver must give back the messages it was given, not e.g. their dicts
        raise RuntimeError(f"--messages {MESSAGES}: messages read back as {sorted(read_back)}, expected {sorted(expected)}")
    by_id = next((t.config for t in history if t.pending_writes), history[5].config)
    victims = [f"victim-{i}" for i in range(VICTIMS)]
    victim_graph = build_graph(saver, SUPERSTEPS)
    for v in victims:
        victim_graph.invoke(initial_state(), {**cfg(v), "recursion_limit": 500})
    victim_size = len(list(saver.list(cfg(victims[0]))))
    rows: list[dict[str, Any]] = []

    def row(name: str, fn: Callable[[], Any], n: int = repeat) -> None:
        if meter:
            meter.take()
        times = []
        for _ in range(n):
            t0 = time.perf_counter()
            fn()
            times.append((time.perf_counter() - t0) * 1000)
        r: dict[str, Any] = {"name": name, "n": n, "median_ms": statistics.median(times)}
        if meter:
            trips, commands = meter.take()
            r["trips"], r["commands"], r["script_us"] = trips / n, commands / n, meter.script_usec / n
        rows.append(r)

    row(OPERATIONS[0], lambda: saver.get_tuple(cfg("long")))
    row(OPERATIONS[1], lambda: saver.get_tuple(by_id))
    row(OPERATIONS[2], lambda: list(saver.list(cfg("long"), limit=10)))
    row(OPERATIONS[3], lambda: list(saver.list(cfg("long"), filter={"step": 17})))
    put_configs: list[Any] = []

    def put() -> None:
        checkpoint = dict(latest.checkpoint, id=str(uuid.uuid1()))
        new_versions = {"messages": saver.get_next_version(checkpoint["channel_versions"]["messages"], None)}
        checkpoint["channel_versions"] = dict(checkpoint["channel_versions"], **new_versions)
        put_configs.append(saver.put(latest.config, checkpoint, {"source": "loop", "step": 999}, new_versions))

    row(OPERATIONS[4], put)
    row(OPERATIONS[5], lambda: saver.put_writes(put_configs[-1], [(f"ch{i}", i) for i in range(5)], task_id=str(uuid.uuid4())))
    it = iter(victims)
    row(OPERATIONS[6], lambda: saver.delete_thread(next(it)), n=len(victims))
    remaining = len(list(saver.list(cfg(victims[0]))))
    return {"rows": rows, "long_checkpoints": len(history), "victim_checkpoints": victim_size, "victim_after_delete": remaining}


def run(args: argparse.Namespace) -> dict[str, Any]:
    count_valkey_py()
    mux = count_mux() if args.impl == "ours" else False
    result: dict[str, Any] = {
        "impl": args.impl, "mode": args.mode, "pid": os.getpid(), "versions": versions(args.impl), "mux_counted": mux,
        "messages": MESSAGES,
    }
    parsed = valkey.connection.parse_url(args.url)
    meter = Meter(parsed.get("host", "127.0.0.1"), int(parsed.get("port", 6379))) if args.impl != "inmemory" else None
    if meter:
        result["server"] = meter.admin.info("server").get("valkey_version")
        result["keys_before"] = len(meter.keys())
    cfg = make_cfg(args.agentcore and args.impl == "ours")
    if args.mode == "sync":
        with open_sync(args.impl, args.url, args.agentcore) as saver:
            result["saver"] = f"{type(saver).__module__}.{type(saver).__qualname__}"
            result["e2e"] = end_to_end_sync(saver, meter, cfg, args.rounds)
            result["ops"] = operations(saver, meter, cfg, args.repeat)
    else:

        async def main_async() -> None:
            async with open_async(args.impl, args.url, args.agentcore, args.pool_size) as saver:
                result["saver"] = f"{type(saver).__module__}.{type(saver).__qualname__}"
                result["e2e"] = await end_to_end_async(saver, meter, cfg, args.rounds)

        asyncio.run(main_async())
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--impl", required=True, choices=IMPLS)
    parser.add_argument("--mode", required=True, choices=MODES)
    parser.add_argument("--url", default="valkey://127.0.0.1:6379")
    parser.add_argument("--repeat", type=int, default=50, help="calls per operation (median taken)")
    parser.add_argument("--rounds", type=int, default=10, help="end-to-end rounds (median taken; bytes after the first)")
    parser.add_argument("--agentcore", action="store_true", help="ours: AgentCoreValkeySaver (sync only)")
    parser.add_argument("--pool-size", type=int, default=None, help="published async: pool_size (default: its own, 10)")
    parser.add_argument("--messages", choices=MESSAGE_KINDS, default="dicts",
                        help="messages in state: plain dicts, or langchain_core HumanMessage/AIMessage")
    args = parser.parse_args()
    global MESSAGES
    MESSAGES = args.messages
    try:
        result = run(args)
    except Exception as exc:  # noqa: BLE001 - reported to the orchestrator as JSON
        traceback.print_exc(file=sys.stderr)
        result = {"impl": args.impl, "mode": args.mode, "error": f"{type(exc).__name__}: {str(exc)[:300]}"}
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()
    return 0 if "error" not in result else 1


if __name__ == "__main__":
    sys.exit(main())
