"""DynamoDB+S3 benchmark: ours against the published langgraph-checkpoint-aws 1.2.6, on one moto server, in one run.

Run: ``.venv/bin/python benchmarks/dynamodb_bench.py [--offload] [--compression] [--ttl S] [--repeat N]``.
It starts its own moto server on 127.0.0.1 (a free port) and runs each saver in
its own process, one after the other, on that server (a table each):
``benchmarks/peers/dynamodb_worker.py`` with this venv's python for ours, and
with the python of ``.bench/venvs/published-aws`` (built on first use by
``benchmarks/peers/venvs.py``) for the published package, which has our import
root and so cannot share our process.

Workload (``benchmarks/workload.py``, the same as the Valkey benchmark's): 5
threads x 40 supersteps of a graph whose state holds 20 KB that never changes
(``handbook``) and a growing message list, run with ``graph.invoke``; each
thread ends with 42 checkpoints (205 supersteps counted, as LangGraph writes
41 + the input checkpoint per thread). Then, on one such thread: get_tuple
(latest, and by id with writes), list(limit=10), list with a metadata filter,
put, put_writes of 5 writes, delete_thread of a 42-checkpoint thread.

What is printed, for both savers:

- write and read capacity units (WCU, RCU) per superstep and per operation,
  computed from item sizes by DynamoDB's billing rules from the requests and
  responses each process observes with botocore event hooks on the saver's
  own client. The rules, in short: 1 WCU per started 1 KB of each item written
  (the larger of the item before and after; transactional writes double);
  1 RCU per started 4 KB of each item for GetItem/BatchGetItem and of the
  total size of the items read for Query/Scan (before any filter, in full
  despite projections; strongly consistent; eventually consistent halves it).
  The sizes a request and its response do not show (the item before a write,
  a projected item in full, the items a filter dropped) are read on a second,
  uninstrumented client inside the hook. The full rules are in the worker's
  docstring. On AWS on-demand, a million WCU cost 5x a million RCU.
- API calls per superstep and per operation, and failed requests (HTTP >= 400;
  the savers retry them, but each is a failed request on the test server);
- items and bytes stored (item sizes by the same rule), what ``list`` of thread
  0 returns (checkpoints and pending writes), and how much the moto server's
  memory (this process's RSS) grew during each run;
- median latencies of unmetered repeats: a local mock server's, so only their
  ratios mean anything.

Targets checked at the end: our WCU per superstep <= 0.3x the published
package's; calls per put <= 2; get_tuple, list(limit=10) and the filtered list 2
calls each.
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

WORKER = HERE / "peers" / "dynamodb_worker.py"
IMPLS = {"ours": None, "published-aws": "published-aws"}  # impl -> peer venv (None: this venv)
TARGET_WCU_RATIO = 0.3


def _rss_mb() -> float:
    """This process's resident memory in MB (the moto server runs in it)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def run_worker(impl: str, endpoint: str, args: argparse.Namespace) -> dict[str, Any]:
    venv = IMPLS[impl]
    python = sys.executable if venv is None else str(venvs.ensure(venv))
    cmd = [python, str(WORKER), "--impl", impl, "--endpoint", endpoint, "--repeat", str(args.repeat)]
    cmd += ["--offload"] if args.offload else []
    cmd += ["--compression"] if args.compression else []
    cmd += ["--ttl", str(args.ttl)] if args.ttl else []
    before = _rss_mb()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout, cwd=ROOT)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if not lines:
        return {"impl": impl, "error": f"worker exited {proc.returncode}: {proc.stderr.strip()[-2000:]}"}
    result: dict[str, Any] = json.loads(lines[-1])
    result["moto_rss_growth_mb"] = _rss_mb() - before
    return result


def _num(x: Optional[float], fmt: str = "{:.2f}") -> str:
    return "-" if x is None else fmt.format(x)


def _ratio(a: Optional[float], b: Optional[float]) -> str:
    return "-" if a is None or not b else f"{a / b:.2f}x"


def report(results: dict[str, dict[str, Any]]) -> None:
    ours, pub = results.get("ours", {}), results.get("published-aws", {})
    for r in (ours, pub):
        if "error" in r:
            print(f"\n{r['impl']}: FAILED: {r['error']}\n{r.get('traceback', '')}")

    def per_step(r: dict[str, Any], key: str) -> Optional[float]:
        if "e2e" not in r:
            return None
        value = sum(r["e2e"]["calls"].values()) if key == "calls" else r["e2e"][key]
        return float(value) / r["supersteps"]

    def stored(r: dict[str, Any], key: str) -> Optional[float]:
        return None if "stored" not in r else float(r["stored"][key])

    rows = [
        ("WCU per superstep", _num(per_step(ours, "wcu")), _num(per_step(pub, "wcu")),
         _ratio(per_step(ours, "wcu"), per_step(pub, "wcu"))),
        ("RCU per superstep", _num(per_step(ours, "rcu")), _num(per_step(pub, "rcu")),
         _ratio(per_step(ours, "rcu"), per_step(pub, "rcu"))),
        ("API calls per superstep", _num(per_step(ours, "calls")), _num(per_step(pub, "calls")),
         _ratio(per_step(ours, "calls"), per_step(pub, "calls"))),
        ("failed requests (HTTP >= 400)", *(str(sum(r["e2e"]["failed"].values())) if "e2e" in r else "-" for r in (ours, pub)), ""),
        ("DynamoDB items stored", _num(stored(ours, "items"), "{:.0f}"), _num(stored(pub, "items"), "{:.0f}"),
         _ratio(stored(ours, "items"), stored(pub, "items"))),
        ("DynamoDB bytes stored (MB)", _num(_mb(stored(ours, "item_bytes"))), _num(_mb(stored(pub, "item_bytes"))),
         _ratio(stored(ours, "item_bytes"), stored(pub, "item_bytes"))),
        ("S3 objects / MB", *(f"{r['stored']['objects']} / {r['stored']['object_bytes'] / 1e6:.2f}" if "stored" in r else "-" for r in (ours, pub)), ""),
        ("thread 0: checkpoints / pending writes listed",
         *(f"{r['thread0']['checkpoints']} / {r['thread0']['pending_writes']}" if "thread0" in r else "-" for r in (ours, pub)), ""),
        ("workload time, metered (s)", _num(ours.get("elapsed_s"), "{:.1f}"), _num(pub.get("elapsed_s"), "{:.1f}"),
         _ratio(ours.get("elapsed_s"), pub.get("elapsed_s"))),
        ("moto server RSS growth (MB)", _num(ours.get("moto_rss_growth_mb"), "{:.0f}"),
         _num(pub.get("moto_rss_growth_mb"), "{:.0f}"), ""),
    ]
    supersteps = ours.get("supersteps") or pub.get("supersteps")
    print(f"\nEnd to end: 5 threads x 40 supersteps ({supersteps} supersteps), graph.invoke, one moto server\n")
    print(table(rows, ("figure", "ours", "published 1.2.6", "ours / published")))
    for r in (ours, pub):
        if "e2e" in r:
            units = {k: round(v, 1) for k, v in sorted(r["e2e"].get("units_by_operation", {}).items())}
            print(f"{r['impl']}: calls by operation: {dict(sorted(r['e2e']['calls'].items()))}; "
                  f"capacity units by operation: {units}"
                  + (f"; S3: {r['e2e']['s3_calls']}" if r["e2e"].get("s3_calls") else ""))

    names = [o["name"] for o in ours.get("ops", [])] or [o["name"] for o in pub.get("ops", [])]
    by_name = {impl: {o["name"]: o for o in r.get("ops", [])} for impl, r in results.items()}

    def cell(impl: str, name: str, key: str, fmt: str) -> str:
        o = by_name.get(impl, {}).get(name)
        if o is None:
            return "-"
        if key == "calls":
            return f"{sum(o['calls'].values()):g}"
        return fmt.format(o[key]) if o[key] is not None else "-"

    op_rows = [
        (n, cell("ours", n, "calls", ""), cell("published-aws", n, "calls", ""),
         cell("ours", n, "wcu", "{:g}"), cell("published-aws", n, "wcu", "{:g}"),
         cell("ours", n, "rcu", "{:g}"), cell("published-aws", n, "rcu", "{:g}"),
         cell("ours", n, "ms", "{:.1f}"), cell("published-aws", n, "ms", "{:.1f}"))
        for n in names
    ]
    print("\nPer operation (thread 0, 42 checkpoints; calls and units of one metered run, median ms of unmetered repeats)\n")
    print(table(op_rows, ("operation", "calls ours", "calls pub", "WCU ours", "WCU pub", "RCU ours", "RCU pub", "ms ours", "ms pub")))
    for name in names:
        o = by_name.get("ours", {}).get(name)
        if o is not None and name in ("put", "put_writes (5 writes)"):
            print(f"ours {name}: {o['calls']}")

    if "e2e" in ours and "e2e" in pub:
        ratio = per_step(ours, "wcu") / per_step(pub, "wcu")  # type: ignore[operator]
        print(f"\nTarget WCU per superstep <= {TARGET_WCU_RATIO}x published: {ratio:.3f}x "
              f"({'met' if ratio <= TARGET_WCU_RATIO else 'NOT met'})")
    ops = by_name.get("ours", {})
    for name, limit in (("put", 2), ("get_tuple (latest)", 2), ("list(limit=10)", 2), ("list(filter={'step': k})", 2)):
        if name in ops:
            calls = sum(ops[name]["calls"].values())
            print(f"Target {name} <= {limit} calls: {calls:g} ({'met' if calls <= limit else 'NOT met'})")


def _mb(x: Optional[float]) -> Optional[float]:
    return None if x is None else x / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--offload", action="store_true", help="configure S3 offload (both savers)")
    parser.add_argument("--compression", action="store_true", help="enable checkpoint compression (both savers)")
    parser.add_argument("--ttl", type=int, default=None, help="ttl_seconds of both savers")
    parser.add_argument("--repeat", type=int, default=20, help="unmetered repeats per operation for latency")
    parser.add_argument("--only", default=",".join(IMPLS), help="comma-separated: ours,published-aws")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per saver")
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    mode = ("+S3 offload" if args.offload else "") + (" +compression" if args.compression else "")
    mode += f" ttl_seconds={args.ttl}" if args.ttl else ""
    print(f"DynamoDB{mode} on moto {endpoint}: ours and published langgraph-checkpoint-aws 1.2.6, one after the other")
    results: dict[str, dict[str, Any]] = {}
    try:
        for impl in args.only.split(","):
            print(f"[bench] running {impl} ...", file=sys.stderr, flush=True)
            results[impl] = run_worker(impl, endpoint, args)
    finally:
        server.stop()
    report(results)


if __name__ == "__main__":
    main()
