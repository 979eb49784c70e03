"""``langgraph-aws``: the installed console script as a subprocess against real local servers.

Every subcommand, its ``--json`` shape and exit codes, ``--dry-run`` and
confirmation, a migration interrupted midway and re-run, and a
Valkey -> DynamoDB -> Valkey round trip that keeps ``get_state_history``.
"""

from __future__ import annotations

import json
import operator
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Annotated, Any

import boto3
import pytest
import valkey
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, interrupt
from typing_extensions import TypedDict

from langgraph_checkpoint_aws import DynamoDBSaver, S3CheckpointSaver, ValkeySaver
from langgraph_checkpoint_aws.adapters.dynamodb import create_table
from langgraph_checkpoint_aws.adapters.valkey.embedded import EmbeddedValkey

SCRIPT = shutil.which("langgraph-aws", path=str(Path(sys.executable).parent)) or "langgraph-aws"


def run(*args: str, env: dict[str, str] | None = None, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", **(env or {})}
    return subprocess.run([SCRIPT, *args], capture_output=True, text=True, env=full_env, input=stdin, timeout=120)


def as_json(*args: str, **kwargs: Any) -> Any:
    done = run("--json", *args, **kwargs)
    assert done.returncode == 0, done.stderr + done.stdout
    return json.loads(done.stdout)


class State(TypedDict):
    log: Annotated[list[str], operator.add]


class Inner(TypedDict):
    log: Annotated[list[str], operator.add]


def build(saver: Any) -> Any:
    inner = StateGraph(Inner)
    inner.add_node("child", lambda s: {"log": ["child"]})
    inner.add_edge(START, "child")
    inner.add_edge("child", END)

    def ask(state: State) -> dict[str, Any]:
        answer = interrupt("ok?")
        return {"log": [f"answer:{answer}"]}

    outer = StateGraph(State)
    outer.add_node("first", lambda s: {"log": ["first"]})
    outer.add_node("sub", inner.compile())
    outer.add_node("ask", ask)
    outer.add_edge(START, "first")
    outer.add_edge("first", "sub")
    outer.add_edge("sub", "ask")
    outer.add_edge("ask", END)
    return outer.compile(checkpointer=saver)


def fill(saver: Any, threads: list[str]) -> None:
    graph = build(saver)
    for thread in threads:
        config = {"configurable": {"thread_id": thread}}
        graph.invoke({"log": ["start"]}, config)
        graph.invoke(Command(resume="yes"), config)


def history(saver: Any, thread: str) -> list[tuple[Any, ...]]:
    graph = build(saver)
    return [
        (s.config["configurable"]["checkpoint_id"], s.metadata.get("step"), s.metadata.get("source"), s.next,
         json.dumps(s.values, sort_keys=True, default=str),
         (s.parent_config or {}).get("configurable", {}).get("checkpoint_id"))
        for s in graph.get_state_history({"configurable": {"thread_id": thread}})
    ]  # fmt: skip


@pytest.fixture
def source(tmp_path: Path) -> Any:
    server = EmbeddedValkey(tmp_path / "source").start()
    client = valkey.Valkey(port=server.port)
    yield f"valkey://127.0.0.1:{server.port}", client
    client.close()
    server.stop()


@pytest.fixture
def target(tmp_path: Path) -> Any:
    server = EmbeddedValkey(tmp_path / "target").start()
    client = valkey.Valkey(port=server.port)
    yield f"valkey://127.0.0.1:{server.port}", client
    client.close()
    server.stop()


def test_inspection_subcommands(source: Any) -> None:
    url, client = source
    fill(ValkeySaver(client), ["t1", "t/2", "ünï"])
    listed = as_json("threads", url)
    assert listed["total"] == 3 and {t["thread_id"] for t in listed["threads"]} == {"t1", "t/2", "ünï"}
    assert as_json("threads", url, "--limit", "1", "--offset", "1")["threads"] == [listed["threads"][1]]
    checkpoints = as_json("list", url, "t1")["checkpoints"]
    assert checkpoints and all(set(c) == {"checkpoint_ns", "checkpoint_id"} for c in checkpoints)
    assert {c["checkpoint_ns"] for c in checkpoints} > {""}  # the subgraph's namespace too
    dumped = as_json("dump", url, "t1")
    assert set(dumped) == {"thread_id", "checkpoint_ns", "checkpoint_id", "checkpoint", "metadata", "pending_writes"}
    assert dumped["checkpoint"]["channel_values"]["log"][-1] == "answer:yes"
    chosen = as_json("dump", url, "t1", "--checkpoint-id", checkpoints[-1]["checkpoint_id"],
                     "--checkpoint-ns", checkpoints[-1]["checkpoint_ns"])  # fmt: skip
    assert chosen["checkpoint_id"] == checkpoints[-1]["checkpoint_id"]
    read = as_json("read", url, "t1")
    assert [c["checkpoint_id"] for c in read["checkpoints"]] == [c["checkpoint_id"] for c in checkpoints]
    steps = as_json("history", url, "t1")["history"]
    assert steps[0]["source"] == "input" and any(r["node"] == "first" for r in steps)
    table = run("history", url, "t1")
    assert table.returncode == 0 and "what changed" in table.stdout
    stats = as_json("stats", url)
    assert stats["threads"] == 3 and stats["checkpoints"] > 3 * 4 and stats["bytes"] > 0
    assert as_json("verify", url) == {"threads": 3, "ok": True, "problems": []}


def test_exit_codes(source: Any) -> None:
    url, client = source
    fill(ValkeySaver(client), ["t1"])
    assert run("threads", "nope://x").returncode == 1
    assert run("threads", "valkey://").returncode == 1
    missing = run("--json", "dump", url, "no-such-thread")
    assert missing.returncode == 4 and "not found" in json.loads(missing.stdout)["error"]
    unreachable = run("threads", "valkey://127.0.0.1:1")
    assert unreachable.returncode == 3 and "cannot reach" in unreachable.stderr
    assert run("prune", url, "t1").returncode == 1  # neither --keep-last nor --older-than
    assert run("prune", url, "t1", "--older-than", "soon").returncode == 1
    no_profile = run("threads", "dynamodb://t?region=us-east-1", "--profile", "no-such-profile")
    assert no_profile.returncode == 1 or no_profile.returncode == 2  # click's usage error, or ProfileNotFound
    assert run("--profile", "no-such-profile", "threads", "dynamodb://t?region=us-east-1").returncode == 2


def test_destructive_commands_confirm_and_dry_run(source: Any) -> None:
    url, client = source
    saver = ValkeySaver(client)
    fill(saver, ["a", "b"])
    fill(saver, ["a"])  # a second run: more checkpoints to prune
    before = as_json("stats", url, "a")["checkpoints"]
    dry = as_json("prune", url, "a", "--keep-last", "2", "--dry-run")
    assert dry["dry_run"] and dry["removed"]["a"] > 0
    assert as_json("stats", url, "a")["checkpoints"] == before
    declined = run("prune", url, "a", "--keep-last", "2", stdin="n\n")
    assert declined.returncode == 4 and as_json("stats", url, "a")["checkpoints"] == before
    pruned = run("prune", url, "a", "--keep-last", "2", stdin="y\n")
    assert pruned.returncode == 0, pruned.stderr
    after = as_json("stats", url, "a")["checkpoints"]
    assert after < before
    assert as_json("verify", url, "a")["ok"]
    assert as_json("delete", url, "b", "--dry-run") == {"dry_run": True, "would_delete": ["b"]}
    assert as_json("delete", url, "b", "--yes") == {"deleted": ["b"]}
    assert [t["thread_id"] for t in as_json("threads", url)["threads"]] == ["a"]
    copied = as_json("copy", url, "a", "a-copy")
    assert copied["checkpoints"] == after
    assert history(saver, "a-copy") and [h[1:5] for h in history(saver, "a-copy")] == [h[1:5] for h in history(saver, "a")]


def test_verify_reports_a_missing_blob(source: Any) -> None:
    url, client = source
    saver = ValkeySaver(client)
    fill(saver, ["v"])
    blobs = [k for k in client.keys("*blobs*")]
    client.hdel(blobs[0], client.hkeys(blobs[0])[0])
    found = run("--json", "verify", url, "v")
    assert found.returncode == 4
    assert any(p["kind"] == "missing-blob" for p in json.loads(found.stdout)["problems"])


def test_migrate_interrupted_midway_and_rerun(source: Any, target: Any) -> None:
    url, client = source
    target_url, target_client = target
    threads = [f"m{i}" for i in range(40)]
    fill(ValkeySaver(client), threads)
    dry = as_json("migrate", url, target_url, "--dry-run")
    assert dry["dry_run"] and len(dry["threads"]) == 40
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x"}
    proc = subprocess.Popen([SCRIPT, "migrate", url, target_url, "--yes", "--workers", "1"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    target_saver = ValkeySaver(target_client)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if len(list(target_saver.repository.list_threads())) >= 3:
            proc.send_signal(signal.SIGKILL)  # interrupted midway
            break
        time.sleep(0.005)
    proc.wait(30)
    partial = len(list(target_saver.repository.list_threads()))
    assert 0 < partial < 40 or proc.returncode == 0
    summary = as_json("migrate", url, target_url, "--yes", "--workers", "4")
    assert summary["threads"] == 40 and not summary["failed"]
    assert summary["skipped"] >= partial - 1  # a thread caught mid-copy is copied again, idempotently
    assert summary["copied"] + summary["skipped"] == 40
    assert summary["threads_per_second"] > 0 and summary["checkpoints_per_second"] > 0
    again = as_json("migrate", url, target_url, "--yes")
    assert again["skipped"] == 40 and again["copied"] == 0
    source_saver = ValkeySaver(client)
    for thread in ("m0", "m39"):
        assert history(target_saver, thread) == history(source_saver, thread)
    assert as_json("verify", target_url)["ok"]


def test_valkey_dynamodb_s3_valkey_round_trip_keeps_history(
    source: Any, target: Any, moto_endpoint: str, dynamodb_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    url, client = source
    target_url, target_client = target
    table = f"cli-{uuid.uuid4().hex[:8]}"
    create_table(dynamodb_client, table)
    dynamo_url = f"dynamodb://{table}?region=us-east-1"
    fill(ValkeySaver(client), ["r1", "r2"])
    env = {"AWS_ENDPOINT_URL": moto_endpoint}
    first = as_json("migrate", url, dynamo_url, "--yes", env=env)
    assert first["copied"] == 2 and not first["failed"]
    assert {t["thread_id"] for t in as_json("threads", dynamo_url, env=env)["threads"]} == {"r1", "r2"}
    bucket = f"cli-{uuid.uuid4().hex[:8]}"
    boto3.client("s3", region_name="us-east-1", endpoint_url=moto_endpoint).create_bucket(Bucket=bucket)
    s3_url = f"s3://{bucket}/moved/"
    onward = as_json("migrate", dynamo_url, s3_url, "--yes", env=env)
    assert onward["copied"] == 2 and not onward["failed"]
    assert {t["thread_id"] for t in as_json("threads", s3_url, env=env)["threads"]} == {"r1", "r2"}
    assert as_json("verify", s3_url, env=env)["ok"]
    back = as_json("--endpoint-url", moto_endpoint, "migrate", s3_url, target_url, "--yes")
    assert back["copied"] == 2
    dynamo = DynamoDBSaver(table_name=table, region_name="us-east-1", endpoint_url=moto_endpoint)
    s3 = S3CheckpointSaver(bucket, prefix="moved/", endpoint_url=moto_endpoint, region_name="us-east-1")
    for thread in ("r1", "r2"):
        original = history(ValkeySaver(client), thread)
        assert history(dynamo, thread) == original
        assert history(s3, thread) == original
        assert history(ValkeySaver(target_client), thread) == original
    dynamo.close()
    s3.close()


def test_help_names_every_subcommand_and_backend() -> None:
    done = run("--help")
    assert done.returncode == 0
    for word in ["threads", "list", "dump", "read", "history", "delete", "copy", "migrate", "prune", "stats", "verify",
                 "valkey://", "dynamodb://", "s3://", "agentcore://", "bedrock-sessions://"]:  # fmt: skip
        assert word in done.stdout, word
    boto3.session.Session  # noqa: B018 - boto3 is what the AWS URLs use


# -- migrating the published packages' data -------------------------------------------------------


def test_migrate_finds_published_valkey_layouts_by_itself(source: Any, target: Any, tmp_path: Path) -> None:
    from tests.integration.test_legacy_readers import (
        assert_reads_like_published,
        expected_threads,
        fixture,
        load_valkey,
    )

    url, client = source
    target_url, target_client = target
    plain = fixture("aws_valkey")
    load_valkey(plain, client)
    summary = as_json("migrate", url, target_url, "--yes")
    assert summary["source_format"] == "detected" and not summary["failed"]
    assert summary["copied"] == len(expected_threads(plain))
    assert_reads_like_published(plain, ValkeySaver(target_client))
    assert as_json("migrate", url, target_url, "--yes")["skipped"] == summary["copied"]  # a re-run skips them

    agentcore = fixture("aws_agentcore_valkey")
    client.flushall()
    load_valkey(agentcore, client)
    moved = as_json("migrate", url, target_url + "?layout=agentcore", "--yes")
    assert moved["copied"] == len(expected_threads(agentcore)) and not moved["failed"]
    from langgraph_checkpoint_aws import AgentCoreValkeySaver

    assert_reads_like_published(agentcore, AgentCoreValkeySaver(target_client))


def test_migrate_published_dynamodb_with_s3_offload(
    target: Any, moto_endpoint: str, dynamodb_client: Any, s3_client: Any
) -> None:
    from tests.integration.test_legacy_readers import (
        assert_reads_like_published,
        expected_threads,
        fixture,
        load_dynamodb,
    )

    target_url, target_client = target
    data = fixture("aws_dynamodb")
    table, bucket = load_dynamodb(data, dynamodb_client, s3_client)
    prefix = data["key_prefix"] or ""
    url = f"dynamodb://{table}?region=us-east-1&s3={bucket}/{prefix}"
    env = {"AWS_ENDPOINT_URL": moto_endpoint}
    wrong = run("--json", "migrate", url, target_url, "--yes", "--source-format", "langgraph-checkpoint-s3-0.1", env=env)
    assert wrong.returncode == 1 and "S3 layout" in json.loads(wrong.stdout)["error"]
    summary = as_json("migrate", url, target_url, "--yes", "--source-format", "langgraph-checkpoint-aws-1.2", env=env)
    assert summary["copied"] == len(expected_threads(data)) and not summary["failed"]
    assert_reads_like_published(data, ValkeySaver(target_client))


def test_agentcore_memory_through_the_cli(
    agentcore_endpoint: str, agentcore_memory_id: str, target: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from langgraph_checkpoint_aws import AgentCoreMemorySaver

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    saver = AgentCoreMemorySaver(agentcore_memory_id, region_name="us-east-1", endpoint_url=agentcore_endpoint)
    graph = build(saver)
    for thread in ("a1", "a2"):
        config = {"configurable": {"thread_id": thread, "actor_id": "user-1"}}
        graph.invoke({"log": ["start"]}, config)
        graph.invoke(Command(resume="yes"), config)
    url = f"agentcore://{agentcore_memory_id}?actor=user-1&region=us-east-1"
    env = {"AWS_ENDPOINT_URL": agentcore_endpoint}
    listed = as_json("threads", url, env=env)
    assert {(t["thread_id"], t.get("actor_id")) for t in listed["threads"]} == {("a1", "user-1"), ("a2", "user-1")}
    assert as_json("list", url, "a1", env=env)["checkpoints"]
    assert as_json("verify", url, env=env)["ok"]
    target_url, target_client = target
    moved = as_json("migrate", url, target_url + "?layout=agentcore", "--yes", env=env)
    assert moved["copied"] == 2 and not moved["failed"]
    from langgraph_checkpoint_aws import AgentCoreValkeySaver

    config = {"configurable": {"thread_id": "a1", "actor_id": "user-1"}}
    mine = [s.values for s in build(AgentCoreValkeySaver(target_client)).get_state_history(config)]
    assert mine == [s.values for s in graph.get_state_history(config)]
