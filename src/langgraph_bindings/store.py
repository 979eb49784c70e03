"""The LangGraph BaseStore over StoreService (every backend shares it)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timezone, tzinfo
from typing import Any, Optional
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from langgraph.store.base import (
    BaseStore,
    Embeddings,
    GetOp,
    Item,
    ListNamespacesOp,
    Op,
    PutOp,
    Result,
    SearchItem,
    SearchOp,
    TTLConfig,
    ensure_embeddings,
    get_text_at_path,
    tokenize_path,
)
from typing_extensions import Self

from ..application.store import (
    GetRequest,
    ItemWrite,
    NamespacesRequest,
    ReadRequest,
    ScoredItem,
    SearchRequest,
    StoreService,
)
from ..domain.errors import ConfigurationError, InvalidInputError
from ..domain.models import StoreItem
from ._async import run_blocking

__all__ = ["RepositoryStore", "INDEX_OPTIONS", "TTL_OPTIONS"]

_LANGGRAPH_INDEX_OPTIONS = ("dims", "embed", "fields")
_VALKEY_INDEX_OPTIONS = (
    "collection_name",
    "timezone",
    "index_type",
    "hnsw_m",
    "hnsw_ef_construction",
    "hnsw_ef_runtime",
    "distance_metric",
)
INDEX_OPTIONS = frozenset(_LANGGRAPH_INDEX_OPTIONS + _VALKEY_INDEX_OPTIONS)
"""Keys accepted in ``index``: LangGraph's IndexConfig plus the Valkey seed's options."""

TTL_OPTIONS = frozenset({"default_ttl", "refresh_on_read", "sweep_interval_minutes", "omit_expired"})
"""Keys accepted in ``ttl`` (LangGraph's TTLConfig)."""

_TokenizedPath = tuple[str, Any]


def _positive_int(config: Mapping[str, Any], name: str) -> None:
    value = config.get(name)
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value <= 0):
        raise ConfigurationError(f"index.{name} must be a positive integer, got {value!r}")


def _positive_number(config: Mapping[str, Any], name: str) -> None:
    value = config.get(name)
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0):
        raise ConfigurationError(f"ttl.{name} must be a positive number of minutes or None, got {value!r}")


def _tokenized(paths: Iterable[str], where: str, error: type[Exception] = ConfigurationError) -> list[_TokenizedPath]:
    """Field paths paired with their parsed form (``$`` is the whole document)."""
    out: list[_TokenizedPath] = []
    for path in paths:
        if not isinstance(path, str) or not path:
            raise error(f"{where} must be a list of non-empty field paths, got {path!r}")
        out.append((path, path if path == "$" else tokenize_path(path)))
    return out


def _metric_name(metric: Any) -> str:
    name = str(metric).lower()
    return "ip" if name == "inner_product" else name


class _PrecomputedEmbeddings:
    """An Embedder answering from vectors computed beforehand on the event loop."""

    def __init__(self, documents: Mapping[str, list[float]], queries: Mapping[str, list[float]]) -> None:
        self._documents = documents
        self._queries = queries

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self._documents[text] for text in texts]

    def embed_query(self, text: str) -> list[float]:
        return self._queries[text]


class RepositoryStore(BaseStore):
    """A LangGraph store over any ItemRepository (and VectorIndex), sync and async.

    Args:
        service: the store use cases, wired to repositories by the container.
        index: semantic search configuration: LangGraph's IndexConfig keys
            (``dims``, ``embed``, ``fields``) and the Valkey seed's options
            (``collection_name``, ``timezone``, ``index_type``, ``hnsw_m``,
            ``hnsw_ef_construction``, ``hnsw_ef_runtime``). ``embed`` may be a
            LangChain Embeddings object, a function from texts to vectors (sync
            or async) or a ``"provider:model"`` string. ``timezone`` sets the
            zone of returned timestamps (default UTC).
        ttl: LangGraph's TTLConfig; TTLs are in minutes.

    Raises:
        ConfigurationError: an option is unknown or invalid (the message names it).
    """

    supports_ttl: bool = True

    def __init__(
        self,
        service: StoreService,
        *,
        index: Optional[Mapping[str, Any]] = None,
        ttl: Optional[TTLConfig] = None,
        container: Optional[Any] = None,
    ) -> None:
        self.service = service
        self._container = container
        self.index_config: Optional[dict[str, Any]] = None
        self.embeddings: Optional[Embeddings] = None
        self._fields: list[_TokenizedPath] = []
        self._timezone: tzinfo = timezone.utc
        if index:
            self._configure_index(dict(index))
        self.ttl_config = self._check_ttl_config(ttl)
        self._sweeper_stop: Optional[threading.Event] = None
        self._sweeper: Optional[concurrent.futures.Future[None]] = None

    # -- configuration --------------------------------------------------------------
    def _configure_index(self, config: dict[str, Any]) -> None:
        unknown = sorted(set(config) - INDEX_OPTIONS)
        if unknown:
            raise ConfigurationError(
                f"index.{unknown[0]}: unknown option (accepted: {', '.join(sorted(INDEX_OPTIONS))})"
            )
        if config.get("embed") is None:
            raise ConfigurationError("index.embed is required: an Embeddings object, a function or 'provider:model'")
        if self.service.vectors is None:
            raise ConfigurationError("index is configured but the StoreService has no vector index")
        for option in ("dims", "hnsw_m", "hnsw_ef_construction", "hnsw_ef_runtime"):
            _positive_int(config, option)
        metric = config.get("distance_metric")
        if metric is not None and str(metric).lower() not in ("cosine", "l2", "ip", "inner_product"):
            raise ConfigurationError(f"index.distance_metric must be 'cosine', 'l2' or 'ip', got {metric!r}")
        wanted = _metric_name(metric or "cosine")
        scoring = _metric_name(getattr(self.service.vectors, "metric", "cosine"))
        if wanted != scoring:
            raise ConfigurationError(
                f"index.distance_metric is {metric!r} but this backend's vector index scores by {scoring}"
            )
        index_type = config.get("index_type")
        if index_type is not None and str(index_type).lower() not in ("hnsw", "flat"):
            raise ConfigurationError(f"index.index_type must be 'hnsw' or 'flat', got {index_type!r}")
        collection = config.get("collection_name")
        if collection is not None and (not isinstance(collection, str) or not collection):
            raise ConfigurationError(f"index.collection_name must be a non-empty string, got {collection!r}")
        zone = config.get("timezone")
        if zone is not None:
            try:
                self._timezone = ZoneInfo(str(zone))
            except (ZoneInfoNotFoundError, ValueError) as exc:
                raise ConfigurationError(f"index.timezone: unknown time zone {zone!r}") from exc
        fields = config.get("fields") or ["$"]
        if isinstance(fields, str) or not isinstance(fields, Sequence):
            raise ConfigurationError(f"index.fields must be a list of field paths, got {fields!r}")
        self._fields = _tokenized(fields, "index.fields")
        try:
            self.embeddings = ensure_embeddings(config["embed"])
        except ValueError as exc:
            raise ConfigurationError(f"index.embed: {exc}") from exc
        self.index_config = config

    @staticmethod
    def _check_ttl_config(ttl: Optional[Mapping[str, Any]]) -> Optional[TTLConfig]:
        if ttl is None:
            return None
        unknown = sorted(set(ttl) - TTL_OPTIONS)
        if unknown:
            raise ConfigurationError(f"ttl.{unknown[0]}: unknown option (accepted: {', '.join(sorted(TTL_OPTIONS))})")
        _positive_number(ttl, "default_ttl")
        _positive_number(ttl, "sweep_interval_minutes")
        for flag in ("refresh_on_read", "omit_expired"):
            if flag in ttl and not isinstance(ttl[flag], bool):
                raise ConfigurationError(f"ttl.{flag} must be a bool, got {ttl[flag]!r}")
        return TTLConfig(**ttl)  # type: ignore[typeddict-item]

    @property
    def _dims(self) -> Optional[int]:
        return self.index_config.get("dims") if self.index_config else None

    # -- mapping ----------------------------------------------------------------------
    def _time(self, posix: float) -> datetime:
        return datetime.fromtimestamp(posix, tz=self._timezone)

    def _item(self, stored: StoreItem) -> Item:
        return Item(
            value=dict(stored.value),
            key=stored.key,
            namespace=stored.namespace,
            created_at=self._time(stored.created_at),
            updated_at=self._time(stored.updated_at),
        )

    def _search_item(self, hit: ScoredItem) -> SearchItem:
        return SearchItem(
            namespace=hit.item.namespace,
            key=hit.item.key,
            value=dict(hit.item.value),
            created_at=self._time(hit.item.created_at),
            updated_at=self._time(hit.item.updated_at),
            score=hit.score,
        )

    def _texts(self, op: PutOp) -> Optional[dict[str, str]]:
        """Field path -> text to embed for one put (LangGraph's path rules)."""
        if self.embeddings is None or op.index is False or not isinstance(op.value, Mapping):
            return None
        if op.index is None:
            paths = self._fields
        elif isinstance(op.index, (list, tuple)):
            paths = _tokenized(op.index, f"index of put {op.key!r}", InvalidInputError)
        else:
            raise InvalidInputError(f"index of put {op.key!r} must be False, None or a list of paths, got {op.index!r}")
        texts: dict[str, str] = {}
        for path, tokens in paths:
            found = get_text_at_path(op.value, tokens)
            if len(found) == 1:
                texts[path] = found[0]
            else:
                texts.update((f"{path}.{i}", text) for i, text in enumerate(found))
        return texts

    # -- batch --------------------------------------------------------------------------
    def _requests(self, ops: Sequence[Op]) -> tuple[list[ReadRequest], list[int], list[ItemWrite]]:
        """The batch as the service's reads (with their op positions) and writes."""
        reads: list[ReadRequest] = []
        positions: list[int] = []
        writes: list[ItemWrite] = []
        for i, op in enumerate(ops):
            if isinstance(op, PutOp):
                writes.append(ItemWrite(op.namespace, op.key, op.value, ttl_minutes=op.ttl, texts=self._texts(op)))
                continue
            if isinstance(op, GetOp):
                reads.append(GetRequest(op.namespace, op.key, bool(op.refresh_ttl)))
            elif isinstance(op, SearchOp):
                reads.append(
                    SearchRequest(op.namespace_prefix, op.query, op.filter, op.limit, op.offset, op.refresh_ttl)
                )
            elif isinstance(op, ListNamespacesOp):
                conditions = tuple((c.match_type, c.path) for c in op.match_conditions or ())
                reads.append(NamespacesRequest(conditions, op.max_depth, op.limit, op.offset))
            else:
                raise InvalidInputError(f"unknown store operation: {type(op).__name__}")
            positions.append(i)
        return reads, positions, writes

    def _results(self, ops: Sequence[Op], positions: list[int], answers: list[Any]) -> list[Result]:
        results: list[Result] = [None] * len(ops)
        for i, answer in zip(positions, answers):
            op = ops[i]
            if isinstance(op, GetOp):
                results[i] = None if answer is None else self._item(answer)
            elif isinstance(op, SearchOp):
                results[i] = [self._search_item(hit) for hit in answer]
            else:
                results[i] = answer
        return results

    def batch(self, ops: Iterable[Op]) -> list[Result]:
        """Run operations in one batch; reads see the state before its writes, results follow ``ops``."""
        ops = list(ops)
        reads, positions, writes = self._requests(ops)
        answers = self.service.batch(reads, writes, embedder=self.embeddings, dims=self._dims)
        return self._results(ops, positions, answers)

    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        """Run operations in one batch without blocking the event loop.

        Embeddings are computed on the loop with the embedder's async API; the
        storage calls use the backend's async client when it has one, else run
        in the executor the store's container owns.
        """
        ops = list(ops)
        reads, positions, writes = self._requests(ops)
        embedder = await self._aembed(ops, writes)
        answers = await self.service.abatch(reads, writes, embedder=embedder, dims=self._dims)
        return self._results(ops, positions, answers)

    async def _aembed(self, ops: Sequence[Op], writes: Sequence[ItemWrite]) -> Optional[_PrecomputedEmbeddings]:
        if self.embeddings is None:
            return None
        texts = list(dict.fromkeys(text for w in writes for text in (w.texts or {}).values()))
        queries = list(dict.fromkeys(op.query for op in ops if isinstance(op, SearchOp) and op.query))
        documents: dict[str, list[float]] = {}
        if texts:
            vectors = await self.embeddings.aembed_documents(texts)
            if len(vectors) != len(texts):
                raise ConfigurationError(f"the embedder returned {len(vectors)} vectors for {len(texts)} texts")
            documents = dict(zip(texts, vectors))
        query_vectors = await asyncio.gather(*(self.embeddings.aembed_query(q) for q in queries))
        return _PrecomputedEmbeddings(documents, dict(zip(queries, query_vectors)))

    # -- lifecycle ------------------------------------------------------------------------
    def setup(self) -> None:
        """Prepare the backend (indexes, tables) where it needs it; idempotent."""
        self.service.setup()

    async def asetup(self) -> None:
        """Async :meth:`setup`."""
        await self.service.asetup()

    def sweep_ttl(self) -> int:
        """Delete expired items now; returns how many were deleted."""
        return self.service.sweep_expired()

    async def asweep_ttl(self) -> int:
        """Async :meth:`sweep_ttl`."""
        return await self.service.asweep_expired()

    def start_ttl_sweeper(self, sweep_interval_minutes: Optional[float] = None) -> concurrent.futures.Future[None]:
        """Sweep expired items periodically in a daemon thread until :meth:`stop_ttl_sweeper`.

        Args:
            sweep_interval_minutes: minutes between sweeps (default: the ttl
                config's ``sweep_interval_minutes``, else 5).

        Returns:
            A future that completes when the sweeper stops.
        """
        if self._sweeper is not None and not self._sweeper.done():
            return self._sweeper
        interval = sweep_interval_minutes or (self.ttl_config or {}).get("sweep_interval_minutes") or 5
        _positive_number({"sweep_interval_minutes": interval}, "sweep_interval_minutes")
        stop = threading.Event()
        future: concurrent.futures.Future[None] = concurrent.futures.Future()

        def run() -> None:
            try:
                while not stop.wait(float(interval) * 60.0):
                    self.sweep_ttl()
            except BaseException as exc:  # surfaced through the future
                future.set_exception(exc)
            else:
                future.set_result(None)

        self._sweeper_stop, self._sweeper = stop, future
        threading.Thread(target=run, name="store-ttl-sweeper", daemon=True).start()
        return future

    def stop_ttl_sweeper(self, timeout: Optional[float] = None) -> bool:
        """Stop the sweeper; returns whether it stopped within ``timeout`` seconds."""
        if self._sweeper is None or self._sweeper_stop is None:
            return True
        self._sweeper_stop.set()
        try:
            self._sweeper.exception(timeout=timeout)
        except concurrent.futures.TimeoutError:
            return False
        return True

    def close(self) -> None:
        """Stop the TTL sweeper and release what this store's container built (borrowed clients stay open)."""
        self.stop_ttl_sweeper()
        container, self._container = self._container, None
        if container is not None:
            container.shutdown_resources()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await run_blocking(self.close)
