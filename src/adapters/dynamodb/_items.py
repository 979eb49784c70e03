"""Item encoding and decoding of the DynamoDB checkpoint table (headers, writes, blobs).

Pure functions over DynamoDB attribute values: nothing here calls AWS. The
key layout itself (sort-key encoding) is in ``_layout``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Optional

from ...domain.errors import CorruptRecordError
from ...domain.models import (
    EMPTY_PAYLOAD,
    ChannelBlob,
    Payload,
    StoredCheckpoint,
    StoredWrite,
    ThreadKey,
)
from ._layout import blob_sk, from_av, header_sk, partition_key, to_av

__all__ = [
    "Item",
    "Group",
    "primary_key",
    "key_of",
    "text",
    "header_item",
    "blob_item",
    "writes_update",
    "metadata_av",
    "metadata_name",
    "metadata_value",
    "ttl_update",
    "parse_header",
    "parse_header_refs",
    "parse_blob",
    "parse_writes",
    "parse_thread",
    "ordered_writes",
    "group_items",
    "HEADER",
    "WRITES",
    "BLOB",
]

Item = dict[str, Any]
"""One DynamoDB item (attribute name -> attribute value)."""

Group = tuple[StoredCheckpoint, list[StoredWrite]]
"""A checkpoint header with the pending writes found next to it."""

HEADER, WRITES, BLOB = "h", "w", "b"
"""Values of the ``k`` attribute: the kind of an item."""

_DECODE_ERRORS = (KeyError, TypeError, ValueError, AttributeError)

_KEY_ESCAPE = "~"
"""Prefix of metadata map keys that cannot be stored as they are (see ``metadata_name``)."""


# -- metadata: JSON values as DynamoDB maps, under keys DynamoDB accepts ------------------------
def metadata_name(key: str) -> str:
    """The map key that stores metadata key ``key``, at any depth.

    DynamoDB rejects empty attribute names, and LangGraph's subgraph
    checkpoints carry ``parents={"": <id>}``. An empty key becomes ``"~"`` and
    a key starting with ``"~"`` gets one more, so the encoding is injective,
    every stored name is non-empty, and ordinary keys are stored as they are
    (a FilterExpression names them through ExpressionAttributeNames, so ``.``,
    ``#``, ``:`` and unicode need nothing).
    """
    key = str(key)
    return _KEY_ESCAPE + key if key == "" or key.startswith(_KEY_ESCAPE) else key


def _metadata_key(name: str) -> str:
    """Inverse of ``metadata_name``."""
    return name[1:] if name.startswith(_KEY_ESCAPE) else name


def metadata_av(value: Any) -> dict[str, Any]:
    """A metadata (JSON) value as an attribute value, its map keys encoded by ``metadata_name``.

    Used for the stored ``md`` map and for filter values alike, so nested maps
    compare equal on the server. NaN and infinities have no DynamoDB number:
    the saver's JSON projection already holds null for them (the typed copy
    keeps the exact value), and a filter on one compares with that null as on
    Valkey.
    """
    if isinstance(value, float) and not math.isfinite(value):
        return {"NULL": True}
    if isinstance(value, Mapping):
        return {"M": {metadata_name(k): metadata_av(v) for k, v in value.items()}}
    if isinstance(value, (list, tuple)):
        return {"L": [metadata_av(v) for v in value]}
    return to_av(value)


def metadata_value(av: Mapping[str, Any]) -> Any:
    """The metadata value of an attribute value written by ``metadata_av``."""
    (kind, raw), = av.items()
    if kind == "M":
        return {_metadata_key(k): metadata_value(v) for k, v in raw.items()}
    if kind == "L":
        return [metadata_value(v) for v in raw]
    return from_av(av)


def primary_key(pk: str, sk: str) -> Item:
    """The primary key of an item."""
    return {"PK": {"S": pk}, "SK": {"S": sk}}


def key_of(item: Mapping[str, Any]) -> tuple[str, str]:
    """``(PK, SK)`` of an item or key, as plain strings."""
    return item["PK"]["S"], item["SK"]["S"]


def text(item: Mapping[str, Any], name: str, default: Optional[str] = None) -> Optional[str]:
    """A string attribute, or ``default`` when absent."""
    av = item.get(name)
    return default if av is None else av.get("S", default)


def _common(thread: ThreadKey, ns: str, kind: str, expires: Optional[int]) -> Item:
    item: Item = {"k": {"S": kind}, "th": {"S": thread.thread_id}, "ns": {"S": ns}}
    if thread.actor_id is not None:
        item["ac"] = {"S": thread.actor_id}
    if expires is not None:
        item["ttl"] = {"N": str(expires)}
    return item


def header_item(cp: StoredCheckpoint, expires: Optional[int]) -> Item:
    """The header item of a checkpoint (versions and metadata as maps)."""
    item = primary_key(partition_key(cp.thread.thread_id), header_sk(cp.thread.actor_id, cp.checkpoint_ns, cp.checkpoint_id))
    item.update(_common(cp.thread, cp.checkpoint_ns, HEADER, expires))
    item.update(
        {
            "cid": {"S": cp.checkpoint_id},
            "t": {"S": cp.payload.type_tag},
            "d": {"B": cp.payload.data},
            "cv": to_av(dict(cp.channel_versions)),
            "md": metadata_av(dict(cp.metadata)),
        }
    )
    if cp.parent_checkpoint_id is not None:
        item["p"] = {"S": cp.parent_checkpoint_id}
    if cp.metadata_payload is not None:
        item["mt"] = {"S": cp.metadata_payload.type_tag}
        item["mb"] = {"B": cp.metadata_payload.data}
    return item


def blob_item(thread: ThreadKey, ns: str, blob: ChannelBlob, expires: Optional[int]) -> Item:
    """The item of one channel value at one version."""
    item = primary_key(partition_key(thread.thread_id), blob_sk(thread.actor_id, ns, blob.channel, blob.version))
    item.update(_common(thread, ns, BLOB, expires))
    item.update(
        {
            "ch": {"S": blob.channel},
            "v": {"S": blob.version},
            "t": {"S": blob.payload.type_tag},
            "d": {"B": blob.payload.data},
        }
    )
    return item


def writes_update(table_name: str, sk: str, chunk: Sequence[StoredWrite], expires: Optional[int]) -> dict[str, Any]:
    """UpdateItem parameters storing writes of one task in one item.

    ``SET x<idx> = if_not_exists(x<idx>, :v)`` keeps the first write of a
    regular ``idx >= 0``; special writes (``idx < 0``) are upserted.
    """
    first = chunk[0]
    names = {"#k": "k", "#th": "th", "#ns": "ns", "#cid": "cid", "#tid": "tid", "#tp": "tp"}
    values: dict[str, Any] = {
        ":k": {"S": WRITES},
        ":th": {"S": first.thread.thread_id},
        ":ns": {"S": first.checkpoint_ns},
        ":cid": {"S": first.checkpoint_id},
        ":tid": {"S": first.task_id},
        ":tp": {"S": first.task_path},
    }
    clauses = ["#k = :k", "#th = :th", "#ns = :ns", "#cid = :cid", "#tid = :tid", "#tp = :tp"]
    if first.thread.actor_id is not None:
        names["#ac"] = "ac"
        values[":ac"] = {"S": first.thread.actor_id}
        clauses.append("#ac = :ac")
    if expires is not None:
        names["#ttl"] = "ttl"
        values[":ttl"] = {"N": str(expires)}
        clauses.append("#ttl = :ttl")
    for i, w in enumerate(chunk):
        names[f"#x{i}"] = f"x{w.idx}"
        values[f":x{i}"] = {"M": {"c": {"S": w.channel}, "t": {"S": w.payload.type_tag}, "d": {"B": w.payload.data}}}
        clauses.append(f"#x{i} = if_not_exists(#x{i}, :x{i})" if w.idx >= 0 else f"#x{i} = :x{i}")
    return {
        "TableName": table_name,
        "Key": primary_key(partition_key(first.thread.thread_id), sk),
        "UpdateExpression": "SET " + ", ".join(clauses),
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
    }


def ttl_update(table_name: str, item_key: Item, expires: Optional[int]) -> dict[str, Any]:
    """UpdateItem parameters moving the ``ttl`` of an item that must still exist."""
    return {
        "TableName": table_name,
        "Key": item_key,
        "UpdateExpression": "SET #ttl = :ttl",
        "ConditionExpression": "attribute_exists(PK)",
        "ExpressionAttributeNames": {"#ttl": "ttl"},
        "ExpressionAttributeValues": {":ttl": {"N": str(expires)}},
    }


def _corrupt(table_name: str, item: Mapping[str, Any], exc: Exception) -> CorruptRecordError:
    where = f"{text(item, 'PK', '?')!r}/{text(item, 'SK', '?')!r}"
    return CorruptRecordError(
        f"DynamoDB table {table_name!r}: item {where} is corrupt ({type(exc).__name__}: {exc})"
    )


def parse_thread(item: Mapping[str, Any]) -> ThreadKey:
    """The thread (and actor) an item belongs to."""
    return ThreadKey(item["th"]["S"], text(item, "ac"))


def parse_header(table_name: str, item: Mapping[str, Any]) -> StoredCheckpoint:
    """A checkpoint header item; CorruptRecordError naming its keys when malformed."""
    try:
        metadata_payload = None
        if "mt" in item:
            metadata_payload = Payload(item["mt"]["S"], item["mb"]["B"])
        return StoredCheckpoint(
            thread=parse_thread(item),
            checkpoint_ns=item["ns"]["S"],
            checkpoint_id=item["cid"]["S"],
            parent_checkpoint_id=text(item, "p"),
            payload=Payload(item["t"]["S"], item["d"]["B"]),
            channel_versions=from_av(item["cv"]),
            metadata=metadata_value(item["md"]),
            metadata_payload=metadata_payload,
        )
    except _DECODE_ERRORS as exc:
        raise _corrupt(table_name, item, exc) from exc


def parse_header_refs(table_name: str, item: Mapping[str, Any]) -> StoredCheckpoint:
    """A header read with a projection of ``th, ac, ns, cid, cv`` only (payload left empty)."""
    try:
        return StoredCheckpoint(
            thread=parse_thread(item),
            checkpoint_ns=item["ns"]["S"],
            checkpoint_id=item["cid"]["S"],
            parent_checkpoint_id=None,
            payload=EMPTY_PAYLOAD,
            channel_versions=from_av(item["cv"]),
            metadata={},
        )
    except _DECODE_ERRORS as exc:
        raise _corrupt(table_name, item, exc) from exc


def parse_blob(table_name: str, item: Mapping[str, Any]) -> ChannelBlob:
    """A channel blob item."""
    try:
        return ChannelBlob(item["ch"]["S"], item["v"]["S"], Payload(item["t"]["S"], item["d"]["B"]))
    except _DECODE_ERRORS as exc:
        raise _corrupt(table_name, item, exc) from exc


def parse_writes(table_name: str, item: Mapping[str, Any]) -> list[StoredWrite]:
    """The writes held by one writes item (one per ``x<idx>`` attribute)."""
    try:
        thread = parse_thread(item)
        out = []
        for name, av in item.items():
            if not name.startswith("x"):
                continue
            value = av["M"]
            out.append(
                StoredWrite(
                    thread=thread,
                    checkpoint_ns=item["ns"]["S"],
                    checkpoint_id=item["cid"]["S"],
                    task_id=item["tid"]["S"],
                    idx=int(name[1:]),
                    channel=value["c"]["S"],
                    payload=Payload(value["t"]["S"], value["d"]["B"]),
                    task_path=text(item, "tp", "") or "",
                )
            )
        return out
    except _DECODE_ERRORS as exc:
        raise _corrupt(table_name, item, exc) from exc


def ordered_writes(writes: Iterable[StoredWrite]) -> list[StoredWrite]:
    """Writes without duplicates of ``(task_id, idx)``, in LangGraph's order."""
    unique: dict[tuple[str, int], StoredWrite] = {}
    for w in writes:
        unique.setdefault((w.task_id, w.idx), w)
    return sorted(unique.values(), key=lambda w: w.sort_key)


def group_items(table_name: str, items: Iterable[Mapping[str, Any]], *, stop_after: Optional[int] = None) -> list[Group]:
    """Headers with their writes, from a descending query (a group's writes come before its header).

    Stops consuming ``items`` after ``stop_after`` groups, so a lazy query
    fetches no page it does not need.
    """
    groups: list[Group] = []
    pending: dict[tuple[str, str], list[StoredWrite]] = {}
    for item in items:
        kind = text(item, "k")
        if kind == WRITES:
            for w in parse_writes(table_name, item):
                pending.setdefault((w.checkpoint_ns, w.checkpoint_id), []).append(w)
        elif kind == HEADER:
            cp = parse_header(table_name, item)
            groups.append((cp, pending.pop((cp.checkpoint_ns, cp.checkpoint_id), [])))
            if stop_after is not None and len(groups) >= stop_after:
                break
    return groups
