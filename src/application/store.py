"""Store use cases: LangGraph's long-term memory semantics over ItemRepository and VectorIndex."""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Callable, Optional, Union

import attrs

from ..domain.errors import ConfigurationError, InvalidInputError
from ..domain.models import StoreItem
from ..domain.policies import (
    item_matches,
    namespace_matches,
    validate_item_filter,
    validate_labels,
    validate_namespace,
)
from ..domain.ports import Embedder, ItemRepository, VectorIndex

__all__ = [
    "StoreService",
    "ItemWrite",
    "ScoredItem",
    "ItemKey",
    "EmbedderLike",
    "DefaultTTL",
    "DEFAULT_TTL",
]

ItemKey = tuple[tuple[str, ...], str]
"""An item's identity: ``(namespace, key)``."""

EmbedderLike = Union[Embedder, Callable[[list[str]], Sequence[Sequence[float]]]]
"""An Embedder port, or a plain function from texts to vectors."""

_MATCH_TYPES = ("prefix", "suffix")


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
    records on their own.

    Args:
        items: where items are kept.
        vectors: nearest-neighbour index for semantic search (None: search
            ignores queries and ranks nothing).
        clock: time source in POSIX seconds (injected in tests).
        default_ttl_minutes: TTL of writes that ask for ``DEFAULT_TTL``.
        refresh_on_read: whether reads refresh TTLs when the caller does not say.
    """

    def __init__(
        self,
        *,
        items: ItemRepository,
        vectors: Optional[VectorIndex] = None,
        clock: Callable[[], float] = time.time,
        default_ttl_minutes: Optional[float] = None,
        refresh_on_read: bool = True,
    ) -> None:
        self.items = items
        self.vectors = vectors
        self.clock = clock
        self.default_ttl_minutes = _check_ttl(default_ttl_minutes, "default_ttl_minutes")
        self.refresh_on_read = bool(refresh_on_read)

    # -- lifecycle ------------------------------------------------------------------
    def setup(self) -> None:
        """Let ports that need one-time preparation (indexes, tables) do it."""
        for port in (self.items, self.vectors):
            prepare = getattr(port, "setup", None)
            if callable(prepare):
                prepare()

    def sweep_expired(self) -> int:
        """Delete every expired item now; returns how many were deleted."""
        return self.items.purge_expired(self.clock())

    # -- reads ------------------------------------------------------------------------
    def get(self, keys: Iterable[ItemKey], *, refresh_ttl: Optional[bool] = None) -> dict[ItemKey, StoreItem]:
        """The live items among ``keys``, with their TTLs refreshed when asked.

        Args:
            keys: ``(namespace, key)`` pairs.
            refresh_ttl: restart the TTL of returned items (None: service default).

        Returns:
            The items found, by ``(namespace, key)``.
        """
        wanted: list[ItemKey] = []
        for pair in keys:
            namespace, key = self._split_key(pair)
            wanted.append((namespace, key))
        if not wanted:
            return {}
        found = self.items.get_items(list(dict.fromkeys(wanted)))
        if self._refresh(refresh_ttl):
            found = self._touch(found)
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
        prefix = validate_labels(namespace_prefix, "namespace_prefix")
        validate_item_filter(filter)
        limit = _check_count(limit, "limit")
        offset = _check_count(offset, "offset")
        if query is not None and not isinstance(query, str):
            raise InvalidInputError(f"query must be a str or None, got {type(query).__name__}")
        if limit == 0:
            return []
        if query and embedder is not None and self.vectors is not None:
            hits = self._ranked(prefix, query, filter, offset + limit, embedder, dims, self.vectors)
        else:
            matching = [i for i in self.items.scan_items(prefix) if item_matches(i.value, filter)]
            matching.sort(key=_newest_first)
            hits = [ScoredItem(i) for i in matching]
        page = hits[offset : offset + limit]
        if page and self._refresh(refresh_ttl):
            touched = self._touch({(h.item.namespace, h.item.key): h.item for h in page})
            page = [ScoredItem(touched[(h.item.namespace, h.item.key)], h.score) for h in page]
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
        checks: list[tuple[tuple[str, ...], bool]] = []
        if prefix is not None:
            checks.append((validate_labels(prefix, "prefix"), False))
        if suffix is not None:
            checks.append((validate_labels(suffix, "suffix"), True))
        for condition in conditions:
            try:
                match_type, path = condition
            except (TypeError, ValueError):
                raise InvalidInputError(
                    f"match conditions must be (match_type, path) pairs, got {condition!r}"
                ) from None
            if match_type not in _MATCH_TYPES:
                raise InvalidInputError(f"match_type must be 'prefix' or 'suffix', got {match_type!r}")
            checks.append((validate_labels(path, f"{match_type} path"), match_type == "suffix"))
        if max_depth is not None:
            max_depth = _check_count(max_depth, "max_depth", minimum=1)
        limit = _check_count(limit, "limit")
        offset = _check_count(offset, "offset")
        selected = {
            tuple(ns)
            for ns in self.items.list_namespaces()
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
        """Apply a batch of writes; the last write of a key wins.

        Replacing an item keeps its ``created_at`` and moves ``updated_at``.
        Texts are embedded (each distinct text once) before anything is
        written, so an embedder failure leaves the store untouched. With an
        ``embedder``, an item written without texts loses its old vectors.

        Args:
            writes: inserts, replacements and deletes (``value=None``).
            embedder: turns ``ItemWrite.texts`` into vectors.
            dims: expected vector length, checked when given.
        """
        latest: dict[ItemKey, ItemWrite] = {}
        for write in writes:
            self._check_write(write)
            ident = (write.namespace, write.key)
            latest.pop(ident, None)  # re-insert so batch order follows the last write
            latest[ident] = write
        if not latest:
            return
        upserts = [w for w in latest.values() if w.value is not None]
        deletes = [ident for ident, w in latest.items() if w.value is None]
        vectors = self._embed_writes(upserts, embedder, dims)
        now = self.clock()
        existing = self.items.get_items([(w.namespace, w.key) for w in upserts]) if upserts else {}
        stored: list[StoreItem] = []
        for write in upserts:
            ttl = self.default_ttl_minutes if isinstance(write.ttl_minutes, DefaultTTL) else write.ttl_minutes
            previous = existing.get((write.namespace, write.key))
            stored.append(
                StoreItem(
                    namespace=write.namespace,
                    key=write.key,
                    value=dict(write.value or {}),
                    created_at=previous.created_at if previous is not None else now,
                    updated_at=now,
                    expires_at=None if ttl is None else now + ttl * 60.0,
                    ttl_minutes=ttl,
                )
            )
        if stored:
            self.items.put_items(stored)
        if deletes:
            self.items.delete_items(deletes)
        if self.vectors is not None:
            for (namespace, key), by_path in vectors.items():
                self.vectors.upsert(namespace, key, by_path)
            stale = list(deletes)
            if embedder is not None:
                stale.extend((w.namespace, w.key) for w in upserts if (w.namespace, w.key) not in vectors)
            if stale:
                self.vectors.remove(stale)

    def delete(self, keys: Iterable[ItemKey]) -> None:
        """Delete items and their vectors; missing keys are ignored."""
        wanted = [self._split_key(pair) for pair in keys]
        if not wanted:
            return
        self.items.delete_items(wanted)
        if self.vectors is not None:
            self.vectors.remove(wanted)

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

    def _touch(self, found: dict[ItemKey, StoreItem]) -> dict[ItemKey, StoreItem]:
        """Restart the TTL of the items that have one; returns them with the new expiry."""
        now = self.clock()
        expiries = {
            ident: now + item.ttl_minutes * 60.0 for ident, item in found.items() if item.ttl_minutes is not None
        }
        if not expiries:
            return found
        self.items.touch_items(list(expiries), expiries)
        return {
            ident: attrs.evolve(item, expires_at=expiries[ident]) if ident in expiries else item
            for ident, item in found.items()
        }

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

    def _ranked(
        self,
        prefix: tuple[str, ...],
        query: str,
        flt: Optional[Mapping[str, Any]],
        wanted: int,
        embedder: EmbedderLike,
        dims: Optional[int],
        index: VectorIndex,
    ) -> list[ScoredItem]:
        """Hits ranked by similarity, at least ``wanted`` of them when that many match."""
        vector = _embed_query(embedder, query)
        _check_dims(vector, dims)
        candidates = max(wanted * 2, 16)
        while True:
            hits = index.query(vector, prefix, candidates)
            found = self.items.get_items([(ns, key) for ns, key, _ in hits])
            # Vectors whose item expired or vanished are dropped here, lazily.
            orphans = [(ns, key) for ns, key, _ in hits if (tuple(ns), key) not in found]
            if orphans:
                index.remove(orphans)
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
            unscored = [
                i
                for i in self.items.scan_items(prefix)
                if (i.namespace, i.key) not in scored and item_matches(i.value, flt)
            ]
            unscored.sort(key=_newest_first)
            ranked.extend(ScoredItem(i) for i in unscored[: wanted - len(ranked)])
        return ranked
