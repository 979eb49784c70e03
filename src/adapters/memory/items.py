"""In-memory item repository and vector index for the long-term memory store.

Layout (plain dicts, each guarded by its own re-entrant lock):

- ``InMemoryItemRepository._items[namespace][key] -> StoreItem``
- ``InMemoryVectorIndex._vectors[(namespace, key)][field_path] -> (vector, norm)``

Namespaces are tuples used as dict keys, so labels need no encoding. Values
are deep-copied on the way in and out so callers never share mutable state
with the repository. Expired items read as absent and are dropped lazily. The
repository writes vectors into the index it was given, so that one
``write_items`` call keeps items and vectors consistent.
"""

from __future__ import annotations

import copy
import math
import threading
from collections.abc import Mapping, Sequence
from typing import Optional

import attrs

from ...domain.errors import InvalidInputError
from ...domain.models import StoreItem
from ...domain.ports import ItemVectors

__all__ = ["InMemoryItemRepository", "InMemoryVectorIndex"]

_ItemKey = tuple[tuple[str, ...], str]


def _isolated(item: StoreItem) -> StoreItem:
    """A copy of ``item`` whose value shares no mutable object with the original."""
    return attrs.evolve(item, value=copy.deepcopy(dict(item.value)))


class InMemoryItemRepository:
    """An ItemRepository in process memory.

    Args:
        vector_index: where the vectors of written items go (the one the
            store's searches query); None keeps no vectors.
    """

    def __init__(self, *, vector_index: Optional[InMemoryVectorIndex] = None) -> None:
        self._lock = threading.RLock()
        self._items: dict[tuple[str, ...], dict[str, StoreItem]] = {}
        self.vector_index = vector_index

    @staticmethod
    def _live(item: StoreItem, now: float) -> bool:
        return item.expires_at is None or item.expires_at > now

    def _lookup(self, namespace: tuple[str, ...], key: str, now: float) -> Optional[StoreItem]:
        item = self._items.get(namespace, {}).get(key)
        if item is None:
            return None
        if not self._live(item, now):
            self._remove(namespace, key)
            return None
        return item

    def _remove(self, namespace: tuple[str, ...], key: str) -> None:
        bucket = self._items.get(namespace)
        if bucket is not None:
            bucket.pop(key, None)
            if not bucket:
                del self._items[namespace]
        if self.vector_index is not None:
            self.vector_index.replace(namespace, key, {})

    def get_items(self, keys: Sequence[_ItemKey], *, now: float, refresh: bool = False) -> dict[_ItemKey, StoreItem]:
        """The live items among ``keys``; with ``refresh`` their TTLs restart at ``now``."""
        with self._lock:
            found: dict[_ItemKey, StoreItem] = {}
            for namespace, key in keys:
                ns = tuple(namespace)
                item = self._lookup(ns, key, now)
                if item is None:
                    continue
                if refresh and item.ttl_minutes is not None:
                    item = attrs.evolve(item, expires_at=now + item.ttl_minutes * 60.0)
                    self._items[ns][key] = item
                found[(ns, key)] = _isolated(item)
            return found

    def write_items(
        self,
        upserts: Sequence[StoreItem],
        deletes: Sequence[_ItemKey],
        *,
        vectors: Mapping[_ItemKey, ItemVectors],
        now: float,
    ) -> None:
        """Insert or replace items (keeping ``created_at``) with their vectors, and delete items."""
        with self._lock:
            for item in upserts:
                previous = self._lookup(item.namespace, item.key, now)
                if previous is not None:
                    item = attrs.evolve(item, created_at=previous.created_at)
                self._items.setdefault(item.namespace, {})[item.key] = _isolated(item)
                if self.vector_index is not None:
                    self.vector_index.replace(item.namespace, item.key, vectors.get((item.namespace, item.key), {}))
            for namespace, key in deletes:
                self._remove(tuple(namespace), key)

    def scan_items(self, namespace_prefix: tuple[str, ...], *, now: float) -> list[StoreItem]:
        """Every live item whose namespace starts with ``namespace_prefix`` (a snapshot)."""
        prefix = tuple(namespace_prefix)
        depth = len(prefix)
        with self._lock:
            return [
                _isolated(item)
                for namespace, bucket in self._items.items()
                if namespace[:depth] == prefix
                for item in bucket.values()
                if self._live(item, now)
            ]

    def list_namespaces(self, *, now: float) -> list[tuple[str, ...]]:
        """Every namespace holding at least one live item."""
        with self._lock:
            return [
                namespace
                for namespace, bucket in self._items.items()
                if any(self._live(item, now) for item in bucket.values())
            ]

    def purge_expired(self, now: float) -> int:
        """Delete items whose expiry is at or before ``now`` (and their vectors); returns how many."""
        with self._lock:
            expired = [
                (namespace, key)
                for namespace, bucket in self._items.items()
                for key, item in bucket.items()
                if not self._live(item, now)
            ]
            for namespace, key in expired:
                self._remove(namespace, key)
            return len(expired)


class InMemoryVectorIndex:
    """A VectorIndex in process memory: exact (brute-force) cosine similarity.

    An item may hold several vectors, one per indexed field path; its score is
    the best of them. Scores are cosine similarities in ``[-1, 1]``, higher is
    more similar; a zero vector scores 0.
    """

    metric = "cosine"
    """How hits are scored (the only metric this index offers)."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._vectors: dict[_ItemKey, dict[str, tuple[tuple[float, ...], float]]] = {}

    def replace(self, namespace: tuple[str, ...], key: str, vectors: ItemVectors) -> None:
        """Replace every vector of an item; an empty mapping forgets the item (called by the repository)."""
        prepared: dict[str, tuple[tuple[float, ...], float]] = {}
        for path, vector in vectors.items():
            values = tuple(float(v) for v in vector)
            prepared[path] = (values, math.sqrt(math.fsum(v * v for v in values)))
        with self._lock:
            if prepared:
                self._vectors[(tuple(namespace), key)] = prepared
            else:
                self._vectors.pop((tuple(namespace), key), None)

    def query(
        self,
        vector: Sequence[float],
        namespace_prefix: tuple[str, ...],
        candidates: int,
    ) -> list[tuple[tuple[str, ...], str, float]]:
        """The ``candidates`` best items under ``namespace_prefix``, best first.

        Raises:
            InvalidInputError: the query vector's length differs from a stored vector's.
        """
        if candidates <= 0:
            return []
        query = tuple(float(v) for v in vector)
        query_norm = math.sqrt(math.fsum(v * v for v in query))
        prefix = tuple(namespace_prefix)
        depth = len(prefix)
        with self._lock:
            entries = [(k, list(paths.values())) for k, paths in self._vectors.items() if k[0][:depth] == prefix]
        scored: list[tuple[tuple[str, ...], str, float]] = []
        for (namespace, key), stored in entries:
            best = -math.inf
            for values, norm in stored:
                if len(values) != len(query):
                    raise InvalidInputError(
                        f"query vector has {len(query)} dimensions but item {key!r} in "
                        f"{namespace!r} was indexed with {len(values)}"
                    )
                if norm == 0.0 or query_norm == 0.0:
                    score = 0.0
                else:
                    score = math.fsum(a * b for a, b in zip(query, values)) / (norm * query_norm)
                best = max(best, score)
            scored.append((namespace, key, best))
        scored.sort(key=lambda hit: (-hit[2], hit[0], hit[1]))
        return scored[:candidates]
