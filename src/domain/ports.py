"""Ports: the small Protocols that adapters implement and use cases depend on.

Checkpoints have one small core port, ``CheckpointRepository``, that every
backend implements, and optional capability ports, each stated as an intent.
Use cases check for a capability with ``isinstance`` (the Protocols are
runtime-checkable), never for a backend's name; where a capability is absent
they fall back to the core port or raise ``UnsupportedOperationError``.

Every port has an ``Async`` twin with the same methods as coroutines (and
``list_checkpoints`` as an async iterator). An async binding uses the async
adapter of its backend when one exists, so the user's async client is used as
given; the use cases are written once for both (see ``application.effects``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Iterable, Iterator, Mapping, Sequence
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
    "AncestryReader",
    "CheckpointPruner",
    "ThreadTransfer",
    "ThreadLister",
    "ActorLister",
    "ResourceProvisioner",
    "AsyncCheckpointRepository",
    "AsyncAncestryReader",
    "AsyncCheckpointPruner",
    "AsyncThreadTransfer",
    "AsyncThreadLister",
    "AsyncActorLister",
    "AsyncResourceProvisioner",
    "BlobStore",
    "AsyncBlobStore",
    "LayoutProbe",
    "ItemKey",
    "ItemVectors",
    "ItemRepository",
    "AsyncItemRepository",
    "VectorIndex",
    "AsyncVectorIndex",
    "TextSearchIndex",
    "Embedder",
    "CacheRepository",
    "Clock",
    "BlobRef",
]

BlobRef = tuple[str, str]
"""A blob's address inside one (thread, namespace): ``(channel, version)``."""


# -- checkpoints: the core ------------------------------------------------------------
@runtime_checkable
class CheckpointRepository(Protocol):
    """Stores checkpoints, the blobs of the channels they changed, and pending writes.

    A checkpoint and the blobs written with it form one aggregate: adapters
    should store them in one round trip where the backend allows it, and a
    crash must never leave a checkpoint visible without its blobs.
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

    def list_checkpoints(self, query: CheckpointQuery) -> Iterable[CheckpointRecord]:
        """Records matching ``query``, newest checkpoint id first, with blobs and writes."""

    def delete_thread(self, thread_id: str, actor_id: Optional[str] = None) -> None:
        """Delete every namespace of a thread (of every actor when ``actor_id`` is None)."""


# -- checkpoints: capabilities --------------------------------------------------------
@runtime_checkable
class AncestryReader(Protocol):
    """Bulk reads along a checkpoint's ancestry (history of delta channels).

    With it, ``get_delta_channel_history`` costs three calls however long the
    ancestry is; without it the use case walks parents one ``get_checkpoint``
    at a time.
    """

    def scan_checkpoints(
        self, thread: ThreadKey, checkpoint_ns: Optional[str] = None
    ) -> Iterable[StoredCheckpoint]:
        """Every checkpoint header of a thread (one namespace or all), any order."""

    def get_blobs(
        self, thread: ThreadKey, checkpoint_ns: str, refs: Sequence[BlobRef]
    ) -> dict[BlobRef, ChannelBlob]:
        """The stored blobs among ``refs``; missing ones are absent from the result."""

    def get_writes(
        self, thread: ThreadKey, checkpoint_ns: str, checkpoint_ids: Sequence[str]
    ) -> dict[str, list[StoredWrite]]:
        """Pending writes per checkpoint id, each list in LangGraph order."""


@runtime_checkable
class CheckpointPruner(Protocol):
    """Removes checkpoints of one namespace, keeping the given ones."""

    def prune(self, thread: ThreadKey, checkpoint_ns: str, keep_ids: Collection[str]) -> None:
        """Delete every checkpoint of ``(thread, checkpoint_ns)`` not in ``keep_ids``.

        Their writes go with them, and the adapter removes whatever else the
        survivors no longer reference (channel blobs, events), in a bounded
        number of calls.
        """


@runtime_checkable
class ThreadTransfer(Protocol):
    """Moves a whole thread in and out in bulk (copy and migration).

    Without it, copy reads through ``list_checkpoints`` and writes through
    ``put_checkpoint``/``put_writes``.
    """

    def export_thread(self, thread: ThreadKey) -> ThreadData:
        """Everything stored for a thread."""

    def import_thread(self, data: ThreadData) -> None:
        """Store everything in ``data``."""


@runtime_checkable
class ThreadLister(Protocol):
    """Enumerates the threads that hold data (inspection, migration)."""

    def list_threads(self) -> Iterator[ThreadKey]:
        """Every thread (and actor) with at least one checkpoint; each once, any order."""


@runtime_checkable
class ActorLister(Protocol):
    """Names the actors of one thread, so thread-id-only operations (copy, prune) can act on each.

    Without it, the use cases filter ``ThreadLister.list_threads`` (every
    thread of the backend), or raise ``UnsupportedOperationError``.
    """

    def list_actors(self, thread_id: str) -> Sequence[ThreadKey]:
        """A ThreadKey per actor of ``thread_id`` holding at least one checkpoint; each once, any order."""


@runtime_checkable
class ResourceProvisioner(Protocol):
    """Creates and checks the backend resources a repository needs (tables, buckets, scripts)."""

    def setup(self) -> None:
        """Create what is missing (idempotent); for development and tests."""

    def verify(self) -> None:
        """Raise NotFoundError or ConfigurationError naming what is missing or wrong."""


# -- async twins ----------------------------------------------------------------------
@runtime_checkable
class AsyncCheckpointRepository(Protocol):
    """``CheckpointRepository`` on an async client."""

    async def put_checkpoint(self, checkpoint: StoredCheckpoint, blobs: Sequence[ChannelBlob]) -> None:
        """See ``CheckpointRepository.put_checkpoint``."""

    async def put_writes(self, writes: Sequence[StoredWrite]) -> None:
        """See ``CheckpointRepository.put_writes``."""

    async def get_checkpoint(self, key: CheckpointKey) -> Optional[CheckpointRecord]:
        """See ``CheckpointRepository.get_checkpoint``."""

    def list_checkpoints(self, query: CheckpointQuery) -> AsyncIterator[CheckpointRecord]:
        """See ``CheckpointRepository.list_checkpoints``."""

    async def delete_thread(self, thread_id: str, actor_id: Optional[str] = None) -> None:
        """See ``CheckpointRepository.delete_thread``."""


@runtime_checkable
class AsyncAncestryReader(Protocol):
    """``AncestryReader`` on an async client."""

    async def scan_checkpoints(
        self, thread: ThreadKey, checkpoint_ns: Optional[str] = None
    ) -> list[StoredCheckpoint]:
        """See ``AncestryReader.scan_checkpoints``."""

    async def get_blobs(
        self, thread: ThreadKey, checkpoint_ns: str, refs: Sequence[BlobRef]
    ) -> dict[BlobRef, ChannelBlob]:
        """See ``AncestryReader.get_blobs``."""

    async def get_writes(
        self, thread: ThreadKey, checkpoint_ns: str, checkpoint_ids: Sequence[str]
    ) -> dict[str, list[StoredWrite]]:
        """See ``AncestryReader.get_writes``."""


@runtime_checkable
class AsyncCheckpointPruner(Protocol):
    """``CheckpointPruner`` on an async client."""

    async def prune(self, thread: ThreadKey, checkpoint_ns: str, keep_ids: Collection[str]) -> None:
        """See ``CheckpointPruner.prune``."""


@runtime_checkable
class AsyncThreadTransfer(Protocol):
    """``ThreadTransfer`` on an async client."""

    async def export_thread(self, thread: ThreadKey) -> ThreadData:
        """See ``ThreadTransfer.export_thread``."""

    async def import_thread(self, data: ThreadData) -> None:
        """See ``ThreadTransfer.import_thread``."""


@runtime_checkable
class AsyncThreadLister(Protocol):
    """``ThreadLister`` on an async client."""

    def list_threads(self) -> AsyncIterator[ThreadKey]:
        """See ``ThreadLister.list_threads``."""


@runtime_checkable
class AsyncActorLister(Protocol):
    """``ActorLister`` on an async client."""

    async def list_actors(self, thread_id: str) -> Sequence[ThreadKey]:
        """See ``ActorLister.list_actors``."""


@runtime_checkable
class AsyncResourceProvisioner(Protocol):
    """``ResourceProvisioner`` on an async client."""

    async def setup(self) -> None:
        """See ``ResourceProvisioner.setup``."""

    async def verify(self) -> None:
        """See ``ResourceProvisioner.verify``."""


# -- large payloads -------------------------------------------------------------------
@runtime_checkable
class LayoutProbe(Protocol):
    """Tells whether the backend holds a thread in another package's layout (a migration source)."""

    def foreign_layout(self, thread: ThreadKey) -> Optional[str]:
        """The name of the foreign layout holding ``thread`` here, or None."""


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
class AsyncBlobStore(Protocol):
    """``BlobStore`` on an async client."""

    async def put_object(self, key: str, data: bytes, *, expires_in_days: Optional[int] = None) -> None:
        """See ``BlobStore.put_object``."""

    async def get_objects(self, keys: Sequence[str]) -> dict[str, bytes]:
        """See ``BlobStore.get_objects``."""

    async def delete_objects(self, keys: Sequence[str]) -> None:
        """See ``BlobStore.delete_objects``."""

    async def delete_prefix(self, prefix: str) -> None:
        """See ``BlobStore.delete_prefix``."""


# -- store and cache ------------------------------------------------------------------
ItemKey = tuple[tuple[str, ...], str]
"""An item's identity in the store: ``(namespace, key)``."""

ItemVectors = Mapping[str, Sequence[float]]
"""An item's embeddings: field path -> vector (one per indexed field path)."""


@runtime_checkable
class ItemRepository(Protocol):
    """Stores long-term memory items by ``(namespace, key)``, with their vectors.

    Every method takes ``now`` (POSIX seconds) from the caller's clock: an
    item whose ``expires_at`` is at or before ``now`` is absent from every
    read. One call is one round trip on a networked backend, whatever the
    number of keys.
    """

    def get_items(self, keys: Sequence[ItemKey], *, now: float, refresh: bool = False) -> dict[ItemKey, StoreItem]:
        """The live items among ``keys``.

        With ``refresh``, each returned item that has a ``ttl_minutes`` gets
        ``expires_at = now + ttl_minutes * 60`` (stored, and returned so).
        """

    def write_items(
        self,
        upserts: Sequence[StoreItem],
        deletes: Sequence[ItemKey],
        *,
        vectors: Mapping[ItemKey, ItemVectors],
        now: float,
    ) -> None:
        """Insert or replace ``upserts`` and delete ``deletes`` (missing keys are ignored).

        A replaced item keeps its stored ``created_at``. Each upserted item's
        vectors become ``vectors.get(key, {})``: an item written without
        vectors is no longer found by similarity.
        """

    def scan_items(self, namespace_prefix: tuple[str, ...], *, now: float) -> Iterable[StoreItem]:
        """Every live item whose namespace starts with ``namespace_prefix``."""

    def list_namespaces(self, *, now: float) -> Iterable[tuple[str, ...]]:
        """Every namespace that holds at least one live item."""

    def purge_expired(self, now: float) -> int:
        """Delete items whose expiry has passed; returns how many."""


@runtime_checkable
class AsyncItemRepository(Protocol):
    """``ItemRepository`` on an async client."""

    async def get_items(
        self, keys: Sequence[ItemKey], *, now: float, refresh: bool = False
    ) -> dict[ItemKey, StoreItem]:
        """See ``ItemRepository.get_items``."""

    async def write_items(
        self,
        upserts: Sequence[StoreItem],
        deletes: Sequence[ItemKey],
        *,
        vectors: Mapping[ItemKey, ItemVectors],
        now: float,
    ) -> None:
        """See ``ItemRepository.write_items``."""

    async def scan_items(self, namespace_prefix: tuple[str, ...], *, now: float) -> Iterable[StoreItem]:
        """See ``ItemRepository.scan_items``."""

    async def list_namespaces(self, *, now: float) -> Iterable[tuple[str, ...]]:
        """See ``ItemRepository.list_namespaces``."""

    async def purge_expired(self, now: float) -> int:
        """See ``ItemRepository.purge_expired``."""


@runtime_checkable
class VectorIndex(Protocol):
    """Nearest-neighbour search over the vectors ``ItemRepository.write_items`` stored."""

    def query(
        self,
        vector: Sequence[float],
        namespace_prefix: tuple[str, ...],
        candidates: int,
    ) -> list[tuple[tuple[str, ...], str, float]]:
        """The ``candidates`` best items as ``(namespace, key, score)``, best first.

        An item scores by its best vector; higher score = more similar. Fewer
        than ``candidates`` hits means there are no more. Hits may name items
        that have expired since: callers read the items and drop those.
        """


@runtime_checkable
class AsyncVectorIndex(Protocol):
    """``VectorIndex`` on an async client."""

    async def query(
        self,
        vector: Sequence[float],
        namespace_prefix: tuple[str, ...],
        candidates: int,
    ) -> list[tuple[tuple[str, ...], str, float]]:
        """See ``VectorIndex.query``."""


@runtime_checkable
class TextSearchIndex(Protocol):
    """Search by a text query that the backend ranks itself (AgentCore Memory's RetrieveMemoryRecords)."""

    def search_text(
        self, query: str, namespace_prefix: tuple[str, ...], candidates: int, *, now: float
    ) -> list[tuple[StoreItem, float]]:
        """The ``candidates`` most relevant live items under the prefix with their scores, best first.

        Higher score = more relevant. Fewer than ``candidates`` hits means
        there are no more; an index that cannot rank that many raises
        ``UnsupportedOperationError`` naming the limit.
        """


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
