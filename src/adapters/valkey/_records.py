"""Encoding and decoding of the Valkey checkpoint records, shared by the sync and async repositories.

Everything here is pure (no I/O): the framing of stored values, header, blob
and write values, hash fields and registry members, the script arguments of
each operation and the parsing of script replies. See ``checkpoints`` for the
layout these values live in.

Reads are the hot path (client CPU per operation caps throughput), so heads
are checked with plain type tests; only a head that fails them goes through
cattrs, whose report becomes the CorruptRecordError message. A corrupt record
therefore reads exactly as before, and a sound one never pays for cattrs.
"""

from __future__ import annotations

import json
import math
import operator
import os
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any, Callable, Optional

import attrs
import cattrs

from ...domain.errors import CorruptRecordError, InvalidInputError
from ...domain.models import (
    ChannelBlob,
    CheckpointQuery,
    CheckpointRecord,
    Payload,
    StoredCheckpoint,
    StoredWrite,
    ThreadData,
    ThreadKey,
)
from ...domain.policies import plan_prune
from ...domain.ports import BlobRef
from .layout import decode_actor, decode_id, encode_actor, encode_id

__all__ = [
    "blob_field",
    "write_field",
    "member",
    "split_member",
    "header_value",
    "blob_value",
    "parse_payload",
    "write_value",
    "parse_header",
    "parse_blob",
    "parse_write",
    "parse_records",
    "parse_writes_by_checkpoint",
    "parse_blobs",
    "parse_export",
    "checkpoint_args",
    "writes_args",
    "get_args",
    "list_args",
    "delete_thread_args",
    "member_ids_args",
    "prune_args",
    "prune_scan_args",
    "prune_plan",
    "export_args",
    "import_args",
    "merge_listed",
    "thread_actor_keys",
    "text",
    "IMPORT_CHUNK",
]

IMPORT_CHUNK = 2000
"""Ops per WRITE call when importing a whole thread (bounds one script's run time)."""


# -- validated heads (the slow path, for records that fail the fast checks) ----------------
def _is(kind: Any, name: str, optional: bool = False) -> Callable[[Any, Any, Any], None]:
    def check(_inst: Any, _attr: Any, value: Any) -> None:
        if value is None and optional:
            return
        if not isinstance(value, kind) or isinstance(value, bool) and kind is int:
            raise TypeError(f"field {name!r} must be {getattr(kind, '__name__', kind)}, got {value!r}")

    return check


@attrs.frozen
class _HeaderHead:
    """The JSON head of a stored checkpoint header."""

    p: Any = attrs.field(validator=_is(str, "p", optional=True))
    t: Any = attrs.field(validator=_is(str, "t"))
    n: Any = attrs.field(validator=_is(int, "n"))
    v: Any = attrs.field(validator=_is(dict, "v"))
    m: Any = attrs.field(validator=_is(dict, "m"))
    bf: Any = attrs.field(validator=_is(list, "bf"))
    mt: Any = attrs.field(default=None, validator=_is(str, "mt", optional=True))


@attrs.frozen
class _WriteHead:
    """The JSON head of a stored pending write."""

    c: Any = attrs.field(validator=_is(str, "c"))
    t: Any = attrs.field(validator=_is(str, "t"))
    p: Any = attrs.field(validator=_is(str, "p"))
    k: Any = attrs.field(validator=_is(str, "k"))
    i: Any = attrs.field(validator=_is(int, "i"))


_converter = cattrs.Converter(forbid_extra_keys=False)
_MISSING: Any = object()


def _structure(raw: Any, cls: type, where: str) -> Any:
    try:
        return _converter.structure(raw, cls)
    except Exception as exc:  # noqa: BLE001 - cattrs raises grouped validation errors
        detail = "; ".join(str(e) for e in getattr(exc, "exceptions", [exc]))
        raise CorruptRecordError(f"{where}: stored record failed validation: {detail}") from exc


def _header_head(obj: Any, where: Callable[[], str]) -> tuple[Any, str, int, Any, Any, Any, Any]:
    """``(p, t, n, v, m, bf, mt)`` of a decoded header head.

    The fast test accepts a strict subset of what the attrs validators accept
    (exact JSON types); anything else goes to cattrs, which either accepts it
    the same way or names what is wrong.
    """
    if type(obj) is dict:
        p, t, n = obj.get("p", _MISSING), obj.get("t"), obj.get("n")
        v, m, bf, mt = obj.get("v"), obj.get("m"), obj.get("bf"), obj.get("mt")
        if (
            (p is None or type(p) is str)
            and type(t) is str
            and type(n) is int
            and type(v) is dict
            and type(m) is dict
            and type(bf) is list
            and (mt is None or type(mt) is str)
        ):
            return p, t, n, v, m, bf, mt
    h: _HeaderHead = _structure(obj, _HeaderHead, where())
    return h.p, h.t, h.n, h.v, h.m, h.bf, h.mt


def _write_head(obj: Any, where: Callable[[], str]) -> tuple[str, str, str, str, int]:
    """``(c, t, p, k, i)`` of a decoded write head (fast test, then cattrs as for headers)."""
    if type(obj) is dict:
        c, t, p, k, i = obj.get("c"), obj.get("t"), obj.get("p"), obj.get("k"), obj.get("i")
        if type(c) is str and type(t) is str and type(p) is str and type(k) is str and type(i) is int:
            return c, t, p, k, i
    h: _WriteHead = _structure(obj, _WriteHead, where())
    return h.c, h.t, h.p, h.k, h.i


# -- framing ------------------------------------------------------------------------------
def _b(value: str) -> bytes:
    return value.encode("utf-8", "surrogatepass")


def _s(value: bytes) -> str:
    return value.decode("utf-8", "surrogatepass")


def _frame(head: bytes, body: bytes) -> bytes:
    return b"%d\n" % len(head) + head + body


def _unframe(raw: bytes, where: Callable[[], str]) -> tuple[bytes, int]:
    """The head of a framed value and the offset where its body starts."""
    try:
        nl = raw.index(b"\n")
        n = int(raw[:nl])
    except ValueError as exc:
        raise CorruptRecordError(f"{where()}: stored value is not framed (<n>\\n<head><body>)") from exc
    start = nl + 1
    if start + n > len(raw):
        raise CorruptRecordError(f"{where()}: stored value is truncated")
    return raw[start : start + n], start + n


# One encoder and decoder for every call: json.dumps/loads with options build new ones each time.
_ENCODER = json.JSONEncoder(separators=(",", ":"), allow_nan=False)
_DECODER = json.JSONDecoder()
_decode_json = _DECODER.decode
# The decoder's own C scanner (typeshed omits the attribute): no whitespace regexes around the value.
_scan_json: Callable[[str, int], tuple[Any, int]] = _DECODER.scan_once  # type: ignore[attr-defined]


def _json(value: Any) -> bytes:
    try:
        return _ENCODER.encode(value).encode("ascii")  # ensure_ascii: the text is ASCII
    except ValueError:
        # NaN/inf cannot be filtered on by the server; the typed metadata
        # payload keeps the exact value, the JSON copy holds null instead.
        return _ENCODER.encode(_finite(value)).encode("ascii")


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def _load_json(raw: bytes) -> Any:
    """Decode a stored JSON head (ValueError when it is not JSON, UnicodeDecodeError included).

    Heads are written compact, so the scanner alone reads them; anything it
    does not consume whole (whitespace, trailing bytes, garbage) goes through
    the full decoder, which accepts or rejects it exactly as ``json.loads``.
    """
    text = raw.decode("utf-8", "surrogatepass")
    try:
        obj, end = _scan_json(text, 0)
    except StopIteration:
        end = -1
    return obj if end == len(text) else _decode_json(text)


# -- fields and members -----------------------------------------------------------------
def _len_prefixed(value: str) -> bytes:
    raw = _b(value)
    return b"%d:" % len(raw) + raw


def blob_field(channel: str, version: str) -> bytes:
    """Hash field of a channel blob: injective in (channel, version)."""
    return _len_prefixed(channel) + _b(version)


def _blob_field_text(channel: str, version: str) -> str:
    """``blob_field`` as text (for the JSON list of a header's blob fields)."""
    if channel.isascii():
        return f"{len(channel)}:{channel}{version}"
    return _s(blob_field(channel, version))


def _parse_len_prefixed(raw: bytes, where: Callable[[], str]) -> tuple[bytes, bytes]:
    try:
        colon = raw.index(b":")
        n = int(raw[:colon])
    except ValueError as exc:
        raise CorruptRecordError(f"{where()}: malformed field {raw[:40]!r}") from exc
    return raw[colon + 1 : colon + 1 + n], raw[colon + 1 + n :]


def _split_blob_field(field: Any, where: Callable[[], str]) -> tuple[str, str]:
    """``(channel, version)`` of a blob field given as text (from a header) or bytes."""
    if type(field) is str and field.isascii():
        # ASCII text: character offsets are byte offsets, so no round trip through bytes.
        colon = field.find(":")
        prefix = field[:colon]
        if colon > 0 and prefix.isdigit():
            end = colon + 1 + int(prefix)
            return field[colon + 1 : end], field[end:]
    raw = field if isinstance(field, bytes) else _b(field)
    channel, version = _parse_len_prefixed(raw, where)
    return _s(channel), _s(version)


def write_field(checkpoint_id: str, task_id: str, idx: int) -> bytes:
    """Hash field / zset member of a write: the checkpoint's prefix, then task and idx."""
    return _len_prefixed(checkpoint_id) + b"\0" + _len_prefixed(task_id) + b"\0" + b"%d" % idx


def member(actor_id: Optional[str], ns: str) -> str:
    """The registry member of an (actor, namespace): ``<actor>:<namespace>``, both encoded."""
    return f"{encode_actor(actor_id)}:{encode_id(ns)}"


def split_member(raw: bytes) -> tuple[Optional[str], str]:
    """``(actor_id, namespace)`` of a registry member."""
    actor, _, ns = _s(raw).partition(":")
    return decode_actor(actor), decode_id(ns)


# -- values -------------------------------------------------------------------------------
def header_value(cp: StoredCheckpoint) -> bytes:
    """The stored value of a checkpoint header."""
    versions = dict(cp.channel_versions)
    meta = cp.metadata_payload
    head = {
        "p": cp.parent_checkpoint_id,
        "t": cp.payload.type_tag,
        "n": len(cp.payload.data),
        "v": versions,
        "m": dict(cp.metadata),
        "bf": [_blob_field_text(ch, str(v)) for ch, v in versions.items()],
        "mt": meta.type_tag if meta is not None else None,
    }
    return _frame(_json(head), cp.payload.data + meta.data if meta is not None else cp.payload.data)


def blob_value(payload: Payload) -> bytes:
    """The stored value of a channel blob (and of a cache entry): the type tag as head, the data as body."""
    return _frame(_b(payload.type_tag), payload.data)


def write_value(w: StoredWrite) -> bytes:
    """The stored value of a pending write."""
    head = {"c": w.channel, "t": w.payload.type_tag, "p": w.task_path, "k": w.task_id, "i": w.idx}
    return _frame(_json(head), w.payload.data)


# -- parsing ------------------------------------------------------------------------------
def _framed_json(raw: bytes, where: Callable[[], str], what: str) -> tuple[Any, int]:
    """The JSON head of a framed value, and where its body starts."""
    head_raw, body = _unframe(raw, where)
    try:
        return _load_json(head_raw), body
    except ValueError as exc:
        raise CorruptRecordError(f"{where()}: {what} is not JSON") from exc


def parse_header(thread: ThreadKey, ns: str, cid: str, raw: bytes) -> tuple[StoredCheckpoint, list[Any]]:
    """A stored header as a StoredCheckpoint, and its blob fields (text).

    Raises:
        CorruptRecordError: naming the checkpoint, thread and namespace.
    """

    def where() -> str:
        return f"checkpoint {cid!r} of thread {thread.thread_id!r} (namespace {ns!r})"

    obj, body = _framed_json(raw, where, "header")
    p, t, n, v, m, bf, mt = _header_head(obj, where)
    if body + n > len(raw):
        raise CorruptRecordError(f"{where()}: payload is truncated")
    end = body + n if n >= 0 else max(body, len(raw) + n)  # a negative length counts from the end, as slicing did
    stored = StoredCheckpoint(
        thread=thread,
        checkpoint_ns=ns,
        checkpoint_id=cid,
        parent_checkpoint_id=p,
        payload=Payload(t, raw[body:end]),
        channel_versions=v,
        metadata=m,
        metadata_payload=Payload(mt, raw[end:]) if mt is not None else None,
    )
    return stored, bf


def parse_payload(raw: bytes, where: Callable[[], str]) -> Payload:
    """A payload stored by :func:`blob_value`.

    Raises:
        CorruptRecordError: the value is not framed, or its tag is not UTF-8.
    """
    tag, body = _unframe(raw, where)
    try:
        return Payload(_s(tag), raw[body:])
    except UnicodeDecodeError as exc:
        raise CorruptRecordError(f"{where()}: type tag is not UTF-8") from exc


def parse_blob(field: Any, raw: bytes, where: Callable[[], str]) -> ChannelBlob:
    """A stored blob under its hash field (bytes, or text from a header's field list)."""
    channel, version = _split_blob_field(field, where)
    return ChannelBlob(channel, version, parse_payload(raw, where))


def parse_write(thread: ThreadKey, ns: str, cid: str, raw: bytes) -> StoredWrite:
    """A stored pending write of checkpoint ``cid``."""

    def where() -> str:
        return f"write of checkpoint {cid!r} of thread {thread.thread_id!r}"

    obj, body = _framed_json(raw, where, "head")
    c, t, p, k, i = _write_head(obj, where)
    return StoredWrite(thread, ns, cid, k, i, c, Payload(t, raw[body:]), p)


# LangGraph's replay order, the same as StoredWrite.sort_key without building a tuple per call.
_write_order = operator.attrgetter("task_path", "task_id", "idx")


def _parse_writes(thread: ThreadKey, ns: str, cid: str, raws: Iterable[Optional[bytes]]) -> list[StoredWrite]:
    writes = [parse_write(thread, ns, cid, raw) for raw in raws if raw is not None]
    writes.sort(key=_write_order)
    return writes


def parse_records(enc_thread: str, rows: Sequence[Any]) -> list[CheckpointRecord]:
    """Records from GET/LIST rows ``[member, id, header(, blob values, write values)]``."""
    identities: dict[bytes, tuple[ThreadKey, str]] = {}  # rows of one thread share few members
    out: list[CheckpointRecord] = []
    for row in rows:
        raw_member = row[0]
        identity = identities.get(raw_member)
        if identity is None:
            actor, ns = split_member(raw_member)
            identity = identities[raw_member] = (ThreadKey(decode_id(enc_thread), actor), ns)
        thread, ns = identity
        cid = _s(row[1])
        stored, fields = parse_header(thread, ns, cid, row[2])
        if len(row) < 5:
            out.append(CheckpointRecord(stored))
            continue

        def where(cid: str = cid, thread: ThreadKey = thread) -> str:
            return f"channel blob of checkpoint {cid!r} of thread {thread.thread_id!r}"

        blobs = tuple(parse_blob(field, raw, where) for field, raw in zip(fields, row[3]) if raw is not None)
        out.append(CheckpointRecord(stored, blobs, _parse_writes(thread, ns, cid, row[4])))
    return out


def parse_writes_by_checkpoint(
    thread: ThreadKey, ns: str, checkpoint_ids: Sequence[str], rows: Sequence[Any]
) -> dict[str, list[StoredWrite]]:
    """The GET_WRITES reply: pending writes per checkpoint id, each list in LangGraph order."""
    return {cid: _parse_writes(thread, ns, cid, raws) for cid, raws in zip(checkpoint_ids, rows)}


def parse_blobs(
    thread: ThreadKey, refs: Sequence[BlobRef], fields: Sequence[bytes], raws: Sequence[Optional[bytes]]
) -> dict[BlobRef, ChannelBlob]:
    """The HMGET reply of ``get_blobs``: the blobs that exist among ``refs``."""

    def where() -> str:
        return f"channel blob of thread {thread.thread_id!r}"

    out: dict[BlobRef, ChannelBlob] = {}
    for ref, field, raw in zip(refs, fields, raws):
        if raw is not None:
            out[(ref[0], str(ref[1]))] = parse_blob(field, raw, where)
    return out


def parse_export(thread: ThreadKey, rows: Sequence[Any]) -> ThreadData:
    """The EXPORT reply: per member, flat pairs of headers, blobs and writes."""
    checkpoints: list[StoredCheckpoint] = []
    blobs: list[tuple[str, ChannelBlob]] = []
    writes: list[StoredWrite] = []

    def where() -> str:
        return f"thread {thread.thread_id!r}"

    for raw_member, headers, blob_pairs, write_pairs in rows:
        _, ns = split_member(raw_member)
        for i in range(0, len(headers), 2):
            checkpoints.append(parse_header(thread, ns, _s(headers[i]), headers[i + 1])[0])
        for i in range(0, len(blob_pairs), 2):
            blobs.append((ns, parse_blob(blob_pairs[i], blob_pairs[i + 1], where)))
        for i in range(0, len(write_pairs), 2):
            cid, _ = _parse_len_prefixed(write_pairs[i], where)
            writes.append(parse_write(thread, ns, _s(cid), write_pairs[i + 1]))
    return ThreadData(thread=thread, checkpoints=checkpoints, blobs=blobs, writes=writes)


def merge_listed(records: list[CheckpointRecord], limit: Optional[int]) -> list[CheckpointRecord]:
    """Records listed thread by thread, merged newest id first and cut to ``limit``."""
    records.sort(key=lambda r: r.checkpoint.checkpoint_id, reverse=True)
    return records[:limit] if limit is not None else records


# -- script arguments (after the five key heads) ------------------------------------------
def checkpoint_args(ttl_arg: str, checkpoint: StoredCheckpoint, blobs: Sequence[ChannelBlob]) -> list[Any]:
    """WRITE arguments storing a header and its blobs."""
    m = member(checkpoint.thread.actor_id, checkpoint.checkpoint_ns)
    args: list[Any] = [ttl_arg]
    for blob in blobs:
        args += ("B", m, blob_field(blob.channel, blob.version), blob_value(blob.payload))
    args += header_ops(m, checkpoint)
    return args


def header_ops(m: str, cp: StoredCheckpoint) -> tuple[Any, ...]:
    """WRITE ops of a checkpoint: its header, then the copy of its metadata that filtered
    listings scan."""
    cid = cp.checkpoint_id
    return ("C", m, cid, header_value(cp), "M", m, cid, _json(dict(cp.metadata)))


def writes_args(ttl_arg: str, writes: Sequence[StoredWrite]) -> tuple[str, list[Any]]:
    """The encoded thread and WRITE arguments of pending writes (all of one thread).

    Raises:
        InvalidInputError: the writes belong to more than one thread.
    """
    thread_id = writes[0].thread.thread_id
    members: dict[tuple[Optional[str], str], str] = {}
    args: list[Any] = [ttl_arg]
    for w in writes:
        if w.thread.thread_id != thread_id:
            raise InvalidInputError("put_writes: all writes must belong to one thread")
        where = (w.thread.actor_id, w.checkpoint_ns)
        m = members.get(where)
        if m is None:
            m = members[where] = member(*where)
        args += ("W" if w.idx >= 0 else "U", m, write_field(w.checkpoint_id, w.task_id, w.idx), write_value(w))
    return encode_id(thread_id), args


def get_args(thread: ThreadKey, ns: str, checkpoint_id: Optional[str]) -> list[Any]:
    """GET arguments (the latest checkpoint when ``checkpoint_id`` is None)."""
    return [member(thread.actor_id, ns), checkpoint_id or ""]


def list_args(query: CheckpointQuery, thread: Optional[ThreadKey]) -> list[Any]:
    """LIST arguments for ``query`` on one thread (every actor when ``thread`` is None)."""
    flt = query.metadata_filter
    return [
        "1" if thread is not None else "0",
        encode_actor(thread.actor_id) if thread is not None else "",
        "1" if query.checkpoint_ns is not None else "0",
        encode_id(query.checkpoint_ns) if query.checkpoint_ns is not None else "",
        query.checkpoint_id or "",
        query.before_id or "",
        str(query.limit or 0),
        _json(dict(flt)) if flt else "",
        "1" if query.headers_only else "0",
        filter_needles(flt) if flt else "",
    ]


def _value_texts(value: Any) -> list[str]:
    """Every JSON text a stored metadata value equal to ``value`` can have (empty: unknown)."""
    if isinstance(value, str):
        return [_ENCODER.encode(value)]
    if value is None or isinstance(value, bool):
        return [_ENCODER.encode(value)]
    if isinstance(value, (int, float)) and math.isfinite(value) and abs(value) < 2**53:
        texts = {_ENCODER.encode(value)}
        if float(value).is_integer():
            # Lua compares numbers, so 5 and 5.0 are equal there: accept both spellings.
            texts |= {str(int(value)), repr(float(value))}
        return sorted(texts)
    return []  # dicts, lists, huge numbers: no text check, the script decodes and compares


def filter_needles(flt: Mapping[str, Any]) -> bytes:
    """Plain-text needles that let the LIST script skip headers without decoding them.

    For each filter key, the ``"key":value`` texts (followed by ``,`` or ``}``
    unless the value is a string) one of which a header matching the filter
    must contain, since headers are encoded by the same JSON encoder. A header
    lacking every needle of a key cannot match; one containing them is still
    decoded and compared, so a needle can only save work, never change a result.

    Each key is sent as ``[prefix, [suffix, ...]]``: the texts' longest common
    prefix, which the script finds in one pass over the header, and what may
    follow it (``5`` and ``5.0`` become ``"step":5`` then ``,``, ``}``, ``.0,``
    or ``.0}``). A key whose value has no text check is sent as ``[]``.
    """
    needles: list[list[Any]] = []
    for key, value in flt.items():
        head = _ENCODER.encode(key) + ":"
        texts = _value_texts(value)
        if not texts:
            needles.append([])
            continue
        if isinstance(value, str):
            full = [head + t for t in texts]
        else:
            full = [head + t + end for t in texts for end in (",", "}")]
        prefix = os.path.commonprefix(full)
        needles.append([prefix, sorted({t[len(prefix):] for t in full})])
    return _ENCODER.encode(needles).encode("ascii")


def delete_thread_args(actor_id: Optional[str]) -> list[Any]:
    """DELETE_THREAD arguments: one actor, or every actor when ``actor_id`` is None."""
    return ["1" if actor_id is not None else "0", encode_actor(actor_id)]


def member_ids_args(thread: ThreadKey, ns: str, checkpoint_ids: Sequence[str]) -> list[Any]:
    """Arguments of DELETE_CHECKPOINTS and GET_WRITES: the member, then checkpoint ids."""
    return [member(thread.actor_id, ns), *checkpoint_ids]


def prune_args(
    thread: ThreadKey, ns: str, kept: int, doomed: Sequence[str], orphans: Sequence[tuple[str, str]]
) -> list[Any]:
    """PRUNE arguments: checkpoints to delete, and blobs to delete if ``kept`` checkpoints remain."""
    return [
        member(thread.actor_id, ns),
        str(kept),
        str(len(doomed)),
        *doomed,
        *(blob_field(ch, v) for ch, v in orphans),
    ]


def prune_scan_args(thread: ThreadKey, ns: str) -> list[Any]:
    """LIST arguments reading every header of one namespace of the thread's actor."""
    return list_args(CheckpointQuery(thread=thread, checkpoint_ns=ns, headers_only=True), thread)


def prune_plan(
    thread: ThreadKey, ns: str, enc_thread: str, rows: Sequence[Any], keep_ids: Collection[str]
) -> Optional[list[Any]]:
    """PRUNE arguments from the headers scan of ``prune_scan_args``; None when nothing goes."""
    headers = [r.checkpoint for r in parse_records(enc_thread, rows)]
    doomed, orphans = plan_prune(headers, keep_ids)
    if not doomed:
        return None
    return prune_args(thread, ns, len(headers) - len(doomed), doomed, orphans)


def export_args(thread: ThreadKey) -> list[Any]:
    """EXPORT arguments: the members of one actor (or of no actor)."""
    return ["1", encode_actor(thread.actor_id)]


def import_args(ttl_arg: str, data: ThreadData) -> list[list[Any]]:
    """WRITE arguments storing everything in ``data``, in chunks of ``IMPORT_CHUNK`` ops."""
    thread = data.thread
    ops: list[tuple[Any, ...]] = []
    for ns, blob in data.blobs:
        ops.append(("B", member(thread.actor_id, ns), blob_field(blob.channel, blob.version), blob_value(blob.payload)))
    for cp in data.checkpoints:
        # A header's value never holds its thread: the key does, so no retargeting is needed here.
        op = header_ops(member(thread.actor_id, cp.checkpoint_ns), cp)
        ops += (op[:4], op[4:])
    for w in data.writes:
        ops.append(("U", member(thread.actor_id, w.checkpoint_ns), write_field(w.checkpoint_id, w.task_id, w.idx), write_value(w)))
    chunks: list[list[Any]] = []
    for start in range(0, len(ops), IMPORT_CHUNK):
        args: list[Any] = [ttl_arg]
        for op in ops[start : start + IMPORT_CHUNK]:
            args.extend(op)
        chunks.append(args)
    return chunks


def thread_actor_keys(raw_actors: Iterable[bytes], enc_thread: str) -> list[ThreadKey]:
    """ThreadKeys from the ACTORS reply of one thread (encoded actors)."""
    thread_id = decode_id(enc_thread)
    return [ThreadKey(thread_id, decode_actor(_s(a))) for a in raw_actors]


def text(raw: bytes) -> str:
    """A stored key part or id as text."""
    return _s(raw)
