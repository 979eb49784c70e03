"""The cache contract: LangGraph's BaseCache over every registered cache backend (memory, Valkey, Valkey cluster).

Tests taking ``cache`` run on every ``CACHE_FACTORIES`` variant of tests/backends/;
those that move a fake clock past a TTL run on memory (Valkey's server expires
entries on its own clock: tests/integration/test_valkey_cache.py covers that).
"""

from __future__ import annotations

import asyncio
from typing import Any, Optional

import pytest
from langgraph.graph import END, START, StateGraph
from langgraph.types import CachePolicy
from typing_extensions import TypedDict

from langgraph_checkpoint_aws.adapters.memory import InMemoryCacheRepository
from langgraph_checkpoint_aws.application.cache import CacheService
from langgraph_checkpoint_aws.domain.errors import InvalidInputError
from langgraph_checkpoint_aws.langgraph_bindings.cache import RepositoryCache
from tests.clock import FakeClock

A = (("node", "a"), "k1")
B = (("node", "a"), "k2")
C = (("node", "b"), "k1")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def make_cache(clock: FakeClock, default_ttl_seconds: Optional[float] = None) -> RepositoryCache[Any]:
    service = CacheService(
        repository=InMemoryCacheRepository(clock=clock), default_ttl_seconds=default_ttl_seconds, clock=clock
    )
    return RepositoryCache(service)


@pytest.fixture
def cache(cache_factory: Any) -> RepositoryCache[Any]:
    return cache_factory()  # type: ignore[no-any-return]


@pytest.fixture
def memory_cache(clock: FakeClock) -> RepositoryCache[Any]:
    return make_cache(clock)


def test_set_get_roundtrips_values(cache: RepositoryCache[Any]) -> None:
    value = {"answer": 42, "items": [1, "two", None], "nested": {"ok": True}}
    cache.set({A: (value, None), B: ("text", 60)})
    assert cache.get([A, B, C]) == {A: value, B: "text"}
    assert cache.get([]) == {}


def test_ttl_seconds(memory_cache: RepositoryCache[Any], clock: FakeClock) -> None:
    cache = memory_cache
    cache.set({A: ("short", 10), B: ("forever", None)})
    clock.advance(9)
    assert set(cache.get([A, B])) == {A, B}
    clock.advance(1)
    assert cache.get([A, B]) == {B: "forever"}


def test_default_ttl(clock: FakeClock) -> None:
    cache = make_cache(clock, default_ttl_seconds=3600)
    cache.set({A: ("default", None), B: ("day", 86400)})
    clock.advance(3600)
    assert cache.get([A, B]) == {B: "day"}


def test_clear(cache: RepositoryCache[Any]) -> None:
    cache.set({A: (1, None), B: (2, None), C: (3, None)})
    cache.clear([("node", "a")])
    assert cache.get([A, B, C]) == {C: 3}
    cache.clear()
    assert cache.get([A, B, C]) == {}


def test_bare_string_keys_as_in_the_seed_readme(cache: RepositoryCache[Any]) -> None:
    assert not cache.get(["expensive_computation_key"])
    cache.set({"expensive_computation_key": ("response", 3600)})  # type: ignore[dict-item]
    assert cache.get(["expensive_computation_key"]) == {"expensive_computation_key": "response"}  # type: ignore[list-item]


@pytest.mark.parametrize(
    ("key", "message"),
    [
        (("node", "k"), "namespace must be a tuple of strings"),
        ((("node",), "k", "x"), "\\(namespace, key\\) pairs"),
        ((("node",), 3), "key must be a str"),
        (42, "\\(namespace, key\\) pairs"),
    ],
)
def test_bad_key_shapes(cache: RepositoryCache[Any], key: Any, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        cache.get([key])
    with pytest.raises(InvalidInputError, match=message):
        cache.set({key: ("v", None)})


def test_bad_pairs(cache: RepositoryCache[Any]) -> None:
    with pytest.raises(InvalidInputError, match="\\(value, ttl\\) pair"):
        cache.set({A: "no ttl"})  # type: ignore[dict-item]
    with pytest.raises(InvalidInputError, match="positive number of seconds"):
        cache.set({A: ("v", -1)})


async def test_sync_calls_inside_a_running_loop(cache: RepositoryCache[Any]) -> None:
    assert asyncio.get_running_loop().is_running()
    cache.set({A: ("sync", None)})
    assert cache.get([A]) == {A: "sync"}
    cache.clear([("node", "a")])
    assert cache.get([A]) == {}


async def test_async_api(memory_cache: RepositoryCache[Any], clock: FakeClock) -> None:
    cache = memory_cache
    await cache.aset({A: ("a", 5), C: ("c", None)})
    assert await cache.aget([A, C]) == {A: "a", C: "c"}
    clock.advance(5)
    assert await cache.aget([A, C]) == {C: "c"}
    await cache.aclear([("node", "b")])
    assert await cache.aget([C]) == {}
    await cache.aset({B: ("b", None)})
    await cache.aclear()
    assert await cache.aget([B]) == {}


# -- LangGraph end to end ----------------------------------------------------------------


class State(TypedDict):
    x: int
    y: int


def build_graph(cache: RepositoryCache[Any], runs: list[int]) -> Any:
    def expensive(state: State) -> dict[str, int]:
        runs.append(state["x"])
        return {"y": state["x"] * 10}

    builder = StateGraph(State)
    builder.add_node("expensive", expensive, cache_policy=CachePolicy(ttl=60))
    builder.add_edge(START, "expensive")
    builder.add_edge("expensive", END)
    return builder.compile(cache=cache)


def test_graph_node_cache(memory_cache: RepositoryCache[Any], clock: FakeClock) -> None:
    cache = memory_cache
    runs: list[int] = []
    graph = build_graph(cache, runs)
    assert graph.invoke({"x": 2, "y": 0}) == {"x": 2, "y": 20}
    assert graph.invoke({"x": 2, "y": 0}) == {"x": 2, "y": 20}
    assert runs == [2], "the second invocation is served from the cache"
    graph.invoke({"x": 3, "y": 0})
    assert runs == [2, 3]
    clock.advance(61)
    graph.invoke({"x": 2, "y": 0})
    assert runs == [2, 3, 2], "the entry expired after the policy's TTL"


async def test_graph_node_cache_async(cache: RepositoryCache[Any]) -> None:
    runs: list[int] = []
    graph = build_graph(cache, runs)
    assert await graph.ainvoke({"x": 4, "y": 0}) == {"x": 4, "y": 40}
    assert await graph.ainvoke({"x": 4, "y": 0}) == {"x": 4, "y": 40}
    assert runs == [4]
    graph.clear_cache()
    await graph.ainvoke({"x": 4, "y": 0})
    assert runs == [4, 4]
