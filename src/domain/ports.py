"""Ports: the small Protocols that adapters implement and use cases depend on.

Every port is synchronous. Async bindings run use cases in worker threads, so
one adapter per backend serves both LangGraph APIs and never blocks the loop.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Optional, Protocol, runtime_checkable

from .models import (
    CacheEntry,
    ChannelBlob,
    CheckpointKey,
    CheckpointQuery,
    CheckpointRecord,
    StoredCheckpoint,
    StoredWrite,
    StoreItem,
    ThreadData,
    ThreadKey,
)

__all__ = [
    "CheckpointRepository",
    "BlobStore",
    "ItemRepository",
    "VectorIndex",
    "Embedder",
    "CacheRepository",
    "Clock",
    "BlobRef",
]

BlobRef = tuple[str, str]
"""A blob's address inside one (thread, namespace): ``(channel, version)``."""


@runtime_checkable
class CheckpointRepository(Protocol):
    """Stores checkpoints, their per-channel blobs and their pending writes.

    A checkpoint and the blobs written with it form one aggregate: adapters
    should store them in one round trip where the backend allows it.
    """

    def put_checkpoint(self, checkpoint: StoredCheckpoint, blobs: Sequence[ChannelBlob]) -> None:
        """Store a checkpoint header and the blobs of the channels that changed.

        Re-putting the same checkpoint id replaces it (never duplicates it).
        """

    def put_writes(self, writes: Sequence[StoredWrite]) -> None:
        """Store pending writes of one checkpoint.

        Writes with ``idx >= 0`` are kept if already present for
        ``(task_id, idx)``; writes with ``idx < 0`` replace what is there.
        """

    def get_checkpoint(self, key: CheckpointKey) -> Optional[CheckpointRecord]:
        """The checkpoint (latest in its namespace when ``checkpoint_id`` is None).

        The record holds the blobs of every version in ``channel_versions``
        that is stored, and the writes in ``(task_path, task_id, idx)`` order.
        """

    def list_checkpoints(self, query: CheckpointQuery) -> Iterator[CheckpointRecord]:
        """Records matching ``query``, newest checkpoint id first, with blobs and writes."""

    def scan_checkpoints(
        self, thread: ThreadKey, checkpoint_ns: Optional[str] = None
    ) -> Iterator[StoredCheckpoint]:
        """Every checkpoint header of a thread (one namespace or all), any order."""

    def get_blobs(
        self, thread: ThreadKey, checkpoint_ns: str, refs: Sequence[BlobRef]
    ) -> dict[BlobRef, ChannelBlob]:
        """The stored blobs among ``refs``; missing ones are absent from the result."""

    def get_writes(
        self, thread: ThreadKey, checkpoint_ns: str, checkpoint_ids: Sequence[str]
    ) -> dict[str, list[StoredWrite]]:
        """Pending writes per checkpoint id, each list in LangGraph order."""

    def delete_thread(self, thread_id: str, actor_id: Optional[str] = None) -> None:
        """Delete every namespace of a thread (of every actor when ``actor_id`` is None)."""

    def delete_checkpoints(
        self, thread: ThreadKey, checkpoint_ns: str, checkpoint_ids: Sequence[str]
    ) -> None:
        """Delete checkpoints and their writes (blobs are left to ``delete_blobs``)."""

    def delete_blobs(self, thread: ThreadKey, checkpoint_ns: str, refs: Sequence[BlobRef]) -> None:
        """Delete blobs no checkpoint references any more."""

    def export_thread(self, thread: ThreadKey) -> ThreadData:
        """Everything stored for a thread."""

    def import_thread(self, data: ThreadData) -> None:
        """Store everything in ``data`` (used by copy and migration)."""


@runtime_checkable
class BlobStore(Protocol):
    """An object store for payloads too large for the primary backend (S3)."""

    def put_object(self, key: str, data: bytes, *, expires_in_days: Optional[int] = None) -> None:
        """Store ``data`` under ``key`` (tagged for lifecycle expiry when given)."""

    def get_objects(self, keys: Sequence[str]) -> dict[str, bytes]:
        """The objects that exist among ``keys``."""

    def delete_objects(self, keys: Sequence[str]) -> None:
        """Delete objects; missing keys are ignored."""

    def delete_prefix(self, prefix: str) -> None:
        """Delete every object whose key starts with ``prefix``."""


@runtime_checkable
class ItemRepository(Protocol):
    """Stores long-term memory items by ``(namespace, key)``."""

    def get_items(
        self, keys: Sequence[tuple[tuple[str, ...], str]]
    ) -> dict[tuple[tuple[str, ...], str], StoreItem]:
        """The items that exist (expired items count as absent)."""

    def put_items(self, items: Sequence[StoreItem]) -> None:
        """Insert or replace items."""

    def delete_items(self, keys: Sequence[tuple[tuple[str, ...], str]]) -> None:
        """Delete items; missing keys are ignored."""

    def touch_items(
        self, keys: Sequence[tuple[tuple[str, ...], str]], expires_at: Mapping[tuple[tuple[str, ...], str], float]
    ) -> None:
        """Move the expiry of existing items (TTL refresh on read)."""

    def scan_items(self, namespace_prefix: tuple[str, ...]) -> Iterator[StoreItem]:
        """Every live item whose namespace starts with ``namespace_prefix``."""

    def list_namespaces(self) -> Iterable[tuple[str, ...]]:
        """Every namespace that holds at least one live item."""

    def purge_expired(self, now: float) -> int:
        """Delete items whose expiry has passed; returns how many."""


@runtime_checkable
class VectorIndex(Protocol):
    """Nearest-neighbour search over item embeddings (one vector per indexed field path)."""

    def upsert(
        self, namespace: tuple[str, ...], key: str, vectors: Mapping[str, Sequence[float]]
    ) -> None:
        """Replace the vectors of an item (field path -> vector)."""

    def remove(self, keys: Sequence[tuple[tuple[str, ...], str]]) -> None:
        """Forget the vectors of items."""

    def query(
        self,
        vector: Sequence[float],
        namespace_prefix: tuple[str, ...],
        candidates: int,
    ) -> list[tuple[tuple[str, ...], str, float]]:
        """Best matches as ``(namespace, key, score)``, higher score = more similar."""


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into vectors (LangChain ``Embeddings`` fits this)."""

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Vectors for documents."""

    def embed_query(self, text: str) -> list[float]:
        """Vector for a query."""


@runtime_checkable
class CacheRepository(Protocol):
    """Stores cache entries by ``(namespace, key)``."""

    def get_entries(
        self, keys: Sequence[tuple[tuple[str, ...], str]]
    ) -> dict[tuple[tuple[str, ...], str], CacheEntry]:
        """Live entries among ``keys``."""

    def set_entries(self, entries: Sequence[CacheEntry]) -> None:
        """Insert or replace entries."""

    def clear(self, namespaces: Optional[Sequence[tuple[str, ...]]] = None) -> None:
        """Delete entries of the given namespaces (all when None)."""


class Clock(Protocol):
    """Wall-clock time in POSIX seconds; injected so TTL tests need not sleep."""

    def __call__(self) -> float:
        """Now."""
