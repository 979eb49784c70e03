"""AsyncValkeyCheckpointRepository on real servers: standalone and cluster, plain and AgentCore layouts.

Every test runs on the four variants. The sync repository on the same server
is the reference: data written by one reads back identically through the
other, and each operation costs the same round trips (counted at the socket:
one per packed send, so a pipeline or a script counts once).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, Optional

import attrs
import pytest
import valkey
import valkey.asyncio
from valkey.cluster import ValkeyCluster

from langgraph_checkpoint_aws.adapters.valkey import (
    AGENTCORE_LAYOUT,
    PLAIN_LAYOUT,
    AsyncValkeyCheckpointRepository,
    ValkeyCheckpointRepository,
)
from langgraph_checkpoint_aws.adapters.valkey.clients import async_client_from_url
from langgraph_checkpoint_aws.domain.errors import (
    ConfigurationError,
    CorruptRecordError,
    TransientBackendError,
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
from langgraph_checkpoint_aws.domain.ports import (
    AsyncAncestryReader,
    AsyncCheckpointPruner,
    AsyncCheckpointRepository,
    AsyncResourceProvisioner,
    AsyncThreadLister,
    AsyncThreadTransfer,
    CheckpointPruner,
    ResourceProvisioner,
    ThreadLister,
)
from tests.backends.valkey import flush_cluster, flush_standalone

VARIANTS = ["standalone-plain", "standalone-agentcore", "cluster-plain", "cluster-agentcore"]


@attrs.define
class Env:
    """Both repositories on one flushed server, and a raw sync client to inspect keys."""

    arepo: AsyncValkeyCheckpointRepository
    srepo: ValkeyCheckpointRepository
    raw: Any
    actor: Optional[str]
    cluster: bool

    def thread(self, thread_id: str, actor: Any = "default") -> ThreadKey:
        return ThreadKey(thread_id, self.actor if actor == "default" else actor)


@pytest.fixture(params=VARIANTS)
def target(request: pytest.FixtureRequest) -> tuple[str, int, Any, Optional[str]]:
    """``(kind, port, layout, actor)`` of a flushed server."""
    kind, layout_name = request.param.split("-")
    if kind == "standalone":
        server = request.getfixturevalue("valkey_standalone")
        flush_standalone(server)
        port = server.port
    else:
        cluster = request.getfixturevalue("valkey_cluster")
        flush_cluster(cluster)
        port = cluster.ports[0]
    if layout_name == "agentcore":
        return kind, port, AGENTCORE_LAYOUT, "agent-1"
    return kind, port, PLAIN_LAYOUT, None


@pytest.fixture
async def env(target: tuple[str, int, Any, Optional[str]]) -> AsyncIterator[Env]:
    kind, port, layout, actor = target
    if kind == "standalone":
        aclient: Any = valkey.asyncio.Valkey(host="127.0.0.1", port=port)
        sclient: Any = valkey.Valkey(host="127.0.0.1", port=port)
    else:
        aclient = valkey.asyncio.ValkeyCluster(host="127.0.0.1", port=port)
        sclient = ValkeyCluster(host="127.0.0.1", port=port)
    yield Env(
        arepo=AsyncValkeyCheckpointRepository(aclient, layout=layout),
        srepo=ValkeyCheckpointRepository(sclient, layout=layout),
        raw=sclient,
        actor=actor,
        cluster=kind == "cluster",
    )
    await aclient.aclose()
    sclient.close()


@pytest.fixture
def trips(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Round trips of every sync and async valkey-py connection, counted at the socket.

    Connection handshakes (AUTH, CLIENT SETINFO... sent by ``on_connect``) are
    not counted: they depend on which pooled connections happen to exist.
    """
    counter = {"sync": 0, "async": 0}
    sync_conn, async_conn = valkey.connection.Connection, valkey.asyncio.connection.Connection
    sync_send, async_send = sync_conn.send_packed_command, async_conn.send_packed_command
    sync_on_connect, async_on_connect = sync_conn.on_connect, async_conn.on_connect

    def counting_sync(self: Any, command: Any, check_health: bool = True) -> None:
        if not getattr(self, "_handshake", False):
            counter["sync"] += 1
        sync_send(self, command, check_health)

    def handshake_sync(self: Any) -> None:
        self._handshake = True
        try:
            sync_on_connect(self)
        finally:
            self._handshake = False

    async def counting_async(self: Any, command: Any, check_health: bool = True) -> None:
        if not getattr(self, "_handshake", False):
            counter["async"] += 1
        await async_send(self, command, check_health)

    async def handshake_async(self: Any) -> None:
        self._handshake = True
        try:
            await async_on_connect(self)
        finally:
            self._handshake = False

    monkeypatch.setattr(sync_conn, "send_packed_command", counting_sync)
    monkeypatch.setattr(sync_conn, "on_connect", handshake_sync)
    monkeypatch.setattr(async_conn, "send_packed_command", counting_async)
    monkeypatch.setattr(async_conn, "on_connect", handshake_async)
    return counter


# -- data ---------------------------------------------------------------------------------
def cp(thread: ThreadKey, i: int, ns: str = "", versions: Optional[dict[str, Any]] = None, **metadata: Any) -> StoredCheckpoint:
    return StoredCheckpoint(
        thread=thread,
        checkpoint_ns=ns,
        checkpoint_id=f"{i:08d}",
        parent_checkpoint_id=f"{i - 1:08d}" if i else None,
        payload=Payload("msgpack", b"checkpoint-%d" % i + bytes(range(256))),
        channel_versions=versions if versions is not None else {"step": f"{i:04d}", "fixed": "0001"},
        metadata={"step": i, "source": "loop", **metadata},
    )


def blobs_of(i: int) -> list[ChannelBlob]:
    out = [ChannelBlob("step", f"{i:04d}", Payload("msgpack", b"S%d" % i))]
    if i == 0:
        out.append(ChannelBlob("fixed", "0001", Payload("json", b"F" * 5000)))
    return out


def wr(thread: ThreadKey, i: int, task: str, idx: int, data: bytes = b"v", ns: str = "", path: str = "") -> StoredWrite:
    return StoredWrite(thread, ns, f"{i:08d}", task, idx, f"ch{idx}", Payload("msgpack", data), path)


async def alist(repo: AsyncValkeyCheckpointRepository, **query: Any) -> list[Any]:
    return [r async for r in repo.list_checkpoints(CheckpointQuery(**query))]


def ids(records: list[Any]) -> list[str]:
    return [r.checkpoint.checkpoint_id for r in records]


async def fill(env: Env, thread: ThreadKey, n: int, ns: str = "") -> None:
    for i in range(n):
        await env.arepo.put_checkpoint(cp(thread, i, ns), blobs_of(i))


# -- ports --------------------------------------------------------------------------------
def test_both_repositories_implement_the_same_capabilities() -> None:
    client = valkey.asyncio.Valkey(port=1)
    arepo = AsyncValkeyCheckpointRepository(client)
    for port in (
        AsyncCheckpointRepository,
        AsyncAncestryReader,
        AsyncCheckpointPruner,
        AsyncThreadTransfer,
        AsyncThreadLister,
        AsyncResourceProvisioner,
    ):
        assert isinstance(arepo, port), port
    srepo = ValkeyCheckpointRepository(valkey.Valkey(port=1))
    for sport in (CheckpointPruner, ThreadLister, ResourceProvisioner):
        assert isinstance(srepo, sport), sport


def test_decode_responses_clients_are_rejected() -> None:
    with pytest.raises(ConfigurationError, match="decode_responses"):
        AsyncValkeyCheckpointRepository(valkey.asyncio.Valkey(port=1, decode_responses=True))
    with pytest.raises(ConfigurationError, match="decode_responses"):
        AsyncValkeyCheckpointRepository(
            valkey.asyncio.ValkeyCluster(host="127.0.0.1", port=1, decode_responses=True)
        )
    with pytest.raises(ConfigurationError, match="ttl_seconds"):
        AsyncValkeyCheckpointRepository(valkey.asyncio.Valkey(port=1), ttl_seconds=0)


# -- put / get / list -------------------------------------------------------------------
async def test_put_get_latest_and_by_id(env: Env) -> None:
    t = env.thread("thread-1")
    await fill(env, t, 3)
    latest = await env.arepo.get_checkpoint(CheckpointKey(t))
    assert latest is not None and latest.checkpoint.checkpoint_id == "00000002"
    assert latest.checkpoint.parent_checkpoint_id == "00000001"
    assert latest.checkpoint.thread == t
    assert {(b.channel, b.version, b.payload.data) for b in latest.blobs} == {
        ("step", "0002", b"S2"),
        ("fixed", "0001", b"F" * 5000),
    }
    first = await env.arepo.get_checkpoint(CheckpointKey(t, "", "00000000"))
    assert first is not None and first.checkpoint == cp(t, 0)
    assert await env.arepo.get_checkpoint(CheckpointKey(t, "", "404")) is None
    assert await env.arepo.get_checkpoint(CheckpointKey(t, "", "")) is None
    assert await env.arepo.get_checkpoint(CheckpointKey(env.thread("nobody"))) is None


async def test_list_filters_before_limit_and_every_namespace(env: Env) -> None:
    t = env.thread("thread-1")
    other = env.thread("thread-2")
    await fill(env, t, 6)
    await env.arepo.put_checkpoint(cp(t, 10, "child", kind="sub"), [])
    await env.arepo.put_checkpoint(cp(t, 11, "child:deeper", kind="sub"), [])
    await env.arepo.put_checkpoint(cp(other, 7), [])

    assert ids(await alist(env.arepo, thread=t, checkpoint_ns="")) == [f"{i:08d}" for i in range(5, -1, -1)]
    assert ids(await alist(env.arepo, thread=t)) == ["00000011", "00000010"] + [f"{i:08d}" for i in range(5, -1, -1)]
    assert ids(await alist(env.arepo, thread=t, checkpoint_ns="child")) == ["00000010"]
    assert ids(await alist(env.arepo, thread=t, checkpoint_ns="", limit=2)) == ["00000005", "00000004"]
    assert ids(await alist(env.arepo, thread=t, checkpoint_ns="", before_id="00000003")) == [
        "00000002",
        "00000001",
        "00000000",
    ]
    assert ids(await alist(env.arepo, thread=t, before_id="00000003", limit=1)) == ["00000002"]
    assert ids(await alist(env.arepo, thread=t, metadata_filter={"step": 4})) == ["00000004"]
    assert ids(await alist(env.arepo, thread=t, metadata_filter={"kind": "sub"})) == ["00000011", "00000010"]
    assert ids(await alist(env.arepo, thread=t, metadata_filter={"step": 4, "source": "other"})) == []
    assert ids(await alist(env.arepo, thread=t, checkpoint_id="00000003")) == ["00000003"]
    assert await alist(env.arepo, thread=t, limit=0) == []
    assert await alist(env.arepo, thread=t, checkpoint_id="") == []
    # Across threads: the global thread set, newest first.
    assert ids(await alist(env.arepo, limit=3)) == ["00000011", "00000010", "00000007"]
    assert ids(await alist(env.arepo, metadata_filter={"step": 7})) == ["00000007"]
    headers = await alist(env.arepo, thread=t, checkpoint_ns="", headers_only=True)
    assert len(headers) == 6 and all(r.blobs == () and r.writes == () for r in headers)
    listed = await alist(env.arepo, thread=t, checkpoint_ns="", limit=1)
    assert len(listed[0].blobs) == 2
    # Listing agrees with the sync repository record for record.
    for query in (
        CheckpointQuery(thread=t),
        CheckpointQuery(thread=t, metadata_filter={"kind": "sub"}),
        CheckpointQuery(limit=4),
    ):
        assert [r async for r in env.arepo.list_checkpoints(query)] == list(env.srepo.list_checkpoints(query))


async def test_writes_are_ordered_idempotent_and_special_ones_upserted(env: Env) -> None:
    t = env.thread("thread-1")
    await fill(env, t, 2)
    await env.arepo.put_writes([wr(t, 1, "task-b", 0, b"b0"), wr(t, 1, "task-b", 1, b"b1")])
    await env.arepo.put_writes([wr(t, 1, "task-a", 1, b"a1", path="~p"), wr(t, 1, "task-a", 0, b"a0", path="~p")])
    await env.arepo.put_writes([wr(t, 1, "task-b", 0, b"again")])  # kept: first write wins
    await env.arepo.put_writes([wr(t, 1, "task-c", -1, b"err1")])
    await env.arepo.put_writes([wr(t, 1, "task-c", -1, b"err2")])  # special: replaced
    await env.arepo.put_writes([wr(t, 0, "task-z", 0, b"older")])
    await env.arepo.put_writes([])
    rec = await env.arepo.get_checkpoint(CheckpointKey(t))
    assert rec is not None
    got = [(w.task_path, w.task_id, w.idx, w.payload.data) for w in rec.writes]
    assert got == [
        ("", "task-b", 0, b"b0"),
        ("", "task-b", 1, b"b1"),
        ("", "task-c", -1, b"err2"),
        ("~p", "task-a", 0, b"a0"),
        ("~p", "task-a", 1, b"a1"),
    ]
    assert rec.writes[0] == wr(t, 1, "task-b", 0, b"b0")
    by_id = await env.arepo.get_writes(t, "", ["00000000", "00000001", "404"])
    assert [w.payload.data for w in by_id["00000000"]] == [b"older"]
    assert list(by_id["00000001"]) == list(rec.writes) and by_id["404"] == []
    with pytest.raises(Exception, match="one thread"):
        await env.arepo.put_writes([wr(t, 1, "x", 0), wr(env.thread("other"), 1, "x", 0)])


async def test_ancestry_reads(env: Env) -> None:
    t = env.thread("thread-1")
    await fill(env, t, 4)
    await env.arepo.put_checkpoint(cp(t, 9, "child"), [])
    headers = await env.arepo.scan_checkpoints(t, "")
    assert sorted(h.checkpoint_id for h in headers) == [f"{i:08d}" for i in range(4)]
    assert len(await env.arepo.scan_checkpoints(t)) == 5
    blobs = await env.arepo.get_blobs(t, "", [("step", "0001"), ("fixed", "0001"), ("step", "9999")])
    assert set(blobs) == {("step", "0001"), ("fixed", "0001")}
    assert blobs[("fixed", "0001")].payload == Payload("json", b"F" * 5000)
    assert await env.arepo.get_blobs(t, "", []) == {}
    assert await env.arepo.get_writes(t, "", []) == {}


# -- deletes ------------------------------------------------------------------------------
async def test_delete_thread_one_actor_and_every_actor(env: Env) -> None:
    a1, a2 = env.thread("s", "a1"), env.thread("s", "a2")
    neighbours = [env.thread(x) for x in ("s2", "s:a1", "S", "{s}")]
    for thread in (a1, a2, *neighbours):
        await fill(env, thread, 2)
        await env.arepo.put_writes([wr(thread, 1, "task", 0)])
    await env.arepo.delete_thread("s", "a1")
    assert await env.arepo.get_checkpoint(CheckpointKey(a1)) is None
    assert await env.arepo.get_checkpoint(CheckpointKey(a2)) is not None
    await env.arepo.delete_thread("s")
    assert await env.arepo.get_checkpoint(CheckpointKey(a2)) is None
    assert await env.arepo.thread_keys("s") == env.srepo.thread_keys("s")
    assert env.raw.exists(*(await env.arepo.thread_keys("s"))) == 0
    for thread in neighbours:
        rec = await env.arepo.get_checkpoint(CheckpointKey(thread))
        assert rec is not None and len(rec.writes) == 1, thread


async def test_prune_keeps_exactly_the_kept_ids_and_leaves_no_orphan_blob(env: Env) -> None:
    t = env.thread("thread-1")
    shared = {"fixed": "0001"}
    for i in range(8):
        versions = {"step": f"{i:04d}", **shared, "half": f"{i // 2:04d}"}
        blobs = [ChannelBlob("step", f"{i:04d}", Payload("b", b"%d" % i))]
        if i % 2 == 0:
            blobs.append(ChannelBlob("half", f"{i // 2:04d}", Payload("b", b"h")))
        if i == 0:
            blobs.append(ChannelBlob("fixed", "0001", Payload("b", b"f")))
        await env.arepo.put_checkpoint(cp(t, i, versions=versions), blobs)
        await env.arepo.put_writes([wr(t, i, "task", 0), wr(t, i, "task", 1)])
    await env.arepo.put_checkpoint(cp(t, 20, "child"), [ChannelBlob("step", "0020", Payload("b", b"c"))])
    keep = ["00000002", "00000007"]
    await env.arepo.prune(t, "", keep)

    assert ids(await alist(env.arepo, thread=t, checkpoint_ns="")) == ["00000007", "00000002"]
    assert ids(await alist(env.arepo, thread=t, checkpoint_ns="child")) == ["00000020"]  # other namespace untouched
    blob_key = (await env.arepo.thread_keys(t.thread_id))[3]  # registry, then per member: ids, headers, blobs...
    assert blob_key.endswith(f"{t.actor_id or ''}:") and (":blobs:" in blob_key or ":channel:" in blob_key)
    fields = set(env.raw.hkeys(blob_key))
    assert fields == {b"4:step0002", b"4:step0007", b"5:fixed0001", b"4:half0001", b"4:half0003"}
    for kept in await alist(env.arepo, thread=t, checkpoint_ns=""):
        assert len(kept.blobs) == 3 and len(kept.writes) == 2  # nothing a survivor needs is gone
    writes = await env.arepo.get_writes(t, "", [f"{i:08d}" for i in range(8)])
    assert [cid for cid, ws in writes.items() if ws] == keep
    # Idempotent, and pruning to nothing empties the namespace.
    await env.arepo.prune(t, "", keep)
    await env.arepo.prune(t, "", [])
    assert await alist(env.arepo, thread=t, checkpoint_ns="") == []
    assert env.raw.hlen(blob_key) == 0
    assert [r.checkpoint.checkpoint_id for r in await alist(env.arepo, thread=t)] == ["00000020"]


async def test_prune_keeps_blobs_when_a_checkpoint_arrives_between_scan_and_delete(env: Env) -> None:
    t = env.thread("thread-1")
    await env.arepo.put_checkpoint(cp(t, 0, versions={"x": "1"}), [ChannelBlob("x", "1", Payload("b", b"x"))])
    await env.arepo.put_checkpoint(cp(t, 1, versions={"y": "1"}), [ChannelBlob("y", "1", Payload("b", b"y"))])
    real_eval = env.arepo._eval

    async def racing_eval(what: str, name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "PRUNE":  # a writer slips in right after the scan, reusing blob x@1
            env.srepo.put_checkpoint(cp(t, 2, versions={"x": "1"}), [])
        return await real_eval(what, name, *args, **kwargs)

    env.arepo._eval = racing_eval  # type: ignore[method-assign]
    await env.arepo.prune(t, "", ["00000001"])
    rec = await env.arepo.get_checkpoint(CheckpointKey(t, "", "00000002"))
    assert rec is not None and [b.channel for b in rec.blobs] == ["x"]  # never a dangling reference


# -- bulk ---------------------------------------------------------------------------------
async def test_export_import_round_trip(env: Env) -> None:
    src = env.thread("source")
    await fill(env, src, 3)
    await env.arepo.put_checkpoint(cp(src, 5, "child"), [ChannelBlob("step", "0005", Payload("b", b"5"))])
    await env.arepo.put_writes([wr(src, 2, "task", 0), wr(src, 2, "task", -1), wr(src, 5, "t", 0, ns="child")])
    data = await env.arepo.export_thread(src)
    assert len(data.checkpoints) == 4 and len(data.blobs) == 5 and len(data.writes) == 3
    assert data == env.srepo.export_thread(src)
    target = env.thread("target")
    await env.arepo.import_thread(data.retarget(target))
    copied = await env.arepo.export_thread(target)

    def canonical(d: Any) -> tuple[Any, ...]:
        return (
            sorted((c.checkpoint_ns, c.checkpoint_id, c.payload, dict(c.metadata)) for c in d.checkpoints),
            sorted((ns, b.channel, b.version, b.payload.data) for ns, b in d.blobs),
            sorted((w.checkpoint_ns, w.checkpoint_id, w.task_id, w.idx, w.payload.data) for w in d.writes),
        )

    assert canonical(copied) == canonical(data)
    assert all(c.thread == target for c in copied.checkpoints)
    rec = await env.arepo.get_checkpoint(CheckpointKey(target, "", "00000002"))
    assert rec is not None and len(rec.writes) == 2 and len(rec.blobs) == 2


async def test_list_threads(env: Env) -> None:
    assert [k async for k in env.arepo.list_threads()] == []
    expected = set()
    for name in ("alpha", "beta", "a:b", "ünïcode"):
        thread = env.thread(name)
        await env.arepo.put_checkpoint(cp(thread, 1), [])
        expected.add(thread)
    second_actor = env.thread("alpha", "other-actor")
    await env.arepo.put_checkpoint(cp(second_actor, 1, "ns"), [])
    expected.add(second_actor)
    await env.arepo.put_checkpoint(cp(env.thread("gone"), 1), [])
    await env.arepo.delete_thread("gone")  # its entry in the global set stays, and is skipped
    listed = [k async for k in env.arepo.list_threads()]
    assert len(listed) == len(set(listed)) and set(listed) == expected
    assert set(env.srepo.list_threads()) == expected
    pruned = env.thread("beta")
    await env.arepo.prune(pruned, "", [])
    assert set([k async for k in env.arepo.list_threads()]) == expected - {pruned}


# -- resources and errors ---------------------------------------------------------------
async def test_setup_and_verify(env: Env) -> None:
    from langgraph_checkpoint_aws.adapters.valkey._base import SHAS

    env.raw.script_flush()
    await env.arepo.setup()
    assert all(env.raw.script_exists(*SHAS.values()))
    await env.arepo.verify()
    env.srepo.setup()
    env.srepo.verify()
    dead = AsyncValkeyCheckpointRepository(valkey.asyncio.Valkey(host="127.0.0.1", port=1))
    with pytest.raises(TransientBackendError, match="verify: cannot reach valkey at 127.0.0.1:1"):
        await dead.verify()
    with pytest.raises(TransientBackendError, match="setup: cannot reach valkey at 127.0.0.1:1"):
        await dead.setup()
    with pytest.raises(TransientBackendError, match="get_checkpoint: cannot reach"):
        await dead.get_checkpoint(CheckpointKey(ThreadKey("t")))
    await dead.client.aclose()
    dead_cluster = AsyncValkeyCheckpointRepository(valkey.asyncio.ValkeyCluster(host="127.0.0.1", port=1))
    with pytest.raises(TransientBackendError, match="put_checkpoint: cannot reach valkey cluster at 127.0.0.1:1"):
        await dead_cluster.put_checkpoint(cp(ThreadKey("t"), 0), [])
    await dead_cluster.client.aclose()


async def test_scripts_are_reloaded_once_after_a_flush(env: Env, trips: dict[str, int]) -> None:
    t = env.thread("thread-1")
    await fill(env, t, 2)
    env.raw.script_flush()
    before = trips["async"]
    rec = await env.arepo.get_checkpoint(CheckpointKey(t))
    assert rec is not None and rec.checkpoint.checkpoint_id == "00000001"
    reloaded = trips["async"] - before
    before = trips["async"]
    await env.arepo.get_checkpoint(CheckpointKey(t))
    assert trips["async"] - before == 1
    # EVALSHA, the scripts (one pipeline, or one SCRIPT LOAD per script and primary), EVALSHA again.
    assert reloaded == (2 + 9 * 3 if env.cluster else 3)


async def test_a_corrupt_record_is_the_same_clear_error_on_both_apis(env: Env) -> None:
    t = env.thread("c")
    await fill(env, t, 2)
    await env.arepo.put_writes([wr(t, 0, "task", 0)])
    headers_key = (await env.arepo.thread_keys("c"))[2]
    assert ":headers:" in headers_key or ":checkpoint:" in headers_key
    env.raw.hset(headers_key, "00000001", b'16\n{"p":null,"t":5}xxxx')
    with pytest.raises(CorruptRecordError, match="failed validation") as info:
        await env.arepo.get_checkpoint(CheckpointKey(t))
    assert "'00000001'" in str(info.value) and "'c'" in str(info.value)
    with pytest.raises(CorruptRecordError) as sync_info:
        env.srepo.get_checkpoint(CheckpointKey(t))
    assert str(sync_info.value) == str(info.value)
    env.raw.hset(headers_key, "00000001", b"garbage")
    with pytest.raises(CorruptRecordError, match="not framed"):
        await env.arepo.get_checkpoint(CheckpointKey(t, "", "00000001"))
    env.raw.hset(headers_key, "00000001", b'5\n{"p":null,"t":"x","n":1,"v":{},"m":{},"bf":[]}')
    with pytest.raises(CorruptRecordError, match="header is not JSON"):
        await env.arepo.get_checkpoint(CheckpointKey(t, "", "00000001"))
    head = b'{"p":null,"t":"x","n":99,"v":{},"m":{},"bf":[]}'
    env.raw.hset(headers_key, "00000001", b"%d\n%sab" % (len(head), head))
    with pytest.raises(CorruptRecordError, match="payload is truncated"):
        await env.arepo.get_checkpoint(CheckpointKey(t, "", "00000001"))
    writes_key = (await env.arepo.thread_keys("c"))[5]
    field = next(iter(env.raw.hkeys(writes_key)))
    env.raw.hset(writes_key, field, b'9\n{"c":"x"}z')
    with pytest.raises(CorruptRecordError, match="write of checkpoint '00000000'.*failed validation") as winfo:
        await env.arepo.get_checkpoint(CheckpointKey(t, "", "00000000"))
    with pytest.raises(CorruptRecordError) as sync_winfo:
        env.srepo.get_checkpoint(CheckpointKey(t, "", "00000000"))
    assert str(sync_winfo.value) == str(winfo.value)
    # Other threads stay readable.
    await fill(env, env.thread("fine"), 1)
    assert await env.arepo.get_checkpoint(CheckpointKey(env.thread("fine"))) is not None


async def test_ttl_is_applied_to_every_key_of_the_thread(target: tuple[str, int, Any, Optional[str]]) -> None:
    kind, port, layout, actor = target
    aclient: Any = (
        valkey.asyncio.Valkey(host="127.0.0.1", port=port)
        if kind == "standalone"
        else valkey.asyncio.ValkeyCluster(host="127.0.0.1", port=port)
    )
    raw: Any = valkey.Valkey(host="127.0.0.1", port=port) if kind == "standalone" else ValkeyCluster(host="127.0.0.1", port=port)
    repo = AsyncValkeyCheckpointRepository(aclient, layout=layout, ttl_seconds=100.5)
    t = ThreadKey("ttl", actor)
    await repo.put_checkpoint(cp(t, 0), blobs_of(0))
    await repo.put_writes([wr(t, 0, "task", 0)])
    keys = await repo.thread_keys("ttl")
    assert all(95 < raw.ttl(k) <= 101 for k in keys), [raw.ttl(k) for k in keys]
    await aclient.aclose()
    raw.close()


# -- one data set, two APIs -------------------------------------------------------------
async def test_data_written_by_either_repository_reads_back_identically_through_the_other(env: Env) -> None:
    by_sync, by_async = env.thread("by-sync"), env.thread("by-async")
    for i in range(4):
        env.srepo.put_checkpoint(cp(by_sync, i, nested={"a": [1, 2.5, None]}), blobs_of(i))
        env.srepo.put_writes([wr(by_sync, i, "task", 0, b"w%d" % i), wr(by_sync, i, "task", -2)])
        await env.arepo.put_checkpoint(cp(by_async, i, nested={"a": [1, 2.5, None]}), blobs_of(i))
        await env.arepo.put_writes([wr(by_async, i, "task", 0, b"w%d" % i), wr(by_async, i, "task", -2)])
    for thread in (by_sync, by_async):
        sync_records = list(env.srepo.list_checkpoints(CheckpointQuery(thread=thread)))
        async_records = await alist(env.arepo, thread=thread)
        assert async_records == sync_records and len(sync_records) == 4
        assert await env.arepo.get_checkpoint(CheckpointKey(thread)) == env.srepo.get_checkpoint(CheckpointKey(thread))
        assert await env.arepo.export_thread(thread) == env.srepo.export_thread(thread)
    # The stored bytes are the same whichever API wrote them.
    for skey, akey in zip(env.srepo.thread_keys("by-sync"), env.srepo.thread_keys("by-async")):
        kind = env.raw.type(skey)
        assert kind == env.raw.type(akey)
        if kind == b"hash":
            assert env.raw.hgetall(skey) == env.raw.hgetall(akey)
        elif kind == b"zset":
            assert env.raw.zrange(skey, 0, -1) == env.raw.zrange(akey, 0, -1)


async def test_round_trips_per_operation_equal_the_sync_repository(env: Env, trips: dict[str, int]) -> None:
    """Each operation costs exactly what it costs on the sync repository (and 1 where it can)."""
    await env.arepo.verify()  # connect (and, on a cluster, learn the slots) before counting
    env.srepo.verify()
    await env.arepo.setup()
    threads = {env.srepo: env.thread("rt-sync"), env.arepo: env.thread("rt-async")}
    counts: dict[str, tuple[int, int]] = {}

    async def measure(name: str, op: Any) -> None:
        before = trips["sync"]
        result = op(env.srepo, threads[env.srepo])
        if hasattr(result, "__next__"):
            list(result)
        sync_trips = trips["sync"] - before
        before = trips["async"]
        result = op(env.arepo, threads[env.arepo])
        if hasattr(result, "__anext__"):
            [x async for x in result]
        else:
            await result
        counts[name] = (sync_trips, trips["async"] - before)

    await measure("first put", lambda r, t: r.put_checkpoint(cp(t, 0), blobs_of(0)))
    for i in range(1, 30):
        for repo, t in threads.items():
            result = repo.put_checkpoint(cp(t, i), blobs_of(i))
            more = repo.put_writes([wr(t, i, "t", j) for j in range(5)])
            if repo is env.arepo:
                await result
                await more
    exported = env.srepo.export_thread(threads[env.srepo])
    copies = {env.srepo: exported.retarget(env.thread("copy-sync")), env.arepo: exported.retarget(env.thread("copy-async"))}
    await measure("put", lambda r, t: r.put_checkpoint(cp(t, 40), blobs_of(40)))
    await measure("put_writes", lambda r, t: r.put_writes([wr(t, 40, "t", j) for j in range(5)]))
    await measure("get latest", lambda r, t: r.get_checkpoint(CheckpointKey(t)))
    await measure("get by id", lambda r, t: r.get_checkpoint(CheckpointKey(t, "", "00000012")))
    await measure("list limit", lambda r, t: r.list_checkpoints(CheckpointQuery(thread=t, limit=10)))
    await measure("list filter", lambda r, t: r.list_checkpoints(CheckpointQuery(thread=t, metadata_filter={"step": 7})))
    await measure("list before", lambda r, t: r.list_checkpoints(CheckpointQuery(thread=t, before_id="00000020", limit=3)))
    await measure("scan", lambda r, t: r.scan_checkpoints(t, ""))
    await measure("get_blobs", lambda r, t: r.get_blobs(t, "", [("step", "0001"), ("fixed", "0001")]))
    await measure("get_writes", lambda r, t: r.get_writes(t, "", ["00000001", "00000002"]))
    await measure("export", lambda r, t: r.export_thread(t))
    await measure("import (new thread)", lambda r, t: r.import_thread(copies[r]))
    await measure("prune", lambda r, t: r.prune(t, "", [f"{i:08d}" for i in range(20, 41)]))
    await measure("delete_thread", lambda r, t: r.delete_thread(t.thread_id))
    await measure("list_threads", lambda r, t: r.list_threads())

    assert all(sync_trips == async_trips for sync_trips, async_trips in counts.values()), counts
    one_trip = ["put", "put_writes", "get latest", "get by id", "list limit", "list filter", "list before", "scan",
                "get_blobs", "get_writes", "export", "delete_thread"]
    assert all(counts[name][1] == 1 for name in one_trip), counts
    assert counts["prune"][1] == 2, counts
    # No global thread set: a new thread's first write is one script like any other.
    assert counts["first put"][1] == counts["import (new thread)"][1] == 1, counts
    # SCAN MATCH of the registry keys (one call per primary and page), then the ACTORS
    # script: one pipeline on a standalone server, one call per thread on a cluster.
    entries = len([k async for k in env.arepo.list_threads()])
    assert entries == 2, counts  # the two imported copies; the deleted threads left nothing behind
    assert counts["list_threads"][1] == (3 + entries if env.cluster else 2), counts


# -- clients ------------------------------------------------------------------------------
async def test_async_client_from_url_detects_cluster_mode(valkey_standalone: Any, valkey_cluster: Any) -> None:
    client = await async_client_from_url(f"valkey://127.0.0.1:{valkey_standalone.port}", pool_size=4)
    assert type(client) is valkey.asyncio.Valkey
    assert client.connection_pool.max_connections == 4
    await client.aclose()
    client = await async_client_from_url(f"valkey://127.0.0.1:{valkey_cluster.ports[0]}")
    assert type(client) is valkey.asyncio.ValkeyCluster
    repo = AsyncValkeyCheckpointRepository(client)
    await repo.verify()
    await client.aclose()
    forced = await async_client_from_url(f"redis://127.0.0.1:{valkey_cluster.ports[0]}", cluster=False, check=False)
    assert type(forced) is valkey.asyncio.Valkey
    await forced.aclose()
    with pytest.raises(ConfigurationError, match="unsupported scheme"):
        await async_client_from_url("http://127.0.0.1:1")
    with pytest.raises(ConfigurationError, match="pool_size"):
        await async_client_from_url("valkey://127.0.0.1:1", pool_size=0)
    with pytest.raises(TransientBackendError, match="connect: cannot reach valkey at 127.0.0.1:1"):
        await async_client_from_url("valkey://127.0.0.1:1", socket_connect_timeout=1)

