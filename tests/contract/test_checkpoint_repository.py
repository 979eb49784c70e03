"""Contract suite for CheckpointRepository: the same assertions on every adapter."""

from __future__ import annotations

import pytest

from langgraph_checkpoint_aws.domain.models import (
    ChannelBlob,
    CheckpointKey,
    CheckpointQuery,
    Payload,
    StoredCheckpoint,
    StoredWrite,
    ThreadKey,
)
from langgraph_checkpoint_aws.domain.ports import CheckpointPruner


def cp(thread: ThreadKey, cid: str, ns: str = "", parent: str | None = None, versions=None, **metadata):  # type: ignore[no-untyped-def]
    return StoredCheckpoint(
        thread=thread,
        checkpoint_ns=ns,
        checkpoint_id=cid,
        parent_checkpoint_id=parent,
        payload=Payload("json", f'{{"id": "{cid}"}}'.encode()),
        channel_versions=versions or {},
        metadata=metadata,
    )


def blob(channel: str, version: str, data: bytes = b"x") -> ChannelBlob:
    return ChannelBlob(channel, version, Payload("msgpack", data))


def write(thread: ThreadKey, cid: str, task: str, idx: int, channel: str = "ch", data: bytes = b"v", ns: str = "", path: str = "") -> StoredWrite:
    return StoredWrite(thread, ns, cid, task, idx, channel, Payload("msgpack", data), path)


T = ThreadKey("thread-1")


def test_put_and_get_latest_and_by_id(checkpoint_repository) -> None:  # type: ignore[no-untyped-def]
    repo = checkpoint_repository
    repo.put_checkpoint(cp(T, "001", versions={"a": "1"}), [blob("a", "1", b"A1")])
    repo.put_checkpoint(cp(T, "002", parent="001", versions={"a": "1", "b": "1"}), [blob("b", "1", b"B1")])
    latest = repo.get_checkpoint(CheckpointKey(T))
    assert latest is not None and latest.checkpoint.checkpoint_id == "002"
    assert latest.checkpoint.parent_checkpoint_id == "001"
    assert {(b.channel, b.payload.data) for b in latest.blobs} == {("a", b"A1"), ("b", b"B1")}
    first = repo.get_checkpoint(CheckpointKey(T, "", "001"))
    assert first is not None and [b.channel for b in first.blobs] == ["a"]
    assert repo.get_checkpoint(CheckpointKey(T, "", "404")) is None
    assert repo.get_checkpoint(CheckpointKey(ThreadKey("nobody"))) is None


def test_payload_bytes_round_trip_exactly(checkpoint_repository) -> None:  # type: ignore[no-untyped-def]
    data = bytes(range(256)) * 4
    checkpoint_repository.put_checkpoint(cp(T, "001", versions={"a": "1"}), [blob("a", "1", data)])
    rec = checkpoint_repository.get_checkpoint(CheckpointKey(T))
    assert rec.blobs[0].payload == Payload("msgpack", data)
    assert rec.checkpoint.payload.type_tag == "json"


def test_metadata_and_versions_round_trip(checkpoint_repository) -> None:  # type: ignore[no-untyped-def]
    stored = cp(T, "001", versions={"a": "00001.5", "n": 3, "f": 2.5}, source="loop", step=3, parents={}, nested={"x": [1, "y", None]})
    checkpoint_repository.put_checkpoint(stored, [])
    got = checkpoint_repository.get_checkpoint(CheckpointKey(T)).checkpoint
    assert dict(got.metadata) == dict(stored.metadata)
    assert dict(got.channel_versions) == {"a": "00001.5", "n": 3, "f": 2.5}


AWKWARD_KEYS = ["", "~", "~x", "a.b", "#", "a#b", ":", "a:b", "ünï©ødé", "md", "$"]


def awkward_metadata(i: int) -> dict:  # type: ignore[type-arg]
    """Metadata keys that are empty (subgraph ``parents``), expression syntax, escapes or unicode, at any depth."""
    md: dict = {k: f"{k}-{i}" for k in AWKWARD_KEYS}  # type: ignore[type-arg]
    md.update(step=i, parents={"": f"p{i}"}, nested={"": {"a.b": [i, {"": None, "~": {}}]}, "x:y": "z"})
    return md


def test_metadata_with_awkward_keys_round_trips_and_filters(checkpoint_repository) -> None:  # type: ignore[no-untyped-def]
    repo = checkpoint_repository
    for i in range(1, 4):
        repo.put_checkpoint(cp(T, f"00{i}", **awkward_metadata(i)), [])
    assert dict(repo.get_checkpoint(CheckpointKey(T)).checkpoint.metadata) == awkward_metadata(3)
    assert dict(repo.get_checkpoint(CheckpointKey(T, "", "001")).checkpoint.metadata) == awkward_metadata(1)
    listed = list(repo.list_checkpoints(CheckpointQuery(thread=T)))
    assert [dict(r.checkpoint.metadata) for r in listed] == [awkward_metadata(i) for i in (3, 2, 1)]
    everywhere = list(repo.list_checkpoints(CheckpointQuery()))
    assert sorted(r.checkpoint.metadata["step"] for r in everywhere) == [1, 2, 3]
    for key in AWKWARD_KEYS[1:]:  # an empty filter key is rejected before any repository sees it
        assert _ids(repo.list_checkpoints(CheckpointQuery(thread=T, metadata_filter={key: f"{key}-2"}))) == ["002"], key
        assert _ids(repo.list_checkpoints(CheckpointQuery(metadata_filter={key: f"{key}-2"}))) == ["002"], key
    assert _ids(repo.list_checkpoints(CheckpointQuery(thread=T, metadata_filter={"parents": {"": "p1"}}))) == ["001"]
    nested = awkward_metadata(3)["nested"]
    assert _ids(repo.list_checkpoints(CheckpointQuery(thread=T, metadata_filter={"nested": nested}))) == ["003"]
    assert _ids(repo.list_checkpoints(CheckpointQuery(thread=T, metadata_filter={"~x": "x-2"}))) == []


def test_reput_same_id_does_not_duplicate(checkpoint_repository) -> None:  # type: ignore[no-untyped-def]
    repo = checkpoint_repository
    repo.put_checkpoint(cp(T, "001", step=1), [])
    repo.put_checkpoint(cp(T, "001", step=2), [])
    listed = list(repo.list_checkpoints(CheckpointQuery(thread=T)))
    assert [r.checkpoint.checkpoint_id for r in listed] == ["001"]
    assert listed[0].checkpoint.metadata["step"] == 2


def test_writes_idempotent_special_upserted_and_ordered(checkpoint_repository) -> None:  # type: ignore[no-untyped-def]
    repo = checkpoint_repository
    repo.put_checkpoint(cp(T, "001"), [])
    repo.put_writes([write(T, "001", "task-b", i, data=str(i).encode()) for i in range(12)])
    repo.put_writes([write(T, "001", "task-b", 0, data=b"changed")])  # ignored: first write wins
    repo.put_writes([write(T, "001", "task-a", -1, channel="__error__", data=b"e1", path="~z")])
    repo.put_writes([write(T, "001", "task-a", -1, channel="__error__", data=b"e2", path="~z")])  # upserted
    repo.put_writes([write(T, "001", "task-c", 0, path="~a")])
    rec = repo.get_checkpoint(CheckpointKey(T))
    got = [(w.task_path, w.task_id, w.idx, w.payload.data) for w in rec.writes]
    assert got[:12] == [("", "task-b", i, str(i).encode()) for i in range(12)]  # numeric idx order
    assert got[12:] == [("~a", "task-c", 0, b"v"), ("~z", "task-a", -1, b"e2")]


def test_writes_isolated_by_namespace_and_checkpoint(checkpoint_repository) -> None:  # type: ignore[no-untyped-def]
    repo = checkpoint_repository
    repo.put_checkpoint(cp(T, "001"), [])
    repo.put_checkpoint(cp(T, "001", ns="child"), [])
    repo.put_checkpoint(cp(T, "002", parent="001"), [])
    repo.put_writes([write(T, "001", "t", 0, data=b"root")])
    repo.put_writes([write(T, "001", "t", 0, data=b"child", ns="child")])
    assert [w.payload.data for w in repo.get_checkpoint(CheckpointKey(T, "", "001")).writes] == [b"root"]
    assert [w.payload.data for w in repo.get_checkpoint(CheckpointKey(T, "child", "001")).writes] == [b"child"]
    assert repo.get_checkpoint(CheckpointKey(T, "", "002")).writes == ()
    assert repo.get_writes(T, "", ["001", "002"]) == {"001": list(repo.get_checkpoint(CheckpointKey(T, "", "001")).writes), "002": []}


def _ids(records) -> list[str]:  # type: ignore[no-untyped-def]
    return [r.checkpoint.checkpoint_id for r in records]


def test_list_filters_before_limit_namespaces_threads(checkpoint_repository) -> None:  # type: ignore[no-untyped-def]
    repo = checkpoint_repository
    other = ThreadKey("thread-2")
    for i in range(1, 8):
        repo.put_checkpoint(cp(T, f"{i:03}", source="loop" if i % 2 else "input", step=i, user={"id": i % 3}), [])
    repo.put_checkpoint(cp(T, "005", ns="sub:1", step=50), [])
    repo.put_checkpoint(cp(other, "009", step=9, source="loop"), [])
    assert _ids(repo.list_checkpoints(CheckpointQuery(thread=T, checkpoint_ns=""))) == ["007", "006", "005", "004", "003", "002", "001"]
    assert _ids(repo.list_checkpoints(CheckpointQuery(thread=T))) == ["007", "006", "005", "005", "004", "003", "002", "001"]
    assert _ids(repo.list_checkpoints(CheckpointQuery(thread=T, checkpoint_ns="", limit=2))) == ["007", "006"]
    assert _ids(repo.list_checkpoints(CheckpointQuery(thread=T, checkpoint_ns="", before_id="004", limit=2))) == ["003", "002"]
    assert _ids(repo.list_checkpoints(CheckpointQuery(thread=T, metadata_filter={"step": 3}))) == ["003"]
    assert _ids(repo.list_checkpoints(CheckpointQuery(thread=T, metadata_filter={"source": "input", "step": 4}))) == ["004"]
    assert _ids(repo.list_checkpoints(CheckpointQuery(thread=T, metadata_filter={"user": {"id": 1}}))) == ["007", "004", "001"]
    assert _ids(repo.list_checkpoints(CheckpointQuery(thread=T, metadata_filter={"step": "3"}))) == []
    assert _ids(repo.list_checkpoints(CheckpointQuery(thread=T, metadata_filter={"missing": None}))) == []
    assert _ids(repo.list_checkpoints(CheckpointQuery(thread=T, checkpoint_ns="sub:1"))) == ["005"]
    assert _ids(repo.list_checkpoints(CheckpointQuery(thread=T, checkpoint_id="006"))) == ["006"]
    everywhere = _ids(repo.list_checkpoints(CheckpointQuery(metadata_filter={"source": "loop"})))
    assert sorted(everywhere) == ["001", "003", "005", "007", "009"]
    assert _ids(repo.list_checkpoints(CheckpointQuery(thread=ThreadKey("none")))) == []


def test_list_records_carry_blobs_and_writes(checkpoint_repository) -> None:  # type: ignore[no-untyped-def]
    repo = checkpoint_repository
    repo.put_checkpoint(cp(T, "001", versions={"a": "1"}), [blob("a", "1")])
    repo.put_writes([write(T, "001", "t", 0)])
    (rec,) = list(repo.list_checkpoints(CheckpointQuery(thread=T)))
    assert [b.channel for b in rec.blobs] == ["a"] and len(rec.writes) == 1


def test_scan_get_blobs_and_deletes(checkpoint_repository) -> None:  # type: ignore[no-untyped-def]
    repo = checkpoint_repository
    repo.put_checkpoint(cp(T, "001", versions={"a": "1"}), [blob("a", "1")])
    repo.put_checkpoint(cp(T, "002", parent="001", versions={"a": "2"}), [blob("a", "2")])
    repo.put_checkpoint(cp(T, "001", ns="child"), [])
    repo.put_writes([write(T, "001", "t", 0)])
    assert sorted(c.checkpoint_id for c in repo.scan_checkpoints(T)) == ["001", "001", "002"]
    assert sorted(c.checkpoint_id for c in repo.scan_checkpoints(T, "")) == ["001", "002"]
    assert set(repo.get_blobs(T, "", [("a", "1"), ("a", "2"), ("a", "9")])) == {("a", "1"), ("a", "2")}
    if not isinstance(repo, CheckpointPruner):
        return  # the rest deletes single checkpoints: only pruners can (Bedrock session steps cannot be deleted)
    repo.delete_checkpoints(T, "", ["001"])
    repo.delete_blobs(T, "", [("a", "1")])
    assert sorted(c.checkpoint_id for c in repo.scan_checkpoints(T, "")) == ["002"]
    assert repo.get_writes(T, "", ["001"]) == {"001": []}
    assert set(repo.get_blobs(T, "", [("a", "1"), ("a", "2")])) == {("a", "2")}
    assert repo.get_checkpoint(CheckpointKey(T, "child", "001")) is not None


@pytest.mark.parametrize("victim,survivors", [("a", ["ab", "a:b", "a*", "a%3A", "A", "a/b", "{a}", "a\u00e9"])])
def test_delete_thread_never_touches_similar_ids(checkpoint_repository, victim, survivors) -> None:  # type: ignore[no-untyped-def]
    repo = checkpoint_repository
    for tid in [victim, *survivors]:
        t = ThreadKey(tid)
        repo.put_checkpoint(cp(t, "001", versions={"a": "1"}), [blob("a", "1", tid.encode())])
        repo.put_checkpoint(cp(t, "001", ns="child:x"), [])
        repo.put_writes([write(t, "001", "t", 0, data=tid.encode())])
    repo.delete_thread(victim)
    assert repo.get_checkpoint(CheckpointKey(ThreadKey(victim))) is None
    assert list(repo.scan_checkpoints(ThreadKey(victim))) == []
    for tid in survivors:
        rec = repo.get_checkpoint(CheckpointKey(ThreadKey(tid)))
        assert rec is not None, tid
        assert rec.blobs[0].payload.data == tid.encode()
        assert rec.writes[0].payload.data == tid.encode()
        assert repo.get_checkpoint(CheckpointKey(ThreadKey(tid), "child:x")) is not None


def test_actor_identity_is_part_of_the_thread(checkpoint_repository) -> None:  # type: ignore[no-untyped-def]
    repo = checkpoint_repository
    alice, bob = ThreadKey("s", "alice"), ThreadKey("s", "bob")
    repo.put_checkpoint(cp(alice, "001", who="alice"), [])
    repo.put_checkpoint(cp(bob, "002", who="bob"), [])
    assert repo.get_checkpoint(CheckpointKey(alice)).checkpoint.metadata["who"] == "alice"
    assert repo.get_checkpoint(CheckpointKey(bob)).checkpoint.metadata["who"] == "bob"
    repo.delete_thread("s", "alice")
    assert repo.get_checkpoint(CheckpointKey(alice)) is None
    assert repo.get_checkpoint(CheckpointKey(bob)) is not None
    repo.put_checkpoint(cp(alice, "003"), [])
    repo.delete_thread("s")
    assert repo.get_checkpoint(CheckpointKey(alice)) is None and repo.get_checkpoint(CheckpointKey(bob)) is None


def test_export_import_round_trip(checkpoint_repository) -> None:  # type: ignore[no-untyped-def]
    repo = checkpoint_repository
    repo.put_checkpoint(cp(T, "001", versions={"a": "1"}, step=1), [blob("a", "1", b"one")])
    repo.put_checkpoint(cp(T, "002", parent="001", versions={"a": "2"}, step=2), [blob("a", "2", b"two")])
    repo.put_checkpoint(cp(T, "001", ns="child", versions={"c": "1"}), [blob("c", "1", b"kid")])
    repo.put_writes([write(T, "002", "t", 0, data=b"w")])
    data = repo.export_thread(T)
    assert len(data.checkpoints) == 3 and len(data.blobs) == 3 and len(data.writes) == 1
    target = ThreadKey("copy")
    repo.import_thread(data.retarget(target))
    rec = repo.get_checkpoint(CheckpointKey(target))
    assert rec.checkpoint.checkpoint_id == "002" and rec.blobs[0].payload.data == b"two"
    assert rec.writes[0].payload.data == b"w"
    assert repo.get_checkpoint(CheckpointKey(target, "child")).blobs[0].payload.data == b"kid"
    assert repo.export_thread(ThreadKey("missing")).checkpoints == ()


def test_headers_only_listing(checkpoint_repository) -> None:  # type: ignore[no-untyped-def]
    repo = checkpoint_repository
    repo.put_checkpoint(cp(T, "001", run_id="r1"), [])
    (rec,) = list(repo.list_checkpoints(CheckpointQuery(metadata_filter={"run_id": "r1"}, headers_only=True)))
    assert rec.checkpoint.thread == T and rec.checkpoint.checkpoint_id == "001"
