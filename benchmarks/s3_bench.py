"""Plain-S3 benchmark: our S3CheckpointSaver against langgraph-checkpoint-s3 0.1.3, on one moto server, in one run.

Run: ``.venv/bin/python benchmarks/s3_bench.py [--repeat N]`` (or ``make bench-s3``).
It starts its own moto server on 127.0.0.1 (a free port) and runs each saver
in its own process, one after the other, on that server (a bucket each):
``benchmarks/peers/s3_worker.py`` with this venv's python for ours, and with
the python of ``.bench/venvs/s3`` (built on first use by
``benchmarks/peers/venvs.py``) for langgraph-checkpoint-s3 0.1.3.

Workload (``benchmarks/workload.py``, the same as the other benchmarks'): 5
threads x 40 supersteps of a graph whose state holds 20 KB that never changes
and a growing message list, run with ``graph.invoke``. Then, on one thread:
get_tuple (latest, and by id), list(limit=10), put of 2 changed channels,
put_writes of 5 writes, delete_thread of a 42-checkpoint thread.

Printed for both: S3 requests per superstep and per operation (counted on
the saver's own client with botocore's before-send hook), request rounds
(ours sends a round's requests in parallel; the peer one at a time, so its
rounds are its requests), objects and bytes stored after the end-to-end run,
what ``list`` of thread 0 returns, and median latencies on the local mock
server (only their ratios mean anything).

Targets checked at the end (issue 10): bytes stored <= 0.5x the peer's;
rounds: get_tuple <= 2, list(limit=10) <= 3, put <= 2, put_writes 1.
"""

from __future__ import annotations

import argparse
import json
import logging
import subprocess
import sys
from pathlib import Path
from typing import Any, Optional

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))  # noqa: E402 - run as a script

from moto.server import ThreadedMotoServer  # noqa: E402

from benchmarks.peers import venvs  # noqa: E402
from benchmarks.report import table  # noqa: E402

WORKER = HERE / "peers" / "s3_worker.py"
IMPLS = {"ours": None, "langgraph-checkpoint-s3": "s3"}  # impl -> peer venv (None: this venv)
PEER = "langgraph-checkpoint-s3"
TARGET_BYTES_RATIO = 0.5
ROUND_LIMITS = {
    "get_tuple (latest)": 2,
    "get_tuple (by id)": 2,
    "list(limit=10)": 3,
    "put (2 changed channels)": 2,
    "put_writes (5 writes)": 1,
}


def run_worker(impl: str, endpoint: str, args: argparse.Namespace) -> dict[str, Any]:
    venv = IMPLS[impl]
    python = sys.executable if venv is None else str(venvs.ensure(venv))
    cmd = [python, str(WORKER), "--impl", impl, "--endpoint", endpoint, "--repeat", str(args.repeat)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout, cwd=ROOT)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if not lines:
        return {"impl": impl, "error": f"worker exited {proc.returncode}: {proc.stderr.strip()[-2000:]}"}
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def _ratio(a: Optional[float], b: Optional[float]) -> str:
    return "-" if a is None or not b else f"{a / b:.2f}x"


def report(results: dict[str, dict[str, Any]]) -> bool:
    """Print the tables; True when every target holds."""
    for impl, r in results.items():
        if "error" in r:
            print(f"\n{impl}: FAILED: {r['error']}")
    ok = {k: r for k, r in results.items() if "error" not in r}
    if not ok:
        return False
    impls = list(ok)
    ours, peer = ok.get("ours"), ok.get(PEER)
    rows: list[tuple[Any, ...]] = []

    def both(label: str, get: Any, fmt: str = "{}") -> None:
        values = [get(ok[i]) for i in impls]
        ratio = _ratio(get(ours), get(peer)) if ours and peer else "-"
        rows.append((label, *[fmt.format(v) for v in values], ratio))

    both("requests per superstep (end to end)", lambda r: r["e2e_calls"] / r["supersteps"], "{:.2f}")
    both("request rounds per superstep (end to end)", lambda r: r["e2e_rounds"] / r["supersteps"], "{:.2f}")
    both("end to end seconds (moto, local)", lambda r: r["e2e_seconds"], "{:.2f}")
    both("objects stored", lambda r: r["objects"])
    both("bytes stored", lambda r: r["bytes"], "{:,}")
    both("list(thread 0): checkpoints", lambda r: r["listed_checkpoints"])
    both("list(thread 0): pending writes", lambda r: r["listed_writes"])
    both("failed requests (HTTP >= 400)", lambda r: r["failed_requests"])
    print("\nEnd to end: 5 threads x 40 supersteps (205 supersteps)")
    print(table(rows, ("figure", *impls, "ours / peer")))
    op_rows = []
    for op in next(iter(ok.values()))["ops"]:
        cells: list[Any] = [op]
        for i in impls:
            o = ok[i]["ops"][op]
            cells.append(f"{o['calls']} req / {o['rounds']} rounds")
        for i in impls:
            o = ok[i]["ops"][op]
            cells.append("-" if "median_ms" not in o else f"{o['median_ms']:.1f} ms")
        op_rows.append(tuple(cells))
    print("\nPer operation (requests counted on the saver's client; rounds: requests sent together)")
    print(table(op_rows, ("operation", *[f"{i}: requests" for i in impls], *[f"{i}: median" for i in impls])))
    if ours:
        detail = [(op, json.dumps(o["by_api"], sort_keys=True)) for op, o in ours["ops"].items()]
        print("\nOurs, requests by API")
        print(table(detail, ("operation", "requests")))
    passed = True
    if ours and peer:
        ratio = ours["bytes"] / peer["bytes"]
        good = ratio <= TARGET_BYTES_RATIO
        passed &= good
        print(f"\nTarget: bytes stored <= {TARGET_BYTES_RATIO}x {PEER} 0.1.3's: {ratio:.2f}x {'OK' if good else 'MISSED'}")
    if ours:
        for op, limit in ROUND_LIMITS.items():
            rounds = ours["ops"][op]["rounds"]
            good = rounds <= limit
            passed &= good
            print(f"Target: {op} <= {limit} rounds: {rounds} {'OK' if good else 'MISSED'}")
    return passed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=10, help="unmetered repeats per read for latency")
    parser.add_argument("--only", default=",".join(IMPLS), help=f"comma-separated: {','.join(IMPLS)}")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per saver")
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    print(f"S3 on moto {endpoint}: ours and {PEER} 0.1.3, one after the other")
    results: dict[str, dict[str, Any]] = {}
    try:
        for impl in args.only.split(","):
            print(f"[bench] running {impl} ...", file=sys.stderr, flush=True)
            results[impl] = run_worker(impl, endpoint, args)
    finally:
        server.stop()
    if not report(results):
        sys.exit(1)


if __name__ == "__main__":
    main()
