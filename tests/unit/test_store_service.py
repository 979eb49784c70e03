"""StoreService use cases over the in-memory item repository and vector index."""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence

import pytest

from langgraph_checkpoint_aws.adapters.memory import InMemoryItemRepository, InMemoryVectorIndex
from langgraph_checkpoint_aws.application.store import DEFAULT_TTL, ItemWrite, StoreService
from langgraph_checkpoint_aws.domain.errors import ConfigurationError, InvalidInputError
from tests.clock import FakeClock


def letters(text: str) -> list[float]:
    """Bag-of-letters vector: how often each of a..z occurs."""
    counts = [0.0] * 26
    for ch in text.lower():
        if "a" <= ch <= "z":
            counts[ord(ch) - ord("a")] += 1.0
    return counts


class CountingEmbedder:
    """A deterministic Embedder (the port's shape) that records every call."""

    def __init__(self) -> None:
        self.documents: list[list[str]] = []
        self.queries: list[str] = []

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.documents.append(list(texts))
        return [letters(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        self.queries.append(text)
        return letters(text)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def vectors() -> InMemoryVectorIndex:
    return InMemoryVectorIndex()


@pytest.fixture
def items(vectors: InMemoryVectorIndex) -> InMemoryItemRepository:
    return InMemoryItemRepository(vector_index=vectors)


@pytest.fixture
def service(items: InMemoryItemRepository, vectors: InMemoryVectorIndex, clock: FakeClock) -> StoreService:
    return StoreService(items=items, vectors=vectors, clock=clock)


def put(service: StoreService, namespace: tuple[str, ...], key: str, value: dict | None, **kwargs) -> None:  # type: ignore[no-untyped-def]
    embedder = kwargs.pop("embedder", None)
    service.put([ItemWrite(namespace, key, value, **kwargs)], embedder=embedder)


# -- get / put / delete ------------------------------------------------------------------


def test_put_then_get_stores_value_and_timestamps(service: StoreService, clock: FakeClock) -> None:
    put(service, ("users", "1"), "prefs", {"theme": "dark"})
    found = service.get([(("users", "1"), "prefs")])
    item = found[(("users", "1"), "prefs")]
    assert item.value == {"theme": "dark"}
    assert item.created_at == item.updated_at == clock.now
    assert item.expires_at is None and item.ttl_minutes is None


def test_replace_keeps_created_at_and_moves_updated_at(service: StoreService, clock: FakeClock) -> None:
    put(service, ("docs",), "a", {"v": 1})
    created = clock.now
    clock.advance(30)
    put(service, ("docs",), "a", {"v": 2})
    item = service.get([(("docs",), "a")])[(("docs",), "a")]
    assert item.value == {"v": 2}
    assert item.created_at == created
    assert item.updated_at == created + 30


def test_put_none_deletes_and_delete_removes(service: StoreService, items: InMemoryItemRepository) -> None:
    put(service, ("docs",), "a", {"v": 1})
    put(service, ("docs",), "b", {"v": 2})
    put(service, ("docs",), "a", None)
    service.delete([(("docs",), "b"), (("docs",), "never")])
    assert items.get_items([(("docs",), "a"), (("docs",), "b")], now=service.clock()) == {}
    assert list(items.list_namespaces(now=service.clock())) == []


def test_last_write_of_a_batch_wins(service: StoreService) -> None:
    service.put(
        [
            ItemWrite(("docs",), "a", {"v": 1}),
            ItemWrite(("docs",), "a", None),
            ItemWrite(("docs",), "a", {"v": 3}),
            ItemWrite(("docs",), "b", {"v": 1}),
            ItemWrite(("docs",), "b", None),
        ]
    )
    found = service.get([(("docs",), "a"), (("docs",), "b")])
    assert {k: v.value for k, v in found.items()} == {(("docs",), "a"): {"v": 3}}


def test_values_are_isolated_from_caller_mutation(service: StoreService) -> None:
    value = {"nested": {"n": 1}}
    put(service, ("docs",), "a", value)
    value["nested"]["n"] = 99
    got = service.get([(("docs",), "a")])[(("docs",), "a")]
    got.value["nested"]["n"] = 42  # type: ignore[index]
    assert service.get([(("docs",), "a")])[(("docs",), "a")].value == {"nested": {"n": 1}}


@pytest.mark.parametrize(
    ("namespace", "message"),
    [
        (("users", ""), "must not be empty"),
        (("users", "a.b"), "must not contain '.'"),
        (["users"], "must be a tuple"),
        ((), "must not be empty"),
        (("langgraph", "x"), "reserved"),
        (("users", 3), "must be strings"),
        (("us\x00er",), "NUL"),
    ],
)
def test_put_rejects_bad_namespaces(service: StoreService, namespace: object, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        put(service, namespace, "k", {"v": 1})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("namespace", "message"),
    [(("users", ""), "must not be empty"), (("a.b",), "'.'"), ("users", "must be a tuple")],
)
def test_reads_reject_bad_namespaces(service: StoreService, namespace: object, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        service.get([(namespace, "k")])  # type: ignore[list-item]
    with pytest.raises(InvalidInputError, match=message):
        service.search(namespace)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("write", "message"),
    [
        (ItemWrite(("docs",), 3, {"v": 1}), "key must be a str"),  # type: ignore[arg-type]
        (ItemWrite(("docs",), "k", ["not", "a", "dict"]), "must be a dict"),  # type: ignore[arg-type]
        (ItemWrite(("docs",), "k", {1: "x"}), "non-string key"),
        (ItemWrite(("docs",), "k", {"v": 1}, ttl_minutes=-1), "positive number of minutes"),
        (ItemWrite(("docs",), "k", {"v": 1}, ttl_minutes=True), "positive number of minutes"),  # type: ignore[arg-type]
        (ItemWrite(("docs",), "k", {"v": 1}, texts={"text": 3}), "field paths to strings"),  # type: ignore[dict-item]
    ],
)
def test_put_rejects_bad_writes(
    service: StoreService, items: InMemoryItemRepository, write: ItemWrite, message: str
) -> None:
    with pytest.raises(InvalidInputError, match=message):
        service.put([ItemWrite(("docs",), "ok", {"v": 0}), write])
    assert items.get_items([(("docs",), "ok")], now=service.clock()) == {}, "a rejected batch writes nothing"


# -- search ------------------------------------------------------------------------------


@pytest.fixture
def catalogue(service: StoreService, clock: FakeClock) -> StoreService:
    rows = [
        (
            ("shop", "fruit"),
            "apple",
            {"kind": "fruit", "price": 3, "meta": {"colour": "red", "origin": "NZ"}, "tags": ["a", "b"]},
        ),
        (("shop", "fruit"), "banana", {"kind": "fruit", "price": 1, "meta": {"colour": "yellow", "origin": "EC"}}),
        (("shop", "veg"), "carrot", {"kind": "veg", "price": 2, "meta": {"colour": "orange", "origin": "NZ"}}),
        (("other",), "stone", {"kind": "mineral", "price": 10}),
    ]
    for namespace, key, value in rows:
        clock.advance(1)
        put(service, namespace, key, value)
    return service


def keys_of(hits: Sequence) -> list[str]:  # type: ignore[type-arg]
    return [h.item.key for h in hits]


def test_search_prefix_newest_first(catalogue: StoreService) -> None:
    assert keys_of(catalogue.search(("shop",))) == ["carrot", "banana", "apple"]
    assert keys_of(catalogue.search(("shop", "fruit"))) == ["banana", "apple"]
    assert keys_of(catalogue.search(())) == ["stone", "carrot", "banana", "apple"]
    assert keys_of(catalogue.search(("sho",))) == []
    assert all(h.score is None for h in catalogue.search(("shop",)))


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        ({"kind": "fruit"}, ["banana", "apple"]),
        ({"kind": {"$eq": "veg"}}, ["carrot"]),
        ({"kind": {"$ne": "fruit"}}, ["carrot"]),
        ({"price": {"$gt": 1}}, ["carrot", "apple"]),
        ({"price": {"$gte": 2}}, ["carrot", "apple"]),
        ({"price": {"$lt": 2}}, ["banana"]),
        ({"price": {"$lte": 2}}, ["carrot", "banana"]),
        ({"price": {"$gt": 1, "$lt": 3}}, ["carrot"]),
        ({"meta": {"origin": "NZ"}}, ["carrot", "apple"]),
        ({"meta": {"origin": "NZ", "colour": "red"}}, ["apple"]),
        ({"meta": {"colour": {"$ne": "red"}}}, ["carrot", "banana"]),
        ({"tags": ["a", "b"]}, ["apple"]),
        ({"missing": "x"}, []),
    ],
)
def test_search_filters(catalogue: StoreService, flt: dict, expected: list[str]) -> None:  # type: ignore[type-arg]
    assert keys_of(catalogue.search(("shop",), filter=flt)) == expected


def test_search_limit_and_offset(catalogue: StoreService) -> None:
    assert keys_of(catalogue.search(("shop",), limit=2)) == ["carrot", "banana"]
    assert keys_of(catalogue.search(("shop",), limit=2, offset=2)) == ["apple"]
    assert keys_of(catalogue.search(("shop",), limit=0)) == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"filter": {"price": {"$regex": "x"}}}, "unsupported operator '\\$regex'"),
        ({"filter": {"price": {"$gt": "cheap"}}}, "needs a number"),
        ({"filter": ["price"]}, "must be a dict"),
        ({"limit": -1}, "limit must be an integer"),
        ({"offset": 1.5}, "offset must be an integer"),
        ({"query": 42}, "query must be a str"),
    ],
)
def test_search_rejects_bad_arguments(catalogue: StoreService, kwargs: dict, message: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(InvalidInputError, match=message):
        catalogue.search(("shop",), **kwargs)


# -- list_namespaces -------------------------------------------------------------------


@pytest.fixture
def tree(service: StoreService) -> StoreService:
    for namespace in [
        ("a", "b", "c"),
        ("a", "b", "d"),
        ("a", "e"),
        ("x", "b", "c"),
        ("x", "y", "z", "w"),
    ]:
        put(service, namespace, "k", {"v": 1})
    return service


def test_list_namespaces_sorted(tree: StoreService) -> None:
    assert tree.list_namespaces() == [
        ("a", "b", "c"),
        ("a", "b", "d"),
        ("a", "e"),
        ("x", "b", "c"),
        ("x", "y", "z", "w"),
    ]


def test_list_namespaces_prefix_suffix_wildcards(tree: StoreService) -> None:
    assert tree.list_namespaces(prefix=("a",)) == [("a", "b", "c"), ("a", "b", "d"), ("a", "e")]
    assert tree.list_namespaces(suffix=("c",)) == [("a", "b", "c"), ("x", "b", "c")]
    assert tree.list_namespaces(prefix=("*", "b")) == [("a", "b", "c"), ("a", "b", "d"), ("x", "b", "c")]
    assert tree.list_namespaces(suffix=("b", "*")) == [("a", "b", "c"), ("a", "b", "d"), ("x", "b", "c")]
    assert tree.list_namespaces(prefix=("a",), suffix=("d",)) == [("a", "b", "d")]
    assert tree.list_namespaces(conditions=[("prefix", ("x",)), ("suffix", ("w",))]) == [("x", "y", "z", "w")]


def test_list_namespaces_max_depth_dedupes_and_pages(tree: StoreService) -> None:
    assert tree.list_namespaces(max_depth=2) == [("a", "b"), ("a", "e"), ("x", "b"), ("x", "y")]
    assert tree.list_namespaces(max_depth=1) == [("a",), ("x",)]
    assert tree.list_namespaces(max_depth=2, limit=2, offset=1) == [("a", "e"), ("x", "b")]


def test_list_namespaces_forgets_emptied_namespaces(tree: StoreService) -> None:
    tree.delete([(("a", "e"), "k")])
    assert ("a", "e") not in tree.list_namespaces()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"prefix": ("a", "")}, "must not be empty"),
        ({"suffix": ("a.b",)}, "'.'"),
        ({"conditions": [("middle", ("a",))]}, "match_type must be"),
        ({"conditions": ["prefix"]}, "pairs"),
        ({"max_depth": 0}, "max_depth"),
        ({"limit": -5}, "limit"),
    ],
)
def test_list_namespaces_rejects_bad_arguments(tree: StoreService, kwargs: dict, message: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(InvalidInputError, match=message):
        tree.list_namespaces(**kwargs)


# -- TTL -------------------------------------------------------------------------------


def test_ttl_in_minutes_expires_items(service: StoreService, clock: FakeClock) -> None:
    put(service, ("t",), "k", {"v": 1}, ttl_minutes=2)
    item = service.get([(("t",), "k")], refresh_ttl=False)[(("t",), "k")]
    assert item.ttl_minutes == 2 and item.expires_at == clock.now + 120
    clock.advance(119)
    assert service.get([(("t",), "k")], refresh_ttl=False)
    clock.advance(1)
    assert service.get([(("t",), "k")]) == {}
    assert service.search(("t",)) == []
    assert service.list_namespaces() == []


def test_reads_refresh_ttl(service: StoreService, clock: FakeClock) -> None:
    put(service, ("t",), "get", {"v": 1}, ttl_minutes=1)
    put(service, ("t",), "search", {"v": 2}, ttl_minutes=1)
    clock.advance(50)
    assert service.get([(("t",), "get")], refresh_ttl=True)
    assert len(service.search(("t",), filter={"v": 2}, refresh_ttl=True)) == 1
    clock.advance(50)  # 100 s after the write, 50 s after the refresh
    found = service.get([(("t",), "get"), (("t",), "search")], refresh_ttl=False)
    assert set(found) == {(("t",), "get"), (("t",), "search")}


def test_reads_without_refresh_keep_expiry(service: StoreService, clock: FakeClock) -> None:
    put(service, ("t",), "k", {"v": 1}, ttl_minutes=1)
    clock.advance(50)
    service.get([(("t",), "k")], refresh_ttl=False)
    service.search(("t",), refresh_ttl=False)
    clock.advance(11)
    assert service.get([(("t",), "k")]) == {}


def test_service_defaults_for_ttl_and_refresh(items: InMemoryItemRepository, clock: FakeClock) -> None:
    service = StoreService(items=items, clock=clock, default_ttl_minutes=1, refresh_on_read=False)
    put(service, ("t",), "default", {"v": 1})
    put(service, ("t",), "forever", {"v": 1}, ttl_minutes=None)
    assert DEFAULT_TTL is ItemWrite(("t",), "k", {}).ttl_minutes
    clock.advance(30)
    service.get([(("t",), "default")])  # refresh_on_read=False: no refresh
    clock.advance(31)
    assert set(service.get([(("t",), "default"), (("t",), "forever")])) == {(("t",), "forever")}


def test_rejects_bad_default_ttl(items: InMemoryItemRepository) -> None:
    with pytest.raises(InvalidInputError, match="default_ttl_minutes"):
        StoreService(items=items, default_ttl_minutes=0)


def test_sweep_deletes_expired_items(service: StoreService, items: InMemoryItemRepository, clock: FakeClock) -> None:
    put(service, ("t",), "a", {"v": 1}, ttl_minutes=1)
    put(service, ("t",), "b", {"v": 1}, ttl_minutes=5)
    put(service, ("t",), "c", {"v": 1})
    clock.advance(61)
    assert service.sweep_expired() == 1
    assert items.purge_expired(clock.now + 10_000) == 1  # only "b" was left to expire
    assert [i.key for i in items.scan_items(("t",), now=clock.now)] == ["c"]


# -- vectors -----------------------------------------------------------------------------


def test_vector_search_ranks_by_similarity(service: StoreService) -> None:
    embedder = CountingEmbedder()
    for key, text in [("pie", "apple pie"), ("bread", "banana bread"), ("tart", "cherry tart")]:
        put(service, ("docs",), key, {"text": text}, texts={"text": text}, embedder=embedder)
    hits = service.search(("docs",), query="apple", embedder=embedder)
    assert keys_of(hits)[0] == "pie"
    scores = [h.score for h in hits]
    assert all(s is not None for s in scores)
    assert scores == sorted(scores, reverse=True)  # type: ignore[type-var]
    assert scores[0] > scores[1]  # type: ignore[operator]
    assert 0 < scores[0] < 1  # type: ignore[operator]


def test_vector_search_filter_limit_offset(service: StoreService) -> None:
    embedder = CountingEmbedder()
    rows = [("a", "aaaa", "x"), ("b", "aaab", "y"), ("c", "aabb", "x"), ("d", "abbb", "x"), ("e", "bbbb", "x")]
    for key, text, group in rows:
        put(service, ("docs",), key, {"text": text, "group": group}, texts={"text": text}, embedder=embedder)
    hits = service.search(("docs",), query="aaaa", filter={"group": "x"}, embedder=embedder)
    assert keys_of(hits) == ["a", "c", "d", "e"]
    assert keys_of(service.search(("docs",), query="aaaa", limit=2, offset=1, embedder=embedder)) == ["b", "c"]


def test_item_score_is_its_best_vector(service: StoreService) -> None:
    embedder = CountingEmbedder()
    put(service, ("docs",), "multi", {"t": "zzz", "s": "apple"}, texts={"t": "zzz", "s": "apple"}, embedder=embedder)
    put(service, ("docs",), "single", {"t": "appl"}, texts={"t": "appl"}, embedder=embedder)
    hits = service.search(("docs",), query="apple", embedder=embedder)
    assert keys_of(hits) == ["multi", "single"]
    assert math.isclose(hits[0].score, 1.0)  # type: ignore[arg-type]


def test_unindexed_items_fill_the_page_unscored(service: StoreService) -> None:
    embedder = CountingEmbedder()
    put(service, ("docs",), "indexed", {"text": "apple"}, texts={"text": "apple"}, embedder=embedder)
    put(service, ("docs",), "plain", {"text": "apple"}, embedder=embedder)
    hits = service.search(("docs",), query="apple", embedder=embedder)
    assert [(h.item.key, h.score is None) for h in hits] == [("indexed", False), ("plain", True)]


def test_reindex_without_texts_drops_old_vectors(service: StoreService, vectors: InMemoryVectorIndex) -> None:
    embedder = CountingEmbedder()
    put(service, ("docs",), "a", {"text": "apple"}, texts={"text": "apple"}, embedder=embedder)
    assert vectors.query(letters("apple"), ("docs",), 5)
    put(service, ("docs",), "a", {"text": "kiwi"}, embedder=embedder)
    assert vectors.query(letters("apple"), ("docs",), 5) == []


def test_delete_removes_vectors(service: StoreService, vectors: InMemoryVectorIndex) -> None:
    embedder = CountingEmbedder()
    put(service, ("docs",), "a", {"text": "apple"}, texts={"text": "apple"}, embedder=embedder)
    put(service, ("docs",), "b", {"text": "apple"}, texts={"text": "apple"}, embedder=embedder)
    put(service, ("docs",), "a", None)
    service.delete([(("docs",), "b")])
    assert vectors.query(letters("apple"), (), 5) == []


def test_expired_items_leave_search_and_their_vectors(
    service: StoreService, vectors: InMemoryVectorIndex, clock: FakeClock
) -> None:
    embedder = CountingEmbedder()
    put(service, ("docs",), "old", {"text": "apple"}, texts={"text": "apple"}, ttl_minutes=1, embedder=embedder)
    put(service, ("docs",), "new", {"text": "apples"}, texts={"text": "apples"}, embedder=embedder)
    clock.advance(61)
    assert keys_of(service.search(("docs",), query="apple", embedder=embedder)) == ["new"]
    assert [k for _, k, _ in vectors.query(letters("apple"), (), 5)] == ["new"]


def test_distinct_texts_are_embedded_once(service: StoreService) -> None:
    embedder = CountingEmbedder()
    service.put(
        [
            ItemWrite(("docs",), "a", {"t": "same"}, texts={"t": "same"}),
            ItemWrite(("docs",), "b", {"t": "same", "u": "other"}, texts={"t": "same", "u": "other"}),
        ],
        embedder=embedder,
    )
    assert embedder.documents == [["same", "other"]]


def test_plain_function_embedder(service: StoreService) -> None:
    def embed(texts: list[str]) -> list[list[float]]:
        return [letters(t) for t in texts]

    put(service, ("docs",), "a", {"t": "kiwi"}, texts={"t": "kiwi"}, embedder=embed)
    put(service, ("docs",), "b", {"t": "melon"}, texts={"t": "melon"}, embedder=embed)
    assert keys_of(service.search(("docs",), query="melons", embedder=embed)) == ["b", "a"]


def test_query_without_embedder_is_ignored(catalogue: StoreService) -> None:
    assert keys_of(catalogue.search(("shop",), query="apple")) == ["carrot", "banana", "apple"]


def test_dims_mismatch_is_a_configuration_error(service: StoreService, items: InMemoryItemRepository) -> None:
    embedder = CountingEmbedder()
    with pytest.raises(ConfigurationError, match="index.dims is 3"):
        service.put([ItemWrite(("docs",), "a", {"t": "x"}, texts={"t": "x"})], embedder=embedder, dims=3)
    assert items.get_items([(("docs",), "a")], now=service.clock()) == {}
    with pytest.raises(ConfigurationError, match="index.dims is 3"):
        service.search(("docs",), query="x", embedder=embedder, dims=3)


def test_failing_embedder_writes_nothing(service: StoreService, items: InMemoryItemRepository) -> None:
    def broken(texts: list[str]) -> list[list[float]]:
        raise RuntimeError("embedding service down")

    with pytest.raises(RuntimeError, match="down"):
        put(service, ("docs",), "a", {"t": "x"}, texts={"t": "x"}, embedder=broken)
    assert items.get_items([(("docs",), "a")], now=service.clock()) == {}


def test_indexing_without_vector_index_is_a_configuration_error() -> None:
    service = StoreService(items=InMemoryItemRepository())
    with pytest.raises(ConfigurationError, match="no vector index"):
        put(service, ("docs",), "a", {"t": "x"}, texts={"t": "x"}, embedder=CountingEmbedder())


def test_vector_dimension_clash_in_index(service: StoreService) -> None:
    embedder = CountingEmbedder()
    put(service, ("docs",), "a", {"t": "x"}, texts={"t": "x"}, embedder=embedder)
    with pytest.raises(InvalidInputError, match="dimensions"):
        service.search(("docs",), query="x", embedder=lambda texts: [[1.0, 0.0] for _ in texts])


# -- lifecycle and concurrency -----------------------------------------------------------


class PreparedItemRepository(InMemoryItemRepository):
    """An in-memory repository that records setup calls (a real repository, not a mock)."""

    def __init__(self) -> None:
        super().__init__()
        self.setups = 0

    def setup(self) -> None:
        self.setups += 1


def test_setup_reaches_ports_that_need_it() -> None:
    repository = PreparedItemRepository()
    service = StoreService(items=repository, vectors=InMemoryVectorIndex())
    service.setup()
    service.setup()
    assert repository.setups == 2


def test_concurrent_writers(service: StoreService) -> None:
    def writer(n: int) -> None:
        for i in range(50):
            put(service, ("c", str(n)), str(i), {"i": i})

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(service.list_namespaces(prefix=("c",))) == 8
    assert len(service.search(("c",), limit=1000)) == 400
