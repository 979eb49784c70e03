"""What every legacy reader shares: splitting a whole-state checkpoint into this project's records.

The published packages store each checkpoint whole: one serialized
``Checkpoint`` (LangGraph serde: a type tag and bytes, almost always
``msgpack``) holding ``channel_values`` inline. This project stores a header
without values plus one ``ChannelBlob`` per ``(channel, version)`` (see
``langgraph_bindings.checkpoint.RepositorySaver._to_stored``). ``split_checkpoint``
turns the one into the other without deserializing a single value: msgpack is
decoded structurally, every extension object (messages, Send, pydantic models,
datetimes...) is kept as its raw ``Ext`` bytes, and the parts are re-encoded,
so what a JsonPlusSerializer reads from the parts is what it read from the whole.
"""

from __future__ import annotations

import abc
import base64
import binascii
import hashlib
import json
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, Callable, Optional, TypeVar

import ormsgpack

from ...domain.errors import CorruptRecordError, UnsupportedOperationError
from ...domain.models import (
    EMPTY_PAYLOAD,
    ChannelBlob,
    CheckpointKey,
    CheckpointQuery,
    CheckpointRecord,
    Payload,
    StoredCheckpoint,
    StoredWrite,
    ThreadKey,
)
from ...domain.policies import is_plain_json, metadata_matches

__all__ = [
    "AWS_FORMAT",
    "S3_FORMAT",
    "SPECIAL_WRITE_IDX",
    "ReadOnlyRepository",
    "IdPagedReader",
    "SplitCheckpoint",
    "split_checkpoint",
    "split_envelope",
    "metadata_from_value",
    "metadata_from_json",
    "metadata_from_payload",
    "decode_msgpack",
    "filter_records",
    "wanted",
]

AWS_FORMAT = "langgraph-checkpoint-aws-1.2"
"""The format name of langgraph-checkpoint-aws 1.2.x layouts (DynamoDBSaver, ValkeySaver, AgentCoreValkeySaver)."""

S3_FORMAT = "langgraph-checkpoint-s3-0.1"
"""The format name of langgraph-checkpoint-s3 0.1.x layouts (S3CheckpointSaver)."""

SPECIAL_WRITE_IDX = {"__error__": -1, "__scheduled__": -2, "__interrupt__": -3, "__resume__": -4}
"""LangGraph's ``WRITES_IDX_MAP`` (adapters do not import LangGraph): the fixed index of special channels."""

_HEADER_DROPPED = ("channel_values", "channel_versions")
T = TypeVar("T")


def _keep_ext(code: int, data: bytes) -> ormsgpack.Ext:
    return ormsgpack.Ext(code, data)


def decode_msgpack(data: bytes, what: str) -> Any:
    """msgpack bytes as Python values, extension objects kept as raw ``ormsgpack.Ext``."""
    try:
        return ormsgpack.unpackb(data, ext_hook=_keep_ext, option=ormsgpack.OPT_NON_STR_KEYS)
    except (ormsgpack.MsgpackDecodeError, ValueError, TypeError) as exc:
        raise CorruptRecordError(f"{what}: not valid msgpack ({exc})") from exc


def _encode_msgpack(value: Any) -> bytes:
    return ormsgpack.packb(value, option=ormsgpack.OPT_NON_STR_KEYS)


class SplitCheckpoint:
    """A whole checkpoint split into this project's header, versions and blobs."""

    __slots__ = ("header", "channel_versions", "blobs")

    def __init__(self, header: Payload, channel_versions: dict[str, Any], blobs: list[ChannelBlob]) -> None:
        self.header = header
        self.channel_versions = channel_versions
        self.blobs = blobs


def _decode_checkpoint(type_tag: str, data: bytes, what: str) -> tuple[str, dict[str, Any]]:
    if type_tag == "msgpack":
        value = decode_msgpack(data, what)
    elif type_tag == "json":
        try:
            value = json.loads(data)
        except ValueError as exc:
            raise CorruptRecordError(f"{what}: not valid JSON ({exc})") from exc
    else:
        raise UnsupportedOperationError(
            f"{what}: checkpoints serialized as {type_tag!r} cannot be split into channel blobs "
            "without deserializing them (only 'msgpack' and 'json' can); migrate with the serializer "
            "that wrote them"
        )
    if not isinstance(value, dict):
        raise CorruptRecordError(f"{what}: the checkpoint is a {type(value).__name__}, not a map")
    return type_tag, value


def split_value(type_tag: str, value: Mapping[str, Any], what: str) -> SplitCheckpoint:
    """Split an already decoded checkpoint map (see ``split_checkpoint``)."""
    encode: Callable[[Any], bytes] = (
        _encode_msgpack if type_tag == "msgpack" else (lambda v: json.dumps(v).encode("utf-8"))
    )
    values = value.get("channel_values") or {}
    versions = value.get("channel_versions") or {}
    if not isinstance(values, dict) or not isinstance(versions, dict):
        raise CorruptRecordError(f"{what}: channel_values and channel_versions must be maps")
    header = {k: v for k, v in value.items() if k not in _HEADER_DROPPED}
    encoded = {ch: Payload(type_tag, encode(values[ch])) if ch in values else EMPTY_PAYLOAD for ch in versions}
    if any(_numeric(v) for v in versions.values()):
        versions = _string_versions(versions, encoded)
        seen = header.get("versions_seen")
        if isinstance(seen, dict):
            header["versions_seen"] = {
                node: {ch: versions[ch] if ch in versions and _same(v, value["channel_versions"][ch]) else _canonical(v)
                       for ch, v in chans.items()}
                if isinstance(chans, dict) else chans
                for node, chans in seen.items()
            }
    blobs = [ChannelBlob(str(ch), str(version), encoded[ch]) for ch, version in versions.items()]
    return SplitCheckpoint(Payload(type_tag, encode(header)), {str(k): v for k, v in versions.items()}, blobs)


def _numeric(version: Any) -> bool:
    return isinstance(version, (int, float)) and not isinstance(version, bool)


def _same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b


def _canonical(version: Any) -> Any:
    """A numeric version as a string version that sorts like it (strings stay as they are)."""
    return f"{int(version):032}.{'0' * 16}" if _numeric(version) else version


def _string_versions(versions: Mapping[str, Any], encoded: Mapping[str, Payload]) -> dict[str, Any]:
    """Numeric channel versions as string versions named by their value.

    Savers that number versions 1, 2, 3... (DynamoDBSaver 1.2, S3CheckpointSaver
    0.1: LangGraph's default ``get_next_version``) give a fork of the history
    the same version numbers as the branch it left, with other values. Those
    savers store whole states, so it did not matter to them; in this project's
    layout a blob is shared by every checkpoint naming its ``(channel,
    version)``, so each version also names its value here: ``<n:032>.<16 hex
    of the value's hash>``. The integer part keeps LangGraph's comparisons and
    ``get_next_version`` as they were, and every version of a checkpoint is a
    string, as this project's saver makes them, so a migrated thread goes on.
    """
    out: dict[str, Any] = {}
    for channel, version in versions.items():
        if not _numeric(version):
            out[channel] = version
            continue
        payload = encoded[channel]
        digest = hashlib.blake2b(payload.type_tag.encode() + b"\0" + payload.data, digest_size=8).hexdigest()
        out[channel] = f"{int(version):032}.{digest}"
    return out


def split_checkpoint(type_tag: str, data: bytes, what: str) -> SplitCheckpoint:
    """A serialized whole checkpoint as a header payload, its channel versions and one blob per version.

    Channels that have a version but no value get the empty payload, as this
    project's saver writes them.

    Raises:
        UnsupportedOperationError: the serializer's tag is neither msgpack nor json.
        CorruptRecordError: the bytes do not decode to a checkpoint map.
    """
    tag, value = _decode_checkpoint(type_tag, data, what)
    return split_value(tag, value, what)


def split_envelope(type_tag: str, data: bytes, what: str) -> tuple[SplitCheckpoint, dict[str, Any], Optional[Payload]]:
    """A serialized ``{"checkpoint": ..., "metadata": ...}`` map (DynamoDBSaver's payload), split.

    Returns the split checkpoint and the metadata as ``metadata_from_value`` gives it.
    """
    tag, value = _decode_checkpoint(type_tag, data, what)
    checkpoint = value.get("checkpoint")
    if not isinstance(checkpoint, dict):
        raise CorruptRecordError(f"{what}: no 'checkpoint' map in the stored payload")
    metadata, typed = metadata_from_value(value.get("metadata") or {}, what, tag)
    return split_value(tag, checkpoint, what), metadata, typed


def _project(value: Any) -> Any:
    """A strict-JSON stand-in for a value that is not plain JSON (what backends filter on)."""
    if isinstance(value, bool) or value is None or isinstance(value, (str, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _project(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_project(v) for v in value]
    if isinstance(value, ormsgpack.Ext):
        return "<msgpack ext>"
    return repr(value)


def metadata_from_value(value: Any, what: str, type_tag: str = "msgpack") -> tuple[dict[str, Any], Optional[Payload]]:
    """Metadata decoded from a payload: the plain-JSON projection, and a typed copy when it is not exact."""
    if not isinstance(value, dict):
        raise CorruptRecordError(f"{what}: metadata is a {type(value).__name__}, not a map")
    if is_plain_json(value):
        return dict(value), None
    typed = (
        Payload("msgpack", _encode_msgpack(value))
        if type_tag == "msgpack"
        else Payload("json", json.dumps(value).encode("utf-8"))
    )
    return _project(value), typed


def _has_lc_objects(value: Any) -> bool:
    if isinstance(value, dict):
        if value.get("lc") in (1, 2) and "type" in value and "id" in value:
            return True
        return any(_has_lc_objects(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_lc_objects(v) for v in value)
    return False


def metadata_from_json(raw: bytes, what: str, *, revived: bool) -> tuple[dict[str, Any], Optional[Payload]]:
    """Metadata stored as JSON text.

    Args:
        raw: the JSON bytes.
        revived: whether the published saver read it with LangGraph's JSON
            reviver (``serde.loads``, which turns ``{"lc": ...}`` constructor
            maps back into objects) rather than plain ``json.loads``.
    """
    try:
        value = json.loads(raw) if raw else {}
    except ValueError as exc:
        raise CorruptRecordError(f"{what}: metadata is not valid JSON ({exc})") from exc
    if not isinstance(value, dict):
        raise CorruptRecordError(f"{what}: metadata is a {type(value).__name__}, not a map")
    if revived and _has_lc_objects(value):
        return _project(value), Payload("json", bytes(raw))
    if is_plain_json(value):
        return value, None
    return _project(value), Payload("msgpack", _encode_msgpack(value))


def metadata_from_payload(type_tag: str, data: bytes, what: str) -> tuple[dict[str, Any], Optional[Payload]]:
    """Metadata stored as a serde payload (type tag and bytes), read as ``serde.loads_typed`` read it."""
    if type_tag == "msgpack":
        return metadata_from_value(decode_msgpack(data, what), what)
    if type_tag == "json":
        return metadata_from_json(data, what, revived=True)
    if type_tag == "null":
        return {}, None
    raise UnsupportedOperationError(f"{what}: metadata serialized as {type_tag!r} cannot be read without its serializer")


def wanted(checkpoint_id: str, ns: str, query: CheckpointQuery) -> bool:
    """Whether a checkpoint's identity passes the query's id, namespace and ``before`` fields."""
    if query.checkpoint_ns is not None and ns != query.checkpoint_ns:
        return False
    if query.checkpoint_id is not None and checkpoint_id != query.checkpoint_id:
        return False
    return not (query.before_id is not None and checkpoint_id >= query.before_id)


def filter_records(records: Iterable[CheckpointRecord], query: CheckpointQuery) -> Iterable[CheckpointRecord]:
    """Apply the metadata filter and the limit, in the order given (newest first)."""
    count = 0
    for record in records:
        if query.limit is not None and count >= query.limit:
            return
        if not metadata_matches(record.checkpoint.metadata, query.metadata_filter):
            continue
        count += 1
        yield record if not query.headers_only else CheckpointRecord(record.checkpoint)


def stored_checkpoint(
    thread: ThreadKey,
    ns: str,
    checkpoint_id: str,
    parent_id: Optional[str],
    split: SplitCheckpoint,
    metadata: Mapping[str, Any],
    metadata_payload: Optional[Payload],
) -> StoredCheckpoint:
    """The header record of a split checkpoint."""
    return StoredCheckpoint(
        thread=thread,
        checkpoint_ns=ns,
        checkpoint_id=checkpoint_id,
        parent_checkpoint_id=parent_id or None,
        payload=split.header,
        channel_versions=split.channel_versions,
        metadata=metadata,
        metadata_payload=metadata_payload,
    )


def number_writes(
    thread: ThreadKey,
    ns: str,
    checkpoint_id: str,
    entries: Sequence[tuple[str, str, Payload, str]],
) -> list[StoredWrite]:
    """Writes stored without their index, numbered as LangGraph numbered them when it put them.

    ``entries`` are ``(task_id, channel, payload, task_path)`` in stored order.
    Special channels take their fixed index; the others count up per task.
    """
    counters: dict[str, int] = {}
    out = []
    for task_id, channel, payload, task_path in entries:
        idx = SPECIAL_WRITE_IDX.get(channel)
        if idx is None:
            idx = counters.get(task_id, 0)
            counters[task_id] = idx + 1
        out.append(StoredWrite(thread, ns, checkpoint_id, task_id, idx, channel, payload, task_path))
    return out


def ordered(writes: Iterable[StoredWrite]) -> tuple[StoredWrite, ...]:
    """Writes in this project's replay order, ``(task_path, task_id, idx)``."""
    return tuple(sorted(writes, key=lambda w: w.sort_key))


def chunked(items: Sequence[T], size: int) -> Iterable[Sequence[T]]:
    """``items`` in slices of at most ``size``."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def decode_b64(value: Any, what: str) -> bytes:
    """Base64 text as bytes; anything else is a CorruptRecordError naming ``what``."""
    if not isinstance(value, str):
        raise CorruptRecordError(f"{what}: expected base64 text, got {type(value).__name__}")
    try:
        return base64.b64decode(value.encode("ascii"), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise CorruptRecordError(f"{what}: invalid base64 ({exc})") from exc


def decode_json(raw: Any, what: str) -> Any:
    """Parsed JSON; unreadable text is a CorruptRecordError naming ``what``."""
    try:
        return json.loads(raw)
    except (ValueError, TypeError) as exc:
        raise CorruptRecordError(f"{what}: not valid JSON ({exc})") from exc


class ReadOnlyRepository:
    """The write half of the core port, refused: a legacy layout is a migration source only."""

    source_name = "a published package's layout"
    format_name = AWS_FORMAT

    def _refuse(self, operation: str) -> UnsupportedOperationError:
        return UnsupportedOperationError(
            f"{operation}: {type(self).__name__} reads {self.source_name} ({self.format_name}) and is read-only; "
            "copy its threads into one of this project's savers with `langgraph-aws migrate`"
        )

    def put_checkpoint(self, checkpoint: StoredCheckpoint, blobs: Sequence[ChannelBlob]) -> None:
        raise self._refuse("put_checkpoint")

    def put_writes(self, writes: Sequence[StoredWrite]) -> None:
        raise self._refuse("put_writes")

    def delete_thread(self, thread_id: str, actor_id: Optional[str] = None) -> None:
        raise self._refuse("delete_thread")


class IdPagedReader(ReadOnlyRepository, abc.ABC):
    """The read half of the core port for layouts that list a namespace's checkpoint ids
    first and then fetch records by id, ``page_size`` ids a call (newest first)."""

    page_size = 16

    @abc.abstractmethod
    def _ids(self, thread: ThreadKey, ns: str) -> list[str]:
        """The checkpoint ids of a thread's namespace (any order)."""

    @abc.abstractmethod
    def _fetch(self, thread: ThreadKey, pairs: Sequence[tuple[str, str]], with_writes: bool) -> list[CheckpointRecord]:
        """The records of ``(namespace, checkpoint id)`` pairs found, with their writes when asked."""

    @abc.abstractmethod
    def _namespaces(self, thread: ThreadKey) -> list[str]:
        """The namespaces of a thread that hold checkpoints."""

    @abc.abstractmethod
    def list_threads(self) -> Iterator[ThreadKey]:
        """Every thread of the layout."""

    def _thread(self, thread: ThreadKey) -> ThreadKey:
        """The thread as this layout keys it (a hook: the identity here)."""
        return thread

    def get_checkpoint(self, key: CheckpointKey) -> Optional[CheckpointRecord]:
        thread = self._thread(key.thread)
        if key.checkpoint_id is not None:
            found = self._fetch(thread, [(key.checkpoint_ns, key.checkpoint_id)], True)
            return found[0] if found else None
        for page in chunked(sorted(self._ids(thread, key.checkpoint_ns), reverse=True), self.page_size):
            found = self._fetch(thread, [(key.checkpoint_ns, cid) for cid in page], True)
            if found:
                return found[0]
        return None

    def list_checkpoints(self, query: CheckpointQuery) -> Iterator[CheckpointRecord]:
        threads = [self._thread(query.thread)] if query.thread is not None else list(self.list_threads())
        for thread in threads:
            namespaces = [query.checkpoint_ns] if query.checkpoint_ns is not None else self._namespaces(thread)
            pairs = sorted(
                ((ns, cid) for ns in namespaces for cid in self._ids(thread, ns) if wanted(cid, ns, query)),
                key=lambda p: p[1],
                reverse=True,
            )
            yield from filter_records(self._pages(thread, pairs, not query.headers_only), query)

    def _pages(self, thread: ThreadKey, pairs: Sequence[tuple[str, str]], with_writes: bool) -> Iterator[CheckpointRecord]:
        for page in chunked(pairs, self.page_size):
            yield from self._fetch(thread, page, with_writes)
