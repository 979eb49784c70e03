"""DynamoDBSaver on a moto server: round trips, offload, compression, TTL, faults and bad input."""

from __future__ import annotations

import asyncio
import json
import operator
import socket
import time
from collections import Counter
from typing import Annotated, Any, Optional

import pytest
from botocore.awsrequest import AWSResponse
from botocore.config import Config
from langgraph.checkpoint.base import create_checkpoint, empty_checkpoint
from langgraph.graph import END, START, StateGraph
from typing_extensions import TypedDict

from langgraph_checkpoint_aws.adapters.dynamodb import DynamoDBCheckpointRepository, create_table
from langgraph_checkpoint_aws.adapters.s3 import TTL_TAG, lifecycle_rule_id
from langgraph_checkpoint_aws.domain.errors import (
    ConfigurationError,
    CorruptRecordError,
    NotFoundError,
    PayloadTooLargeError,
    TransientBackendError,
)
from langgraph_checkpoint_aws.domain.models import CheckpointKey, Payload, StoredCheckpoint, ThreadKey
from langgraph_checkpoint_aws.domain.policies import RetryPolicy
from tests.backends.dynamodb import FAST_FAIL, unique


class CallCounter:
    """Counts API calls by operation name with botocore's ``before-call`` event."""

    def __init__(self, *clients: Any) -> None:
        self.calls: Counter[str] = Counter()
        for client in clients:
            client.meta.events.register("before-call", self._count)

    def _count(self, model: Any, **_: Any) -> None:
        self.calls[model.name] += 1

    def take(self) -> Counter[str]:
        out, self.calls = self.calls, Counter()
        return out


def _config(thread: str, checkpoint_id: Optional[str] = None, ns: str = "") -> dict[str, Any]:
    configurable: dict[str, Any] = {"thread_id": thread, "checkpoint_ns": ns}
    if checkpoint_id:
        configurable["checkpoint_id"] = checkpoint_id
    return {"configurable": configurable}


def _put_chain(saver: Any, thread: str, steps: int, big: Optional[str] = None) -> list[dict[str, Any]]:
    """``steps`` checkpoints: a constant ``static`` channel and a growing ``messages`` list."""
    configs = []
    checkpoint = empty_checkpoint()
    config = _config(thread)
    messages: list[str] = []
    for step in range(steps):
        messages = [*messages, f"message {step} " + "x" * 50]
        versions = dict(checkpoint["channel_versions"])
        new_versions = {"messages": saver.get_next_version(versions.get("messages"), None)}
        values = dict(checkpoint["channel_values"], messages=messages)
        if step == 0:
            new_versions["static"] = saver.get_next_version(None, None)
            values["static"] = big if big is not None else "s" * 20_000
        versions.update(new_versions)
        checkpoint = create_checkpoint(
            {**checkpoint, "channel_values": values, "channel_versions": versions}, None, step
        )
        checkpoint["channel_values"] = values
        checkpoint["channel_versions"] = versions
        config = saver.put(config, checkpoint, {"source": "loop", "step": step}, new_versions)
        configs.append(config)
    return configs


# -- round trips -----------------------------------------------------------------------------------
def test_round_trips_per_operation(make_dynamodb_saver) -> None:  # type: ignore[no-untyped-def]
    saver = make_dynamodb_saver()
    counter = CallCounter(saver.repository.client)
    configs = _put_chain(saver, "t1", 12)
    puts = counter.take()
    assert puts == Counter({"BatchWriteItem": 12, "PutItem": 12})  # changed blobs, then the header
    saver.put_writes(configs[-1], [(f"ch{i}", i) for i in range(5)], task_id="task-1")
    assert counter.take() == Counter({"UpdateItem": 1})
    saver.put_writes(configs[-1], [(f"ch{i}", i) for i in range(25)], task_id="task-2")
    assert counter.take() == Counter({"UpdateItem": 1})

    latest = saver.get_tuple(_config("t1"))
    assert sum(counter.take().values()) <= 2
    assert latest.checkpoint["channel_values"]["static"] == "s" * 20_000
    assert len(latest.checkpoint["channel_values"]["messages"]) == 12
    assert [w[1] for w in latest.pending_writes][:12] == [f"ch{i}" for i in range(5)] + [f"ch{i}" for i in range(7)]
    by_id = saver.get_tuple(configs[-1])
    assert sum(counter.take().values()) <= 2 and len(by_id.pending_writes) == 30

    listed = list(saver.list(_config("t1"), limit=10))
    assert len(listed) == 10 and sum(counter.take().values()) <= 3
    listed = list(saver.list({"configurable": {"thread_id": "t1"}}, limit=10))
    assert len(listed) == 10 and sum(counter.take().values()) <= 3
    filtered = list(saver.list(_config("t1"), filter={"step": 4}))
    calls = counter.take()
    assert [t.metadata["step"] for t in filtered] == [4] and sum(calls.values()) <= 3
    assert calls["Query"] == 1  # the filter ran on the server

    saver.delete_thread("t1")
    calls = counter.take()
    assert set(calls) == {"Query", "BatchWriteItem"} and calls["Query"] == 1
    assert saver.get_tuple(_config("t1")) is None


def test_writes_keep_numeric_order_and_first_write_wins(make_dynamodb_saver) -> None:  # type: ignore[no-untyped-def]
    saver = make_dynamodb_saver()
    (config,) = _put_chain(saver, "t", 1)
    saver.put_writes(config, [(f"c{i}", i) for i in range(12)], task_id="a")
    saver.put_writes(config, [("c0", "changed")], task_id="a")
    writes = saver.get_tuple(config).pending_writes
    assert [w[2] for w in writes] == list(range(12))


# -- payload shaping -------------------------------------------------------------------------------
def test_large_payload_offloaded_blob_first_and_tagged(make_dynamodb_saver) -> None:  # type: ignore[no-untyped-def]
    saver = make_dynamodb_saver(offload=True, ttl_seconds=3 * 86400 + 5)
    big = "B" * 500_000
    configs = _put_chain(saver, "t", 2, big=big)
    assert saver.get_tuple(configs[-1]).checkpoint["channel_values"]["static"] == big
    s3 = saver.blob_store.client
    bucket = saver.blob_store.bucket_name
    (obj,) = s3.list_objects_v2(Bucket=bucket)["Contents"]
    tags = s3.get_object_tagging(Bucket=bucket, Key=obj["Key"])["TagSet"]
    assert tags == [{"Key": TTL_TAG, "Value": "4"}]
    rules = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert [r["ID"] for r in rules] == [lifecycle_rule_id(4)] and rules[0]["Expiration"]["Days"] == 4
    ttls = {int(i["ttl"]["N"]) for i in _items(saver)}
    assert ttls and all(t > time.time() + 3 * 86400 for t in ttls)


def test_oversized_payload_without_offload_fails_before_writing(make_dynamodb_saver) -> None:  # type: ignore[no-untyped-def]
    saver = make_dynamodb_saver()
    configs = _put_chain(saver, "t", 2)
    before = _items(saver)
    with pytest.raises(PayloadTooLargeError, match="s3_offload_config"):
        _put_chain(saver, "t", 1, big="B" * 450_000)
    assert _items(saver) == before
    assert saver.get_tuple(_config("t")).config["configurable"]["checkpoint_id"] == configs[-1]["configurable"]["checkpoint_id"]


def test_payload_between_threshold_and_item_limit_without_offload_is_stored_inline(make_dynamodb_saver) -> None:  # type: ignore[no-untyped-def]
    saver = make_dynamodb_saver()
    big = "m" * 360_000  # over the 350 KB offload threshold, under the 380 KB inline limit
    configs = _put_chain(saver, "t", 1, big=big)
    assert saver.get_tuple(configs[0]).checkpoint["channel_values"]["static"] == big


def test_compression_shrinks_items_and_round_trips(make_dynamodb_saver) -> None:  # type: ignore[no-untyped-def]
    plain, packed = make_dynamodb_saver(), make_dynamodb_saver(enable_checkpoint_compression=True)
    text = "compressible " * 20_000
    for saver in (plain, packed):
        configs = _put_chain(saver, "t", 1, big=text)
        assert saver.get_tuple(configs[0]).checkpoint["channel_values"]["static"] == text
    size = lambda s: sum(len(i.get("d", {}).get("B", b"")) for i in _items(s))  # noqa: E731
    assert size(packed) < size(plain) / 10
    assert any(i["t"]["S"].startswith("gz:") for i in _items(packed) if "t" in i)
    assert not any(i["t"]["S"].startswith("gz:") for i in _items(plain) if "t" in i)


def _items(saver: Any) -> list[dict[str, Any]]:
    client = saver.repository.client
    return sorted(
        client.scan(TableName=saver.table_name, ConsistentRead=True)["Items"], key=lambda i: (i["PK"]["S"], i["SK"]["S"])
    )


# -- TTL -----------------------------------------------------------------------------------------------
def test_ttl_expired_items_are_ignored(dynamodb_client) -> None:  # type: ignore[no-untyped-def]
    table = unique("ttl")
    create_table(dynamodb_client, table)
    now = [1_000_000.0]
    repo = DynamoDBCheckpointRepository(client=dynamodb_client, table_name=table, ttl_seconds=60, clock=lambda: now[0])
    thread = ThreadKey("t")
    header = StoredCheckpoint(thread, "", "001", None, Payload("json", b"{}"), {}, {"step": 1})
    repo.put_checkpoint(header, [])
    assert repo.get_checkpoint(CheckpointKey(thread)) is not None
    now[0] += 61  # DynamoDB has not deleted the item yet: reads must ignore it
    assert dynamodb_client.scan(TableName=table)["Count"] == 1
    assert repo.get_checkpoint(CheckpointKey(thread)) is None
    assert list(repo.scan_checkpoints(thread)) == []


def test_ttl_of_reused_blobs_outlives_later_headers_without_a_write(dynamodb_client) -> None:  # type: ignore[no-untyped-def]
    from langgraph_checkpoint_aws.domain.models import ChannelBlob

    table = unique("ttl")
    create_table(dynamodb_client, table)
    now = [1_000_000.0]
    repo = DynamoDBCheckpointRepository(client=dynamodb_client, table_name=table, ttl_seconds=60, clock=lambda: now[0])
    thread = ThreadKey("t")
    repo.put_checkpoint(
        StoredCheckpoint(thread, "", "001", None, Payload("json", b"{}"), {"a": "1"}, {}),
        [ChannelBlob("a", "1", Payload("json", b'"A"'))],
    )
    now[0] += 50
    counter = CallCounter(dynamodb_client)
    repo.put_checkpoint(StoredCheckpoint(thread, "", "002", "001", Payload("json", b"{}"), {"a": "1"}, {}), [])
    assert counter.take() == Counter({"PutItem": 1})  # blobs live longer than headers: nothing to refresh yet
    now[0] += 50  # 100 s after the blob was written, within its ttl and its new header's
    record = repo.get_checkpoint(CheckpointKey(thread))
    assert record is not None and [b.payload.data for b in record.blobs] == [b'"A"']


# -- injected faults ---------------------------------------------------------------------------------
class _Raw:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_: Any):  # type: ignore[no-untyped-def]
        yield self.body


def _inject(client: Any, operation: str, status: int, code: str, times: int) -> list[int]:
    """Answer the next ``times`` calls of ``operation`` with an error response (before it is sent)."""
    seen = [0]

    def handler(request: Any, **_: Any) -> Optional[AWSResponse]:
        if seen[0] >= times:
            return None
        seen[0] += 1
        body = json.dumps({"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": "injected"}).encode()
        return AWSResponse(request.url, status, {"x-amzn-ErrorType": code}, _Raw(body))

    client.meta.events.register(f"before-send.dynamodb.{operation}", handler)
    return seen


@pytest.mark.parametrize(
    "operation,status,code",
    [("PutItem", 400, "ProvisionedThroughputExceededException"), ("Query", 500, "InternalServerError")],
)
def test_throttling_and_transient_errors_are_retried_by_boto(make_dynamodb_saver, operation, status, code) -> None:  # type: ignore[no-untyped-def]
    saver = make_dynamodb_saver(boto_config=Config(retries={"mode": "standard", "max_attempts": 3}))
    seen = _inject(saver.repository.client, operation, status, code, times=2)
    configs = _put_chain(saver, "t", 2)
    assert saver.get_tuple(_config("t")).config["configurable"]["checkpoint_id"] == configs[-1]["configurable"]["checkpoint_id"]
    assert seen[0] == 2


def test_persistent_throttling_is_a_transient_error_retried_in_one_layer(make_dynamodb_saver) -> None:  # type: ignore[no-untyped-def]
    saver = make_dynamodb_saver(boto_config=None)  # the library's botocore defaults: max_attempts=1
    seen = _inject(saver.repository.client, "Query", 400, "ThrottlingException", times=100)
    with pytest.raises(TransientBackendError, match=saver.table_name):
        saver.get_tuple(_config("t"))
    # The use case's RetryPolicy is the only retry layer: botocore sent each attempt once.
    assert seen[0] == saver.service.retry.attempts


class UnprocessedOnce:
    """A client wrapper answering the first batch calls with everything unprocessed."""

    def __init__(self, client: Any, times: int = 2) -> None:
        self._client = client
        self.left = {"batch_write_item": times, "batch_get_item": times}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def batch_write_item(self, RequestItems: Any) -> Any:  # noqa: N803
        if self.left["batch_write_item"]:
            self.left["batch_write_item"] -= 1
            return {"UnprocessedItems": RequestItems}
        return self._client.batch_write_item(RequestItems=RequestItems)

    def batch_get_item(self, RequestItems: Any) -> Any:  # noqa: N803
        if self.left["batch_get_item"]:
            self.left["batch_get_item"] -= 1
            return {"Responses": {}, "UnprocessedKeys": RequestItems}
        return self._client.batch_get_item(RequestItems=RequestItems)


def test_unprocessed_items_and_keys_are_retried_with_backoff(make_dynamodb_saver) -> None:  # type: ignore[no-untyped-def]
    saver = make_dynamodb_saver()
    configs = _put_chain(saver, "t", 3)
    sleeps: list[float] = []
    wrapped = UnprocessedOnce(saver.repository.client)
    repo = DynamoDBCheckpointRepository(
        client=wrapped, table_name=saver.table_name, backoff=RetryPolicy(sleep=sleeps.append)
    )
    record = repo.get_checkpoint(CheckpointKey(ThreadKey("t")))
    assert record is not None and {b.channel for b in record.blobs} == {"messages", "static"}
    repo.delete_thread("t")
    assert saver.get_tuple(configs[0]) is None
    assert len(sleeps) == 4 and sleeps[1] > sleeps[0]


def test_unprocessed_items_forever_is_a_transient_error(make_dynamodb_saver) -> None:  # type: ignore[no-untyped-def]
    saver = make_dynamodb_saver()
    _put_chain(saver, "t", 1)
    repo = DynamoDBCheckpointRepository(
        client=UnprocessedOnce(saver.repository.client, times=100),
        table_name=saver.table_name,
        backoff=RetryPolicy(sleep=lambda s: None),
    )
    with pytest.raises(TransientBackendError, match="unprocessed"):
        repo.delete_thread("t")
    assert saver.get_tuple(_config("t")) is not None


# -- bad input -----------------------------------------------------------------------------------------
def test_missing_table_names_the_table(aws_session, moto_endpoint) -> None:  # type: ignore[no-untyped-def]
    from langgraph_checkpoint_aws import DynamoDBSaver

    saver = DynamoDBSaver("no-such-table", session=aws_session, endpoint_url=moto_endpoint, boto_config=FAST_FAIL)
    with pytest.raises(NotFoundError, match="'no-such-table'.*does not exist"):
        saver.get_tuple(_config("t"))


def test_missing_bucket_names_the_bucket(make_dynamodb_saver) -> None:  # type: ignore[no-untyped-def]
    saver = make_dynamodb_saver(offload=True)
    saver.blob_store.client.delete_bucket(Bucket=saver.blob_store.bucket_name)
    with pytest.raises(NotFoundError, match=saver.blob_store.bucket_name):
        _put_chain(saver, "t", 1, big="B" * 400_000)


def test_rejected_credentials_are_a_configuration_error(make_dynamodb_saver) -> None:  # type: ignore[no-untyped-def]
    saver = make_dynamodb_saver()
    _inject(saver.repository.client, "Query", 400, "UnrecognizedClientException", times=1)
    with pytest.raises(ConfigurationError, match="credentials were rejected"):
        saver.get_tuple(_config("t"))


def test_unreachable_endpoint_names_the_endpoint(aws_session) -> None:  # type: ignore[no-untyped-def]
    from langgraph_checkpoint_aws import DynamoDBSaver

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    endpoint = f"http://127.0.0.1:{port}"
    saver = DynamoDBSaver("t", session=aws_session, endpoint_url=endpoint, boto_config=Config(retries={"max_attempts": 1}, connect_timeout=1))
    with pytest.raises(TransientBackendError, match=f"cannot reach.*{port}"):
        saver.get_tuple(_config("t"))


def test_corrupt_item_names_the_item(make_dynamodb_saver) -> None:  # type: ignore[no-untyped-def]
    saver = make_dynamodb_saver()
    configs = _put_chain(saver, "t", 2)
    header = next(i for i in _items(saver) if i["k"]["S"] == "h" and i["cid"]["S"] == configs[-1]["configurable"]["checkpoint_id"])
    saver.repository.client.update_item(
        TableName=saver.table_name, Key={"PK": header["PK"], "SK": header["SK"]}, UpdateExpression="REMOVE d"
    )
    with pytest.raises(CorruptRecordError, match="corrupt"):
        saver.get_tuple(_config("t"))
    assert saver.get_tuple(configs[0]) is not None  # the rest is intact


def test_dangling_pointer_is_a_corrupt_record(make_dynamodb_saver) -> None:  # type: ignore[no-untyped-def]
    saver = make_dynamodb_saver(offload=True)
    configs = _put_chain(saver, "t", 2, big="B" * 400_000)
    store = saver.blob_store
    keys = [o["Key"] for o in store.client.list_objects_v2(Bucket=store.bucket_name)["Contents"]]
    store.delete_objects(keys)
    with pytest.raises(CorruptRecordError, match="dangling"):
        saver.get_tuple(configs[-1])


def test_user_boto_config_is_merged_not_replaced(aws_session, moto_endpoint) -> None:  # type: ignore[no-untyped-def]
    from langgraph_checkpoint_aws.checkpoint.dynamodb import DynamoDBSaver

    saver = DynamoDBSaver(
        "t",
        session=aws_session,
        endpoint_url=moto_endpoint,
        boto_config=Config(retries={"mode": "adaptive", "max_attempts": 6}, max_pool_connections=33),
        s3_offload_config={"bucket_name": "b", "endpoint_url": moto_endpoint},
    )
    for client in (saver.repository.client, saver.blob_store.client):
        assert client.meta.config.max_pool_connections == 33
        assert client.meta.config.retries == {"mode": "adaptive", "total_max_attempts": 7}
    assert saver.blob_store.client.meta.config.s3 == {"addressing_style": "path"}


def test_container_composes_dynamodb_and_rejects_store(aws_session, moto_endpoint) -> None:  # type: ignore[no-untyped-def]
    from langgraph_checkpoint_aws import create_saver, create_store

    cfg = {
        "backend": "dynamodb",
        "dynamodb": {"table_name": unique("t"), "session": aws_session, "endpoint_url": moto_endpoint,
                     "boto_config": FAST_FAIL, "s3_offload": {"bucket_name": unique("b"), "endpoint_url": moto_endpoint}},
    }
    saver = create_saver(cfg)
    create_table(saver.service.repository.client, cfg["dynamodb"]["table_name"])
    assert saver.service.codec.blob_store is not None
    assert saver.get_tuple(_config("t")) is None
    with pytest.raises(ConfigurationError, match="dynamodb.s3_offload.bucket_name"):
        create_saver({**cfg, "dynamodb": {**cfg["dynamodb"], "s3_offload": {"endpoint_url": "x"}}})
    with pytest.raises(ConfigurationError, match="dynamodb.table_name"):
        create_saver({"backend": "dynamodb", "dynamodb": {}})
    with pytest.raises(ConfigurationError, match="store"):
        create_store(cfg)


async def test_async_api_does_not_block_the_loop(make_dynamodb_saver) -> None:  # type: ignore[no-untyped-def]
    saver = make_dynamodb_saver()
    await asyncio.to_thread(_put_chain, saver, "t", 3)
    ticks = 0
    done = False

    async def ticker() -> None:
        nonlocal ticks
        while not done:
            ticks += 1
            await asyncio.sleep(0.001)

    task = asyncio.create_task(ticker())
    for _ in range(5):
        assert await saver.aget_tuple(_config("t")) is not None
        assert len([t async for t in saver.alist(_config("t"), limit=2)]) == 2
    await saver.adelete_thread("t")
    done = True
    await task
    assert ticks > 5
    assert await saver.aget_tuple(_config("t")) is None


# -- LangGraph end to end ------------------------------------------------------------------------------
class BigState(TypedDict):
    docs: Annotated[list[str], operator.add]
    notes: str
    count: int


def _big_graph(saver: Any) -> Any:
    def grow(state: BigState) -> dict[str, Any]:
        return {"docs": [chr(ord("a") + state["count"]) * 400_000], "count": state["count"] + 1}

    def route(state: BigState) -> str:
        return "grow" if state["count"] < 3 else END

    builder = StateGraph(BigState)
    builder.add_node("grow", grow)
    builder.add_edge(START, "grow")
    builder.add_conditional_edges("grow", route)
    return builder.compile(checkpointer=saver)


@pytest.mark.parametrize("api", ["sync", "async"])
def test_graph_with_state_over_one_megabyte(make_dynamodb_saver, api) -> None:  # type: ignore[no-untyped-def]
    saver = make_dynamodb_saver(offload=True, enable_checkpoint_compression=(api == "async"))
    graph = _big_graph(saver)
    config = {"configurable": {"thread_id": f"big-{api}"}}
    start = {"docs": [], "notes": "n" * 100_000, "count": 0}
    if api == "sync":
        result = graph.invoke(start, config)
    else:
        result = asyncio.run(graph.ainvoke(start, config))
    assert result["count"] == 3 and sum(len(d) for d in result["docs"]) == 1_200_000
    state = graph.get_state(config)
    assert state.values["docs"] == result["docs"] and state.values["notes"] == "n" * 100_000
    history = list(graph.get_state_history(config))
    assert len(history) == 5
    objects = saver.blob_store.client.list_objects_v2(Bucket=saver.blob_store.bucket_name).get("KeyCount", 0)
    assert objects >= 1 if api == "sync" else objects == 0  # compressed: 400 KB of one letter fits inline
    saver.delete_thread(f"big-{api}")
    assert saver.get_tuple(config) is None
    assert saver.blob_store.client.list_objects_v2(Bucket=saver.blob_store.bucket_name).get("KeyCount", 0) == 0
