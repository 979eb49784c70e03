"""ValkeyCache on a real standalone server and a 3-master cluster: layout, TTL, clear, graphs, round trips, resources."""

from __future__ import annotations

import asyncio
import datetime
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import valkey
from langchain_core.messages import AIMessage
from langgraph.cache.base import BaseCache
from langgraph.graph import END, START, StateGraph
from langgraph.types import CachePolicy
from typing_extensions import TypedDict
from valkey.cluster import ValkeyCluster
from valkey.crc import key_slot

from langgraph_checkpoint_aws import ValkeyCache, create_cache
from langgraph_checkpoint_aws.adapters.valkey import ValkeyCacheRepository
from langgraph_checkpoint_aws.adapters.valkey.embedded import EmbeddedValkey
from langgraph_checkpoint_aws.cache.valkey import ValkeyCache as ValkeyCacheFromPath
from langgraph_checkpoint_aws.domain.errors import ConfigurationError, CorruptRecordError
from tests.integration._valkey_support import CountingConnection, connections, counting_client

A = (("node", "a"), "k1")
B = (("node", "a"), "k2")
C = (("node", "b"), "k1")

# Namespaces that a careless encoding or glob would confuse with one another.
NEIGHBOURS: list[tuple[str, ...]] = [
    (),
    ("",),
    ("", ""),
    ("a",),
    ("ab",),
    ("a", "b"),
    ("a/b",),
    ("a:b",),
    ("a*",),
    ("a?",),
    ("a[b]",),
    ("a}",),
    ("{a}",),
    ("a%2Fb",),
    ("2", "a"),
]

SPECIAL = ["", "k:1", "a/b", "*", "{tag}", "}{", "100%", "%2F", "?", "[x]", "back\\slash", "ключ 🔑", " space ", "\x00nul"]


@pytest.fixture(params=["standalone", "cluster"])
def client(request: pytest.FixtureRequest) -> Any:
    """A client to a flushed standalone server or cluster (fixtures from tests/backends/valkey.py)."""
    return request.getfixturevalue("valkey_sync" if request.param == "standalone" else "valkey_cluster_sync")


@pytest.fixture
def cache(client: Any) -> Iterator[ValkeyCache]:
    with ValkeyCache(client) as c:
        yield c


def test_import_paths_give_the_class() -> None:
    assert ValkeyCacheFromPath is ValkeyCache
    assert issubclass(ValkeyCache, BaseCache)


def test_get_set_clear(cache: ValkeyCache) -> None:
    assert cache.get([A, B, C]) == {}
    cache.set({A: ({"v": 1}, None), B: ("two", 60), C: (3, None)})
    assert cache.get([A, B, C]) == {A: {"v": 1}, B: "two", C: 3}
    assert cache.get([]) == {}
    cache.clear([("node", "a")])
    assert cache.get([A, B, C]) == {C: 3}
    cache.set({A: (1, None)})
    cache.clear()
    assert cache.get([A, B, C]) == {}


def test_values_of_several_types_round_trip(cache: ValkeyCache) -> None:
    values: dict[str, Any] = {
        "dict": {"answer": 42, "items": [1, "two", None], "nested": {"ok": True}},
        "list": [1, 2.5, "x"],
        "str": "text ✓",
        "int": 7,
        "float": 1.25,
        "none": None,
        "bool": False,
        "bytes": b"\x00\xff raw",
        "set": {1, 2, 3},
        "datetime": datetime.datetime(2024, 5, 1, 12, 30, tzinfo=datetime.timezone.utc),
        "uuid": uuid.UUID("12345678-1234-5678-1234-567812345678"),
        "message": AIMessage(content="cached answer", id="m1"),
        "big": "x" * 200_000,
    }
    cache.set({(("types",), name): (value, None) for name, value in values.items()})
    got = cache.get([(("types",), name) for name in values])
    assert got == {(("types",), name): value for name, value in values.items()}


def test_plain_string_keys_as_in_the_seed_readme(cache: ValkeyCache) -> None:
    assert not cache.get(["expensive_computation_key"])  # type: ignore[list-item]
    cache.set({"expensive_computation_key": ("response", 3600)})  # type: ignore[dict-item]
    assert cache.get(["expensive_computation_key"]) == {"expensive_computation_key": "response"}  # type: ignore[list-item]
    # A bare string is the key in the empty namespace.
    assert cache.get([((), "expensive_computation_key")]) == {((), "expensive_computation_key"): "response"}
    cache.clear([()])
    assert cache.get(["expensive_computation_key"]) == {}  # type: ignore[list-item]


def test_layout_one_raw_key_per_entry(cache: ValkeyCache, client: Any) -> None:
    cache.set({A: ("v" * 5000, None)})
    key = "langgraph:cache:{2/node/a}:k1"
    assert cache.repository.entry_key(*A) == key
    raw = client.get(key)
    assert raw.startswith(b"7\nmsgpack") and b"v" * 1000 in raw  # the type tag framed, then raw bytes
    assert client.ttl(key) == -1  # no TTL asked, none set


def test_ttl_expiry_is_the_servers(cache: ValkeyCache, client: Any) -> None:
    cache.set({A: ("short", 1), B: ("long", None), C: ("tiny", 0.3)})
    assert 0 < client.pttl(cache.repository.entry_key(*A)) <= 1000
    assert 0 < client.pttl(cache.repository.entry_key(*C)) <= 300
    assert client.pttl(cache.repository.entry_key(*B)) == -1
    assert set(cache.get([A, B, C])) == {A, B, C}
    time.sleep(0.45)
    assert set(cache.get([A, B, C])) == {A, B}
    time.sleep(0.7)
    assert cache.get([A, B, C]) == {B: "long"}
    # The server dropped the keys themselves, not only hid them.
    assert client.exists(cache.repository.entry_key(*A), cache.repository.entry_key(*C)) == 0


def test_overwrite_replaces_the_ttl(cache: ValkeyCache, client: Any) -> None:
    cache.set({A: ("first", 1)})
    cache.set({A: ("second", None)})
    assert client.pttl(cache.repository.entry_key(*A)) == -1
    cache.set({A: ("third", 100)})
    assert 99_000 < client.pttl(cache.repository.entry_key(*A)) <= 100_000
    assert cache.get([A]) == {A: "third"}


def test_default_ttl(client: Any) -> None:
    with ValkeyCache(client, ttl=60) as cache:
        cache.set({A: ("default", None), B: ("day", 86400)})
        assert 59_000 < client.pttl(cache.repository.entry_key(*A)) <= 60_000
        assert 86_399_000 < client.pttl(cache.repository.entry_key(*B)) <= 86_400_000


def test_clear_takes_exactly_the_namespaces_named(cache: ValkeyCache) -> None:
    everything = {(ns, "k"): (i, None) for i, ns in enumerate(NEIGHBOURS)}
    cache.set(everything)
    assert len(cache.get(list(everything))) == len(NEIGHBOURS)
    for gone in [("a",), ("a", "b"), (), ("",), ("a*",), ("{a}",)]:
        cache.clear([gone])
        left = cache.get(list(everything))
        assert (gone, "k") not in left
        everything.pop((gone, "k"))
        assert set(left) == set(everything), f"clearing {gone!r} touched a neighbour"
    cache.clear([("ab",), ("a/b",)])
    assert set(cache.get(list(everything))) == set(everything) - {(("ab",), "k"), (("a/b",), "k")}


def test_clear_all_stays_inside_its_prefix(client: Any) -> None:
    with ValkeyCache(client) as mine, ValkeyCache(client, prefix="langgraph:cache:v2:") as longer:
        mine.set({A: (1, None), C: (2, None)})
        longer.set({A: (10, None)})
        client.set("langgraph:cache:other", b"not a cache entry")
        client.set("unrelated", b"x")
        mine.clear()
        assert mine.get([A, C]) == {}
        assert longer.get([A]) == {A: 10}
        assert client.get("langgraph:cache:other") == b"not a cache entry" and client.get("unrelated") == b"x"
        longer.clear([("node", "a")])
        assert longer.get([A]) == {}


def test_keys_with_special_characters(cache: ValkeyCache, client: Any) -> None:
    namespaces = [("ns",), ("x:y", "a/b"), ("*",), ("{t}",), ("ключ",), ("%",)]
    entries = {(ns, key): (f"{ns}|{key}", None) for ns in namespaces for key in SPECIAL}
    cache.set(entries)
    assert cache.get(list(entries)) == {k: v for k, (v, _) in entries.items()}
    # Every key of a namespace shares one slot, so its MGET and its clear are single-slot.
    for ns in namespaces:
        slots = {key_slot(cache.repository.entry_key(ns, key).encode()) for key in SPECIAL}
        assert len(slots) == 1
    cache.clear([("*",), ("x:y", "a/b")])
    left = cache.get(list(entries))
    assert {ns for ns, _ in left} == {("ns",), ("{t}",), ("ключ",), ("%",)}
    assert len(left) == 4 * len(SPECIAL)


def test_many_namespaces_across_the_cluster(cache: ValkeyCache) -> None:
    entries = {((f"n{i}",), f"k{j}"): (i * 100 + j, None) for i in range(30) for j in range(3)}
    cache.set(entries)
    assert cache.get(list(entries)) == {k: v for k, (v, _) in entries.items()}
    cache.clear([(f"n{i}",) for i in range(0, 30, 2)])
    assert set(cache.get(list(entries))) == {k for k in entries if int(k[0][0][1:]) % 2}
    cache.clear()
    assert cache.get(list(entries)) == {}


async def test_sync_methods_inside_a_running_loop(cache: ValkeyCache) -> None:
    assert asyncio.get_running_loop().is_running()
    cache.set({A: ("sync", None)})
    assert cache.get([A]) == {A: "sync"}
    cache.clear([("node", "a")])
    assert cache.get([A]) == {}


async def test_async_api(cache: ValkeyCache) -> None:
    await cache.aset({A: ("a", 60), C: ("c", None)})
    assert await cache.aget([A, C]) == {A: "a", C: "c"}
    await cache.aclear([("node", "b")])
    assert await cache.aget([A, C]) == {A: "a"}
    await cache.aclear()
    assert await cache.aget([A]) == {}


def test_corrupt_values_are_reported(cache: ValkeyCache, client: Any) -> None:
    client.set(cache.repository.entry_key(*A), b"not framed")
    with pytest.raises(CorruptRecordError, match="cache entry 'k1' of namespace \\('node', 'a'\\)"):
        cache.get([A])


def test_bad_configuration(client: Any) -> None:
    with pytest.raises(ConfigurationError, match="prefix"):
        ValkeyCache(client, prefix="app:{cache}:")
    with pytest.raises(ConfigurationError, match="sync client"):
        ValkeyCache(valkey.asyncio.Valkey(port=1))
    with pytest.raises(ConfigurationError, match="decode_responses"):
        ValkeyCacheRepository(valkey.Valkey(port=1, decode_responses=True))


# -- LangGraph end to end ----------------------------------------------------------------


class State(TypedDict):
    x: int
    y: int


def build_graph(cache: ValkeyCache, runs: list[int]) -> Any:
    def expensive(state: State) -> dict[str, int]:
        runs.append(state["x"])
        return {"y": state["x"] * 10}

    builder = StateGraph(State)
    builder.add_node("expensive", expensive, cache_policy=CachePolicy())
    builder.add_edge(START, "expensive")
    builder.add_edge("expensive", END)
    return builder.compile(cache=cache)


def test_graph_node_runs_once_across_invocations(cache: ValkeyCache) -> None:
    runs: list[int] = []
    graph = build_graph(cache, runs)
    assert graph.invoke({"x": 2, "y": 0}) == {"x": 2, "y": 20}
    assert graph.invoke({"x": 2, "y": 0}) == {"x": 2, "y": 20}
    assert runs == [2], "the second invocation is served from the cache"
    graph.invoke({"x": 3, "y": 0})
    assert runs == [2, 3]
    graph.clear_cache()
    graph.invoke({"x": 2, "y": 0})
    assert runs == [2, 3, 2]


async def test_graph_node_cache_async(cache: ValkeyCache) -> None:
    runs: list[int] = []
    graph = build_graph(cache, runs)
    assert await graph.ainvoke({"x": 4, "y": 0}) == {"x": 4, "y": 40}
    assert await graph.ainvoke({"x": 4, "y": 0}) == {"x": 4, "y": 40}
    assert runs == [4]


# -- round trips, counted at the socket ------------------------------------------------


def _count(counter: dict[str, int], fn: Any) -> tuple[int, Any]:
    before = counter["round_trips"]
    result = fn()
    return counter["round_trips"] - before, result


def test_round_trips_standalone(valkey_sync: valkey.Valkey, valkey_standalone: EmbeddedValkey) -> None:
    client, counter = counting_client(valkey_standalone.port)
    client.ping()  # the connection's handshake is not the cache's
    cache = ValkeyCache(client)
    keys = [(("node", "a"), f"k{i}") for i in range(10)]
    trips, _ = _count(counter, lambda: cache.set({k: (i, 60) for i, k in enumerate(keys)}))
    assert trips == 1
    trips, got = _count(counter, lambda: cache.get(keys))
    assert trips == 1 and len(got) == 10
    trips, _ = _count(counter, lambda: cache.set({A: ("one", None)}))
    assert trips == 1
    spread = [((f"n{i}",), "k") for i in range(10)]
    cache.set({k: (1, None) for k in spread})
    trips, got = _count(counter, lambda: cache.get(spread))
    assert trips == 1 and len(got) == 10  # no slots on a standalone server: one MGET
    client.close()


def test_round_trips_cluster(valkey_cluster_sync: ValkeyCluster, valkey_cluster: Any) -> None:
    counter = {"round_trips": 0}
    cls = type("Counting", (CountingConnection,), {"counter": counter})
    client = ValkeyCluster(host="127.0.0.1", port=valkey_cluster.ports[0])
    for node in client.get_nodes():  # ValkeyCluster takes no connection_class: give it to every node's pool
        pool = node.valkey_connection.connection_pool
        pool.connection_class = cls
        pool.reset()
    client.ping(target_nodes=ValkeyCluster.ALL_NODES)  # the connections' handshakes are not the cache's
    cache = ValkeyCache(client)
    keys = [(("node", "a"), f"k{i}") for i in range(10)]
    trips, _ = _count(counter, lambda: cache.set({k: (i, 60) for i, k in enumerate(keys)}))
    assert trips == 1
    trips, got = _count(counter, lambda: cache.get(keys))
    assert trips == 1 and len(got) == 10
    spread = [((f"n{i}",), "k") for i in range(10)]
    cache.set({k: (1, None) for k in spread})
    nodes = {client.get_node_from_key(cache.repository.entry_key(*k)).name for k in spread}
    trips, got = _count(counter, lambda: cache.get(spread))
    # One pipeline: written to every node that holds a namespace, then read (in parallel).
    assert trips == len(nodes) and len(got) == 10
    client.close()


# -- wiring and resources ----------------------------------------------------------------


@pytest.fixture
def server(tmp_path: Any) -> Iterator[EmbeddedValkey]:
    """A server of its own: other tests' connections would blur the counts."""
    own = EmbeddedValkey(tmp_path / "valkey").start()
    yield own
    own.stop()


def test_create_cache_on_valkey(server: EmbeddedValkey) -> None:
    url = f"valkey://127.0.0.1:{server.port}"
    with valkey.Valkey(port=server.port) as probe:
        start = connections(probe, 0)
        cache = create_cache(
            {"backend": "valkey", "valkey": {"url": url}, "cache": {"ttl_seconds": 60, "prefix": "app:cache:"}}
        )
        assert isinstance(cache, ValkeyCache)
        cache.set({A: ("v", None)})
        assert cache.get([A]) == {A: "v"}
        assert 59_000 < probe.pttl("app:cache:{2/node/a}:k1") <= 60_000
        cache.close()
        assert connections(probe, start) == start


def test_constructors_return_the_connections_they_opened(server: EmbeddedValkey) -> None:
    url = f"valkey://127.0.0.1:{server.port}"
    with valkey.Valkey(port=server.port) as probe:
        start = connections(probe, 0)

        with ValkeyCache.from_conn_string(url, ttl_seconds=60, pool_size=3) as cache:
            cache.set({A: ("v", None)})
            assert cache.get([A]) == {A: "v"}
            assert asyncio.run(cache.aget([A])) == {A: "v"}
            assert 59_000 < probe.pttl(cache.repository.entry_key(*A)) <= 60_000
            assert len(probe.client_list()) - 1 > start
        assert connections(probe, start) == start

        pool = valkey.ConnectionPool.from_url(url, max_connections=4)
        with ValkeyCache.from_pool(pool, prefix="pooled:") as cache:
            assert cache.get([A]) == {}
        assert valkey.Valkey(connection_pool=pool).ping()  # the pool is the caller's: still open
        pool.disconnect()
        assert connections(probe, start) == start

        client = valkey.Valkey.from_url(url)
        with ValkeyCache(client) as cache:
            assert cache.get([A]) == {A: "v"}
        assert client.ping()  # the caller's client stays open after the cache closes
        client.close()
        assert connections(probe, start) == start
