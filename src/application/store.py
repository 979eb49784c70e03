"""Store use cases: LangGraph's long-term memory semantics over ItemRepository and VectorIndex."""

from __future__ import annotations

import asyncio
import inspect
import math
import time
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import Executor
from typing import Any, Callable, Optional, TypeVar, Union

import attrs

from ..domain.errors import ConfigurationError, InvalidInputError
from ..domain.models import StoreItem
from ..domain.policies import (
    RetryPolicy,
    item_matches,
    namespace_matches,
    validate_item_filter,
    validate_labels,
    validate_namespace,
)
from ..domain.ports import (
    AsyncItemRepository,
    AsyncVectorIndex,
    Embedder,
    ItemRepository,
    TextSearchIndex,
    VectorIndex,
)
from .effects import Call, Program, run_async, run_sync

T = TypeVar("T")

__all__ = [
    "StoreService",
    "ItemWrite",
    "ScoredItem",
    "ItemKey",
    "EmbedderLike",
    "DefaultTTL",
    "DEFAULT_TTL",
    "GetRequest",
    "SearchRequest",
    "NamespacesRequest",
    "ReadRequest",
]

ItemKey = tuple[tuple[str, ...], str]
"""An item's identity: ``(namespace, key)``."""

EmbedderLike = Union[Embedder, Callable[[list[str]], Sequence[Sequence[float]]]]
"""An Embedder port, or a plain function from texts to vectors."""

_MATCH_TYPES = ("prefix", "suffix")
_TEXT_CANDIDATES_MAX = 100
"""A filtered text search widens to at most this many candidates (AgentCore's topK limit)."""


class DefaultTTL:
    """Marker type of :data:`DEFAULT_TTL`: "use the service's default TTL"."""

    _instance: Optional[DefaultTTL] = None

    def __new__(cls) -> DefaultTTL:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "DEFAULT_TTL"


DEFAULT_TTL = DefaultTTL()
"""Sentinel for :attr:`ItemWrite.ttl_minutes`: apply ``StoreService.default_ttl_minutes``."""


@attrs.frozen
class ItemWrite:
    """One write of a batch: an insert/replace, or a delete when ``value`` is None.

    Attributes:
        namespace: where the item lives.
        key: the item's key inside the namespace.
        value: the new JSON object, or None to delete the item.
        ttl_minutes: lifetime after the last write (and read, when refreshed);
            None never expires; DEFAULT_TTL uses the service's default.
        texts: field path -> text to embed for semantic search. None (or empty)
            stores the item without vectors.
    """

    namespace: tuple[str, ...]
    key: str
    value: Optional[Mapping[str, Any]]
    ttl_minutes: Union[float, None, DefaultTTL] = DEFAULT_TTL
    texts: Optional[Mapping[str, str]] = None


@attrs.frozen
class ScoredItem:
    """A search hit: the item and its similarity (None when not ranked by a query)."""

    item: StoreItem
    score: Optional[float] = None


@attrs.frozen
class GetRequest:
    """Read one item of a batch (``refresh_ttl`` None: the service's default)."""

    namespace: tuple[str, ...]
    key: str
    refresh_ttl: Optional[bool] = None


@attrs.frozen
class SearchRequest:
    """One search of a batch: see ``StoreService.search`` for the fields."""

    namespace_prefix: tuple[str, ...]
    query: Optional[str] = None
    filter: Optional[Mapping[str, Any]] = None
    limit: int = 10
    offset: int = 0
    refresh_ttl: Optional[bool] = None


@attrs.frozen
class NamespacesRequest:
    """One namespace listing of a batch: see ``StoreService.list_namespaces``."""

    conditions: Sequence[tuple[str, tuple[str, ...]]] = ()
    max_depth: Optional[int] = None
    limit: int = 100
    offset: int = 0
    prefix: Optional[tuple[str, ...]] = None
    suffix: Optional[tuple[str, ...]] = None


ReadRequest = Union[GetRequest, SearchRequest, NamespacesRequest]
"""A read of a batch; its result is a StoreItem or None, a list of ScoredItem, or a list of namespaces."""


def _check_key(key: Any, what: str = "key") -> str:
    if not isinstance(key, str):
        raise InvalidInputError(f"{what} must be a str, got {type(key).__name__}: {key!r}")
    return key


def _check_count(value: Any, what: str, *, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InvalidInputError(f"{what} must be an integer >= {minimum}, got {value!r}")
    return value


def _check_ttl(ttl: Any, what: str) -> Optional[float]:
    if ttl is None:
        return None
    if isinstance(ttl, bool) or not isinstance(ttl, (int, float)) or not math.isfinite(ttl) or ttl <= 0:
        raise InvalidInputError(f"{what} must be a positive number of minutes or None, got {ttl!r}")
    return float(ttl)


def _embed_documents(embedder: EmbedderLike, texts: list[str]) -> list[list[float]]:
    vectors: Sequence[Sequence[float]]
    if isinstance(embedder, Embedder):
        vectors = embedder.embed_documents(texts)
    else:
        vectors = embedder(texts)
    result = [list(map(float, v)) for v in vectors]
    if len(result) != len(texts):
        raise ConfigurationError(f"the embedder returned {len(result)} vectors for {len(texts)} texts")
    return result


def _embed_query(embedder: EmbedderLike, text: str) -> list[float]:
    if isinstance(embedder, Embedder):
        return [float(v) for v in embedder.embed_query(text)]
    return _embed_documents(embedder, [text])[0]


def _check_dims(vector: Sequence[float], dims: Optional[int]) -> None:
    if dims is not None and len(vector) != dims:
        raise ConfigurationError(f"index.dims is {dims} but the embedder returned a {len(vector)}-dimensional vector")


def _newest_first(item: StoreItem) -> tuple[float, tuple[str, ...], str]:
    return (-item.updated_at, item.namespace, item.key)


class StoreService:
    """LangGraph ``BaseStore`` semantics over an ItemRepository and an optional VectorIndex.

    TTLs are in minutes (LangGraph's convention). Expired items are absent from
    every read; ``sweep_expired`` deletes them for backends that do not expire
    records on their own. Every use case is a program (``application.effects``)
    run by the sync methods over the sync ports, and by the ``a*`` methods over
    the async ports (native) or the sync ones in ``executor``.

    Args:
        items: where items and their vectors are kept.
        vectors: nearest-neighbour index for semantic search (None: search
            ignores queries and ranks nothing).
        clock: time source in POSIX seconds (injected in tests).
        default_ttl_minutes: TTL of writes that ask for ``DEFAULT_TTL``.
        refresh_on_read: whether reads refresh TTLs when the caller does not say.
        retry: the retry policy applied once around each port call.
        executor: where the async methods run sync ports (None: asyncio's default).
        async_items: the async twin of ``items`` (None: run ``items`` in ``executor``).
        async_vectors: the async twin of ``vectors``.
        text_index: a backend that ranks text queries itself; ``search(query=...)``
            without an embedder uses it (AgentCore Memory).
    """

    def __init__(
        self,
        *,
        items: ItemRepository,
        vectors: Optional[VectorIndex] = None,
        clock: Callable[[], float] = time.time,
        default_ttl_minutes: Optional[float] = None,
        refresh_on_read: bool = True,
        retry: Optional[RetryPolicy] = None,
        executor: Optional[Executor] = None,
        async_items: Optional[AsyncItemRepository] = None,
        async_vectors: Optional[AsyncVectorIndex] = None,
        text_index: Optional[TextSearchIndex] = None,
    ) -> None:
        self.items = items
        self.text_index = text_index
        self.vectors = vectors
        self.clock = clock
        self.default_ttl_minutes = _check_ttl(default_ttl_minutes, "default_ttl_minutes")
        self.refresh_on_read = bool(refresh_on_read)
        self.retry = retry if retry is not None else RetryPolicy(attempts=1)
        self.executor = executor
        self._ports: dict[str, Any] = {"items": items, "vectors": vectors, "text": text_index}
        self._async_ports: dict[str, Any] = {
            "items": async_items if async_items is not None else items,
            "vectors": async_vectors if async_vectors is not None else vectors,
            "text": text_index,
        }

    def _run(self, program: Program[T]) -> T:
        return run_sync(program, self._ports, self.retry)

    async def _arun(self, program: Program[T]) -> T:
        return await run_async(program, self._async_ports, self.retry, self.executor)

    # -- lifecycle ------------------------------------------------------------------
    def setup(self) -> None:
        """Let ports that need one-time preparation (indexes, tables) do it."""
        for port in (self.items, self.vectors):
            prepare = getattr(port, "setup", None)
            if callable(prepare):
                prepare()

    async def asetup(self) -> None:
        """Async :meth:`setup`: awaits async ports' ``setup``, runs sync ones in the executor."""
        loop = asyncio.get_running_loop()
        for port in (self._async_ports["items"], self._async_ports["vectors"]):
            prepare = getattr(port, "setup", None)
            if not callable(prepare):
                continue
            if inspect.iscoroutinefunction(prepare):
                await prepare()
            else:
                await loop.run_in_executor(self.executor, prepare)

    def sweep_expired(self) -> int:
        """Delete every expired item now; returns how many were deleted."""
        return self._run(self._sweep())

    async def asweep_expired(self) -> int:
        """Async :meth:`sweep_expired`."""
        return await self._arun(self._sweep())

    def _sweep(self) -> Program[int]:
        count: int = yield Call("items", "purge_expired", (self.clock(),))
        return count

    # -- batches ----------------------------------------------------------------------
    def batch(
        self,
        reads: Sequence[ReadRequest],
        writes: Sequence[ItemWrite] = (),
        *,
        embedder: Optional[EmbedderLike] = None,
        dims: Optional[int] = None,
    ) -> list[Any]:
        """Run reads (which see the state before the batch), then the writes; results follow ``reads``.

        Gets of the batch are one repository call (two when they ask for
        different TTL refreshes); the writes are one call.
        """
        return self._run(self._batch(reads, writes, embedder, dims))

    async def abatch(
        self,
        reads: Sequence[ReadRequest],
        writes: Sequence[ItemWrite] = (),
        *,
        embedder: Optional[EmbedderLike] = None,
        dims: Optional[int] = None,
    ) -> list[Any]:
        """Async :meth:`batch` (``embedder`` should not block: precompute vectors on the loop)."""
        return await self._arun(self._batch(reads, writes, embedder, dims))

    def _batch(
        self,
        reads: Sequence[ReadRequest],
        writes: Sequence[ItemWrite],
        embedder: Optional[EmbedderLike],
        dims: Optional[int],
    ) -> Program[list[Any]]:
        plan = self._plan_writes(writes, embedder, dims)  # validates before anything runs
        results: list[Any] = [None] * len(reads)
        gets: dict[bool, list[tuple[int, ItemKey]]] = {True: [], False: []}
        for i, read in enumerate(reads):
            if isinstance(read, GetRequest):
                gets[self._refresh(read.refresh_ttl)].append((i, self._split_key((read.namespace, read.key))))
            elif not isinstance(read, (SearchRequest, NamespacesRequest)):
                raise InvalidInputError(f"unknown store read: {type(read).__name__}")
        for refresh, wanted in gets.items():
            if wanted:
                found = yield from self._get([ident for _, ident in wanted], refresh)
                for i, ident in wanted:
                    results[i] = found.get(ident)
        for i, read in enumerate(reads):
            if isinstance(read, SearchRequest):
                results[i] = yield from self._search(read, embedder, dims)
            elif isinstance(read, NamespacesRequest):
                results[i] = yield from self._namespaces(read)
        if plan is not None:
            yield from self._write(plan)
        return results

    # -- reads ------------------------------------------------------------------------
    def get(self, keys: Iterable[ItemKey], *, refresh_ttl: Optional[bool] = None) -> dict[ItemKey, StoreItem]:
        """The live items among ``keys`` (``(namespace, key)`` pairs), TTLs refreshed when asked."""
        wanted = list(dict.fromkeys(self._split_key(pair) for pair in keys))
        return self._run(self._get(wanted, self._refresh(refresh_ttl)))

    def _get(self, wanted: list[ItemKey], refresh: bool) -> Program[dict[ItemKey, StoreItem]]:
        if not wanted:
            return {}
        found: dict[ItemKey, StoreItem] = yield Call(
            "items", "get_items", (list(dict.fromkeys(wanted)),), {"now": self.clock(), "refresh": refresh}
        )
        return found

    def search(
        self,
        namespace_prefix: tuple[str, ...],
        *,
        query: Optional[str] = None,
        filter: Optional[Mapping[str, Any]] = None,  # noqa: A002 - LangGraph's name
        limit: int = 10,
        offset: int = 0,
        refresh_ttl: Optional[bool] = None,
        embedder: Optional[EmbedderLike] = None,
        dims: Optional[int] = None,
    ) -> list[ScoredItem]:
        """Items under a namespace prefix that match a filter, a page at a time.

        With a ``query``, an ``embedder`` and a vector index, items are ranked by
        similarity (highest score first); items of the prefix that have no
        vectors fill the page after the ranked ones. Otherwise the newest
        updated items come first and scores are None.

        Args:
            namespace_prefix: only items whose namespace starts with this.
            query: natural-language query (ignored without embedder and index).
            filter: value filter (``$eq $ne $gt $gte $lt $lte`` and nested objects).
            limit: page size.
            offset: items to skip.
            refresh_ttl: restart the TTL of returned items (None: service default).
            embedder: turns the query into a vector.
            dims: expected vector length, checked when given.

        Returns:
            The page of hits, best first.
        """
        request = SearchRequest(namespace_prefix, query, filter, limit, offset, refresh_ttl)
        return self._run(self._search(request, embedder, dims))

    def _search(
        self, request: SearchRequest, embedder: Optional[EmbedderLike], dims: Optional[int]
    ) -> Program[list[ScoredItem]]:
        prefix = validate_labels(request.namespace_prefix, "namespace_prefix")
        flt = request.filter
        validate_item_filter(flt)
        limit = _check_count(request.limit, "limit")
        offset = _check_count(request.offset, "offset")
        query = request.query
        if query is not None and not isinstance(query, str):
            raise InvalidInputError(f"query must be a str or None, got {type(query).__name__}")
        if limit == 0:
            return []
        now = self.clock()
        if query and embedder is not None and self.vectors is not None:
            hits = yield from self._ranked(prefix, query, flt, offset + limit, embedder, dims, now)
        elif query and embedder is None and self.text_index is not None:
            hits = yield from self._text_ranked(prefix, query, flt, offset + limit, now)
        else:
            scanned: Iterable[StoreItem] = yield Call("items", "scan_items", (prefix,), {"now": now}, collect=True)
            matching = [i for i in scanned if item_matches(i.value, flt)]
            matching.sort(key=_newest_first)
            hits = [ScoredItem(i) for i in matching]
        page = hits[offset : offset + limit]
        if page and self._refresh(request.refresh_ttl) and any(h.item.ttl_minutes is not None for h in page):
            touched = yield from self._get([(h.item.namespace, h.item.key) for h in page], True)
            page = [ScoredItem(touched.get((h.item.namespace, h.item.key), h.item), h.score) for h in page]
        return page

    def list_namespaces(
        self,
        *,
        prefix: Optional[tuple[str, ...]] = None,
        suffix: Optional[tuple[str, ...]] = None,
        conditions: Sequence[tuple[str, tuple[str, ...]]] = (),
        max_depth: Optional[int] = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[tuple[str, ...]]:
        """Namespaces holding live items, sorted, optionally truncated to ``max_depth``.

        Args:
            prefix: namespaces must start with this (``*`` matches any label).
            suffix: namespaces must end with this (``*`` matches any label).
            conditions: further ``(match_type, path)`` pairs, match_type
                ``"prefix"`` or ``"suffix"`` (LangGraph's MatchCondition fits).
            max_depth: keep only the first ``max_depth`` labels (then dedupe).
            limit: page size.
            offset: namespaces to skip.

        Returns:
            The page of namespaces in ascending order.
        """
        request = NamespacesRequest(tuple(conditions), max_depth, limit, offset, prefix, suffix)
        return self._run(self._namespaces(request))

    def _namespaces(self, request: NamespacesRequest) -> Program[list[tuple[str, ...]]]:
        checks: list[tuple[tuple[str, ...], bool]] = []
        if request.prefix is not None:
            checks.append((validate_labels(request.prefix, "prefix"), False))
        if request.suffix is not None:
            checks.append((validate_labels(request.suffix, "suffix"), True))
        for condition in request.conditions:
            try:
                match_type, path = condition
            except (TypeError, ValueError):
                raise InvalidInputError(
                    f"match conditions must be (match_type, path) pairs, got {condition!r}"
                ) from None
            if match_type not in _MATCH_TYPES:
                raise InvalidInputError(f"match_type must be 'prefix' or 'suffix', got {match_type!r}")
            checks.append((validate_labels(path, f"{match_type} path"), match_type == "suffix"))
        max_depth = request.max_depth
        if max_depth is not None:
            max_depth = _check_count(max_depth, "max_depth", minimum=1)
        limit = _check_count(request.limit, "limit")
        offset = _check_count(request.offset, "offset")
        listed: Iterable[tuple[str, ...]] = yield Call(
            "items", "list_namespaces", (), {"now": self.clock()}, collect=True
        )
        selected = {
            tuple(ns)
            for ns in listed
            if all(namespace_matches(tuple(ns), path, suffix=is_suffix) for path, is_suffix in checks)
        }
        if max_depth is not None:
            selected = {ns[:max_depth] for ns in selected}
        return sorted(selected)[offset : offset + limit]

    # -- writes -------------------------------------------------------------------------
    def put(
        self,
        writes: Iterable[ItemWrite],
        *,
        embedder: Optional[EmbedderLike] = None,
        dims: Optional[int] = None,
    ) -> None:
        """Apply a batch of writes in one repository call; the last write of a key wins.

        Replacing an item keeps its ``created_at`` and moves ``updated_at``.
        Texts are embedded (each distinct text once) before anything is
        written, so an embedder failure leaves the store untouched. An item
        written without texts loses its old vectors.

        Args:
            writes: inserts, replacements and deletes (``value=None``).
            embedder: turns ``ItemWrite.texts`` into vectors.
            dims: expected vector length, checked when given.
        """
        plan = self._plan_writes(list(writes), embedder, dims)
        if plan is not None:
            self._run(self._write(plan))

    def delete(self, keys: Iterable[ItemKey]) -> None:
        """Delete items and their vectors; missing keys are ignored."""
        wanted = [self._split_key(pair) for pair in keys]
        if wanted:
            self._run(self._write(_WritePlan([], wanted, {})))

    def _plan_writes(
        self, writes: Sequence[ItemWrite], embedder: Optional[EmbedderLike], dims: Optional[int]
    ) -> Optional[_WritePlan]:
        latest: dict[ItemKey, ItemWrite] = {}
        for write in writes:
            self._check_write(write)
            ident = (write.namespace, write.key)
            latest.pop(ident, None)  # re-insert so batch order follows the last write
            latest[ident] = write
        if not latest:
            return None
        upserts = [w for w in latest.values() if w.value is not None]
        deletes = [ident for ident, w in latest.items() if w.value is None]
        vectors = self._embed_writes(upserts, embedder, dims)
        now = self.clock()
        stored: list[StoreItem] = []
        for write in upserts:
            ttl = self.default_ttl_minutes if isinstance(write.ttl_minutes, DefaultTTL) else write.ttl_minutes
            stored.append(
                StoreItem(
                    namespace=write.namespace,
                    key=write.key,
                    value=dict(write.value or {}),
                    created_at=now,  # the repository keeps a replaced item's own created_at
                    updated_at=now,
                    expires_at=None if ttl is None else now + ttl * 60.0,
                    ttl_minutes=ttl,
                )
            )
        return _WritePlan(stored, deletes, vectors)

    def _write(self, plan: _WritePlan) -> Program[None]:
        yield Call(
            "items",
            "write_items",
            (plan.upserts, plan.deletes),
            {"vectors": plan.vectors, "now": self.clock()},
        )

    # -- helpers --------------------------------------------------------------------------
    def _split_key(self, pair: Any) -> ItemKey:
        if not isinstance(pair, tuple) or len(pair) != 2:
            raise InvalidInputError(f"item keys must be (namespace, key) pairs, got {pair!r}")
        namespace, key = pair
        return validate_labels(namespace, "namespace"), _check_key(key)

    def _check_write(self, write: Any) -> None:
        if not isinstance(write, ItemWrite):
            raise InvalidInputError(f"writes must be ItemWrite values, got {type(write).__name__}")
        if write.value is None:
            validate_labels(write.namespace, "namespace")
        else:
            validate_namespace(write.namespace)
        _check_key(write.key)
        if write.value is not None:
            if not isinstance(write.value, Mapping):
                raise InvalidInputError(
                    f"value of {write.key!r} must be a dict or None, got {type(write.value).__name__}"
                )
            for field in write.value:
                if not isinstance(field, str):
                    raise InvalidInputError(f"value of {write.key!r} has a non-string key {field!r}")
        if not isinstance(write.ttl_minutes, DefaultTTL):
            _check_ttl(write.ttl_minutes, f"ttl of {write.key!r}")
        if write.texts is not None:
            if not isinstance(write.texts, Mapping):
                raise InvalidInputError(f"texts of {write.key!r} must map field paths to strings")
            for path, text in write.texts.items():
                if not isinstance(path, str) or not isinstance(text, str):
                    raise InvalidInputError(
                        f"texts of {write.key!r} must map field paths to strings, got {path!r}: {text!r}"
                    )

    def _refresh(self, refresh_ttl: Optional[bool]) -> bool:
        return self.refresh_on_read if refresh_ttl is None else bool(refresh_ttl)

    def _embed_writes(
        self, writes: Sequence[ItemWrite], embedder: Optional[EmbedderLike], dims: Optional[int]
    ) -> dict[ItemKey, dict[str, list[float]]]:
        indexed = [w for w in writes if w.texts]
        if embedder is None or not indexed:
            return {}
        if self.vectors is None:
            raise ConfigurationError("items ask to be indexed but the store has no vector index configured")
        slots: dict[str, int] = {}
        for write in indexed:
            for text in (write.texts or {}).values():
                slots.setdefault(text, len(slots))
        embedded = _embed_documents(embedder, list(slots))
        for vector in embedded:
            _check_dims(vector, dims)
        return {
            (w.namespace, w.key): {path: embedded[slots[text]] for path, text in (w.texts or {}).items()}
            for w in indexed
        }

    def _text_ranked(
        self, prefix: tuple[str, ...], query: str, flt: Optional[Mapping[str, Any]], wanted: int, now: float
    ) -> Program[list[ScoredItem]]:
        """Hits ranked by the backend's own text search; the filter applies in the client.

        One call, widened (up to the index's limit) while the filter leaves
        fewer than ``wanted`` hits and the index has more.
        """
        candidates = wanted if not flt else max(wanted * 2, 16)
        while True:
            hits: list[tuple[StoreItem, float]] = yield Call("text", "search_text", (query, prefix, candidates), {"now": now})
            ranked = [ScoredItem(item, float(score)) for item, score in hits if item_matches(item.value, flt)]
            if len(ranked) >= wanted or len(hits) < candidates or candidates >= _TEXT_CANDIDATES_MAX:
                return ranked
            candidates = min(candidates * 4, _TEXT_CANDIDATES_MAX)

    def _ranked(
        self,
        prefix: tuple[str, ...],
        query: str,
        flt: Optional[Mapping[str, Any]],
        wanted: int,
        embedder: EmbedderLike,
        dims: Optional[int],
        now: float,
    ) -> Program[list[ScoredItem]]:
        """Hits ranked by similarity, at least ``wanted`` of them when that many match.

        Two port calls (query, then one read of every hit's item) unless the
        filter rejects so many hits that a wider query is needed.
        """
        vector = _embed_query(embedder, query)
        _check_dims(vector, dims)
        candidates = max(wanted * 2, 16)
        while True:
            hits: list[tuple[tuple[str, ...], str, float]] = yield Call(
                "vectors", "query", (vector, prefix, candidates)
            )
            found: dict[ItemKey, StoreItem] = yield Call(
                "items", "get_items", ([(tuple(ns), key) for ns, key, _ in hits],), {"now": now}
            )
            ranked = [
                ScoredItem(found[(tuple(ns), key)], float(score))
                for ns, key, score in hits
                if (tuple(ns), key) in found and item_matches(found[(tuple(ns), key)].value, flt)
            ]
            exhausted = len(hits) < candidates
            if len(ranked) >= wanted or exhausted:
                break
            candidates *= 4
        if len(ranked) < wanted:
            # Items stored without vectors still belong to the prefix: they fill the page unscored.
            scored = {(tuple(ns), key) for ns, key, _ in hits}
            scanned: Iterable[StoreItem] = yield Call("items", "scan_items", (prefix,), {"now": now}, collect=True)
            unscored = [
                i for i in scanned if (i.namespace, i.key) not in scored and item_matches(i.value, flt)
            ]
            unscored.sort(key=_newest_first)
            ranked.extend(ScoredItem(i) for i in unscored[: wanted - len(ranked)])
        return ranked


@attrs.frozen
class _WritePlan:
    """A validated batch of writes, embedded and ready for one ``write_items`` call."""

    upserts: list[StoreItem]
    deletes: list[ItemKey]
    vectors: dict[ItemKey, dict[str, list[float]]]
