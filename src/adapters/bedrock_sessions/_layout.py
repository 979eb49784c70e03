"""Ids and step encodings of the Bedrock sessions layout (pure: no I/O).

Every id the layout writes is chosen here and is deterministic where a reader must
find it again without listing: invocation ids from ``(namespace, checkpoint id)``,
step ids from ``(record id, part)``, registry ids from the thread id. They are UUID
shaped (the service's pattern) and carry the kind of record in the version nibble,
so a listing of step summaries tells headers from writes without fetching them.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import re
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Optional

from ...domain.errors import CorruptRecordError
from ...domain.models import ChannelBlob, Payload, StoredCheckpoint, StoredWrite, ThreadKey

__all__ = [
    "HEADER",
    "WRITES",
    "REGISTRY",
    "UUID_RE",
    "uid",
    "checkpoint_invocation",
    "registry_invocation",
    "registry_step",
    "step_ids",
    "kind_of",
    "encode_steps",
    "decode_record",
    "new_seq",
    "header_record",
    "writes_record",
    "checkpoint_from",
    "blobs_from",
    "writes_from",
    "index_key",
    "INDEX_PREFIX",
    "OVERFLOW_KEY",
    "WINDOW",
]

HEADER = "c"
WRITES = "e"
REGISTRY = "a"
UUID_RE = re.compile(r"[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}")
SESSION_ARN_RE = re.compile(r"arn:aws(-[^:]+)?:bedrock:[a-z0-9-]+:[0-9]{12}:session/" + UUID_RE.pattern)
INDEX_PREFIX = "lgcp:"
OVERFLOW_KEY = "lgcp:overflow"
WINDOW = 16
"""Checkpoint ids per namespace kept in the session metadata index (the newest)."""
_SEQ = itertools.count()
_SEQ_LOCK = threading.Lock()


def uid(kind: str, *parts: str) -> str:
    """A UUID-shaped id from ``parts`` (injective in practice: SHA-256), ``kind`` in the version nibble."""
    digest = hashlib.sha256("\x00".join(parts).encode("utf-8")).hexdigest()[:32]
    h = digest[:12] + kind + digest[13:]
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def kind_of(step_id: str) -> str:
    return step_id[14] if len(step_id) == 36 else ""


def checkpoint_invocation(ns: str, checkpoint_id: str) -> str:
    """The invocation holding a checkpoint's header records and its writes."""
    return uid("b", "checkpoint", ns, checkpoint_id)


def registry_invocation(thread_id: str) -> str:
    """The registry invocation of a thread id (every actor and generation of it)."""
    return uid("d", "thread", thread_id)


def registry_step(thread: ThreadKey, generation: int) -> str:
    """The registry step naming the session of ``thread`` at ``generation`` (1, 2...)."""
    return uid(REGISTRY, "thread", thread.thread_id, thread.actor_id or "", str(generation))


def step_ids(kind: str, record_id: str, parts: int) -> list[str]:
    return [uid(kind, "record", record_id, str(i)) for i in range(parts)]


def index_key(ns: str) -> str:
    return INDEX_PREFIX + hashlib.sha256(ns.encode("utf-8")).hexdigest()[:32]


def new_seq() -> str:
    """A write sequence: wall-clock nanoseconds, then a process counter (string order = write order)."""
    with _SEQ_LOCK:
        n = next(_SEQ)
    return f"{time.time_ns():020d}{n % 1_000_000:06d}"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"))


def encode_steps(kind: str, record_id: str, record: Mapping[str, Any], max_step_bytes: int) -> list[tuple[str, str]]:
    """``(step id, text)`` per step of one record: its JSON split into parts of at most ``max_step_bytes``."""
    body = json.dumps(record, separators=(",", ":"), ensure_ascii=True)
    room = max(1, max_step_bytes - 120)
    chunks = [body[i : i + room] for i in range(0, len(body), room)] or [""]
    ids = step_ids(kind, record_id, len(chunks))
    return [(ids[i], f"{record_id} {i} {len(chunks)}\n{chunk}") for i, chunk in enumerate(chunks)]


def decode_record(texts: Iterable[str]) -> dict[str, Any]:
    """One record from the texts of all its steps (any order)."""
    parts: dict[int, str] = {}
    total = -1
    for text in texts:
        head, _, chunk = text.partition("\n")
        try:
            _rid, index, count = head.split(" ")
            parts[int(index)] = chunk
            total = int(count)
        except ValueError as exc:
            raise CorruptRecordError(f"Bedrock session step is not a checkpoint record: {head[:80]!r}") from exc
    if total < 0 or len(parts) != total:
        raise CorruptRecordError(f"Bedrock session record is missing parts ({len(parts)} of {total})")
    try:
        out = json.loads("".join(parts[i] for i in range(total)))
    except ValueError as exc:
        raise CorruptRecordError("Bedrock session record is not valid JSON") from exc
    if not isinstance(out, dict):
        raise CorruptRecordError("Bedrock session record is not an object")
    return out


def record_id_of(text: str) -> str:
    return text.partition("\n")[0].split(" ")[0]


def _payload(p: Optional[Payload]) -> Optional[list[str]]:
    return None if p is None else [p.type_tag, _b64(p.data)]


def _unpayload(v: Optional[Sequence[str]]) -> Optional[Payload]:
    return None if v is None else Payload(v[0], _unb64(v[1]))


def header_record(cp: StoredCheckpoint, blobs: Sequence[ChannelBlob], refs: Mapping[str, Any], seq: str) -> dict[str, Any]:
    """The record of a checkpoint header, the blobs it wrote and where each of its versions lives."""
    return {
        "k": "cp",
        "ns": cp.checkpoint_ns,
        "id": cp.checkpoint_id,
        "parent": cp.parent_checkpoint_id,
        "p": _payload(cp.payload),
        "versions": dict(cp.channel_versions),
        "meta": dict(cp.metadata),
        "mp": _payload(cp.metadata_payload),
        "blobs": [[b.channel, b.version, b.payload.type_tag, _b64(b.payload.data)] for b in blobs],
        "refs": dict(refs),
        "seq": seq,
    }


def writes_record(writes: Sequence[StoredWrite], seq: str) -> dict[str, Any]:
    return {
        "k": "w",
        "seq": seq,
        "writes": [[w.task_id, w.task_path, w.idx, w.channel, w.payload.type_tag, _b64(w.payload.data)] for w in writes],
    }


def checkpoint_from(record: Mapping[str, Any], thread: ThreadKey) -> StoredCheckpoint:
    payload = _unpayload(record["p"])
    assert payload is not None
    return StoredCheckpoint(
        thread=thread,
        checkpoint_ns=record["ns"],
        checkpoint_id=record["id"],
        parent_checkpoint_id=record.get("parent"),
        payload=payload,
        channel_versions=record.get("versions") or {},
        metadata=record.get("meta") or {},
        metadata_payload=_unpayload(record.get("mp")),
    )


def blobs_from(record: Mapping[str, Any]) -> dict[tuple[str, str], ChannelBlob]:
    return {
        (ch, ver): ChannelBlob(ch, ver, Payload(tag, _unb64(data))) for ch, ver, tag, data in record.get("blobs") or []
    }


def writes_from(records: Iterable[Mapping[str, Any]], thread: ThreadKey, ns: str, checkpoint_id: str) -> list[StoredWrite]:
    """The pending writes of one checkpoint from its writes records: first write wins for ``idx >= 0``,
    the last for special channels (``idx < 0``), in ``(task_path, task_id, idx)`` order."""
    chosen: dict[tuple[str, int], tuple[str, StoredWrite]] = {}
    for record in sorted(records, key=lambda r: str(r.get("seq", ""))):
        seq = str(record.get("seq", ""))
        for task_id, path, idx, channel, tag, data in record.get("writes") or []:
            write = StoredWrite(thread, ns, checkpoint_id, task_id, int(idx), channel, Payload(tag, _unb64(data)), path)
            key = (task_id, int(idx))
            if key in chosen and int(idx) >= 0:
                continue
            chosen[key] = (seq, write)
    return sorted((w for _, w in chosen.values()), key=lambda w: w.sort_key)
