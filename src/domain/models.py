"""Domain values: checkpoints, writes, channel blobs, store items and cache entries.

Payloads are ``Payload(type_tag, data)`` exactly as a LangGraph serializer's
``dumps_typed`` returns them; the domain never decodes ``data``. Checkpoint
metadata and channel versions are kept as plain JSON values so that backends
can filter on them server-side.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Optional, Union

import attrs

__all__ = [
    "JSONValue",
    "Version",
    "Payload",
    "ThreadKey",
    "CheckpointKey",
    "ChannelBlob",
    "StoredCheckpoint",
    "StoredWrite",
    "CheckpointRecord",
    "CheckpointQuery",
    "ThreadData",
    "StoreItem",
    "CacheEntry",
    "ChannelHistory",
]

JSONValue = Any
Version = Union[str, int, float]


def _freeze_mapping(value: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return dict(value or {})


# Typed converters: ``converter=tuple`` would make mypy's attrs plugin type
# every argument as ``Iterable[_T_co]``.
def _blobs(value: Iterable[ChannelBlob]) -> tuple[ChannelBlob, ...]:
    return tuple(value)


def _writes(value: Iterable[StoredWrite]) -> tuple[StoredWrite, ...]:
    return tuple(value)


def _checkpoints(value: Iterable[StoredCheckpoint]) -> tuple[StoredCheckpoint, ...]:
    return tuple(value)


def _ns_blobs(value: Iterable[tuple[str, ChannelBlob]]) -> tuple[tuple[str, ChannelBlob], ...]:
    return tuple(value)


def _labels(value: Iterable[str]) -> tuple[str, ...]:
    return tuple(value)


@attrs.frozen
class Payload:
    """A serialized value: the serializer's type tag and its bytes.

    ``type_tag == "empty"`` marks a channel that has a version but no value
    (LangGraph's convention for channels cleared in a step).
    """

    type_tag: str
    data: bytes = attrs.field(converter=bytes)

    @property
    def size(self) -> int:
        """Bytes this payload takes, tag included."""
        return len(self.data) + len(self.type_tag)

    def as_tuple(self) -> tuple[str, bytes]:
        """The ``(type_tag, data)`` pair a LangGraph serializer expects."""
        return (self.type_tag, self.data)


EMPTY_PAYLOAD = Payload("empty", b"")


def _require_str(name: str):  # type: ignore[no-untyped-def]
    def check(_inst: object, _attr: object, value: object) -> None:
        if not isinstance(value, str):
            raise TypeError(f"{name} must be a str, got {type(value).__name__}")

    return check


@attrs.frozen
class ThreadKey:
    """Identity of a thread: its id and, for AgentCore layouts, the actor.

    Ids are arbitrary strings; adapters must encode them so that distinct ids
    never share a key.
    """

    thread_id: str = attrs.field(validator=_require_str("thread_id"))
    actor_id: Optional[str] = None


@attrs.frozen
class CheckpointKey:
    """Identity of one checkpoint, or of the latest one when ``checkpoint_id`` is None."""

    thread: ThreadKey
    checkpoint_ns: str = ""
    checkpoint_id: Optional[str] = None


@attrs.frozen
class ChannelBlob:
    """The value of one channel at one version, shared by every checkpoint that uses it."""

    channel: str
    version: str
    payload: Payload


@attrs.frozen
class StoredCheckpoint:
    """A checkpoint header.

    ``payload`` is the serialized checkpoint without ``channel_values`` and
    ``channel_versions``; the versions are kept here as plain values (they
    locate the channel blobs) and metadata as plain JSON (it is filtered on).
    ``metadata_payload`` holds a typed copy of the metadata only when its JSON
    projection would lose information.
    """

    thread: ThreadKey
    checkpoint_ns: str
    checkpoint_id: str
    parent_checkpoint_id: Optional[str]
    payload: Payload
    channel_versions: Mapping[str, Version] = attrs.field(converter=_freeze_mapping)
    metadata: Mapping[str, JSONValue] = attrs.field(converter=_freeze_mapping)
    metadata_payload: Optional[Payload] = None

    @property
    def key(self) -> CheckpointKey:
        """This checkpoint's identity."""
        return CheckpointKey(self.thread, self.checkpoint_ns, self.checkpoint_id)


@attrs.frozen
class StoredWrite:
    """One pending write of a task against a checkpoint.

    ``idx`` is the write's position in its task's batch; negative values mark
    LangGraph's special channels (errors, interrupts...), which are upserted,
    while non-negative ones are written once (first write wins).
    """

    thread: ThreadKey
    checkpoint_ns: str
    checkpoint_id: str
    task_id: str
    idx: int
    channel: str
    payload: Payload
    task_path: str = ""

    @property
    def sort_key(self) -> tuple[str, str, int]:
        """LangGraph's replay order: ``(task_path, task_id, idx)``."""
        return (self.task_path, self.task_id, self.idx)


@attrs.frozen
class CheckpointRecord:
    """A checkpoint with the blobs of its channel versions and its pending writes."""

    checkpoint: StoredCheckpoint
    blobs: tuple[ChannelBlob, ...] = attrs.field(converter=_blobs, factory=tuple)
    writes: tuple[StoredWrite, ...] = attrs.field(converter=_writes, factory=tuple)


@attrs.frozen
class ChannelHistory:
    """One channel's history along a checkpoint's ancestry (oldest write first)."""

    writes: tuple[StoredWrite, ...]
    seed: Optional[ChannelBlob] = None


@attrs.frozen
class CheckpointQuery:
    """What ``list`` asks for; every adapter must honour every field.

    Attributes:
        thread: the thread, or None for every thread.
        checkpoint_ns: one namespace, or None for every namespace.
        checkpoint_id: only this checkpoint.
        before_id: only checkpoints whose id sorts before this one.
        metadata_filter: metadata keys that must equal the given JSON values.
        limit: at most this many records (None: all).
        headers_only: blobs and writes are not needed.
    """

    thread: Optional[ThreadKey] = None
    checkpoint_ns: Optional[str] = None
    checkpoint_id: Optional[str] = None
    before_id: Optional[str] = None
    metadata_filter: Mapping[str, JSONValue] = attrs.field(converter=_freeze_mapping, factory=dict)
    limit: Optional[int] = None
    headers_only: bool = False
    """When True, adapters may return records without blobs and writes."""


@attrs.frozen
class ThreadData:
    """Everything stored for one thread: the unit of copy, export and migration."""

    thread: ThreadKey
    checkpoints: tuple[StoredCheckpoint, ...] = attrs.field(converter=_checkpoints, factory=tuple)
    blobs: tuple[tuple[str, ChannelBlob], ...] = attrs.field(converter=_ns_blobs, factory=tuple)
    """Pairs of (checkpoint_ns, blob)."""
    writes: tuple[StoredWrite, ...] = attrs.field(converter=_writes, factory=tuple)

    def retarget(self, thread: ThreadKey) -> ThreadData:
        """The same data under another thread identity."""
        return ThreadData(
            thread=thread,
            checkpoints=tuple(attrs.evolve(c, thread=thread) for c in self.checkpoints),
            blobs=self.blobs,
            writes=tuple(attrs.evolve(w, thread=thread) for w in self.writes),
        )


@attrs.frozen
class StoreItem:
    """A long-term memory item of the store.

    ``expires_at`` is an absolute POSIX time or None; ``ttl_minutes`` is kept
    so that reads can refresh the expiry.
    """

    namespace: tuple[str, ...] = attrs.field(converter=_labels)
    key: str
    value: Mapping[str, JSONValue] = attrs.field(converter=_freeze_mapping)
    created_at: float
    updated_at: float
    expires_at: Optional[float] = None
    ttl_minutes: Optional[float] = None


@attrs.frozen
class CacheEntry:
    """A cached value under ``(namespace, key)`` with an absolute expiry (or None)."""

    namespace: tuple[str, ...] = attrs.field(converter=_labels)
    key: str
    payload: Payload
    expires_at: Optional[float] = None
