"""DynamoDB+S3 benchmark: API calls per operation, median latency, items and bytes stored.

Run: ``.venv/bin/python benchmarks/dynamodb_bench.py`` (starts its own moto server
on 127.0.0.1; nothing else is needed). Latencies are a local mock server's, so
only their ratios mean anything; API calls and bytes are what AWS would bill.

Workload (the same as the Valkey benchmark): 5 threads x 40 supersteps of a
graph whose state holds 20 KB that never changes (``handbook``) and a growing
message list; each thread ends with 42 checkpoints. Then, on one such thread:
get_tuple (latest, and by id with writes), list(limit=10), list with a
metadata filter, put, put_writes of 5 writes, delete_thread.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # noqa: E402 - run as a script

import boto3  # noqa: E402
from botocore.config import Config  # noqa: E402
from moto.server import ThreadedMotoServer  # noqa: E402

from benchmarks.workload import HANDBOOK, SUPERSTEPS, THREADS, build_graph  # noqa: E402
from langgraph_checkpoint_aws import DynamoDBSaver  # noqa: E402

PUBLISHED = {
    "put": "2",
    "put_writes (5 writes)": "10",
    "get_tuple (latest)": "3",
    "get_tuple (by id, with writes)": "7",
    "list(limit=10)": "56",
    "list(filter={'step': k})": "206",
    "delete_thread (42 checkpoints)": "62",
}






class CallCounter:
    """API calls by operation name (botocore ``before-call``)."""

    def __init__(self, *clients: Any) -> None:
        self.calls: Counter[str] = Counter()
        for client in clients:
            client.meta.events.register("before-call", self._count)

    def _count(self, model: Any, **_: Any) -> None:
        self.calls[model.name] += 1

    def take(self) -> Counter[str]:
        out, self.calls = self.calls, Counter()
        return out


def _av_size(name: str, av: dict[str, Any]) -> int:
    """DynamoDB's item-size rule: attribute name bytes + value bytes."""
    return len(name.encode()) + _value_size(av)


def _value_size(av: dict[str, Any]) -> int:
    (kind, raw), = av.items()
    if kind == "S":
        return len(raw.encode())
    if kind == "B":
        return len(raw)
    if kind == "N":
        return (len(raw.lstrip("-").replace(".", "")) + 1) // 2 + 1
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "M":
        return 3 + sum(len(k.encode()) + _value_size(v) + 1 for k, v in raw.items())
    if kind == "L":
        return 3 + sum(_value_size(v) + 1 for v in raw)
    return len(str(raw))


def stored(saver: DynamoDBSaver) -> tuple[int, int, int, int]:
    """(items, item bytes, S3 objects, S3 bytes) after the run."""
    client = saver.repository.client
    items = size = 0
    params: dict[str, Any] = {"TableName": saver.table_name}
    while True:
        page = client.scan(**params)
        for item in page["Items"]:
            items += 1
            size += sum(_av_size(k, v) for k, v in item.items())
        if "LastEvaluatedKey" not in page:
            break
        params["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    objects = obj_bytes = 0
    if saver.blob_store is not None:
        s3 = saver.blob_store.client
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=saver.blob_store.bucket_name):
            for obj in page.get("Contents", []):
                objects += 1
                obj_bytes += obj["Size"]
    return items, size, objects, obj_bytes


def measure(counter: CallCounter, fn: Callable[[], Any], repeat: int) -> tuple[float, float]:
    """(API calls per call, median latency in ms)."""
    counter.take()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    calls = sum(counter.take().values()) / repeat
    return calls, statistics.median(times)


def table(rows: list[tuple[Any, ...]], headers: tuple[str, ...]) -> str:
    cells = [tuple(str(c) for c in headers)] + [tuple(str(c) for c in r) for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    out = ["| " + " | ".join(h.ljust(w) for h, w in zip(cells[0], widths)) + " |"]
    out.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    out += ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |" for r in cells[1:]]
    return "\n".join(out)


def run(offload: bool, compression: bool, repeat: int) -> None:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    try:
        session = boto3.session.Session(aws_access_key_id="bench", aws_secret_access_key="bench", region_name="us-east-1")
        s3_config = {"bucket_name": f"bench-{uuid.uuid4().hex[:8]}", "endpoint_url": endpoint} if offload else None
        saver = DynamoDBSaver(
            f"bench-{uuid.uuid4().hex[:8]}",
            session=session,
            endpoint_url=endpoint,
            # moto's TransactWriteItems is not thread-safe (HTTP 500 on a race): standard retries.
            boto_config=Config(retries={"mode": "standard", "max_attempts": 3}),
            enable_checkpoint_compression=compression,
            s3_offload_config=s3_config,
        )
        saver.setup()
        clients = [saver.repository.client] + ([saver.blob_store.client] if saver.blob_store else [])
        counter = CallCounter(*clients)

        # -- end to end ------------------------------------------------------------------------
        graph = build_graph(saver)
        counter.take()
        start = time.perf_counter()
        for t in range(THREADS):
            graph.invoke(
                {"messages": [{"role": "user", "content": "go"}], "handbook": HANDBOOK, "count": 0, "last": ""},
                {"configurable": {"thread_id": f"thread-{t}"}, "recursion_limit": 200},
            )
        elapsed = time.perf_counter() - start
        e2e = counter.take()
        supersteps = THREADS * (SUPERSTEPS + 1)
        items, item_bytes, objects, obj_bytes = stored(saver)
        thread0 = {"configurable": {"thread_id": "thread-0"}}
        history = list(saver.list(thread0))
        serialized_state = sum(len(saver.serde.dumps_typed(t.checkpoint["channel_values"])[1]) for t in history)
        writes = sum(len(t.pending_writes) for t in history)

        # -- per operation -------------------------------------------------------------------------
        by_id = next(t.config for t in history if t.pending_writes)
        latest = history[0]
        rows = []

        def row(name: str, fn: Callable[[], Any], n: int = repeat) -> None:
            calls, ms = measure(counter, fn, n)
            rows.append((name, f"{calls:g}", PUBLISHED.get(name, ""), f"{ms:.1f}"))

        row("get_tuple (latest)", lambda: saver.get_tuple(thread0))
        row("get_tuple (by id, with writes)", lambda: saver.get_tuple(by_id))
        row("list(limit=10)", lambda: list(saver.list(thread0, limit=10)))
        row("list(filter={'step': k})", lambda: list(saver.list(thread0, filter={"step": 17})))
        parent = latest.config
        put_configs: list[Any] = []

        def put() -> None:
            checkpoint = dict(latest.checkpoint, id=str(uuid.uuid6()) if hasattr(uuid, "uuid6") else str(uuid.uuid1()))
            new_versions = {"messages": saver.get_next_version(checkpoint["channel_versions"]["messages"], None)}
            checkpoint["channel_versions"] = dict(checkpoint["channel_versions"], **new_versions)
            put_configs.append(saver.put(parent, checkpoint, {"source": "loop", "step": 99}, new_versions))

        row("put", put)
        row("put_writes (5 writes)", lambda: saver.put_writes(put_configs[-1], [(f"ch{i}", i) for i in range(5)], task_id=str(uuid.uuid4())))
        # delete_thread on fresh copies of the 42-checkpoint thread (copy_thread is not counted).
        victims = []
        for i in range(3):
            saver.copy_thread("thread-1", f"victim-{i}")
            victims.append(f"victim-{i}")
        victim_size = len(list(saver.list({"configurable": {"thread_id": "victim-0"}})))
        counter.take()
        deletes = []
        for v in victims:
            start_d = time.perf_counter()
            saver.delete_thread(v)
            deletes.append((time.perf_counter() - start_d) * 1000)
        calls = sum(counter.take().values()) / len(victims)
        rows.append((f"delete_thread ({victim_size} checkpoints)", f"{calls:g}", PUBLISHED["delete_thread (42 checkpoints)"], f"{statistics.median(deletes):.1f}"))

        print(f"\nDynamoDB{'+S3 offload' if offload else ''}{' +compression' if compression else ''} on moto {endpoint}")
        print(f"\nEnd to end: {THREADS} threads x {SUPERSTEPS} supersteps in {elapsed:.2f} s; "
              f"API calls by operation: {dict(sorted(e2e.items()))}; "
              f"{sum(e2e.values()) / supersteps:.2f} calls per superstep (published: 10.2)")
        print(f"Thread 0: {len(history)} checkpoints, {writes} pending writes\n")
        print(table(rows, ("operation", "API calls", "published", "median ms")))
        published_bytes = 6.8e6
        print(f"\nStored after the run: {items} DynamoDB items, {item_bytes / 1e6:.2f} MB; "
              f"{objects} S3 objects, {obj_bytes / 1e6:.2f} MB; total {(item_bytes + obj_bytes) / 1e6:.2f} MB "
              f"= {(item_bytes + obj_bytes) / published_bytes:.0%} of the published 6.8 MB "
              f"(thread 0 state serialised at every checkpoint: {serialized_state * THREADS / 1e6:.2f} MB for 5 threads)")
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--offload", action="store_true", help="configure S3 offload")
    parser.add_argument("--compression", action="store_true", help="enable checkpoint compression")
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    run(args.offload, args.compression, args.repeat)


if __name__ == "__main__":
    main()
