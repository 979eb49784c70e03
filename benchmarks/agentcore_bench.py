"""AgentCore Memory benchmark: our AgentCoreMemorySaver against langgraph-checkpoint-aws 1.2.6's, on one emulator.

Run: ``.venv/bin/python benchmarks/agentcore_bench.py [--sizes 10,300] [--repeat N]`` (or ``make bench-agentcore``).
It starts ONE emulator of the AgentCore Memory data plane (``langgraph_checkpoint_aws.emulator``,
in this process, on 127.0.0.1 and a free port) and runs each saver in its own process, one after
the other, on that emulator, each on its own memory id:
``benchmarks/peers/agentcore_worker.py`` with this venv's python for ours, and with the python of
``.bench/venvs/published-aws`` (built on first use by ``benchmarks/peers/venvs.py``) for the
published package, which has our import root and so cannot share our process.

Workload (the worker's docstring has the details): the graph of ``benchmarks/workload.py`` (20 KB
that never changes, one message more per superstep) grows a thread to 10 and to 300 checkpoints;
on each, one run of get_tuple (latest; by id), list(limit=10), put, put_writes (5 writes) and one
``graph.invoke`` of one more step (1 read, 3 checkpoints, 2 put_writes) is metered by the
emulator's own per-operation call counters (reset before each operation), then repeated
unmetered for the median latency.

Printed: API calls per operation at both sizes (totals, and by API at the larger size), median
latencies, the calls per checkpoint written while the thread grew, and the target of issue 11:
ours makes the same number of calls for get_tuple (latest, by id), put and put_writes at 10 and at
300 checkpoints. A published operation that raises is printed as FAILED with its error.

Latency: the emulator is local, so only ratios mean anything. Its HTTP handler sends headers and
body in two writes, so with Nagle's algorithm on, every small answer waits ~40 ms for the client's
delayed ACK, which would swamp the figures; this benchmark turns Nagle off on the emulator's
sockets in its own process (``--keep-nagle`` leaves it on).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any, Optional

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))  # noqa: E402 - run as a script

from benchmarks.peers import venvs  # noqa: E402
from benchmarks.report import table  # noqa: E402
from langgraph_checkpoint_aws.emulator import Emulator  # noqa: E402

WORKER = HERE / "peers" / "agentcore_worker.py"
IMPLS = {"ours": None, "published-aws": "published-aws"}  # impl -> peer venv (None: this venv)
BOUNDED = ("get_tuple (latest)", "get_tuple (by id)", "put", "put_writes (5 writes)")
SHORT = {"CreateEvent": "Create", "ListEvents": "List", "GetEvent": "Get", "DeleteEvent": "Delete",
         "ListSessions": "ListSessions", "ListActors": "ListActors"}


def new_memory_id(impl: str) -> str:
    """A memory id the service's pattern accepts (``name-XXXXXXXXXX``); the emulator creates it on first use."""
    return f"bench_{impl.replace('-', '_')}-{uuid.uuid4().hex[:10]}"


def run_worker(impl: str, endpoint: str, args: argparse.Namespace) -> dict[str, Any]:
    venv = IMPLS[impl]
    python = sys.executable if venv is None else str(venvs.ensure(venv))
    cmd = [python, str(WORKER), "--impl", impl, "--endpoint", endpoint, "--memory-id", new_memory_id(impl),
           "--sizes", args.sizes, "--repeat", str(args.repeat)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout, cwd=ROOT)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if not lines:
        return {"impl": impl, "error": f"worker exited {proc.returncode}: {proc.stderr.strip()[-2000:]}"}
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def _ratio(a: Optional[float], b: Optional[float]) -> str:
    return "-" if a is None or b is None or not b else f"{a / b:.1f}x"


def _op(results: dict[str, dict[str, Any]], impl: str, size: str, name: str) -> Optional[dict[str, Any]]:
    run = results.get(impl, {}).get("sizes", {}).get(size, {})
    return next((o for o in run.get("ops", []) if o["name"] == name), None)


def _total(op: Optional[dict[str, Any]]) -> Optional[int]:
    if op is None or op.get("error") or op.get("calls") is None:
        return None
    return sum(op["calls"].values())


def _calls_cell(op: Optional[dict[str, Any]]) -> str:
    if op is None:
        return "-"
    if op.get("error"):
        return "FAILED"
    return str(_total(op))


def _by_api(op: Optional[dict[str, Any]]) -> str:
    if op is None:
        return "-"
    if op.get("error"):
        return "FAILED"
    return ", ".join(f"{SHORT.get(k, k)} {v}" for k, v in sorted(op["calls"].items())) or "none"


def _ms(op: Optional[dict[str, Any]]) -> Optional[float]:
    return None if op is None or op.get("error") else op.get("ms")


def report(results: dict[str, dict[str, Any]], sizes: list[str], repeat: int) -> bool:
    """Print the tables; True when our bounded operations cost the same at every size."""
    for impl, r in results.items():
        if "error" in r:
            print(f"\n{impl}: FAILED: {r['error']}")
        for size, run in r.get("sizes", {}).items():
            if "error" in run:
                print(f"\n{impl}, thread of {size} checkpoints: FAILED: {run['error']}")
            elif run.get("list_error"):
                print(f"\n{impl}, thread of {size} checkpoints: list() FAILED: {run['list_error']}")
            for op in run.get("ops", []):
                if op.get("error"):
                    print(f"{impl}, thread of {size} checkpoints: {op['name']} FAILED: {op['error'][:200]}")
    names = next((
        [o["name"] for o in run["ops"]]
        for r in results.values() for run in r.get("sizes", {}).values() if run.get("ops")
    ), [])
    if not names:
        return False
    small, large = sizes[0], sizes[-1]
    listed = {impl: {s: r.get("sizes", {}).get(s, {}).get("checkpoints") for s in sizes} for impl, r in results.items()}
    print("\nCheckpoints in the measured threads (list()): "
          + "; ".join(f"{impl}: " + ", ".join(f"{v}" for v in by.values()) for impl, by in listed.items()))

    headers: tuple[str, ...] = (
        "operation", *(f"ours @{s}" for s in sizes), *(f"1.2.6 @{s}" for s in sizes), f"1.2.6 / ours @{large}",
    )
    rows = []
    for name in names:
        ours = [_op(results, "ours", s, name) for s in sizes]
        pub = [_op(results, "published-aws", s, name) for s in sizes]
        rows.append((name, *(_calls_cell(o) for o in ours), *(_calls_cell(o) for o in pub),
                     _ratio(_total(pub[-1]), _total(ours[-1]))))
    print(f"\nAPI calls per operation (emulator counters; threads of {' and '.join(sizes)} checkpoints)\n")
    print(table(rows, headers))
    print("superstep (graph.invoke): one more step of the graph on the thread: 1 get_tuple, 3 puts, 2 put_writes")

    detail = [(name, *(_by_api(_op(results, impl, s, name)) for impl in IMPLS for s in sizes)) for name in names]
    print("\nThe same calls by API (List = ListEvents, Create = CreateEvent, Delete = DeleteEvent, Get = GetEvent)\n")
    print(table(detail, headers[:-1]))

    lat_rows = []
    for name in names:
        ours_ms = [_ms(_op(results, "ours", s, name)) for s in sizes]
        pub_ms = [_ms(_op(results, "published-aws", s, name)) for s in sizes]
        fmt = ["-" if v is None else f"{v:.1f}" for v in ours_ms + pub_ms]
        lat_rows.append((name, *fmt, _ratio(pub_ms[-1], ours_ms[-1])))
    print(f"\nMedian latency, ms ({repeat} unmetered runs each; a local emulator: only the ratios mean anything)\n")
    print(table(lat_rows, headers))

    build_rows = []
    for impl, r in results.items():
        for size in sizes:
            run = r.get("sizes", {}).get(size, {})
            build = run.get("build")
            if not build:
                continue
            calls = sum(build["calls"].values())
            per = calls / build["checkpoints_written"]
            build_rows.append((impl, size, calls, f"{per:.2f}", _by_api({"calls": build["calls"]}),
                               f"{build['seconds']:.1f}"))
    print("\nGrowing the thread: one graph.invoke of N-2 supersteps (1 read at the start, then puts and writes)\n")
    print(table(build_rows, ("saver", "checkpoints", "API calls", "per checkpoint", "by API", "seconds")))

    ok = True
    print()
    for name in BOUNDED:
        counts = [_op(results, "ours", s, name) for s in sizes]
        if any(o is None or o.get("error") for o in counts):
            print(f"Target: ours {name} costs the same at {' and '.join(sizes)} checkpoints: not measured")
            ok = False
            continue
        same = all(o["calls"] == counts[0]["calls"] for o in counts)  # type: ignore[index]
        ok &= same
        print(f"Target: ours {name} costs the same at {' and '.join(sizes)} checkpoints: "
              f"{' vs '.join(str(_total(o)) for o in counts)} ({'met' if same else 'NOT met'})")
    pub_small, pub_large = (_total(_op(results, "published-aws", s, "get_tuple (latest)")) for s in (small, large))
    if pub_small is not None and pub_large is not None:
        print(f"Published get_tuple (latest): {pub_small} call(s) at {small} checkpoints, {pub_large} at {large}")
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10,300", help="checkpoints per measured thread, comma-separated")
    parser.add_argument("--repeat", type=int, default=10, help="unmetered runs per operation for the median latency")
    parser.add_argument("--only", default=",".join(IMPLS), help="comma-separated: ours,published-aws")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per saver")
    parser.add_argument("--keep-nagle", action="store_true", help="leave Nagle's algorithm on the emulator's sockets")
    args = parser.parse_args()
    if not args.keep_nagle:
        # StreamRequestHandler's own switch (TCP_NODELAY on each accepted socket), on the emulator's handler.
        from langgraph_checkpoint_aws.emulator import server as emulator_server

        handler = getattr(emulator_server, "_Handler", None)
        if handler is not None:
            handler.disable_nagle_algorithm = True
    sizes = [s for s in args.sizes.split(",") if s]
    results: dict[str, dict[str, Any]] = {}
    with Emulator("127.0.0.1", 0) as emulator:
        print(f"AgentCore Memory on the project's emulator {emulator.endpoint_url}: ours and published "
              f"langgraph-checkpoint-aws 1.2.6, one after the other, each on its own memory id")
        for impl in args.only.split(","):
            print(f"[bench] running {impl} ...", file=sys.stderr, flush=True)
            results[impl] = run_worker(impl, emulator.endpoint_url, args)
    if not report(results, sizes, args.repeat):
        sys.exit(1)


if __name__ == "__main__":
    main()
