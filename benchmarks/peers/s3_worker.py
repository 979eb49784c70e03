"""One S3 saver on the benchmark workload, in its own process; prints one JSON line of figures.

Run by ``benchmarks/s3_bench.py``: ``--impl ours`` with this repository's
venv (S3CheckpointSaver of langgraph-checkpoint-aws-hex), ``--impl
langgraph-checkpoint-s3`` with the python of ``.bench/venvs/s3``
(langgraph-checkpoint-s3 0.1.3's S3CheckpointSaver). Both get a boto3 client
built here, on which botocore's ``before-send`` hook counts every HTTP request
by API name; ours also reports request rounds (sets of requests sent in
parallel, from the repository's observer); the peer sends its requests one
after another, so its rounds equal its requests.

Standard library, boto3 and langgraph only (the peer venv has no moto).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any, Callable, Optional

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # noqa: E402 - benchmarks.workload

import boto3  # noqa: E402
from botocore.config import Config  # noqa: E402

from benchmarks.workload import HANDBOOK, SUPERSTEPS, THREADS, build_graph  # noqa: E402


class Meter:
    """Counts the HTTP requests a client sends, by API name."""

    def __init__(self, client: Any) -> None:
        self.calls: Counter[str] = Counter()
        self.failed = 0
        client.meta.events.register("before-send.s3", self._sent)
        client.meta.events.register("after-call.s3", self._done)

    def _sent(self, request: Any = None, **kwargs: Any) -> None:
        name = kwargs.get("event_name", "").split(".")[-1] or "?"
        self.calls[name] += 1

    def _done(self, http_response: Any = None, **_: Any) -> None:
        if http_response is not None and getattr(http_response, "status_code", 200) >= 400:
            self.failed += 1

    def total(self) -> int:
        return sum(self.calls.values())


def make_saver(impl: str, client: Any, bucket: str) -> tuple[Any, Optional[list[list[str]]]]:
    if impl == "ours":
        from langgraph_checkpoint_aws import S3CheckpointSaver

        saver = S3CheckpointSaver(bucket, prefix="bench/", s3_client=client)
        rounds: list[list[str]] = []
        saver.repository.observer = rounds.append
        return saver, rounds
    from langgraph_checkpoint_s3 import S3CheckpointSaver as PeerSaver

    return PeerSaver(bucket, prefix="bench/", s3_client=client), None


def stored_bytes(client: Any, bucket: str) -> tuple[int, int]:
    objects = size = 0
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for o in page.get("Contents", []):
            objects += 1
            size += o["Size"]
    return objects, size


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--impl", required=True)
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    session = boto3.session.Session(aws_access_key_id="bench", aws_secret_access_key="bench", region_name="us-east-1")
    config = Config(s3={"addressing_style": "path"}, max_pool_connections=16, retries={"max_attempts": 2, "mode": "standard"})
    client = session.client("s3", endpoint_url=args.endpoint, config=config)
    bucket = f"bench-{args.impl.replace('_', '-')}-{int(time.time() * 1000) % 10**9}"
    client.create_bucket(Bucket=bucket)
    saver, rounds = make_saver(args.impl, client, bucket)
    meter = Meter(client)
    graph = build_graph(saver)

    # End to end: THREADS x SUPERSTEPS with graph.invoke.
    t0 = time.perf_counter()
    for t in range(THREADS):
        graph.invoke({"messages": [], "handbook": HANDBOOK, "count": 0, "last": ""}, {"configurable": {"thread_id": f"t{t}"}, "recursion_limit": 1000})
    e2e_seconds = time.perf_counter() - t0
    e2e_calls = meter.total()
    e2e_rounds = len(rounds) if rounds is not None else e2e_calls
    supersteps = THREADS * (SUPERSTEPS + 1)
    objects, size = stored_bytes(client, bucket)
    listed = list(saver.list({"configurable": {"thread_id": "t0"}}))

    config0 = {"configurable": {"thread_id": "t0", "checkpoint_ns": ""}}
    latest = saver.get_tuple(config0)
    by_id = listed[len(listed) // 2].config

    def measure(fn: Callable[[], Any]) -> dict[str, Any]:
        meter.calls.clear()
        if rounds is not None:
            rounds.clear()
        fn()
        out: dict[str, Any] = {"calls": meter.total(), "by_api": dict(meter.calls)}
        out["rounds"] = len(rounds) if rounds is not None else out["calls"]
        return out

    def latency(fn: Callable[[], Any]) -> float:
        times = []
        for _ in range(args.repeat):
            s = time.perf_counter()
            fn()
            times.append(time.perf_counter() - s)
        return statistics.median(times) * 1000

    ops: dict[str, Callable[[], Any]] = {
        "get_tuple (latest)": lambda: saver.get_tuple(config0),
        "get_tuple (by id)": lambda: saver.get_tuple(by_id),
        "list(limit=10)": lambda: list(saver.list(config0, limit=10)),
    }
    results: dict[str, Any] = {}
    for name, fn in ops.items():
        results[name] = measure(fn)
        results[name]["median_ms"] = latency(fn)
    checkpoint = dict(latest.checkpoint)
    checkpoint["id"] = "1ffffffff-bench-put"
    values = dict(checkpoint.get("channel_values", {}))
    values["last"] = "changed"
    values["count"] = 999
    checkpoint["channel_values"] = values
    versions = dict(checkpoint.get("channel_versions", {}))
    new_versions = {ch: saver.get_next_version(versions.get(ch), None) for ch in ("last", "count")}
    versions.update(new_versions)
    checkpoint["channel_versions"] = versions
    put_config = {"configurable": {"thread_id": "t1", "checkpoint_ns": "", "checkpoint_id": latest.config["configurable"]["checkpoint_id"]}}
    results["put (2 changed channels)"] = measure(lambda: saver.put(put_config, checkpoint, {"source": "update", "step": 99}, new_versions))
    writes_config = {"configurable": {"thread_id": "t1", "checkpoint_ns": "", "checkpoint_id": checkpoint["id"]}}
    writes = [(f"ch{i}", {"value": i, "text": "w" * 100}) for i in range(5)]
    results["put_writes (5 writes)"] = measure(lambda: saver.put_writes(writes_config, writes, "task-bench"))
    results["delete_thread (42 checkpoints)"] = measure(lambda: saver.delete_thread("t2"))
    print(
        json.dumps(
            {
                "impl": args.impl,
                "supersteps": supersteps,
                "e2e_calls": e2e_calls,
                "e2e_rounds": e2e_rounds,
                "e2e_seconds": e2e_seconds,
                "objects": objects,
                "bytes": size,
                "listed_checkpoints": len(listed),
                "listed_writes": sum(len(t.pending_writes or []) for t in listed),
                "failed_requests": meter.failed,
                "ops": results,
            }
        )
    )


if __name__ == "__main__":
    main()
