"""Checkpoint use cases over the in-memory adapters, asserting on stored state."""

from __future__ import annotations

import gzip
import random

import pytest

from langgraph_checkpoint_aws.adapters.memory import InMemoryBlobStore, InMemoryCheckpointRepository
from langgraph_checkpoint_aws.application.checkpoints import CheckpointService, copy_thread_between
from langgraph_checkpoint_aws.application.payloads import PayloadCodec
from langgraph_checkpoint_aws.domain.errors import (
    CorruptRecordError,
    InvalidInputError,
    PayloadTooLargeError,
)
from langgraph_checkpoint_aws.domain.models import (
    ChannelBlob,
    CheckpointKey,
    CheckpointQuery,
    Payload,
    StoredCheckpoint,
    StoredWrite,
    ThreadKey,
)
from langgraph_checkpoint_aws.domain.policies import PayloadPolicy

T = ThreadKey("t")


def make(policy: PayloadPolicy | None = None, blob_store: InMemoryBlobStore | None = None):  # type: ignore[no-untyped-def]
    repo = InMemoryCheckpointRepository()
    codec = PayloadCodec(policy=policy or PayloadPolicy(), blob_store=blob_store)
    return CheckpointService(repository=repo, codec=codec), repo


def header(cid: str, versions: dict, parent: str | None = None, ns: str = "", thread: ThreadKey = T, **md) -> StoredCheckpoint:  # type: ignore[no-untyped-def]
    return StoredCheckpoint(thread, ns, cid, parent, Payload("json", b"{}"), versions, md)


def blob(ch: str, ver: str, data: bytes) -> ChannelBlob:
    return ChannelBlob(ch, ver, Payload("bytes", data))


def _blob_count(repo: InMemoryCheckpointRepository) -> int:
    return sum(len(v) for v in repo._blobs.values())


def test_unchanged_channels_are_not_rewritten() -> None:
    svc, repo = make()
    svc.put(header("1", {"big": "1", "msgs": "1"}), [blob("big", "1", b"B" * 20000), blob("msgs", "1", b"m1")])
    svc.put(header("2", {"big": "1", "msgs": "2"}, parent="1"), [blob("msgs", "2", b"m1m2")])
    assert _blob_count(repo) == 3  # big stored once, two message versions
    rec = svc.get(CheckpointKey(T))
    assert {b.channel: b.payload.data for b in rec.blobs} == {"big": b"B" * 20000, "msgs": b"m1m2"}


def test_compression_follows_the_seed_thresholds() -> None:
    svc, repo = make(PayloadPolicy(compress=True))
    small = b"a" * 1000  # under 1 KB: stored as is
    compressible = b"abc" * 2000
    random_like = random.Random(7).randbytes(4000)  # incompressible: saves < 10%
    svc.put(header("1", {"s": "1", "c": "1", "r": "1"}), [blob("s", "1", small), blob("c", "1", compressible), blob("r", "1", random_like)])
    raw = repo._blobs[(T, "")]
    assert raw[("s", "1")].payload == Payload("bytes", small)
    assert raw[("c", "1")].payload.type_tag == "gz:bytes"
    assert gzip.decompress(raw[("c", "1")].payload.data) == compressible
    assert raw[("r", "1")].payload.type_tag == "bytes"
    rec = svc.get(CheckpointKey(T))
    assert {b.channel: b.payload.data for b in rec.blobs} == {"s": small, "c": compressible, "r": random_like}


def test_offload_puts_blob_first_under_the_thread_prefix() -> None:
    store = InMemoryBlobStore()
    svc, repo = make(PayloadPolicy(offload_threshold_bytes=100), store)
    svc.put(header("1", {"x": "1"}), [blob("x", "1", b"X" * 500)])
    pointer = repo._blobs[(T, "")][("x", "1")].payload
    assert pointer.type_tag == "ref:bytes"
    key = pointer.data.decode()
    assert key.startswith("threads/t//") and store.objects[key] == b"X" * 500
    assert svc.get(CheckpointKey(T)).blobs[0].payload.data == b"X" * 500
    svc.delete_thread("t")
    assert store.objects == {}


def test_oversized_without_offload_fails_before_any_write() -> None:
    svc, repo = make(PayloadPolicy(max_inline_bytes=1000))
    svc.put(header("1", {"x": "1"}), [blob("x", "1", b"ok")])
    with pytest.raises(PayloadTooLargeError, match="channel 'x'.*no offload store"):
        svc.put(header("2", {"x": "2"}, parent="1"), [blob("x", "2", b"X" * 5000)])
    rec = svc.get(CheckpointKey(T))
    assert rec.checkpoint.checkpoint_id == "1" and rec.blobs[0].payload.data == b"ok"
    assert _blob_count(repo) == 1


def test_dangling_pointer_is_a_clear_error() -> None:
    store = InMemoryBlobStore()
    svc, _ = make(PayloadPolicy(offload_threshold_bytes=10), store)
    svc.put(header("1", {"x": "1"}), [blob("x", "1", b"X" * 100)])
    store.objects.clear()
    with pytest.raises(CorruptRecordError, match="dangling pointer"):
        svc.get(CheckpointKey(T))


def test_reserved_type_tags_are_rejected() -> None:
    svc, _ = make()
    with pytest.raises(CorruptRecordError, match="reserved prefix"):
        svc.put(header("1", {"x": "1"}), [ChannelBlob("x", "1", Payload("gz:evil", b""))])


def test_put_writes_rejects_mixed_checkpoints() -> None:
    svc, _ = make()
    a = StoredWrite(T, "", "1", "task", 0, "c", Payload("b", b""))
    b = StoredWrite(T, "", "2", "task", 1, "c", Payload("b", b""))
    with pytest.raises(InvalidInputError, match="one checkpoint"):
        svc.put_writes([a, b])


def _chain(svc: CheckpointService, n: int, ns: str = "", thread: ThreadKey = T, run: str = "r") -> None:
    parent = None
    for i in range(1, n + 1):
        cid = f"{i:03}"
        svc.put(header(cid, {"shared": "1", "own": cid}, parent, ns, thread, run_id=f"{run}{i % 2}"), [blob("own", cid, cid.encode())] + ([blob("shared", "1", b"S")] if i == 1 else []))
        svc.put_writes([StoredWrite(thread, ns, cid, "task", 0, "c", Payload("b", cid.encode()))])
        parent = cid


def test_prune_keep_last_n_per_namespace_and_collect_blobs() -> None:
    svc, repo = make()
    _chain(svc, 5)
    _chain(svc, 3, ns="child:1")
    svc.prune([T], "keep_last", keep_last=2)
    assert [r.checkpoint.checkpoint_id for r in svc.list(CheckpointQuery(thread=T, checkpoint_ns=""))] == ["005", "004"]
    assert [r.checkpoint.checkpoint_id for r in svc.list(CheckpointQuery(thread=T, checkpoint_ns="child:1"))] == ["003", "002"]
    root_blobs = repo._blobs[(T, "")]
    assert set(root_blobs) == {("shared", "1"), ("own", "004"), ("own", "005")}
    assert repo._writes.get((T, "", "001")) is None
    rec = svc.get(CheckpointKey(T))
    assert {b.channel for b in rec.blobs} == {"shared", "own"}
    with pytest.raises(InvalidInputError):
        svc.prune([T], "keep_last", keep_last=0)
    with pytest.raises(InvalidInputError, match="strategy"):
        svc.prune([T], "newest")


def test_delete_for_runs_across_threads() -> None:
    svc, repo = make()
    other = ThreadKey("other")
    _chain(svc, 4)
    _chain(svc, 2, thread=other)
    svc.delete_for_runs(["r1"])  # odd checkpoints
    assert [r.checkpoint.checkpoint_id for r in svc.list(CheckpointQuery(thread=T))] == ["004", "002"]
    assert [r.checkpoint.checkpoint_id for r in svc.list(CheckpointQuery(thread=other))] == ["002"]
    assert ("own", "001") not in repo._blobs[(T, "")] and ("shared", "1") in repo._blobs[(T, "")]


def test_copy_thread_copies_offloaded_objects() -> None:
    store = InMemoryBlobStore()
    svc, _ = make(PayloadPolicy(offload_threshold_bytes=2), store)
    _chain(svc, 3)
    svc.copy_thread(T, ThreadKey("copy"))
    svc.delete_thread("t")
    rec = svc.get(CheckpointKey(ThreadKey("copy")))
    assert rec.checkpoint.checkpoint_id == "003"
    assert {b.channel: b.payload.data for b in rec.blobs} == {"shared": b"S", "own": b"003"}
    assert rec.writes[0].payload.data == b"003"


def test_copy_between_backends_with_different_policies() -> None:
    src, _ = make(PayloadPolicy(compress=True, offload_threshold_bytes=10), InMemoryBlobStore())
    dst, dst_repo = make(PayloadPolicy())
    src.put(header("1", {"x": "1"}), [blob("x", "1", b"Z" * 5000)])
    assert copy_thread_between(src, dst, T, T) == 1
    assert dst_repo._blobs[(T, "")][("x", "1")].payload == Payload("bytes", b"Z" * 5000)
    assert copy_thread_between(src, dst, ThreadKey("nothing"), T) == 0


def test_channel_history_walks_once() -> None:
    svc, repo = make()
    # 1 has a stored value for "d"; 2 and 3 only have writes to "d".
    svc.put(header("1", {"d": "1"}), [blob("d", "1", b"seed")])
    svc.put_writes([StoredWrite(T, "", "1", "tb", 0, "d", Payload("b", b"w1b"), "~b"), StoredWrite(T, "", "1", "ta", 0, "d", Payload("b", b"w1a"), "~a")])
    svc.put(header("2", {"d": "2"}, parent="1"), [ChannelBlob("d", "2", Payload("empty", b""))])
    svc.put_writes([StoredWrite(T, "", "2", "t", 0, "d", Payload("b", b"w2"))])
    svc.put(header("3", {"d": "2"}, parent="2"), [])
    svc.put_writes([StoredWrite(T, "", "3", "t", 0, "d", Payload("b", b"pending"))])
    calls = []
    for name in ("get_checkpoint", "scan_checkpoints", "get_blobs", "get_writes"):
        original = getattr(repo, name)
        setattr(repo, name, lambda *a, _o=original, _n=name, **k: (calls.append(_n), _o(*a, **k))[1])
    hist = svc.channel_history(CheckpointKey(T, "", "3"), ["d", "never"])
    assert hist["d"].seed.payload.data == b"seed"
    assert [w.payload.data for w in hist["d"].writes] == [b"w1a", b"w1b", b"w2"]
    assert hist["never"].seed is None and hist["never"].writes == ()
    assert calls == ["scan_checkpoints", "get_blobs", "get_writes"]
