"""API calls per operation of the Bedrock session savers, at 10 and 300 checkpoints, on the local emulator.

Compares ``BedrockSessionSaver`` of this package with the published
``langgraph-checkpoint-aws==1.2.6`` on the same emulator (started here, one port,
``bedrock-agent-runtime`` emulated). Each implementation runs in its own process
(``benchmarks/peers/bedrock_sessions_worker.py``; the published package shares our
import root, so it runs with the python of ``.bench/venvs/published-aws``, built by
``benchmarks/peers/venvs.py``). Calls are counted by the emulator
(``GET /_emulator/calls``), per operation, after a session of N checkpoints (each
changing one of three channels, with one task's writes) was written.

    .venv/bin/python benchmarks/bedrock_sessions_bench.py [--counts 10,300] [--skip-published]

The emulator lists newest first (the service documents no order); the published
saver's reads depend on that order, ours do not.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE / "peers"))
WORKER = HERE / "peers" / "bedrock_sessions_worker.py"
OPERATIONS = ["put", "put_writes (1 task)", "get_tuple (latest)", "get_tuple (by id)", "list (limit=10)", "delete_thread"]


def run_worker(python: str, impl: str, endpoint: str, counts: str, timeout: float) -> dict[str, Any]:
    cmd = [python, str(WORKER), "--impl", impl, "--endpoint", endpoint, "--counts", counts]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    if proc.returncode != 0:
        return {"impl": impl, "error": f"worker exited {proc.returncode}: {proc.stderr.strip()[-2000:]}"}
    return json.loads(proc.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def report(results: list[dict[str, Any]]) -> None:
    rows: list[list[str]] = []
    for result in results:
        if "error" in result:
            print(f"{result['impl']}: {result['error']}")
            continue
        for run in result["results"]:
            if "error" in run:
                print(f"{result['impl']} N={run['n']}: {run['error']}")
                continue
            for op in OPERATIONS:
                cell = run.get(op) or {}
                calls = cell.get("calls")
                detail = ", ".join(f"{k} {v}" for k, v in sorted((cell.get("ops") or {}).items()))
                rows.append([op, str(run["n"]), result["impl"], "n/a" if calls is None else str(calls),
                             detail or cell.get("error", "")])
    rows.sort(key=lambda r: (OPERATIONS.index(r[0]), int(r[1]), r[2]))
    headers = ["operation", "checkpoints", "implementation", "API calls", "by API"]
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    print("| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in rows:
        print("| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", default="10,300")
    parser.add_argument("--skip-published", action="store_true")
    parser.add_argument("--timeout", type=float, default=1800)
    args = parser.parse_args()

    from langgraph_checkpoint_aws.emulator import Emulator

    results = []
    with Emulator() as emulator:
        results.append(run_worker(sys.executable, "ours", emulator.endpoint_url, args.counts, args.timeout))
        if not args.skip_published:
            import venvs  # benchmarks/peers/venvs.py

            venvs.ensure("published-aws")
            python = str(venvs.python_of("published-aws"))
            results.append(run_worker(python, "published-aws", emulator.endpoint_url, args.counts, args.timeout))
    report(results)


if __name__ == "__main__":
    main()
