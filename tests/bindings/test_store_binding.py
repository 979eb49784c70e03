"""The store contract: LangGraph's BaseStore over every registered store backend (memory, Valkey, Valkey cluster).

Tests taking ``store_factory`` run on every ``STORE_FACTORIES`` variant of
tests/backends/; those needing vector search take ``vector_store_factory``.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Optional
from zoneinfo import ZoneInfo

import pytest
from langchain_core.embeddings import Embeddings
from langgraph.graph import END, START, StateGraph
from langgraph.store.base import BaseStore, GetOp, InvalidNamespaceError, Item, PutOp, SearchItem
from typing_extensions import TypedDict

from langgraph_checkpoint_aws.adapters.memory import InMemoryItemRepository, InMemoryVectorIndex
from langgraph_checkpoint_aws.application.store import StoreService
from langgraph_checkpoint_aws.domain.errors import ConfigurationError, InvalidInputError
from langgraph_checkpoint_aws.domain.models import StoreItem
from langgraph_checkpoint_aws.langgraph_bindings.store import RepositoryStore
from tests.clock import FakeClock


def letters(text: str) -> list[float]:
    """Bag-of-letters vector: how often each of a..z occurs."""
    counts = [0.0] * 26
    for ch in text.lower():
        if "a" <= ch <= "z":
            counts[ord(ch) - ord("a")] += 1.0
    return counts


def embed_letters(texts: Sequence[str]) -> list[list[float]]:
    return [letters(t) for t in texts]


class LetterEmbeddings(Embeddings):
    """A LangChain Embeddings object over bag-of-letters vectors, counting calls."""

    def __init__(self) -> None:
        self.calls = 0

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.calls += 1
        return embed_letters(texts)

    def embed_query(self, text: str) -> list[float]:
        self.calls += 1
        return letters(text)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def memory_store(
    clock: Optional[FakeClock] = None,
    *,
    index: Optional[dict[str, Any]] = None,
    ttl: Optional[dict[str, Any]] = None,
    items: Optional[InMemoryItemRepository] = None,
) -> RepositoryStore:
    clock = clock or FakeClock()
    vectors = items.vector_index if items is not None else InMemoryVectorIndex()
    service = StoreService(
        items=items or InMemoryItemRepository(vector_index=vectors), vectors=vectors, clock=clock
    )
    return RepositoryStore(service, index=index, ttl=ttl)  # type: ignore[arg-type]


@pytest.fixture
def store(clock: FakeClock, store_factory: Any) -> RepositoryStore:
    return store_factory(clock)  # type: ignore[no-any-return]


@pytest.fixture
def vector_store(clock: FakeClock, vector_store_factory: Any) -> RepositoryStore:
    return vector_store_factory(clock, index={"dims": 26, "embed": embed_letters, "fields": ["text"]})  # type: ignore[no-any-return]


# -- get / put / delete ------------------------------------------------------------------


def test_put_get_returns_items_with_aware_datetimes(store: RepositoryStore, clock: FakeClock) -> None:
    store.put(("users", "42"), "prefs", {"theme": "dark"})
    item = store.get(("users", "42"), "prefs")
    assert isinstance(item, Item)
    assert (item.namespace, item.key, item.value) == (("users", "42"), "prefs", {"theme": "dark"})
    assert item.created_at.tzinfo is not None
    assert item.created_at.timestamp() == clock.now
    assert store.get(("users", "42"), "missing") is None


def test_update_keeps_created_at(store: RepositoryStore, clock: FakeClock) -> None:
    store.put(("docs",), "a", {"v": 1})
    first = store.get(("docs",), "a")
    clock.advance(5)
    store.put(("docs",), "a", {"v": 2})
    second = store.get(("docs",), "a")
    assert first is not None and second is not None
    assert second.value == {"v": 2}
    assert second.created_at == first.created_at
    assert second.updated_at - first.updated_at == timedelta(seconds=5)


def test_delete(store: RepositoryStore) -> None:
    store.put(("docs",), "a", {"v": 1})
    store.delete(("docs",), "a")
    assert store.get(("docs",), "a") is None
    assert store.list_namespaces() == []


def test_batch_reads_see_state_before_the_batch_writes(store: RepositoryStore) -> None:
    store.put(("docs",), "a", {"v": 1})
    results = store.batch(
        [
            PutOp(("docs",), "a", {"v": 2}),
            GetOp(("docs",), "a"),
            PutOp(("docs",), "b", {"v": 1}),
            PutOp(("docs",), "b", {"v": 9}),
        ]
    )
    assert results[0] is None and results[2] is None
    assert results[1] is not None and results[1].value == {"v": 1}
    assert store.get(("docs",), "a").value == {"v": 2}  # type: ignore[union-attr]
    assert store.get(("docs",), "b").value == {"v": 9}  # type: ignore[union-attr]


def test_invalid_namespaces(store: RepositoryStore) -> None:
    with pytest.raises(InvalidNamespaceError):
        store.put(("users", ""), "k", {"v": 1})
    with pytest.raises(InvalidNamespaceError):
        store.put(("a.b",), "k", {"v": 1})
    with pytest.raises(InvalidNamespaceError):
        store.put(("langgraph",), "k", {"v": 1})
    # ops handed straight to batch bypass BaseStore's checks; the service still catches them
    with pytest.raises(InvalidInputError, match="must not contain '.'"):
        store.batch([PutOp(("a.b",), "k", {"v": 1})])
    with pytest.raises(InvalidInputError, match="must not be empty"):
        store.batch([GetOp(("a", ""), "k")])
    with pytest.raises(InvalidInputError, match="unknown store operation"):
        store.batch(["not an op"])  # type: ignore[list-item]


def test_malformed_filter(store: RepositoryStore) -> None:
    with pytest.raises(InvalidInputError, match="unsupported operator"):
        store.search(("docs",), filter={"n": {"$in": [1, 2]}})


# -- search ------------------------------------------------------------------------------


@pytest.fixture
def shop(store: RepositoryStore, clock: FakeClock) -> RepositoryStore:
    rows = [
        (("shop", "fruit"), "apple", {"kind": "fruit", "price": 3, "meta": {"colour": "red", "stock": {"n": 5}}}),
        (("shop", "fruit"), "banana", {"kind": "fruit", "price": 1, "meta": {"colour": "yellow", "stock": {"n": 0}}}),
        (("shop", "veg"), "carrot", {"kind": "veg", "price": 2, "meta": {"colour": "orange", "stock": {"n": 9}}}),
    ]
    for namespace, key, value in rows:
        clock.advance(1)
        store.put(namespace, key, value)
    return store


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        (None, ["carrot", "banana", "apple"]),
        ({"kind": "fruit"}, ["banana", "apple"]),
        ({"price": {"$gte": 2}}, ["carrot", "apple"]),
        ({"price": {"$gt": 1, "$lte": 2}}, ["carrot"]),
        ({"price": {"$lt": 3}, "kind": {"$ne": "veg"}}, ["banana"]),
        ({"meta": {"colour": "red"}}, ["apple"]),
        ({"meta": {"stock": {"n": {"$gt": 0}}}}, ["carrot", "apple"]),
        ({"kind": {"$eq": "veg"}}, ["carrot"]),
    ],
)
def test_search_filters(shop: RepositoryStore, flt: Optional[dict[str, Any]], expected: list[str]) -> None:
    hits = shop.search(("shop",), filter=flt)
    assert all(isinstance(h, SearchItem) and h.score is None for h in hits)
    assert [h.key for h in hits] == expected


def test_search_pages(shop: RepositoryStore) -> None:
    assert [h.key for h in shop.search(("shop",), limit=1, offset=1)] == ["banana"]
    assert [h.key for h in shop.search(("shop", "veg"))] == ["carrot"]


# -- list_namespaces --------------------------------------------------------------------


@pytest.fixture
def tree(store: RepositoryStore) -> RepositoryStore:
    for namespace in [("a", "b", "c"), ("a", "b", "d"), ("a", "e"), ("x", "b", "c"), ("x", "y", "z", "w")]:
        store.put(namespace, "k", {"v": 1})
    return store


def test_list_namespaces(tree: RepositoryStore) -> None:
    assert tree.list_namespaces(prefix=("a",)) == [("a", "b", "c"), ("a", "b", "d"), ("a", "e")]
    assert tree.list_namespaces(suffix=("c",)) == [("a", "b", "c"), ("x", "b", "c")]
    assert tree.list_namespaces(prefix=("*", "b")) == [("a", "b", "c"), ("a", "b", "d"), ("x", "b", "c")]
    assert tree.list_namespaces(prefix=("x", "*", "z")) == [("x", "y", "z", "w")]
    assert tree.list_namespaces(max_depth=2) == [("a", "b"), ("a", "e"), ("x", "b"), ("x", "y")]
    assert tree.list_namespaces(prefix=("a",), max_depth=2) == [("a", "b"), ("a", "e")]
    assert tree.list_namespaces(limit=2, offset=1) == [("a", "b", "d"), ("a", "e")]


# -- TTL ---------------------------------------------------------------------------------


def test_ttl_minutes_and_refresh_on_read(clock: FakeClock, store_factory: Any) -> None:
    store = store_factory(clock, ttl={"default_ttl": 1, "refresh_on_read": True})
    assert store.supports_ttl
    store.put(("t",), "k", {"v": 1})
    clock.advance(50)
    assert store.get(("t",), "k") is not None  # refreshes: now expires 60 s from here
    clock.advance(50)
    assert store.search(("t",), refresh_ttl=False)
    clock.advance(11)
    assert store.get(("t",), "k") is None


def test_ttl_without_refresh_on_read(clock: FakeClock, store_factory: Any) -> None:
    store = store_factory(clock, ttl={"default_ttl": 1, "refresh_on_read": False})
    store.put(("t",), "k", {"v": 1})
    store.put(("t",), "forever", {"v": 1}, ttl=None)
    store.put(("t",), "long", {"v": 1}, ttl=10)
    clock.advance(50)
    assert store.get(("t",), "k") is not None
    clock.advance(11)
    assert store.get(("t",), "k") is None
    assert store.get(("t",), "forever") is not None
    assert store.get(("t",), "long", refresh_ttl=True) is not None


def test_sweep_ttl(clock: FakeClock, store_factory: Any) -> None:
    store = store_factory(clock)
    store.put(("t",), "a", {"v": 1}, ttl=1)
    store.put(("t",), "b", {"v": 1})
    clock.advance(61)
    assert store.sweep_ttl() == 1
    assert [h.key for h in store.search(("t",))] == ["b"]


def test_ttl_sweeper_thread_starts_and_stops(store: RepositoryStore) -> None:
    future = store.start_ttl_sweeper(sweep_interval_minutes=10)
    assert store.start_ttl_sweeper() is future
    assert store.stop_ttl_sweeper(timeout=5)
    assert future.done() and future.exception() is None


def test_bad_ttl_config() -> None:
    with pytest.raises(ConfigurationError, match="ttl.default_ttl"):
        memory_store(ttl={"default_ttl": -1})
    with pytest.raises(ConfigurationError, match="ttl.refresh_on_reed"):
        memory_store(ttl={"refresh_on_reed": True})


# -- vector search -----------------------------------------------------------------------


def test_vector_search_ranks_most_similar_first(vector_store: RepositoryStore) -> None:
    vector_store.put(("docs",), "pie", {"text": "apple pie"})
    vector_store.put(("docs",), "bread", {"text": "banana bread"})
    vector_store.put(("docs",), "soup", {"text": "tomato soup"})
    hits = vector_store.search(("docs",), query="apple")
    assert [h.key for h in hits][0] == "pie"
    assert hits[0].score is not None and hits[1].score is not None
    assert hits[0].score > hits[1].score
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)  # type: ignore[type-var]


def test_vector_search_with_filter_and_per_put_index(vector_store: RepositoryStore) -> None:
    vector_store.put(("docs",), "a", {"text": "zzz", "title": "apple", "lang": "en"}, index=["title"])
    vector_store.put(("docs",), "b", {"text": "apple", "lang": "fr"})
    vector_store.put(("docs",), "c", {"text": "apple", "lang": "en"}, index=False)
    vector_store.put(("docs",), "d", {"text": "xylophone", "lang": "en"})
    hits = vector_store.search(("docs",), query="apple", filter={"lang": "en"})
    assert [h.key for h in hits] == ["a", "d", "c"]
    assert hits[2].score is None  # not indexed: fills the page unscored


def test_vector_search_over_list_fields_and_whole_document(clock: FakeClock, vector_store_factory: Any) -> None:
    store = vector_store_factory(clock, index={"dims": 26, "embed": embed_letters, "fields": ["tags[*]"]})
    store.put(("docs",), "fruit", {"tags": ["kiwi", "apple"]})
    store.put(("docs",), "veg", {"tags": ["leek", "pea"]})
    hits = store.search(("docs",), query="apple")
    assert hits[0].key == "fruit"
    assert abs(hits[0].score - 1.0) < 1e-5  # type: ignore[operator]  # float32 on Valkey
    whole = vector_store_factory(clock, index={"dims": 26, "embed": embed_letters})
    whole.put(("docs",), "q", {"a": "qqqq"})
    whole.put(("docs",), "b", {"a": "bbbb"})
    assert whole.search(("docs",), query="qq")[0].key == "q"


def test_langchain_embeddings_object(clock: FakeClock, vector_store_factory: Any) -> None:
    embeddings = LetterEmbeddings()
    store = vector_store_factory(clock, index={"dims": 26, "embed": embeddings, "fields": ["text"]})
    store.put(("docs",), "a", {"text": "melon"})
    store.put(("docs",), "b", {"text": "grape"})
    assert store.search(("docs",), query="lemon")[0].key == "a"
    assert embeddings.calls == 3


def test_index_options_and_timezone(clock: FakeClock, vector_store_factory: Any) -> None:
    index = {
        "collection_name": "my_documents",
        "dims": 26,
        "embed": embed_letters,
        "fields": ["text"],
        "timezone": "America/New_York",
        "index_type": "hnsw",
        "hnsw_m": 16,
        "hnsw_ef_construction": 200,
        "hnsw_ef_runtime": 10,
    }
    with vector_store_factory(clock, index=index, ttl={"default_ttl": 60.0}) as store:
        store.setup()
        assert store.index_config is not None and store.index_config["collection_name"] == "my_documents"
        assert store.index_config["hnsw_m"] == 16
        store.put(("documents", "user123"), "report_1", {"text": "machine learning", "author": "ds"})
        item = store.get(("documents", "user123"), "report_1")
        assert item is not None
        assert item.created_at.tzinfo == ZoneInfo("America/New_York")
        assert item.created_at == datetime.fromtimestamp(clock.now, tz=ZoneInfo("UTC"))
        hits = store.search(("documents",), query="machine learning", filter={"author": "ds"}, limit=10)
        assert [h.key for h in hits] == ["report_1"]


@pytest.mark.parametrize(
    ("index", "message"),
    [
        ({"embed": embed_letters, "dimz": 3}, "index.dimz: unknown option"),
        ({"dims": 26}, "index.embed is required"),
        ({"embed": embed_letters, "dims": 0}, "index.dims"),
        ({"embed": embed_letters, "index_type": "ivf"}, "index.index_type"),
        ({"embed": embed_letters, "hnsw_m": -1}, "index.hnsw_m"),
        ({"embed": embed_letters, "timezone": "Mars/Olympus"}, "index.timezone"),
        ({"embed": embed_letters, "fields": "text"}, "index.fields"),
    ],
)
def test_bad_index_config(index: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        memory_store(index=index)


def test_index_needs_a_vector_index() -> None:
    service = StoreService(items=InMemoryItemRepository())
    with pytest.raises(ConfigurationError, match="no vector index"):
        RepositoryStore(service, index={"dims": 26, "embed": embed_letters})


def test_dims_must_match_the_embedder(clock: FakeClock, vector_store_factory: Any) -> None:
    store = vector_store_factory(clock, index={"dims": 3, "embed": embed_letters, "fields": ["text"]})
    with pytest.raises(ConfigurationError, match="index.dims is 3"):
        store.put(("docs",), "a", {"text": "x"})


# -- async API ---------------------------------------------------------------------------


class ThreadRecordingItemRepository(InMemoryItemRepository):
    """An in-memory repository that records which threads wrote to it."""

    def __init__(self) -> None:
        super().__init__(vector_index=InMemoryVectorIndex())
        self.writer_threads: set[int] = set()

    def write_items(self, upserts: Sequence[StoreItem], deletes: Sequence[Any], **kwargs: Any) -> None:
        self.writer_threads.add(threading.get_ident())
        super().write_items(upserts, deletes, **kwargs)


async def test_async_api(clock: FakeClock) -> None:
    items = ThreadRecordingItemRepository()
    store = memory_store(clock, items=items, ttl={"default_ttl": 1})
    await store.asetup()
    await store.aput(("users", "1"), "a", {"n": 1})
    await store.aput(("users", "2"), "b", {"n": 2}, ttl=None)
    assert threading.get_ident() not in items.writer_threads  # the loop's thread never does storage work
    item = await store.aget(("users", "1"), "a")
    assert item is not None and item.value == {"n": 1}
    assert [h.key for h in await store.asearch(("users",), filter={"n": {"$gt": 1}})] == ["b"]
    assert await store.alist_namespaces(prefix=("users",)) == [("users", "1"), ("users", "2")]
    await store.adelete(("users", "1"), "a")
    assert await store.aget(("users", "1"), "a") is None
    clock.advance(3600)
    assert await store.aget(("users", "2"), "b") is not None
    assert await store.asweep_ttl() == 0


async def test_async_vector_search_with_async_embedder(clock: FakeClock, vector_store_factory: Any) -> None:
    calls: list[list[str]] = []

    async def aembed(texts: Sequence[str]) -> list[list[float]]:
        calls.append(list(texts))
        await asyncio.sleep(0)
        return embed_letters(texts)

    async with vector_store_factory(clock, index={"dims": 26, "embed": aembed, "fields": ["text"]}) as store:
        await store.aput(("docs",), "pie", {"text": "apple pie"})
        await store.aput(("docs",), "soup", {"text": "tomato soup"})
        hits = await store.asearch(("docs",), query="apple")
        assert [h.key for h in hits] == ["pie", "soup"]
        assert hits[0].score > hits[1].score  # type: ignore[operator]
        results = await store.abatch([PutOp(("docs",), "tart", {"text": "apple tart"}), GetOp(("docs",), "pie")])
        assert results[1].value == {"text": "apple pie"}  # type: ignore[union-attr]
    assert ["apple"] in calls


# -- LangGraph end to end ----------------------------------------------------------------


class State(TypedDict):
    user: str
    fact: str
    recalled: list[str]


def remember(state: State, *, store: BaseStore) -> dict[str, Any]:
    namespace = ("memories", state["user"])
    store.put(namespace, f"fact-{len(store.search(namespace, limit=100))}", {"text": state["fact"]})
    return {}


def recall(state: State, *, store: BaseStore) -> dict[str, Any]:
    hits = store.search(("memories", state["user"]), query=state["fact"], limit=5)
    return {"recalled": [h.value["text"] for h in hits]}


def build_graph(store: RepositoryStore) -> Any:
    builder = StateGraph(State)
    builder.add_node("remember", remember)
    builder.add_node("recall", recall)
    builder.add_edge(START, "remember")
    builder.add_edge("remember", "recall")
    builder.add_edge("recall", END)
    return builder.compile(store=store)


def test_graph_uses_the_store(vector_store: RepositoryStore) -> None:
    graph = build_graph(vector_store)
    graph.invoke({"user": "u1", "fact": "likes sushi", "recalled": []})
    out = graph.invoke({"user": "u1", "fact": "likes tuna", "recalled": []})
    assert out["recalled"][0] == "likes tuna"
    assert sorted(out["recalled"]) == ["likes sushi", "likes tuna"]
    assert vector_store.list_namespaces(prefix=("memories",)) == [("memories", "u1")]


async def test_graph_uses_the_store_async(vector_store: RepositoryStore) -> None:
    graph = build_graph(vector_store)
    await graph.ainvoke({"user": "u2", "fact": "enjoys hiking", "recalled": []})
    out = await graph.ainvoke({"user": "u2", "fact": "enjoys biking", "recalled": []})
    assert sorted(out["recalled"]) == ["enjoys biking", "enjoys hiking"]
    item = await vector_store.aget(("memories", "u2"), "fact-0")
    assert item is not None and item.value == {"text": "enjoys hiking"}
