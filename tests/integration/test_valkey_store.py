"""ValkeyStore and AsyncValkeyStore on real servers: layout, namespaces, vector search, round trips, resources.

The shared BaseStore contract runs in tests/bindings/test_store_binding.py on
every store backend; this file holds what is Valkey's own, and a differential
run against LangGraph's InMemoryStore.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import struct
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
import valkey
import valkey.asyncio
from langgraph.graph import END, START, StateGraph
from langgraph.store.base import BaseStore, GetOp, ListNamespacesOp, PutOp, SearchOp
from langgraph.store.memory import InMemoryStore
from typing_extensions import TypedDict
from valkey.cluster import ValkeyCluster

from langgraph_checkpoint_aws import AsyncValkeyStore, ValkeyStore, create_store
from langgraph_checkpoint_aws.adapters.valkey.embedded import EmbeddedValkey
from langgraph_checkpoint_aws.adapters.valkey.store import BUCKETS, SearchModuleMissingError
from langgraph_checkpoint_aws.domain.errors import ConfigurationError
from tests.integration._valkey_support import CountingConnection, connections, counting_client


def letters(text: str) -> list[float]:
    counts = [0.0] * 26
    for ch in text.lower():
        if "a" <= ch <= "z":
            counts[ord(ch) - ord("a")] += 1.0
    return counts


def embed(texts: Sequence[str]) -> list[list[float]]:
    return [letters(t) for t in texts]


INDEX = {"dims": 26, "embed": embed, "fields": ["text", "title"]}

TRICKY = [
    ("users",),
    ("users2",),
    ("users", "42"),
    ("a", "b"),
    ("a/b",),
    ("ünï", "cödé"),
    ("x:y", "*", "{tag}", "%20"),
    ('quote"d', "back\\slash"),
]


# -- namespaces and keys ------------------------------------------------------------------


@pytest.fixture(params=["standalone", "cluster"])
def client(request: pytest.FixtureRequest) -> Any:
    name = "valkey_sync" if request.param == "standalone" else "valkey_cluster_sync"
    return request.getfixturevalue(name)


def test_tricky_namespaces_never_collide(client: Any) -> None:
    store = ValkeyStore(client)
    for i, namespace in enumerate(TRICKY):
        store.put(namespace, "c", {"i": i})
        store.put(namespace, "c/d", {"i": -i})
    for i, namespace in enumerate(TRICKY):
        assert store.get(namespace, "c").value == {"i": i}  # type: ignore[union-attr]
        assert store.get(namespace, "c/d").value == {"i": -i}  # type: ignore[union-attr]
    assert {h.namespace for h in store.search(("users",), limit=100)} == {("users",), ("users", "42")}
    assert [h.namespace for h in store.search(("a",), limit=100)] == [("a", "b"), ("a", "b")]
    assert store.list_namespaces() == sorted(TRICKY)
    assert store.list_namespaces(prefix=("users",)) == [("users",), ("users", "42")]
    assert store.list_namespaces(suffix=("{tag}", "%20")) == [("x:y", "*", "{tag}", "%20")]
    assert store.list_namespaces(max_depth=1) == sorted({ns[:1] for ns in TRICKY})


def test_deleting_everything_leaves_no_key(client: Any) -> None:
    store = ValkeyStore(client)
    for namespace in TRICKY:
        store.put(namespace, "k", {"v": 1})
        store.put(namespace, "t", {"v": 1}, ttl=5)
    for namespace in TRICKY:
        store.delete(namespace, "k")
        store.delete(namespace, "t")
    assert store.list_namespaces() == []
    keys = [k for node in _nodes(client) for k in node.keys("*")]
    assert keys == []


def _nodes(client: Any) -> list[valkey.Valkey]:
    if isinstance(client, ValkeyCluster):
        return [node.valkey_connection for node in client.get_primaries()]
    return [client]


def test_ttl_is_the_servers_and_refresh_moves_it(client: Any) -> None:
    store = ValkeyStore(client, ttl={"default_ttl": 2, "refresh_on_read": True})
    store.put(("t",), "k", {"v": 1})
    store.put(("t",), "forever", {"v": 1}, ttl=None)
    item_key = store.service.items.prefix + "i:"
    ttls = {k: client.pttl(k) for node in _nodes(client) for k in node.keys(item_key + "*")}
    assert sorted(ttls.values())[0] == -1
    assert 110_000 < sorted(ttls.values())[1] <= 120_000
    assert store.get(("t",), "k") is not None


def test_created_at_kept_and_timestamps_aware(client: Any) -> None:
    store = ValkeyStore(client)
    store.put(("docs",), "a", {"v": 1})
    first = store.get(("docs",), "a")
    store.put(("docs",), "a", {"v": 2})
    second = store.get(("docs",), "a")
    assert first is not None and second is not None
    assert second.created_at == first.created_at and second.updated_at >= first.updated_at
    assert second.created_at.tzinfo is not None


def test_values_round_trip_exactly(client: Any) -> None:
    store = ValkeyStore(client)
    value = {"s": "ünïcode \u2028 \x00", "n": [1, 2.5, None, True], "nested": {"a": {"b": [{"c": "d"}]}}, "big": "x" * 200_000}
    store.put(("v",), "k", value)
    assert store.get(("v",), "k").value == value  # type: ignore[union-attr]


def test_a_value_that_is_not_json_is_refused_and_nothing_is_written(client: Any) -> None:
    store = ValkeyStore(client)
    store.put(("v",), "ok", {"v": 1})
    with pytest.raises(Exception, match="not JSON-serializable"):
        store.batch([PutOp(("v",), "ok", {"v": 2}), PutOp(("v",), "bad", {"v": object()})])
    assert store.get(("v",), "ok").value == {"v": 1}  # type: ignore[union-attr]
    assert store.get(("v",), "bad") is None


# -- round trips ----------------------------------------------------------------------------


def _count(counter: dict[str, int], fn: Any) -> tuple[int, Any]:
    before = counter["round_trips"]
    result = fn()
    return counter["round_trips"] - before, result


def test_round_trips_standalone(valkey_search_sync: valkey.Valkey, valkey_search: EmbeddedValkey) -> None:
    client, counter = counting_client(valkey_search.port)
    client.ping()
    store = ValkeyStore(client, index=INDEX)  # type: ignore[arg-type]
    store.setup()
    store.get(("warm",), "up")  # loads the script (NOSCRIPT, SCRIPT LOAD, resend) once per server
    puts = [PutOp((f"ns{i % 7}", "u"), f"k{i}", {"text": f"apple {i}", "title": "pie"}) for i in range(50)]
    trips, _ = _count(counter, lambda: store.batch(puts))
    assert trips == 1  # 50 items in 7 namespaces, two vectors each: one pipeline
    gets = [GetOp((f"ns{i % 7}", "u"), f"k{i}") for i in range(50)]
    trips, got = _count(counter, lambda: store.batch(gets))
    assert trips == 1 and all(got)
    trips, hits = _count(counter, lambda: store.search(("ns1",), query="apple", limit=5))
    assert trips == 2 and len(hits) == 5  # FT.SEARCH, then one read of every hit
    trips, hits = _count(counter, lambda: store.search(("ns1",), limit=5))
    assert trips == 1 and len(hits) == 5
    trips, spaces = _count(counter, lambda: store.list_namespaces())
    assert trips == 1 and len(spaces) == 7
    trips, _ = _count(counter, lambda: store.batch([PutOp(op.namespace, op.key, None) for op in puts]))
    assert trips == 1
    assert store.list_namespaces() == []
    client.close()


def test_round_trips_cluster(valkey_cluster_sync: ValkeyCluster, valkey_cluster: Any) -> None:
    counter = {"round_trips": 0}
    cls = type("Counting", (CountingConnection,), {"counter": counter})
    client = ValkeyCluster(host="127.0.0.1", port=valkey_cluster.ports[0])
    for node in client.get_nodes():
        pool = node.valkey_connection.connection_pool
        pool.connection_class = cls
        pool.reset()
    client.ping(target_nodes=ValkeyCluster.ALL_NODES)
    store = ValkeyStore(client)
    store.list_namespaces()  # loads the script on every node once
    nodes = len(client.get_primaries())
    puts = [PutOp((f"ns{i % 7}", "u"), f"k{i}", {"v": i}) for i in range(50)]
    trips, _ = _count(counter, lambda: store.batch(puts))
    assert trips <= nodes  # one pipeline: every node that owns a bucket, in parallel
    trips, got = _count(counter, lambda: store.batch([GetOp(op.namespace, op.key) for op in puts]))
    assert trips <= nodes and all(got)
    trips, spaces = _count(counter, lambda: store.list_namespaces())
    assert trips == nodes and len(spaces) == 7  # the 64 buckets: one pipeline, one request per node
    client.close()


# -- vector search ----------------------------------------------------------------------------


@pytest.fixture
def search_client(valkey_search_sync: valkey.Valkey) -> valkey.Valkey:
    return valkey_search_sync


def test_every_field_is_embedded_and_scores_match_in_memory(search_client: valkey.Valkey) -> None:
    ours = ValkeyStore(search_client, index=INDEX)  # type: ignore[arg-type]
    ours.setup()
    reference = InMemoryStore(index=INDEX)  # type: ignore[arg-type]
    docs = {
        "a": {"text": "zebra", "title": "apple tart"},  # matches by its second field only
        "b": {"text": "banana bread", "title": "loaf"},
        "c": {"text": "cherry", "title": "jam"},
    }
    for key, value in docs.items():
        ours.put(("docs",), key, value)
        reference.put(("docs",), key, value)
    for query in ["apple", "bread", "jam cherry"]:
        got = [(h.key, h.score) for h in ours.search(("docs",), query=query)]
        want = [(h.key, h.score) for h in reference.search(("docs",), query=query)]
        assert [k for k, _ in got] == [k for k, _ in want]
        for (_, mine), (_, theirs) in zip(got, want):
            assert mine is not None and theirs is not None and abs(mine - theirs) < 1e-3


def test_vectors_are_raw_float32_on_both_paths(search_client: valkey.Valkey, valkey_search: EmbeddedValkey) -> None:
    sync_store = ValkeyStore(search_client, index=INDEX, prefix="sync:")  # type: ignore[arg-type]
    sync_store.put(("d",), "k", {"text": "kiwi", "title": "fruit"})

    async def write() -> None:
        client = valkey.asyncio.Valkey(port=valkey_search.port)
        async with AsyncValkeyStore(client, index=INDEX, prefix="async:") as store:  # type: ignore[arg-type]
            await store.asetup()
            await store.aput(("d",), "k", {"text": "kiwi", "title": "fruit"})
            hits = await store.asearch(("d",), query="kiwi")
            assert hits[0].key == "k" and abs(hits[0].score - 1.0) < 1e-3  # type: ignore[operator]
        await client.aclose()

    asyncio.run(write())
    for prefix in ("sync:", "async:"):
        keys = search_client.keys(prefix + "x:*")
        assert len(keys) == 2
        for key in keys:
            raw = search_client.hget(key, "vec")
            assert raw is not None and len(raw) == 26 * 4
            assert list(struct.unpack("<26f", raw)) in (letters("kiwi"), letters("fruit"))


def test_filters_offset_and_limit_combine_with_the_query(search_client: valkey.Valkey) -> None:
    ours = ValkeyStore(search_client, index=INDEX)  # type: ignore[arg-type]
    reference = InMemoryStore(index=INDEX)  # type: ignore[arg-type]
    for i in range(40):
        value = {"text": "apple " * (i % 5 + 1) + "x" * i, "n": i, "tag": "even" if i % 2 == 0 else "odd"}
        ours.put(("f", str(i % 3)), f"k{i}", value)
        reference.put(("f", str(i % 3)), f"k{i}", value)
    for flt in [{"tag": "odd"}, {"n": {"$gte": 30}}, {"n": {"$lt": 5}, "tag": {"$ne": "odd"}}]:
        for offset, limit in [(0, 5), (3, 4), (10, 20)]:
            got = ours.search(("f",), query="apple", filter=flt, offset=offset, limit=limit)
            want = reference.search(("f",), query="apple", filter=flt, offset=offset, limit=limit)
            assert [round(h.score, 3) for h in got] == [round(h.score, 3) for h in want]  # type: ignore[arg-type]
            assert {h.key for h in got} <= {h.key for h in reference.search(("f",), query="apple", filter=flt, limit=100)}


def test_distance_metrics(search_client: valkey.Valkey) -> None:
    l2 = ValkeyStore(search_client, index={**INDEX, "distance_metric": "l2"}, prefix="l2:")  # type: ignore[typeddict-item]
    l2.put(("d",), "near", {"text": "aab"})
    l2.put(("d",), "far", {"text": "zzzzzz"})
    hits = l2.search(("d",), query="aab")
    assert [h.key for h in hits] == ["near", "far"]
    assert hits[0].score == pytest.approx(0.0, abs=1e-4) and hits[1].score < hits[0].score  # type: ignore[operator]
    ip = ValkeyStore(search_client, index={**INDEX, "distance_metric": "ip", "index_type": "flat"}, prefix="ip:")  # type: ignore[typeddict-item]
    ip.put(("d",), "x", {"text": "ab"})
    assert ip.search(("d",), query="aab")[0].score == pytest.approx(3.0, abs=1e-4)  # the dot product


def test_hnsw_parameters_reach_the_index(search_client: valkey.Valkey) -> None:
    store = ValkeyStore(
        search_client,
        index={**INDEX, "collection_name": "my_documents", "hnsw_m": 32, "hnsw_ef_construction": 400, "hnsw_ef_runtime": 20},  # type: ignore[typeddict-item]
    )
    store.setup()
    info = search_client.execute_command("FT.INFO", "my_documents")
    text = repr(info)
    assert "HNSW" in text and "32" in text and "400" in text


def test_without_the_search_module(valkey_sync: valkey.Valkey, caplog: pytest.LogCaptureFixture) -> None:
    store = ValkeyStore(valkey_sync, index=INDEX)  # type: ignore[arg-type]
    with caplog.at_level(logging.WARNING):
        store.setup()
    assert store.search_module is False
    assert "search module" in caplog.text
    store.put(("d",), "k", {"text": "kiwi", "title": "x"})
    assert [h.key for h in store.search(("d",))] == ["k"]  # everything but a query works
    with pytest.raises(SearchModuleMissingError, match="search module .* search_fallback='exact'"):
        store.search(("d",), query="kiwi")
    exact = ValkeyStore(valkey_sync, index=INDEX, search_fallback="exact")  # type: ignore[arg-type]
    exact.put(("d",), "other", {"text": "zzz", "title": "zzz"})
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        assert [h.key for h in exact.search(("d",), query="kiwi")] == ["k", "other"]
        exact.search(("d",), query="kiwi")
    assert caplog.text.count("search_fallback='exact'") == 1


def test_index_on_a_cluster_without_module_says_so(valkey_cluster_sync: ValkeyCluster) -> None:
    store = ValkeyStore(valkey_cluster_sync, index=INDEX)  # type: ignore[arg-type]
    store.put(("d",), "k", {"text": "kiwi", "title": "x"})
    with pytest.raises(SearchModuleMissingError):
        store.search(("d",), query="kiwi")


def test_bad_configuration(valkey_sync: valkey.Valkey) -> None:
    with pytest.raises(ConfigurationError, match="index.dims must be a positive integer"):
        ValkeyStore(valkey_sync, index={"embed": embed})  # type: ignore[typeddict-item]
    with pytest.raises(ConfigurationError, match="index.distance_metric"):
        ValkeyStore(valkey_sync, index={**INDEX, "distance_metric": "hamming"})  # type: ignore[typeddict-item]
    with pytest.raises(ConfigurationError, match="prefix"):
        ValkeyStore(valkey_sync, prefix="a{b}")
    with pytest.raises(ConfigurationError, match="search_fallback"):
        ValkeyStore(valkey_sync, search_fallback="fuzzy")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="AsyncValkeyStore"):
        ValkeyStore(valkey.asyncio.Valkey())


def test_recall_of_hnsw_against_flat(search_client: valkey.Valkey) -> None:
    rng = random.Random(7)
    dims = 16
    vectors = {f"k{i}": [rng.gauss(0, 1) for _ in range(dims)] for i in range(500)}

    def vec(texts: Sequence[str]) -> list[list[float]]:
        return [vectors[t] if t in vectors else [float(x) for x in t.split(",")] for t in texts]

    index = {"dims": dims, "embed": vec, "fields": ["id"]}
    hnsw = ValkeyStore(search_client, index={**index, "index_type": "hnsw"}, prefix="hnsw:")  # type: ignore[typeddict-item]
    flat = ValkeyStore(search_client, index={**index, "index_type": "flat"}, prefix="flat:")  # type: ignore[typeddict-item]
    for store in (hnsw, flat):
        store.setup()
        store.batch([PutOp(("r",), key, {"id": key}) for key in vectors])
    recalls = []
    for _ in range(10):
        query = ",".join(str(rng.gauss(0, 1)) for _ in range(dims))
        exact = {h.key for h in flat.search(("r",), query=query, limit=10)}
        approx = {h.key for h in hnsw.search(("r",), query=query, limit=10)}
        recalls.append(len(exact & approx) / 10)
    assert sum(recalls) / len(recalls) >= 0.9


# -- against InMemoryStore ----------------------------------------------------------------------


def _random_value(rng: random.Random) -> dict[str, Any]:
    value: dict[str, Any] = {"n": rng.randint(0, 9), "kind": rng.choice(["a", "b", "c"]), "nested": {"x": rng.random() < 0.5}}
    if rng.random() < 0.05:
        value["big"] = "z" * 200_000
    if rng.random() < 0.3:
        value["list"] = [rng.randint(0, 3) for _ in range(3)]
    return value


def test_differential_against_in_memory_store(client: Any) -> None:
    rng = random.Random(20261130)
    ours = ValkeyStore(client)
    reference = InMemoryStore()
    spaces = [("users",), ("users2",), ("users", "1"), ("a", "b"), ("a/b",), ("ü", ":*{%")]
    keys = ["k", "k/1", "ü", "a:b", "{x}"]
    for step in range(300):
        ns, key = rng.choice(spaces), rng.choice(keys)
        roll = rng.random()
        if roll < 0.45:
            value = _random_value(rng)
            ours.put(ns, key, value)
            reference.put(ns, key, value)
        elif roll < 0.6:
            ours.delete(ns, key)
            reference.delete(ns, key)
        elif roll < 0.8:
            mine, theirs = ours.get(ns, key), reference.get(ns, key)
            assert (mine is None) == (theirs is None), step
            if mine is not None and theirs is not None:
                assert (mine.namespace, mine.key, mine.value) == (theirs.namespace, theirs.key, theirs.value)
        elif roll < 0.95:
            prefix = rng.choice([(), ("users",), ("a",), ns])
            flt = rng.choice([None, {"kind": "a"}, {"n": {"$gt": 4}}, {"nested": {"x": True}}, {"n": {"$ne": 3}}])
            mine_hits = {(h.namespace, h.key) for h in ours.search(prefix, filter=flt, limit=1000)}
            their_hits = {(h.namespace, h.key) for h in reference.search(prefix, filter=flt, limit=1000)}
            assert mine_hits == their_hits, (step, prefix, flt)
        else:
            depth = rng.choice([None, 1, 2])
            assert ours.list_namespaces(max_depth=depth) == _holding_items(reference, depth), step
    assert ours.list_namespaces() == _holding_items(reference, None)


def _holding_items(reference: InMemoryStore, depth: Any) -> list[tuple[str, ...]]:
    """InMemoryStore's namespaces that hold items (it keeps listing a namespace after its last delete)."""
    spaces = {h.namespace for h in reference.search((), limit=100_000)}
    return sorted({ns[:depth] if depth else ns for ns in spaces})


# -- async store ---------------------------------------------------------------------------------


async def test_async_store_from_conn_string(valkey_search: EmbeddedValkey, valkey_search_sync: valkey.Valkey) -> None:
    url = f"valkey://127.0.0.1:{valkey_search.port}"
    async with AsyncValkeyStore.from_conn_string(url, index=INDEX) as store:  # type: ignore[arg-type]
        await store.setup()  # the seed's form: setup is awaited
        await store.aput(("example",), "key", {"message": "Sample message", "text": "kiwi", "title": "t"})
        item = await store.aget(("example",), "key")
        assert item is not None and item.value["message"] == "Sample message"
        results = await store.abatch([SearchOp(("example",), query="kiwi"), ListNamespacesOp()])
        assert [h.key for h in results[0]] == ["key"] and results[1] == [("example",)]  # type: ignore[union-attr]
        with pytest.raises(Exception, match="synchronous"):
            store.get(("example",), "key")  # inside the loop: the sync API says to await
        fetched = await asyncio.to_thread(store.get, ("example",), "key")  # from another thread it works
        assert fetched is not None


async def test_async_store_on_a_cluster(valkey_cluster: Any, valkey_cluster_sync: ValkeyCluster) -> None:
    client = valkey.asyncio.ValkeyCluster(host="127.0.0.1", port=valkey_cluster.ports[0])
    async with AsyncValkeyStore(client) as store:
        await store.abatch([PutOp((f"n{i}",), "k", {"i": i}) for i in range(20)])
        found = await store.abatch([GetOp((f"n{i}",), "k") for i in range(20)])
        assert [r.value["i"] for r in found] == list(range(20))  # type: ignore[union-attr]
        assert len(await store.alist_namespaces()) == 20
    await client.aclose()


# -- wiring, resources, graphs ---------------------------------------------------------------------


@pytest.fixture
def server(tmp_path: Any) -> Iterator[EmbeddedValkey]:
    own = EmbeddedValkey(tmp_path / "valkey").start()
    yield own
    own.stop()


def test_create_store_and_constructors_releaseconnections(server: EmbeddedValkey) -> None:
    url = f"valkey://127.0.0.1:{server.port}"
    with valkey.Valkey(port=server.port) as probe:
        start = connections(probe, 0)
        store = create_store({"backend": "valkey", "valkey": {"url": url}, "store": {"prefix": "app:"}})
        assert isinstance(store, ValkeyStore)
        store.put(("a",), "k", {"v": 1})
        assert probe.exists('app:i:' + '{s' + str(_bucket_of(("a",))) + '}"a","k"')
        store.close()
        assert connections(probe, start) == start
        with ValkeyStore.from_conn_string(url, pool_size=3) as opened:
            assert opened.get(("a",), "k") is None  # another prefix
            assert asyncio.run(opened.aget(("a",), "k")) is None
        assert connections(probe, start) == start
        pool = valkey.ConnectionPool.from_url(url, max_connections=2)
        with ValkeyStore.from_pool(pool, prefix="app:") as pooled:
            assert pooled.get(("a",), "k").value == {"v": 1}  # type: ignore[union-attr]
        pool.disconnect()
        assert connections(probe, start) == start


def _bucket_of(namespace: tuple[str, ...]) -> int:
    from langgraph_checkpoint_aws.adapters.valkey.store import _bucket, encode_namespace

    bucket = _bucket(encode_namespace(namespace))
    assert 0 <= bucket < BUCKETS
    return bucket


class State(TypedDict):
    user: str
    fact: str
    recalled: list[str]


def test_graph_remembers_across_threads(search_client: valkey.Valkey) -> None:
    from langgraph.checkpoint.memory import InMemorySaver

    def remember(state: State, *, store: BaseStore) -> dict[str, Any]:
        store.put(("memories", state["user"]), f"m{math.floor(len(state['fact']))}", {"text": state["fact"], "title": ""})
        return {}

    def recall(state: State, *, store: BaseStore) -> dict[str, Any]:
        return {"recalled": [h.value["text"] for h in store.search(("memories", state["user"]), query=state["fact"])]}

    builder = StateGraph(State)
    builder.add_node("remember", remember)
    builder.add_node("recall", recall)
    builder.add_edge(START, "remember")
    builder.add_edge("remember", "recall")
    builder.add_edge("recall", END)
    with ValkeyStore(search_client, index=INDEX) as store:  # type: ignore[arg-type]
        store.setup()
        graph = builder.compile(store=store, checkpointer=InMemorySaver())
        graph.invoke({"user": "u", "fact": "likes green tea", "recalled": []}, {"configurable": {"thread_id": "1"}})
        out = graph.invoke({"user": "u", "fact": "tea", "recalled": []}, {"configurable": {"thread_id": "2"}})
        assert out["recalled"][0] == "tea" and "likes green tea" in out["recalled"]
