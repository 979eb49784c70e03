"""DynamoDBSaver write cost on a moto server: plain writes in a crash-safe order, cheap TTL, concurrency, long threads."""

from __future__ import annotations

import asyncio
import json
import math
import operator
from collections import Counter
from typing import Annotated, Any, Optional

import pytest
from botocore.awsrequest import AWSResponse
from langgraph.checkpoint.base import create_checkpoint, empty_checkpoint
from langgraph.graph import END, START, StateGraph
from typing_extensions import TypedDict

from langgraph_checkpoint_aws.adapters.dynamodb import DynamoDBCheckpointRepository, create_table
from langgraph_checkpoint_aws.domain.errors import PayloadTooLargeError, TransientBackendError
from langgraph_checkpoint_aws.domain.models import ChannelBlob, CheckpointKey, Payload, StoredCheckpoint, ThreadKey
from tests.backends.dynamodb import unique


class Recorder:
    """Every DynamoDB request of a client, in order: (operation, HTTP status, request body)."""

    def __init__(self, client: Any) -> None:
        self.requests: list[tuple[str, int, dict[str, Any]]] = []
        client.meta.events.register("before-call.dynamodb", self._before)
        client.meta.events.register("after-call.dynamodb", self._after)

    def _before(self, model: Any, params: Any, context: Any, **_: Any) -> None:
        body = params.get("body") or b"{}"
        context["recorder_body"] = json.loads(body.decode() if isinstance(body, bytes) else body)

    def _after(self, model: Any, http_response: Any, context: Any, **_: Any) -> None:
        self.requests.append((model.name, http_response.status_code, context.get("recorder_body", {})))

    def take(self) -> list[tuple[str, int, dict[str, Any]]]:
        out, self.requests = self.requests, []
        return out

    @staticmethod
    def names(requests: list[tuple[str, int, dict[str, Any]]]) -> list[str]:
        return [name for name, _, _ in requests]


def _size(av: dict[str, Any]) -> int:
    """An attribute value's size by DynamoDB's rules (wire format: binary values in base64)."""
    ((kind, raw),) = av.items()
    if kind == "S":
        return len(raw.encode())
    if kind == "B":
        return len(raw) * 3 // 4 - raw.count("=")
    if kind == "N":
        return (len(raw.lstrip("-").replace(".", "")) + 1) // 2 + 1
    if kind == "M":
        return 3 + sum(len(k.encode()) + _size(v) + 1 for k, v in raw.items())
    if kind == "L":
        return 3 + sum(_size(v) + 1 for v in raw)
    return 1


def _wcu(item: dict[str, Any]) -> int:
    return math.ceil(sum(len(k.encode()) + _size(v) for k, v in item.items()) / 1024)


def _write_units(requests: list[tuple[str, int, dict[str, Any]]]) -> int:
    """Write units of the inserted items (transactional writes double), from the request bodies."""
    units = 0
    for name, _, body in requests:
        if name == "PutItem":
            units += _wcu(body["Item"])
        elif name == "BatchWriteItem":
            units += sum(_wcu(r["PutRequest"]["Item"]) for rs in body["RequestItems"].values() for r in rs if "PutRequest" in r)
        elif name == "TransactWriteItems":
            units += 2 * sum(_wcu(a["Put"]["Item"]) for a in body["TransactItems"] if "Put" in a)
            units += 2 * sum(1 for a in body["TransactItems"] if "Update" in a)
    return units


def _config(thread: str, checkpoint_id: Optional[str] = None) -> dict[str, Any]:
    configurable: dict[str, Any] = {"thread_id": thread, "checkpoint_ns": ""}
    if checkpoint_id:
        configurable["checkpoint_id"] = checkpoint_id
    return {"configurable": configurable}


def _step(saver: Any, config: dict[str, Any], checkpoint: Any, step: int, values: dict[str, Any]) -> tuple[Any, Any]:
    """Put one checkpoint that changes the channels in ``values``."""
    versions = dict(checkpoint["channel_versions"])
    new_versions = {ch: saver.get_next_version(versions.get(ch), None) for ch in values}
    versions.update(new_versions)
    merged = dict(checkpoint["channel_values"], **values)
    checkpoint = create_checkpoint({**checkpoint, "channel_values": merged, "channel_versions": versions}, None, step)
    checkpoint["channel_values"] = merged
    checkpoint["channel_versions"] = versions
    return saver.put(config, checkpoint, {"source": "loop", "step": step}, new_versions), checkpoint


def _inject(client: Any, operation: str, status: int, code: str) -> list[int]:
    """Answer every later call of ``operation`` with an error, before it is sent (a crash at that point)."""
    seen = [0]

    class Raw:
        def __init__(self, body: bytes) -> None:
            self.body = body

        def stream(self, **_: Any):  # type: ignore[no-untyped-def]
            yield self.body

    def handler(request: Any, **_: Any) -> AWSResponse:
        seen[0] += 1
        body = json.dumps({"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": "injected"}).encode()
        return AWSResponse(request.url, status, {"x-amzn-ErrorType": code}, Raw(body))

    client.meta.events.register(f"before-send.dynamodb.{operation}", handler)
    return seen


# -- the write path of a put ---------------------------------------------------------------------------
def test_put_is_plain_writes_blobs_first_header_last(make_dynamodb_saver) -> None:  # type: ignore[no-untyped-def]
    saver = make_dynamodb_saver()
    recorder = Recorder(saver.repository.client)
    config, checkpoint = _step(saver, _config("t"), empty_checkpoint(), 0, {"static": "s" * 20_000, "messages": ["hi"]})
    first = recorder.take()
    # No transaction (it bills twice): the blobs in one BatchWriteItem, then the header alone.
    assert Recorder.names(first) == ["BatchWriteItem", "PutItem"]
    (blob_requests,) = first[0][2]["RequestItems"].values()
    assert sorted(r["PutRequest"]["Item"]["ch"]["S"] for r in blob_requests) == ["messages", "static"]
    assert first[1][2]["Item"]["k"]["S"] == "h"
    config, checkpoint = _step(saver, config, checkpoint, 1, {"messages": ["hi", "there"]})
    second = recorder.take()
    assert Recorder.names(second) == ["BatchWriteItem", "PutItem"]
    # The 20 KB blob is reused, not rewritten or touched: the step pays for the small items only.
    assert _write_units(second) <= 3
    assert saver.get_tuple(config).checkpoint["channel_values"] == {"static": "s" * 20_000, "messages": ["hi", "there"]}


def test_a_put_that_changes_no_channel_is_one_put_item(make_dynamodb_saver) -> None:  # type: ignore[no-untyped-def]
    saver = make_dynamodb_saver()
    config, checkpoint = _step(saver, _config("t"), empty_checkpoint(), 0, {"a": 1})
    recorder = Recorder(saver.repository.client)
    _step(saver, config, checkpoint, 1, {})
    assert Recorder.names(recorder.take()) == ["PutItem"]


def test_a_crash_before_the_header_leaves_the_previous_checkpoint_whole(make_dynamodb_saver) -> None:  # type: ignore[no-untyped-def]
    saver = make_dynamodb_saver()
    config, checkpoint = _step(saver, _config("t"), empty_checkpoint(), 0, {"static": "s" * 5_000, "messages": ["a"]})
    seen = _inject(saver.repository.client, "PutItem", 500, "InternalServerError")
    with pytest.raises(TransientBackendError):
        _step(saver, config, checkpoint, 1, {"messages": ["a", "b"], "extra": "x"})
    assert seen[0] == saver.service.retry.attempts  # the header was tried; the blobs went before it
    latest = saver.get_tuple(_config("t"))
    assert latest.config["configurable"]["checkpoint_id"] == config["configurable"]["checkpoint_id"]
    assert latest.checkpoint["channel_values"] == {"static": "s" * 5_000, "messages": ["a"]}


def test_a_crash_while_writing_blobs_writes_no_header(make_dynamodb_saver) -> None:  # type: ignore[no-untyped-def]
    saver = make_dynamodb_saver()
    config, checkpoint = _step(saver, _config("t"), empty_checkpoint(), 0, {"messages": ["a"]})
    recorder = Recorder(saver.repository.client)
    _inject(saver.repository.client, "BatchWriteItem", 500, "InternalServerError")
    with pytest.raises(TransientBackendError):
        _step(saver, config, checkpoint, 1, {"messages": ["a", "b"]})
    assert "PutItem" not in Recorder.names(recorder.take())
    assert len(list(saver.list(_config("t")))) == 1


def test_reputting_a_checkpoint_id_replaces_it(make_dynamodb_saver) -> None:  # type: ignore[no-untyped-def]
    saver = make_dynamodb_saver()
    config, checkpoint = _step(saver, _config("t"), empty_checkpoint(), 0, {"messages": ["a"]})
    again = dict(checkpoint, channel_values={"messages": ["b"]})
    versions = dict(checkpoint["channel_versions"], messages=saver.get_next_version(checkpoint["channel_versions"]["messages"], None))
    again["channel_versions"] = versions
    saver.put(_config("t"), again, {"source": "update", "step": 5}, {"messages": versions["messages"]})
    listed = list(saver.list(_config("t")))
    assert len(listed) == 1
    assert listed[0].checkpoint["channel_values"] == {"messages": ["b"]} and listed[0].metadata["step"] == 5


def test_more_than_25_changed_channels_go_in_several_batches_before_the_header(make_dynamodb_saver) -> None:  # type: ignore[no-untyped-def]
    saver = make_dynamodb_saver()
    config, checkpoint = _step(saver, _config("t"), empty_checkpoint(), 0, {"messages": ["a"]})
    recorder = Recorder(saver.repository.client)
    values = {f"c{i}": f"value {i}" for i in range(60)}
    config, checkpoint = _step(saver, config, checkpoint, 1, values)
    names = Recorder.names(recorder.take())
    assert names.count("BatchWriteItem") == 3 and names[-1] == "PutItem"
    assert saver.get_tuple(config).checkpoint["channel_values"] == {"messages": ["a"], **values}


def test_a_header_over_the_item_limit_is_too_large_and_the_previous_checkpoint_stays(make_dynamodb_saver) -> None:  # type: ignore[no-untyped-def]
    saver = make_dynamodb_saver()
    config, checkpoint = _step(saver, _config("t"), empty_checkpoint(), 0, {"messages": ["a"]})
    versions = dict(checkpoint["channel_versions"], messages=saver.get_next_version(checkpoint["channel_versions"]["messages"], None))
    bigger = create_checkpoint({**checkpoint, "channel_values": {"messages": ["a", "b"]}, "channel_versions": versions}, None, 1)
    bigger["channel_values"], bigger["channel_versions"] = {"messages": ["a", "b"]}, versions
    with pytest.raises(PayloadTooLargeError):
        saver.put(config, bigger, {"source": "loop", "step": 1, "note": "n" * 420_000}, {"messages": versions["messages"]})
    latest = saver.get_tuple(_config("t"))
    assert latest.config["configurable"]["checkpoint_id"] == config["configurable"]["checkpoint_id"]
    assert latest.checkpoint["channel_values"] == {"messages": ["a"]}


# -- TTL of reused blobs ---------------------------------------------------------------------------------
def test_reused_blobs_outlive_their_headers_with_a_rare_refresh(dynamodb_client) -> None:  # type: ignore[no-untyped-def]
    table = unique("ttl")
    create_table(dynamodb_client, table)
    now = [1_000_000.0]
    repo = DynamoDBCheckpointRepository(client=dynamodb_client, table_name=table, ttl_seconds=60, clock=lambda: now[0])
    thread = ThreadKey("t")

    def header(cid: str, parent: Optional[str]) -> StoredCheckpoint:
        return StoredCheckpoint(thread, "", cid, parent, Payload("json", b"{}"), {"a": "1"}, {})

    recorder = Recorder(dynamodb_client)
    repo.put_checkpoint(header("001", None), [ChannelBlob("a", "1", Payload("json", b'"A"'))])
    recorder.take()
    now[0] += 50  # the blob still outlives a header written now: nothing to refresh
    repo.put_checkpoint(header("002", "001"), [])
    assert Recorder.names(recorder.take()) == ["PutItem"]
    now[0] += 20  # 70 s after the blob was written: it would die before this header; refreshed first
    repo.put_checkpoint(header("003", "002"), [])
    assert Recorder.names(recorder.take()) == ["UpdateItem", "PutItem"]
    now[0] += 55  # past the blob's first ttl and the first headers' ttl, within header 003's
    record = repo.get_checkpoint(CheckpointKey(thread))
    assert record is not None and record.checkpoint.checkpoint_id == "003"
    assert [b.payload.data for b in record.blobs] == [b'"A"']
    # Every live header's reused blobs outlive it.
    items = dynamodb_client.scan(TableName=table, ConsistentRead=True)["Items"]
    blob_ttl = min(int(i["ttl"]["N"]) for i in items if i["k"]["S"] == "b")
    assert all(int(i["ttl"]["N"]) <= blob_ttl for i in items if i["k"]["S"] == "h")


def test_a_new_process_probes_reused_blobs_once_and_refreshes_only_stale_ones(dynamodb_client) -> None:  # type: ignore[no-untyped-def]
    table = unique("ttl")
    create_table(dynamodb_client, table)
    now = [1_000_000.0]
    make = lambda: DynamoDBCheckpointRepository(  # noqa: E731
        client=dynamodb_client, table_name=table, ttl_seconds=60, clock=lambda: now[0]
    )
    thread = ThreadKey("t")
    blobs = [ChannelBlob("a", "1", Payload("json", b'"A"')), ChannelBlob("b", "1", Payload("json", b'"B"'))]
    make().put_checkpoint(StoredCheckpoint(thread, "", "001", None, Payload("json", b"{}"), {"a": "1"}, {}), blobs[:1])
    now[0] += 30
    make().put_checkpoint(StoredCheckpoint(thread, "", "002", "001", Payload("json", b"{}"), {"a": "1", "b": "1"}, {}), blobs[1:])
    now[0] += 40  # blob a (70 s old) would die before a header written now; blob b (40 s) would not
    recorder = Recorder(dynamodb_client)
    fresh = make()
    fresh.put_checkpoint(StoredCheckpoint(thread, "", "003", "002", Payload("json", b"{}"), {"a": "1", "b": "1", "z": "9"}, {}), [])
    requests = recorder.take()
    # A new repository checks the table's key schema once (DescribeTable) before its first call.
    assert Recorder.names(requests) == ["DescribeTable", "BatchGetItem", "UpdateItem", "PutItem"]
    assert requests[2][2]["Key"]["SK"]["S"].endswith("a!1!")
    now[0] += 55  # past blob a's first ttl, within header 003's
    record = fresh.get_checkpoint(CheckpointKey(thread))
    assert record is not None and sorted(b.channel for b in record.blobs) == ["a", "b"]


def test_cleared_channels_and_missing_blobs_are_not_probed_at_every_put(dynamodb_client) -> None:  # type: ignore[no-untyped-def]
    table = unique("ttl")
    create_table(dynamodb_client, table)
    now = [1_000_000.0]
    thread = ThreadKey("t")
    versions = {"a": "1", "cleared": "1", "gone": "1"}

    def header(cid: str) -> StoredCheckpoint:
        return StoredCheckpoint(thread, "", cid, None, Payload("json", b"{}"), versions, {})

    def make() -> DynamoDBCheckpointRepository:
        return DynamoDBCheckpointRepository(client=dynamodb_client, table_name=table, ttl_seconds=60, clock=lambda: now[0])

    repo = make()
    recorder = Recorder(dynamodb_client)
    repo.put_checkpoint(
        header("001"), [ChannelBlob("a", "1", Payload("json", b'"A"')), ChannelBlob("cleared", "1", Payload("empty", b""))]
    )
    for cid in ("002", "003"):  # "gone" has no item: probed once (by the first put), then known
        repo.put_checkpoint(header(cid), [])
    names = Recorder.names(recorder.take())
    assert names == ["DescribeTable", "BatchGetItem", "BatchWriteItem", "PutItem", "PutItem", "PutItem"]
    fresh = make()  # a new process: one probe for everything it reuses, then nothing
    for cid in ("004", "005"):
        fresh.put_checkpoint(header(cid), [])
    assert Recorder.names(recorder.take()) == ["DescribeTable", "BatchGetItem", "PutItem", "PutItem"]
    now[0] += 70  # what was missing is probed again (it could have been written since); "a" is refreshed
    fresh.put_checkpoint(header("006"), [])
    assert Recorder.names(recorder.take()) == ["BatchGetItem", "UpdateItem", "PutItem"]


# -- concurrency on the test server ----------------------------------------------------------------------
class Small(TypedDict):
    messages: Annotated[list[str], operator.add]
    count: int


def _small_graph(saver: Any) -> Any:
    def node(name: str) -> Any:
        def run(state: Small) -> dict[str, Any]:
            return {"messages": [f"{name} {state['count']}"], "count": state["count"] + 1}

        return run

    builder = StateGraph(Small)
    for name in ("a", "b", "c", "d"):
        builder.add_node(name, node(name))
    builder.add_edge(START, "a")
    builder.add_edge("a", "b")
    builder.add_edge("b", "c")
    builder.add_edge("c", "d")
    builder.add_edge("d", END)
    return builder.compile(checkpointer=saver)


def test_fifty_concurrent_coroutines_on_one_saver_without_a_failed_request(make_dynamodb_saver) -> None:  # type: ignore[no-untyped-def]
    saver = make_dynamodb_saver()
    recorder = Recorder(saver.repository.client)
    graph = _small_graph(saver)

    async def one(i: int) -> int:
        config = {"configurable": {"thread_id": f"c-{i}"}}
        total = 0
        for _ in range(3):
            state = await graph.aget_state(config)
            start = state.values.get("count", 0) if state.values else 0
            result = await graph.ainvoke({"messages": [], "count": start}, config)
            total = result["count"]
        return total

    async def main() -> list[Any]:
        return await asyncio.gather(*(one(i) for i in range(50)), return_exceptions=True)

    results = asyncio.run(main())
    failed = Counter((name, status) for name, status, _ in recorder.requests if status >= 400)
    assert not failed, f"failed requests: {dict(failed)}"
    assert results == [12] * 50
    assert "TransactWriteItems" not in Recorder.names(recorder.requests)


# -- long threads ----------------------------------------------------------------------------------------
def test_list_returns_every_checkpoint_and_write_past_the_one_megabyte_page(make_dynamodb_saver) -> None:  # type: ignore[no-untyped-def]
    saver = make_dynamodb_saver()
    config, checkpoint = _config("long"), empty_checkpoint()
    ids = []
    for step in range(200):
        config, checkpoint = _step(saver, config, checkpoint, step, {"count": step})
        ids.append(config["configurable"]["checkpoint_id"])
        # 2 tasks x 3 writes of ~1.2 KB each (distinct, so nothing compresses): ~7 KB of writes per
        # checkpoint, 1.4 MB for the thread, so the header range spans more than one Query page.
        saver.put_writes(config, [(f"w{i}", f"{step}-{i}-" + "x" * 1_200) for i in range(3)], task_id=f"a{step}")
        saver.put_writes(config, [(f"w{i}", f"{step}-{i}-" + "y" * 1_200) for i in range(3)], task_id=f"b{step}")
    recorder = Recorder(saver.repository.client)
    listed = list(saver.list(_config("long")))
    queries = [body for name, _, body in recorder.take() if name == "Query"]
    assert len(queries) >= 2 and all("ExclusiveStartKey" in q for q in queries[1:])  # paged past 1 MB
    assert [t.config["configurable"]["checkpoint_id"] for t in listed] == ids[::-1]
    assert all(len(t.pending_writes) == 6 for t in listed)
    assert all(t.checkpoint["channel_values"]["count"] == 199 - n for n, t in enumerate(listed))
    step = 199
    assert sorted(v for _, _, v in listed[0].pending_writes) == sorted(
        [f"{step}-{i}-" + "x" * 1_200 for i in range(3)] + [f"{step}-{i}-" + "y" * 1_200 for i in range(3)]
    )
