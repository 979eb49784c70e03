"""Object bodies of the S3 checkpoint repository: a compact JSON head line, then raw payload bytes.

Pure functions shared by the sync and the async repository. Every body is
``json(head) + b"\\n" + payload bytes`` (compact JSON never holds a raw
newline, so the first one ends the head); the head names the byte length of
each payload that follows. Payloads stay raw bytes (no base64): a header
costs its metadata as JSON plus the serialized checkpoint, a blob its value.

- header: ``{"v":1,"th","ac"?,"ns","id","p"?,"t","cv","md","mt"?,"e"?,"n":[len, len?]}``
  (``e``: channels whose value at their version is empty, so no blob to GET)
  then the checkpoint payload (and the typed metadata copy, when there is one);
- writes: ``{"v":1,"th","ac"?,"ns","id","task","path","w":[[idx, channel, tag, len], ...]}``
  then the payloads in that order;
- blob: the type tag, ``\\n``, the value's bytes (channel and version are in the key).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Optional

from ...domain.errors import CorruptRecordError
from ...domain.models import ChannelBlob, Payload, StoredCheckpoint, StoredWrite, ThreadKey

__all__ = [
    "encode_header",
    "decode_header",
    "decode_header_empties",
    "encode_writes",
    "decode_writes",
    "encode_blob",
    "decode_blob",
    "ordered_writes",
]

_FORMAT = 1
_DECODE_ERRORS = (KeyError, TypeError, ValueError, IndexError, AttributeError)


def _frame(head: dict[str, Any], parts: Iterable[bytes]) -> bytes:
    text = json.dumps(head, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return b"".join([text.encode("utf-8"), b"\n", *parts])


def _split(body: bytes) -> tuple[dict[str, Any], memoryview]:
    cut = body.index(b"\n")
    head = json.loads(body[:cut].decode("utf-8"))
    if not isinstance(head, dict) or head.get("v") != _FORMAT:
        raise ValueError(f"unknown record format {head.get('v') if isinstance(head, dict) else head!r}")
    return head, memoryview(body)[cut + 1 :]


def _thread_fields(thread: ThreadKey) -> dict[str, Any]:
    fields: dict[str, Any] = {"th": thread.thread_id}
    if thread.actor_id is not None:
        fields["ac"] = thread.actor_id
    return fields


def _corrupt(where: str, exc: Exception) -> CorruptRecordError:
    return CorruptRecordError(f"S3 object {where} is corrupt ({type(exc).__name__}: {exc})")


def encode_header(cp: StoredCheckpoint, empties: Optional[Mapping[str, str]] = None) -> bytes:
    """The body of a checkpoint header object.

    ``empties`` names channels whose value at their version is known to be
    empty (no blob object): reads skip their GETs.
    """
    head: dict[str, Any] = {"v": _FORMAT, **_thread_fields(cp.thread), "ns": cp.checkpoint_ns, "id": cp.checkpoint_id}
    if cp.parent_checkpoint_id is not None:
        head["p"] = cp.parent_checkpoint_id
    head["t"] = cp.payload.type_tag
    head["cv"] = dict(cp.channel_versions)
    head["md"] = dict(cp.metadata)
    parts = [cp.payload.data]
    if cp.metadata_payload is not None:
        head["mt"] = cp.metadata_payload.type_tag
        parts.append(cp.metadata_payload.data)
    if empties:
        head["e"] = dict(empties)
    head["n"] = [len(p) for p in parts]
    return _frame(head, parts)


def decode_header(body: bytes, where: str) -> StoredCheckpoint:
    """A header object's checkpoint; CorruptRecordError naming the key when malformed."""
    return decode_header_empties(body, where)[0]


def decode_header_empties(body: bytes, where: str) -> tuple[StoredCheckpoint, dict[str, str]]:
    """A header object's checkpoint and its known-empty channels (``{channel: version}``)."""
    try:
        head, rest = _split(body)
        empties = {str(k): str(v) for k, v in (head.get("e") or {}).items()}
        sizes = head["n"]
        data = bytes(rest[: sizes[0]])
        metadata_payload = None
        if "mt" in head:
            metadata_payload = Payload(head["mt"], bytes(rest[sizes[0] : sizes[0] + sizes[1]]))
        cp = StoredCheckpoint(
            thread=ThreadKey(head["th"], head.get("ac")),
            checkpoint_ns=head["ns"],
            checkpoint_id=head["id"],
            parent_checkpoint_id=head.get("p"),
            payload=Payload(head["t"], data),
            channel_versions=head["cv"],
            metadata=head["md"],
            metadata_payload=metadata_payload,
        )
        return cp, empties
    except _DECODE_ERRORS as exc:
        raise _corrupt(where, exc) from exc


def encode_writes(writes: Sequence[StoredWrite]) -> bytes:
    """The body of one writes object (writes of one task and checkpoint)."""
    first = writes[0]
    head: dict[str, Any] = {
        "v": _FORMAT,
        **_thread_fields(first.thread),
        "ns": first.checkpoint_ns,
        "id": first.checkpoint_id,
        "task": first.task_id,
        "path": first.task_path,
        "w": [[w.idx, w.channel, w.payload.type_tag, len(w.payload.data)] for w in writes],
    }
    return _frame(head, [w.payload.data for w in writes])


def decode_writes(body: bytes, where: str) -> list[StoredWrite]:
    """The writes held by one writes object."""
    try:
        head, rest = _split(body)
        thread = ThreadKey(head["th"], head.get("ac"))
        out = []
        offset = 0
        for idx, channel, tag, size in head["w"]:
            out.append(
                StoredWrite(
                    thread=thread,
                    checkpoint_ns=head["ns"],
                    checkpoint_id=head["id"],
                    task_id=head["task"],
                    idx=int(idx),
                    channel=channel,
                    payload=Payload(tag, bytes(rest[offset : offset + size])),
                    task_path=head.get("path", ""),
                )
            )
            offset += size
        return out
    except _DECODE_ERRORS as exc:
        raise _corrupt(where, exc) from exc


def encode_blob(blob: ChannelBlob) -> bytes:
    """The body of a channel blob object."""
    return blob.payload.type_tag.encode("utf-8") + b"\n" + blob.payload.data


def decode_blob(body: bytes, channel: str, version: str, where: str) -> ChannelBlob:
    """A channel blob object."""
    try:
        cut = body.index(b"\n")
        return ChannelBlob(channel, version, Payload(body[:cut].decode("utf-8"), body[cut + 1 :]))
    except _DECODE_ERRORS as exc:
        raise _corrupt(where, exc) from exc


def ordered_writes(objects: Iterable[tuple[Optional[str], Sequence[StoredWrite]]]) -> list[StoredWrite]:
    """Writes of several objects without duplicates of ``(task_id, idx)``, in LangGraph's order.

    ``objects`` come as ``(order key, writes)``: for a regular ``idx`` written
    by more than one call, the object with the smallest order key (its
    LastModified time, then its key) wins: the first write is kept.
    """
    unique: dict[tuple[str, int], tuple[str, StoredWrite]] = {}
    for order, writes in objects:
        for w in writes:
            key = (w.task_id, w.idx)
            seen = unique.get(key)
            if seen is None or (order or "") < seen[0]:
                unique[key] = (order or "", w)
    return sorted((w for _, w in unique.values()), key=lambda w: w.sort_key)
