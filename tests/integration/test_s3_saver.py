"""S3CheckpointSaver and AsyncS3CheckpointSaver on the moto server: ids, deletion, concurrency, size, cost, format."""

from __future__ import annotations

import asyncio
import operator
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Annotated, Any, TypedDict

import boto3
import pytest
from botocore.config import Config
from langgraph.graph import END, START, StateGraph
from langgraph_checkpoint_s3 import AsyncS3CheckpointSaver as SeedAsync
from langgraph_checkpoint_s3 import S3CheckpointSaver as SeedSync

from demo.agent import main as demo_main
from langgraph_checkpoint_aws import (
    AsyncS3CheckpointSaver,
    BackendConnectionError,
    ConfigurationError,
    NotFoundError,
    S3CheckpointSaver,
    create_saver,
)
from langgraph_checkpoint_aws.adapters.s3._layout import inv
from tests.backends.s3 import new_bucket


class State(TypedDict):
    messages: Annotated[list[str], operator.add]
    doc: str


def graph_of(saver: Any) -> Any:
    def step(state: State) -> dict[str, Any]:
        return {"messages": [f"m{len(state['messages'])}"]}

    b = StateGraph(State)
    b.add_node("step", step)
    b.add_edge(START, "step")
    b.add_edge("step", END)
    return b.compile(checkpointer=saver)


def keys_of(client: Any, bucket: str, prefix: str = "") -> list[str]:
    out: list[str] = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        out.extend(o["Key"] for o in page.get("Contents", []))
    return out


def sizes_of(client: Any, bucket: str, prefix: str = "") -> dict[str, int]:
    out: dict[str, int] = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        out.update({o["Key"]: o["Size"] for o in page.get("Contents", [])})
    return out


@pytest.fixture
def bucket(s3_client: Any) -> str:
    return new_bucket(s3_client)


@pytest.fixture
def saver(s3_client: Any, bucket: str) -> Iterator[S3CheckpointSaver]:
    s = S3CheckpointSaver(bucket, s3_client=s3_client)
    yield s
    s.close()


def cfg(thread_id: str, ns: str = "") -> dict[str, Any]:
    return {"configurable": {"thread_id": thread_id, "checkpoint_ns": ns}}


# -- API surface ------------------------------------------------------------------------------------
def test_seed_import_paths_and_create_saver(aws_session: boto3.session.Session, moto_endpoint: str, s3_client: Any) -> None:
    assert SeedSync is S3CheckpointSaver and SeedAsync is AsyncS3CheckpointSaver
    name = new_bucket(s3_client)
    s = create_saver({"backend": "s3", "s3": {"bucket_name": name, "prefix": "app/", "session": aws_session, "endpoint_url": moto_endpoint}})
    try:
        assert type(s) is S3CheckpointSaver and s.prefix == "app/"
        s.put(cfg("t"), _checkpoint("1"), {"step": 0}, {})
        assert keys_of(s3_client, name, "app/checkpoints/t/__default__/")
    finally:
        s.close()


def test_option_errors_name_the_path() -> None:
    with pytest.raises(ConfigurationError, match="s3.bucket_name is required"):
        create_saver({"backend": "s3"})
    with pytest.raises(ConfigurationError, match="unknown option s3.bucket"):
        create_saver({"backend": "s3", "s3": {"bucket_name": "x", "bucket": "x"}})
    with pytest.raises(ConfigurationError, match="bucket_name must be a non-empty string"):
        S3CheckpointSaver("")
    with pytest.raises(ConfigurationError, match="unknown keyword arguments table_name"):
        S3CheckpointSaver("b", table_name="x")


def test_bucket_checked_on_initialization(s3_client: Any, aws_session: boto3.session.Session) -> None:
    with pytest.raises(NotFoundError, match=r"S3 bucket 'no-such-bucket-x1' .*does not exist"):
        S3CheckpointSaver("no-such-bucket-x1", s3_client=s3_client)
    refused = aws_session.client(
        "s3", endpoint_url="http://127.0.0.1:9", config=Config(connect_timeout=1, retries={"max_attempts": 0})
    )
    with pytest.raises(BackendConnectionError, match="'some-bucket'"):
        S3CheckpointSaver("some-bucket", s3_client=refused)


async def test_async_class_checks_the_bucket_on_entry(aws_session: boto3.session.Session, moto_endpoint: str) -> None:
    with pytest.raises(NotFoundError, match="no-such-bucket-x2"):
        async with AsyncS3CheckpointSaver("no-such-bucket-x2", session=aws_session, endpoint_url=moto_endpoint):
            pass


def _checkpoint(cid: str, **values: Any) -> dict[str, Any]:
    return {
        "v": 4,
        "id": cid,
        "ts": "2026-01-01T00:00:00+00:00",
        "channel_values": values,
        "channel_versions": {k: "1" for k in values},
        "versions_seen": {},
        "updated_channels": None,
    }


# -- ids -----------------------------------------------------------------------------------------------
SPECIAL_THREADS = ["a/b", "a", "ab", "a@b", "..", ".", "%", "%25", "ünï©ødé", "sp ace", "__default__", "a\nb", "~"]
SPECIAL_NAMESPACES = ["", "__default__", "a/b", "child:1|x", "..", "%5F_default__"]


def test_special_ids_never_share_a_key(saver: S3CheckpointSaver, s3_client: Any, bucket: str) -> None:
    for t in SPECIAL_THREADS:
        for ns in SPECIAL_NAMESPACES:
            saver.put(cfg(t, ns), _checkpoint(f"id/{t}|{ns}", value=f"{t}|{ns}"), {"who": f"{t}|{ns}"}, {"value": "1"})
    for t in SPECIAL_THREADS:
        for ns in SPECIAL_NAMESPACES:
            tup = saver.get_tuple(cfg(t, ns))
            assert tup is not None, (t, ns)
            assert tup.checkpoint["channel_values"] == {"value": f"{t}|{ns}"}
            assert tup.metadata["who"] == f"{t}|{ns}"
            assert tup.config["configurable"] == {"thread_id": t, "checkpoint_ns": ns, "checkpoint_id": f"id/{t}|{ns}"}
        listed = list(saver.list({"configurable": {"thread_id": t}}))
        assert sorted(x.config["configurable"]["checkpoint_ns"] for x in listed) == sorted(SPECIAL_NAMESPACES)
    # Every checkpoint has its own header key (+ one head per namespace): nothing was overwritten.
    headers = [k for k in keys_of(s3_client, bucket, "checkpoints/checkpoints/") if not k.endswith("~head")]
    assert len(headers) == len(SPECIAL_THREADS) * len(SPECIAL_NAMESPACES)


def test_checkpoint_ids_list_newest_first_in_one_ascending_listing(saver: S3CheckpointSaver, s3_client: Any, bucket: str) -> None:
    ids = ["1", "10", "2", "a", "ab", "\u00e9", "\U0001f600", "b-2", ""]
    for cid in ids:
        saver.put(cfg("t"), _checkpoint(cid), {}, {})
    assert [t.config["configurable"]["checkpoint_id"] for t in saver.list(cfg("t"))] == sorted(ids, reverse=True)
    raw = keys_of(s3_client, bucket, "checkpoints/checkpoints/t/__default__/")
    assert [k.rsplit("/", 1)[1] for k in raw if not k.endswith("~head")] == [inv(c) for c in sorted(ids, reverse=True)]
    before = {"configurable": {"thread_id": "t", "checkpoint_ns": "", "checkpoint_id": "ab"}}
    assert [t.config["configurable"]["checkpoint_id"] for t in saver.list(cfg("t"), before=before, limit=3)] == ["a", "2", "10"]


# -- deletion ----------------------------------------------------------------------------------------
def test_delete_thread_is_exact(saver: S3CheckpointSaver, s3_client: Any, bucket: str) -> None:
    for t in SPECIAL_THREADS:
        g = graph_of(saver)
        g.invoke({"messages": ["hi"], "doc": t}, {"configurable": {"thread_id": t}})
    before = set(keys_of(s3_client, bucket))
    saver.delete_thread("a")
    after = set(keys_of(s3_client, bucket))
    gone = before - after
    assert gone and all("/a/" in k for k in gone)
    assert saver.get_tuple(cfg("a")) is None
    for t in SPECIAL_THREADS:
        if t != "a":
            tup = saver.get_tuple(cfg(t))
            assert tup is not None and tup.checkpoint["channel_values"]["doc"] == t, t
    for t in SPECIAL_THREADS:
        saver.delete_thread(t)
    assert keys_of(s3_client, bucket) == []


# -- concurrency -------------------------------------------------------------------------------------
def test_eight_threads_share_one_saver(saver: S3CheckpointSaver) -> None:
    g = graph_of(saver)
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            for _ in range(5):
                g.invoke({"messages": [f"t{i}"], "doc": "x"}, {"configurable": {"thread_id": f"th-{i}"}})
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    for i in range(8):
        state = g.get_state({"configurable": {"thread_id": f"th-{i}"}})
        assert len(state.values["messages"]) == 10
        assert len(list(saver.list({"configurable": {"thread_id": f"th-{i}"}}))) == 15


async def test_fifty_coroutines_share_one_async_saver(aws_session: boto3.session.Session, moto_endpoint: str, s3_client: Any) -> None:
    async with AsyncS3CheckpointSaver(new_bucket(s3_client), session=aws_session, endpoint_url=moto_endpoint) as saver:
        g = graph_of(saver)

        async def run(i: int) -> None:
            for _ in range(3):
                await g.ainvoke({"messages": [f"c{i}"], "doc": "y"}, {"configurable": {"thread_id": f"co-{i}"}})

        await asyncio.gather(*(run(i) for i in range(50)))
        for i in range(50):
            state = await g.aget_state({"configurable": {"thread_id": f"co-{i}"}})
            assert len(state.values["messages"]) == 6


# -- size ----------------------------------------------------------------------------------------------
def test_large_state_read_by_a_new_instance(s3_client: Any, bucket: str) -> None:
    doc = "".join(chr(0x41 + (i * 7919) % 26) for i in range(1_500_000))
    with S3CheckpointSaver(bucket, s3_client=s3_client) as first:
        graph_of(first).invoke({"messages": ["big"], "doc": doc}, {"configurable": {"thread_id": "big"}})
    with S3CheckpointSaver(bucket, s3_client=s3_client) as second:
        state = graph_of(second).get_state({"configurable": {"thread_id": "big"}})
        assert state.values["doc"] == doc and state.values["messages"] == ["big", "m1"]


def test_an_unchanging_channel_is_stored_once(saver: S3CheckpointSaver, s3_client: Any, bucket: str) -> None:
    doc = "x" * 200_000
    g = graph_of(saver)
    config = {"configurable": {"thread_id": "once"}}
    g.invoke({"messages": ["a"], "doc": doc}, config)
    for i in range(10):
        g.invoke({"messages": [f"b{i}"]}, config)
    blobs = sizes_of(s3_client, bucket, "checkpoints/blobs/once/__default__/doc/")
    assert len(blobs) == 1 and 200_000 <= sum(blobs.values()) < 201_000
    total = sum(sizes_of(s3_client, bucket).values())
    # 11 runs x 3 checkpoints: the 200 KB input is stored as the input write, the __start__ channel's
    # value and the doc channel's value, each once; never in headers, never again.
    assert total < 3 * 200_000 + 40_000, total


# -- cost: request rounds per operation, independent of the thread's length --------------------------
class Counter:
    """Counts rounds (the repository's observer) and HTTP requests (botocore's before-send)."""

    def __init__(self, saver: S3CheckpointSaver) -> None:
        self.rounds: list[list[str]] = []
        self.requests = 0
        saver.repository.observer = self.rounds.append
        saver.repository.client.meta.events.register("before-send.s3", self._sent)

    def _sent(self, **_: Any) -> None:
        self.requests += 1

    def measure(self, fn: Any) -> tuple[int, int]:
        self.rounds.clear()
        self.requests = 0
        fn()
        return len(self.rounds), self.requests


def _costs(saver: S3CheckpointSaver, thread: str, steps: int) -> dict[str, tuple[int, int]]:
    g = graph_of(saver)
    config = {"configurable": {"thread_id": thread}}
    for i in range(steps):
        g.invoke({"messages": [f"s{i}"], "doc": "d" * 2000}, config)
    counter = Counter(saver)
    latest = saver.get_tuple(config)
    assert latest is not None
    by_id = latest.config
    parent = latest.parent_config
    assert parent is not None
    out = {
        "get_tuple latest": counter.measure(lambda: saver.get_tuple(config)),
        "get_tuple by id": counter.measure(lambda: saver.get_tuple(parent)),
        "list limit=10": counter.measure(lambda: list(saver.list(config, limit=10))),
        "put": counter.measure(
            lambda: saver.put(by_id, {**latest.checkpoint, "id": "zzzz", "channel_values": {"doc": "new", "messages": ["x"]}}, {"step": 99}, {"doc": "99", "messages": "99"})
        ),
        "put_writes": counter.measure(
            lambda: saver.put_writes({"configurable": {**by_id["configurable"], "checkpoint_id": "zzzz"}}, [("messages", ["w"]), ("doc", "w")], "task-1")
        ),
    }
    out["delete_thread"] = counter.measure(lambda: saver.delete_thread(thread))
    saver.repository.observer = None
    return out


def test_request_rounds_are_bounded_and_independent_of_thread_length(saver: S3CheckpointSaver) -> None:
    short = _costs(saver, "short", 3)
    long = _costs(saver, "long", 40)
    for op in ("get_tuple latest", "get_tuple by id", "list limit=10", "put", "put_writes"):
        assert short[op][0] <= long[op][0] and long[op] == short[op] or op == "list limit=10", (op, short[op], long[op])
    assert long["get_tuple latest"][0] <= 2 and long["get_tuple by id"][0] <= 2
    assert long["list limit=10"][0] <= 3
    assert long["put"][0] <= 2 and long["put_writes"][0] == 1
    # put: 2 changed blobs, then the header and the head; put_writes: one object per task.
    assert long["put"][1] == 4 and long["put_writes"][1] == 1
    # list(limit=10) reads 10 headers whatever the length: its requests only grow with what the 10 reference.
    assert short["list limit=10"][0] <= 3 and long["list limit=10"][1] <= 1 + 1 + 10 + 10 * 4
    # delete_thread: listing pages (6 prefixes, in one round) and one DeleteObjects per 1,000 keys.
    assert long["delete_thread"] == (2, 6 + 1)


def test_requests_in_a_round_run_in_parallel(saver: S3CheckpointSaver) -> None:
    g = graph_of(saver)
    config = {"configurable": {"thread_id": "par"}}
    for i in range(12):
        g.invoke({"messages": [f"s{i}"], "doc": "d"}, config)
    active = {"now": 0, "max": 0}
    lock = threading.Lock()
    client = saver.repository.client

    def before(**_: Any) -> None:
        with lock:
            active["now"] += 1
            active["max"] = max(active["max"], active["now"])

    def after(**_: Any) -> None:
        with lock:
            active["now"] -= 1

    client.meta.events.register("before-send.s3", before)
    client.meta.events.register("after-call.s3", after)
    client.meta.events.register("after-call-error.s3", after)
    list(saver.list(config, limit=10))
    assert active["max"] > 1


# -- the published format --------------------------------------------------------------------------
def _published_objects(s3_client: Any, bucket: str, root: str = "checkpoints/") -> None:
    """Objects laid out as langgraph-checkpoint-s3 0.1.3 writes them."""
    s3_client.put_object(Bucket=bucket, Key=f"{root}checkpoints/thread-1/__default__/1f0a-0001.json", Body=b'{"checkpoint_type": "msgpack"}')
    s3_client.put_object(Bucket=bucket, Key=f"{root}writes/thread-1/__default__/1f0a-0001/task_0.json", Body=b"{}")


def test_published_format_is_recognised_on_initialization(s3_client: Any, bucket: str) -> None:
    _published_objects(s3_client, bucket)
    with pytest.raises(ConfigurationError, match="langgraph-checkpoint-s3 0.1.3.*langgraph-aws migrate"):
        S3CheckpointSaver(bucket, s3_client=s3_client)
    # Another prefix of the same bucket is fine.
    with S3CheckpointSaver(bucket, prefix="other/", s3_client=s3_client) as other:
        assert other.get_tuple(cfg("thread-1")) is None


def test_published_thread_is_never_read_as_empty(saver: S3CheckpointSaver, s3_client: Any, bucket: str) -> None:
    saver.put(cfg("mine"), _checkpoint("1"), {}, {})
    _published_objects(s3_client, bucket)  # written after the saver checked the prefix
    with pytest.raises(ConfigurationError, match="langgraph-aws migrate"):
        saver.get_tuple(cfg("thread-1"))
    with pytest.raises(ConfigurationError, match="langgraph-aws migrate"):
        list(saver.list(cfg("thread-1")))


# -- the demo ------------------------------------------------------------------------------------------
def test_make_demo_backend_s3(tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    assert demo_main(["--backend", "s3", "--data-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "paused at human approval" in out and "tool: done book" in out
    assert "embedded moto" in out and "channel blobs" in out


def test_sync_api_from_threads_and_async_api_agree(saver: S3CheckpointSaver) -> None:
    g = graph_of(saver)
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda i: g.invoke({"messages": [str(i)], "doc": ""}, {"configurable": {"thread_id": f"mix-{i}"}}), range(4)))

    async def read() -> list[int]:
        counts = []
        for i in range(4):
            counts.append(len([t async for t in saver.alist({"configurable": {"thread_id": f"mix-{i}"}})]))
        return counts

    assert asyncio.run(read()) == [3, 3, 3, 3]
