"""The installed ``s3-checkpoint`` console script, run as a subprocess against the moto server: JSON and every exit code."""

from __future__ import annotations

import json
import operator
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Annotated, Any, TypedDict

import pytest
from langgraph.graph import END, START, StateGraph
from langgraph.types import interrupt

from langgraph_checkpoint_aws import S3CheckpointSaver
from tests.backends.s3 import new_bucket

SCRIPT = shutil.which("s3-checkpoint", path=str(Path(sys.executable).parent)) or "s3-checkpoint"


class State(TypedDict):
    messages: Annotated[list[str], operator.add]


def _graph(saver: Any) -> Any:
    def ask(state: State) -> dict[str, Any]:
        return {"messages": [f"asked:{interrupt('ok?')}"]}

    def one(state: State) -> dict[str, Any]:
        return {"messages": ["one"]}

    b = StateGraph(State)
    b.add_node("one", one)
    b.add_node("ask", ask)
    b.add_edge(START, "one")
    b.add_edge("one", "ask")
    b.add_edge("ask", END)
    return b.compile(checkpointer=saver)


def run(args: list[str], endpoint: str | None, **env_extra: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_CONFIG_FILE="/nonexistent/config",
        AWS_SHARED_CREDENTIALS_FILE="/nonexistent/credentials",
        AWS_EC2_METADATA_DISABLED="true",
    )
    if endpoint is not None:
        env["AWS_ENDPOINT_URL"] = endpoint
    env.update(env_extra)
    for key in [k for k, v in env_extra.items() if v == ""]:
        env.pop(key)
    return subprocess.run([SCRIPT, *args], capture_output=True, text=True, env=env, timeout=120)


@pytest.fixture
def stored(s3_client: Any) -> dict[str, Any]:
    """A bucket with a thread paused at an interrupt (pending writes on its latest checkpoint)."""
    bucket = new_bucket(s3_client)
    with S3CheckpointSaver(bucket, prefix="app/checkpoints/", s3_client=s3_client) as saver:
        config = {"configurable": {"thread_id": "thread-1"}}
        _graph(saver).invoke({"messages": ["hi"]}, config)
        ids = [t.config["configurable"]["checkpoint_id"] for t in saver.list(config)]
        latest = saver.get_tuple(config)
    return {"bucket": bucket, "uri": f"s3://{bucket}/app/checkpoints/", "ids": ids, "latest": latest}


def test_list(stored: dict[str, Any], moto_endpoint: str) -> None:
    proc = run(["list", "--s3-prefix", stored["uri"], "--thread-id", "thread-1"], moto_endpoint)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out == {"thread_id": "thread-1", "checkpoints": [{"checkpoint_ns": "", "checkpoint_id": c} for c in stored["ids"]]}


def test_options_before_the_subcommand_and_endpoint_option(stored: dict[str, Any], moto_endpoint: str) -> None:
    proc = run(["--s3-prefix", stored["uri"], "--endpoint-url", moto_endpoint, "list", "--thread-id", "thread-1"], None)
    assert proc.returncode == 0, proc.stderr
    assert len(json.loads(proc.stdout)["checkpoints"]) == len(stored["ids"])


def test_dump(stored: dict[str, Any], moto_endpoint: str) -> None:
    latest = stored["latest"]
    cid = latest.config["configurable"]["checkpoint_id"]
    proc = run(
        ["dump", "--s3-prefix", stored["uri"], "--thread-id", "thread-1", "--checkpoint-ns", "", "--checkpoint-id", cid],
        moto_endpoint,
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert list(out) == ["thread_id", "checkpoint_ns", "checkpoint_id", "checkpoint", "metadata", "pending_writes"]
    assert (out["thread_id"], out["checkpoint_ns"], out["checkpoint_id"]) == ("thread-1", "", cid)
    assert out["checkpoint"]["id"] == cid
    assert out["checkpoint"]["channel_values"]["messages"] == ["hi", "one"]
    assert out["metadata"]["step"] == latest.metadata["step"]
    assert [w[1] for w in out["pending_writes"]] == [w[1] for w in latest.pending_writes] and out["pending_writes"]
    assert all(len(w) == 3 for w in out["pending_writes"])


def test_read(stored: dict[str, Any], moto_endpoint: str) -> None:
    proc = run(["read", "--s3-prefix", stored["uri"], "--thread-id", "thread-1"], moto_endpoint)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["thread_id"] == "thread-1"
    assert [c["checkpoint_id"] for c in out["checkpoints"]] == stored["ids"]
    assert all(set(c) == {"checkpoint_ns", "checkpoint_id", "checkpoint", "metadata", "pending_writes"} for c in out["checkpoints"])


def test_unknown_thread_lists_nothing(stored: dict[str, Any], moto_endpoint: str) -> None:
    proc = run(["list", "--s3-prefix", stored["uri"], "--thread-id", "nobody"], moto_endpoint)
    assert proc.returncode == 0 and json.loads(proc.stdout) == {"thread_id": "nobody", "checkpoints": []}


@pytest.mark.parametrize("uri", ["my-bucket/prefix/", "s3:///prefix/", "http://bucket/x"])
def test_exit_1_invalid_uri(uri: str, moto_endpoint: str) -> None:
    proc = run(["list", "--s3-prefix", uri, "--thread-id", "t"], moto_endpoint)
    assert proc.returncode == 1 and "invalid S3 URI" in proc.stderr and proc.stdout == ""


def test_exit_1_missing_options(moto_endpoint: str) -> None:
    assert run(["list", "--thread-id", "t"], moto_endpoint).returncode == 1
    proc = run(["dump", "--s3-prefix", "s3://b/", "--thread-id", "t"], moto_endpoint)
    assert proc.returncode == 1 and "--checkpoint-ns" in proc.stderr


def test_exit_2_no_credentials(stored: dict[str, Any], moto_endpoint: str) -> None:
    proc = run(["list", "--s3-prefix", stored["uri"], "--thread-id", "thread-1"], moto_endpoint, AWS_ACCESS_KEY_ID="", AWS_SECRET_ACCESS_KEY="")
    assert proc.returncode == 2, proc.stderr
    assert "credentials" in proc.stderr


def test_exit_2_unknown_profile(stored: dict[str, Any], moto_endpoint: str) -> None:
    proc = run(["list", "--s3-prefix", stored["uri"], "--thread-id", "thread-1", "--profile", "no-such-profile"], moto_endpoint)
    assert proc.returncode == 2 and "no-such-profile" in proc.stderr


def test_profile_from_the_credentials_file(stored: dict[str, Any], moto_endpoint: str, tmp_path: Path) -> None:
    creds = tmp_path / "credentials"
    creds.write_text("[bench]\naws_access_key_id = testing\naws_secret_access_key = testing\n")
    proc = run(
        ["list", "--s3-prefix", stored["uri"], "--thread-id", "thread-1", "--profile", "bench"],
        moto_endpoint,
        AWS_ACCESS_KEY_ID="",
        AWS_SECRET_ACCESS_KEY="",
        AWS_SHARED_CREDENTIALS_FILE=str(creds),
    )
    assert proc.returncode == 0, proc.stderr


def test_exit_3_missing_bucket(moto_endpoint: str) -> None:
    proc = run(["list", "--s3-prefix", "s3://no-such-bucket-cli/x/", "--thread-id", "t"], moto_endpoint)
    assert proc.returncode == 3 and "no-such-bucket-cli" in proc.stderr


def test_exit_3_unreachable_endpoint() -> None:
    proc = run(["list", "--s3-prefix", "s3://some-bucket/x/", "--thread-id", "t"], "http://127.0.0.1:9")
    assert proc.returncode == 3 and "cannot reach" in proc.stderr


def test_exit_4_checkpoint_not_found(stored: dict[str, Any], moto_endpoint: str) -> None:
    proc = run(
        ["dump", "--s3-prefix", stored["uri"], "--thread-id", "thread-1", "--checkpoint-ns", "", "--checkpoint-id", "nope"],
        moto_endpoint,
    )
    assert proc.returncode == 4 and "not found" in proc.stderr


def test_exit_4_published_format(s3_client: Any, moto_endpoint: str) -> None:
    bucket = new_bucket(s3_client)
    s3_client.put_object(Bucket=bucket, Key="p/checkpoints/t/__default__/1f0.json", Body=b"{}")
    proc = run(["list", "--s3-prefix", f"s3://{bucket}/p/", "--thread-id", "t"], moto_endpoint)
    assert proc.returncode == 4 and "langgraph-aws migrate" in proc.stderr


def test_exit_5_unexpected_error(stored: dict[str, Any], s3_client: Any, moto_endpoint: str) -> None:
    """A channel value that its serializer cannot read is not a storage error: exit 5."""
    bucket = stored["bucket"]
    blobs = s3_client.list_objects_v2(Bucket=bucket, Prefix="app/checkpoints/blobs/thread-1/__default__/messages/")
    key = blobs["Contents"][-1]["Key"]
    s3_client.put_object(Bucket=bucket, Key=key, Body=b"msgpack\n\xc1\xc1\xc1")
    proc = run(["read", "--s3-prefix", stored["uri"], "--thread-id", "thread-1"], moto_endpoint)
    assert proc.returncode == 5, proc.stderr
    assert "unexpected error" in proc.stderr
