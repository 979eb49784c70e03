"""One Bedrock session saver measured on the emulator, in its own process: API calls per operation.

Run by ``benchmarks/bedrock_sessions_bench.py`` with our ``.venv`` python for
``--impl ours`` and with the python of ``.bench/venvs/published-aws`` for
``--impl published-aws`` (the published package has our import root), or by hand::

    python benchmarks/peers/bedrock_sessions_worker.py --impl ours --endpoint http://127.0.0.1:PORT

For each session length N it creates a session with ``session_client.create_session()``
(its id is the thread id, as the seed shows), writes N checkpoints (each changes
one of three channels and gets one task's writes), then measures single
operations by the emulator's call counter (``GET /_emulator/calls``). It prints
ONE JSON line. Standard library, boto3 and ``langgraph`` only.
"""

from __future__ import annotations

import argparse
import json
import time
import urllib.request
from typing import Any

from langgraph.checkpoint.base import empty_checkpoint


def calls(endpoint: str) -> dict[str, int]:
    with urllib.request.urlopen(f"{endpoint}/_emulator/calls") as answer:
        data = json.loads(answer.read())
    return dict(data["calls"].get("bedrock-agent-runtime", {}))


def measured(endpoint: str, fn: Any) -> tuple[Any, dict[str, Any]]:
    before = calls(endpoint)
    started = time.perf_counter()
    result = fn()
    elapsed = time.perf_counter() - started
    after = calls(endpoint)
    ops = {op: after.get(op, 0) - before.get(op, 0) for op in after if after.get(op, 0) != before.get(op, 0)}
    return result, {"calls": sum(ops.values()), "ops": ops, "ms": round(elapsed * 1000, 1)}


def make_saver(impl: str, endpoint: str) -> Any:
    import boto3

    from langgraph_checkpoint_aws import BedrockSessionSaver

    session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1")
    return BedrockSessionSaver(session=session, region_name="us-east-1", endpoint_url=endpoint)


def config(thread_id: str, checkpoint_id: str | None = None) -> dict[str, Any]:
    configurable: dict[str, Any] = {"thread_id": thread_id, "checkpoint_ns": ""}
    if checkpoint_id:
        configurable["checkpoint_id"] = checkpoint_id
    return {"configurable": configurable}


def fill(saver: Any, thread_id: str, n: int) -> tuple[list[str], Any, dict[str, Any], dict[str, str]]:
    cfg: Any = config(thread_id)
    ids: list[str] = []
    values = {"ch0": 0, "ch1": 0, "ch2": 0}
    versions = {"ch0": "00000000", "ch1": "00000000", "ch2": "00000000"}
    for i in range(n):
        cp = empty_checkpoint()
        changed = dict(versions) if i == 0 else {f"ch{i % 3}": f"{i:08d}"}
        for channel, version in changed.items():
            values[channel], versions[channel] = i, version
        cp["channel_values"] = dict(values)
        cp["channel_versions"] = dict(versions)
        cfg = saver.put(cfg, cp, {"step": i, "source": "loop", "writes": None}, changed)
        saver.put_writes(cfg, [("ch0", i)], task_id=f"task-{i}")
        ids.append(cfg["configurable"]["checkpoint_id"])
    return ids, cfg, values, versions


def run(impl: str, endpoint: str, n: int) -> dict[str, Any]:
    saver = make_saver(impl, endpoint)
    session_id = saver.session_client.create_session().session_id
    started = time.perf_counter()
    before = calls(endpoint)
    ids, cfg, values, versions = fill(saver, session_id, n)
    after = calls(endpoint)
    fill_calls = sum(after.values()) - sum(before.values())
    out: dict[str, Any] = {"n": n, "fill_calls_per_checkpoint": round(fill_calls / n, 2),
                           "fill_seconds": round(time.perf_counter() - started, 2)}
    cp = empty_checkpoint()
    values["ch0"], versions["ch0"] = n, f"{n:08d}"
    cp["channel_values"], cp["channel_versions"] = dict(values), dict(versions)
    cfg, out["put"] = measured(endpoint, lambda: saver.put(cfg, cp, {"step": n, "source": "loop", "writes": None},
                                                           {"ch0": f"{n:08d}"}))
    _, out["put_writes (1 task)"] = measured(endpoint, lambda: saver.put_writes(cfg, [("ch0", n)], task_id="t-final"))
    latest, out["get_tuple (latest)"] = measured(endpoint, lambda: saver.get_tuple(config(session_id)))
    assert latest is not None and latest.checkpoint["id"] == cfg["configurable"]["checkpoint_id"]
    middle, out["get_tuple (by id)"] = measured(endpoint, lambda: saver.get_tuple(config(session_id, ids[n // 2])))
    assert middle is not None and middle.metadata["step"] == n // 2
    listed, out["list (limit=10)"] = measured(endpoint, lambda: list(saver.list(config(session_id), limit=10)))
    assert [t.metadata["step"] for t in listed] == list(range(n, n - 10, -1)), [t.metadata["step"] for t in listed]
    if hasattr(type(saver), "delete_thread") and impl == "ours":
        _, out["delete_thread"] = measured(endpoint, lambda: saver.delete_thread(session_id))
    else:
        try:
            _, out["delete_thread"] = measured(endpoint, lambda: saver.delete_thread(session_id))
        except NotImplementedError:
            out["delete_thread"] = {"calls": None, "error": "NotImplementedError"}
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--impl", required=True)
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--counts", default="10,300")
    args = parser.parse_args()
    results = []
    for n in (int(x) for x in args.counts.split(",")):
        try:
            results.append(run(args.impl, args.endpoint, n))
        except Exception as exc:  # noqa: BLE001 - reported, not hidden: the table shows the error
            results.append({"n": n, "error": f"{type(exc).__name__}: {exc}"[:500]})
    print(json.dumps({"impl": args.impl, "results": results}))


if __name__ == "__main__":
    main()
