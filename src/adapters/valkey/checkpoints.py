"""Valkey checkpoint repository: one round trip per operation, cluster-safe.

Layout (``{T}`` is the thread id percent-encoded, used as the hash tag, so
every key of a thread lives in one slot; ``<member>`` is
``<actor>:<namespace>``, both percent-encoded, the actor empty when there is
none). Heads are given for the plain layout (ValkeySaver); the AgentCore
layout (AgentCoreValkeySaver) uses the same shapes under ``agentcore:``
names, with the session (thread) as hash tag and the actor in the member::

    plain                                     agentcore                         type
    langgraph:checkpoint:thread:{T}           agentcore:session:{T}             set of members
    langgraph:checkpoint:ids:{T}:<member>     agentcore:checkpoints:{T}:<m>     zset, score 0, checkpoint ids
    langgraph:checkpoint:headers:{T}:<member> agentcore:checkpoint:{T}:<m>      hash id -> header
    langgraph:checkpoint:blobs:{T}:<member>   agentcore:channel:{T}:<m>         hash blob field -> blob
    langgraph:checkpoint:write_ids:{T}:<m>    agentcore:write_ids:{T}:<m>       zset, score 0, write fields
    langgraph:checkpoint:writes:{T}:<member>  agentcore:writes:{T}:<m>          hash write field -> write
    langgraph:checkpoint:threads              agentcore:sessions                set of {T} (list across threads)

Values are raw bytes framed as ``<n>\\n<head of n bytes><body>``:

- header: head = JSON ``{"p": parent, "t": type tag, "n": payload length,
  "v": channel versions, "m": metadata, "bf": blob fields, "mt": metadata
  payload tag}``, body = checkpoint payload then the typed metadata payload;
- blob: head = type tag, body = data; one per (thread, namespace, channel,
  version), field ``<len(channel)>:<channel><version>``;
- write: head = JSON ``{"c": channel, "t": tag, "p": task path, "k": task id,
  "i": idx}``, body = data; field ``<len(cid)>:<cid>\\0<len(task)>:<task>\\0<idx>``
  so a checkpoint's writes are one ZRANGEBYLEX prefix range.

Checkpoint ids sort by bytes in the id zset (all scores 0), so latest,
``before`` and ``limit`` are range queries; metadata filters run in Lua
(cjson) next to the data. Multi-key work is done by the Lua scripts in
``_scripts`` (valkey-py refuses transactions on a cluster). The global thread
set is the only key outside the thread's slot: it is a superset of live threads
(entries of deleted or expired threads are skipped, never trusted), written in
the same pipeline as the first write on a standalone server and once per
thread and process on a cluster. No KEYS, no SCAN of the keyspace.
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Callable, Optional

import attrs
import cattrs
from valkey.cluster import ValkeyCluster
from valkey.exceptions import NoScriptError

from ...domain.errors import ConfigurationError, CorruptRecordError, InvalidInputError
from ...domain.models import (
    ChannelBlob,
    CheckpointKey,
    CheckpointQuery,
    CheckpointRecord,
    Payload,
    StoredCheckpoint,
    StoredWrite,
    ThreadData,
    ThreadKey,
)
from ...domain.ports import BlobRef
from . import _scripts
from ._errors import translate
from .layout import (
    PLAIN_LAYOUT,
    KeyLayout,
    decode_actor,
    decode_id,
    encode_actor,
    encode_id,
)

__all__ = ["ValkeyCheckpointRepository"]

_SCRIPTS = {
    name: getattr(_scripts, name)
    for name in ("WRITE", "GET", "LIST", "DELETE_THREAD", "DELETE_CHECKPOINTS", "GET_WRITES", "EXPORT")
}
_IMPORT_CHUNK = 2000  # ops per WRITE call when importing a whole thread


# -- validated records ----------------------------------------------------------------
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


def _structure(raw: Any, cls: type, where: str) -> Any:
    try:
        return _converter.structure(raw, cls)
    except Exception as exc:  # noqa: BLE001 - cattrs raises grouped validation errors
        detail = "; ".join(str(e) for e in getattr(exc, "exceptions", [exc]))
        raise CorruptRecordError(f"{where}: stored record failed validation: {detail}") from exc


# -- framing --------------------------------------------------------------------------
def _b(value: str) -> bytes:
    return value.encode("utf-8", "surrogatepass")


def _s(value: bytes) -> str:
    return value.decode("utf-8", "surrogatepass")


def _frame(head: bytes, body: bytes) -> bytes:
    return b"%d\n" % len(head) + head + body


def _unframe(raw: bytes, where: str) -> tuple[bytes, bytes]:
    try:
        nl = raw.index(b"\n")
        n = int(raw[:nl])
    except ValueError as exc:
        raise CorruptRecordError(f"{where}: stored value is not framed (<n>\\n<head><body>)") from exc
    start = nl + 1
    if start + n > len(raw):
        raise CorruptRecordError(f"{where}: stored value is truncated")
    return raw[start : start + n], raw[start + n :]


def _json(value: Any) -> bytes:
    try:
        return _b(json.dumps(value, separators=(",", ":"), allow_nan=False))
    except ValueError:
        # NaN/inf cannot be filtered on by the server; the typed metadata
        # payload keeps the exact value, the JSON copy holds null instead.
        return _b(json.dumps(_finite(value), separators=(",", ":"), allow_nan=False))


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def _len_prefixed(value: str) -> bytes:
    raw = _b(value)
    return b"%d:" % len(raw) + raw


def blob_field(channel: str, version: str) -> bytes:
    """Hash field of a channel blob: injective in (channel, version)."""
    return _len_prefixed(channel) + _b(version)


def _parse_len_prefixed(raw: bytes, where: str) -> tuple[bytes, bytes]:
    try:
        colon = raw.index(b":")
        n = int(raw[:colon])
    except ValueError as exc:
        raise CorruptRecordError(f"{where}: malformed field {raw[:40]!r}") from exc
    return raw[colon + 1 : colon + 1 + n], raw[colon + 1 + n :]


def write_field(checkpoint_id: str, task_id: str, idx: int) -> bytes:
    """Hash field / zset member of a write: the checkpoint's prefix, then task and idx."""
    return _len_prefixed(checkpoint_id) + b"\0" + _len_prefixed(task_id) + b"\0" + b"%d" % idx


def _member(actor_id: Optional[str], ns: str) -> str:
    return f"{encode_actor(actor_id)}:{encode_id(ns)}"


def _split_member(member: bytes) -> tuple[Optional[str], str]:
    text = _s(member)
    actor, _, ns = text.partition(":")
    return decode_actor(actor), decode_id(ns)


class ValkeyCheckpointRepository:
    """A CheckpointRepository on Valkey (standalone or cluster), one round trip per operation.

    Args:
        client: a ``valkey.Valkey`` or ``valkey.cluster.ValkeyCluster`` with
            ``decode_responses=False`` (payloads are raw bytes).
        layout: ``PLAIN_LAYOUT`` (ValkeySaver) or ``AGENTCORE_LAYOUT``.
        ttl_seconds: lifetime of every key of a thread, refreshed by each write
            to the thread (None: keys never expire).
        retry: a tenacity ``Retrying`` (or any callable ``retry(fn)``) wrapped
            around each operation; it should retry only TransientBackendError.
            Every operation is idempotent, so a retried write is safe.

    Raises:
        ConfigurationError: the client decodes responses.
    """

    def __init__(
        self,
        client: Any,
        *,
        layout: KeyLayout = PLAIN_LAYOUT,
        ttl_seconds: Optional[float] = None,
        retry: Optional[Callable[..., Any]] = None,
    ) -> None:
        if _connection_kwargs(client).get("decode_responses"):
            raise ConfigurationError(
                "valkey client: decode_responses must be False (checkpoints are stored as raw bytes)"
            )
        if ttl_seconds is not None and ttl_seconds <= 0:
            raise ConfigurationError(f"ttl_seconds must be positive, got {ttl_seconds!r}")
        self.client = client
        self.layout = layout
        self.ttl_seconds = ttl_seconds
        self._ttl_arg = str(int(math.ceil(ttl_seconds))) if ttl_seconds else "0"
        self._retry = retry
        self._cluster = isinstance(client, ValkeyCluster)
        self._shas = {name: hashlib.sha1(src.encode()).hexdigest() for name, src in _SCRIPTS.items()}
        self._registered: OrderedDict[str, None] = OrderedDict()
        self._registered_lock = threading.Lock()

    # -- plumbing -----------------------------------------------------------------------
    @property
    def where(self) -> str:
        """The server, for error messages (``valkey at host:port``)."""
        return describe_client(self.client)

    def _call(self, what: str, fn: Callable[[], Any]) -> Any:
        def attempt() -> Any:
            with translate(self.where, what):
                return fn()

        return self._retry(attempt) if self._retry is not None else attempt()

    def _eval(self, name: str, enc_thread: str, args: Sequence[Any], *, register: bool = False) -> Any:
        """Run one script on a thread's slot (EVALSHA; scripts are loaded when the server lacks them)."""
        keys = [self.layout.registry_key(enc_thread)]
        full = [*self.layout.heads(enc_thread), *args]
        pre: list[tuple[Any, ...]] = []
        if register:
            pre = self._registration(enc_thread)
        sha = self._shas[name]
        if pre and not self._cluster:
            # One round trip: the global thread set and the script share a pipeline.
            try:
                return self._pipeline([*pre, ("EVALSHA", sha, 1, *keys, *full)])[-1]
            except NoScriptError:
                self._load_scripts()
                return self._pipeline([*pre, ("EVALSHA", sha, 1, *keys, *full)])[-1]
        for cmd in pre:
            self.client.execute_command(*cmd)
        if pre:
            self._remember(enc_thread)
        try:
            return self.client.execute_command("EVALSHA", sha, 1, *keys, *full)
        except NoScriptError:
            self._load_scripts()
            return self.client.execute_command("EVALSHA", sha, 1, *keys, *full)

    def _load_scripts(self) -> None:
        """Load every script (after a restart or on a new server) so later calls are one EVALSHA."""
        if self._cluster:
            for src in _SCRIPTS.values():
                self.client.script_load(src)  # valkey-py sends it to every primary
        else:
            self._pipeline([("SCRIPT LOAD", src) for src in _SCRIPTS.values()])

    def _pipeline(self, commands: Sequence[tuple[Any, ...]]) -> list[Any]:
        pipe = self.client.pipeline(transaction=False)
        for cmd in commands:
            pipe.execute_command(*cmd)
        return pipe.execute()

    def _registration(self, enc_thread: str) -> list[tuple[Any, ...]]:
        if self._cluster:
            with self._registered_lock:
                if enc_thread in self._registered:
                    return []
        return [("SADD", self.layout.threads, enc_thread)]

    def _remember(self, enc_thread: str) -> None:
        with self._registered_lock:
            self._registered[enc_thread] = None
            while len(self._registered) > 10_000:
                self._registered.popitem(last=False)

    # -- encoding ---------------------------------------------------------------------
    def _header_value(self, cp: StoredCheckpoint) -> bytes:
        versions = dict(cp.channel_versions)
        head = {
            "p": cp.parent_checkpoint_id,
            "t": cp.payload.type_tag,
            "n": len(cp.payload.data),
            "v": versions,
            "m": dict(cp.metadata),
            "bf": [_s(blob_field(ch, str(v))) for ch, v in versions.items()],
            "mt": cp.metadata_payload.type_tag if cp.metadata_payload is not None else None,
        }
        body = cp.payload.data + (cp.metadata_payload.data if cp.metadata_payload is not None else b"")
        return _frame(_json(head), body)

    @staticmethod
    def _blob_value(payload: Payload) -> bytes:
        return _frame(_b(payload.type_tag), payload.data)

    @staticmethod
    def _write_value(w: StoredWrite) -> bytes:
        head = {"c": w.channel, "t": w.payload.type_tag, "p": w.task_path, "k": w.task_id, "i": w.idx}
        return _frame(_json(head), w.payload.data)

    def _parse_header(self, thread: ThreadKey, ns: str, cid: str, raw: bytes) -> tuple[StoredCheckpoint, list[str]]:
        where = f"checkpoint {cid!r} of thread {thread.thread_id!r} (namespace {ns!r})"
        head_raw, body = _unframe(raw, where)
        try:
            obj = json.loads(head_raw)
        except ValueError as exc:
            raise CorruptRecordError(f"{where}: header is not JSON") from exc
        head: _HeaderHead = _structure(obj, _HeaderHead, where)
        if head.n > len(body):
            raise CorruptRecordError(f"{where}: payload is truncated")
        payload = Payload(head.t, body[: head.n])
        meta_payload = Payload(head.mt, body[head.n :]) if head.mt is not None else None
        stored = StoredCheckpoint(
            thread=thread,
            checkpoint_ns=ns,
            checkpoint_id=cid,
            parent_checkpoint_id=head.p,
            payload=payload,
            channel_versions=head.v,
            metadata=head.m,
            metadata_payload=meta_payload,
        )
        return stored, head.bf

    @staticmethod
    def _parse_blob(field: bytes, raw: bytes, where: str) -> ChannelBlob:
        channel, version = _parse_len_prefixed(field, where)
        tag, data = _unframe(raw, where)
        return ChannelBlob(_s(channel), _s(version), Payload(_s(tag), data))

    @staticmethod
    def _parse_write(thread: ThreadKey, ns: str, cid: str, raw: bytes) -> StoredWrite:
        where = f"write of checkpoint {cid!r} of thread {thread.thread_id!r}"
        head_raw, data = _unframe(raw, where)
        try:
            obj = json.loads(head_raw)
        except ValueError as exc:
            raise CorruptRecordError(f"{where}: head is not JSON") from exc
        head: _WriteHead = _structure(obj, _WriteHead, where)
        return StoredWrite(thread, ns, cid, head.k, head.i, head.c, Payload(head.t, data), head.p)

    def _parse_record(self, enc_thread: str, row: Sequence[Any]) -> CheckpointRecord:
        actor, ns = _split_member(row[0])
        thread = ThreadKey(decode_id(enc_thread), actor)
        cid = _s(row[1])
        stored, fields = self._parse_header(thread, ns, cid, row[2])
        if len(row) < 5:
            return CheckpointRecord(stored)
        where = f"channel blob of checkpoint {cid!r} of thread {thread.thread_id!r}"
        blobs = [
            self._parse_blob(_b(field), raw, where)
            for field, raw in zip(fields, row[3])
            if raw is not None
        ]
        writes = [self._parse_write(thread, ns, cid, raw) for raw in row[4] if raw is not None]
        writes.sort(key=lambda w: w.sort_key)
        return CheckpointRecord(stored, blobs, writes)

    # -- writes -----------------------------------------------------------------------
    def put_checkpoint(self, checkpoint: StoredCheckpoint, blobs: Sequence[ChannelBlob]) -> None:
        thread = checkpoint.thread
        member = _member(thread.actor_id, checkpoint.checkpoint_ns)
        args: list[Any] = [self._ttl_arg]
        for blob in blobs:
            args += ["B", member, blob_field(blob.channel, blob.version), self._blob_value(blob.payload)]
        args += ["C", member, checkpoint.checkpoint_id, self._header_value(checkpoint)]
        enc = encode_id(thread.thread_id)
        self._call("put_checkpoint", lambda: self._eval("WRITE", enc, args, register=True))

    def put_writes(self, writes: Sequence[StoredWrite]) -> None:
        if not writes:
            return
        enc = encode_id(writes[0].thread.thread_id)
        args: list[Any] = [self._ttl_arg]
        for w in writes:
            if encode_id(w.thread.thread_id) != enc:
                raise InvalidInputError("put_writes: all writes must belong to one thread")
            args += [
                "W" if w.idx >= 0 else "U",
                _member(w.thread.actor_id, w.checkpoint_ns),
                write_field(w.checkpoint_id, w.task_id, w.idx),
                self._write_value(w),
            ]
        self._call("put_writes", lambda: self._eval("WRITE", enc, args, register=True))

    # -- reads ------------------------------------------------------------------------
    def get_checkpoint(self, key: CheckpointKey) -> Optional[CheckpointRecord]:
        enc = encode_id(key.thread.thread_id)
        args = [_member(key.thread.actor_id, key.checkpoint_ns), key.checkpoint_id or ""]
        if key.checkpoint_id == "":
            return None
        row = self._call("get_checkpoint", lambda: self._eval("GET", enc, args))
        return None if row is None else self._parse_record(enc, row)

    def _list_args(self, query: CheckpointQuery, thread: Optional[ThreadKey], headers_only: bool) -> list[Any]:
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
            "1" if headers_only else "0",
        ]

    def list_checkpoints(self, query: CheckpointQuery) -> Iterator[CheckpointRecord]:
        if query.limit is not None and query.limit <= 0:
            return iter(())
        if query.checkpoint_id == "":
            return iter(())
        if query.thread is not None:
            enc = encode_id(query.thread.thread_id)
            args = self._list_args(query, query.thread, query.headers_only)
            rows = self._call("list_checkpoints", lambda: self._eval("LIST", enc, args))
            return iter([self._parse_record(enc, row) for row in rows])
        return iter(self._list_all_threads(query))

    def _list_all_threads(self, query: CheckpointQuery) -> list[CheckpointRecord]:
        """List across threads: walk the global thread set (never the keyspace)."""
        threads = self._call(
            "list_checkpoints",
            lambda: [_s(t) for t in self.client.sscan_iter(self.layout.threads, count=1000)],
        )
        args = self._list_args(query, None, query.headers_only)
        records: list[CheckpointRecord] = []
        for start in range(0, len(threads), 100):
            batch = threads[start : start + 100]
            results = self._call("list_checkpoints", lambda b=batch: self._eval_many("LIST", b, args))
            for enc, rows in zip(batch, results):
                records.extend(self._parse_record(enc, row) for row in rows)
        records.sort(key=lambda r: r.checkpoint.checkpoint_id, reverse=True)
        return records[: query.limit] if query.limit is not None else records

    def _eval_many(self, name: str, threads: Sequence[str], args: Sequence[Any]) -> list[Any]:
        """The same script on many threads: one pipeline on a standalone server."""
        if self._cluster:
            return [self._eval(name, enc, args) for enc in threads]

        def commands(verb: str, body: str) -> list[tuple[Any, ...]]:
            return [
                (verb, body, 1, self.layout.registry_key(enc), *self.layout.heads(enc), *args) for enc in threads
            ]

        try:
            return self._pipeline(commands("EVALSHA", self._shas[name]))
        except NoScriptError:
            self._load_scripts()
            return self._pipeline(commands("EVALSHA", self._shas[name]))

    def scan_checkpoints(self, thread: ThreadKey, checkpoint_ns: Optional[str] = None) -> Iterator[StoredCheckpoint]:
        query = CheckpointQuery(thread=thread, checkpoint_ns=checkpoint_ns, headers_only=True)
        return (r.checkpoint for r in self.list_checkpoints(query))

    def get_blobs(self, thread: ThreadKey, checkpoint_ns: str, refs: Sequence[BlobRef]) -> dict[BlobRef, ChannelBlob]:
        if not refs:
            return {}
        enc = encode_id(thread.thread_id)
        key = self.layout.heads(enc)[2] + _member(thread.actor_id, checkpoint_ns)
        fields = [blob_field(ch, str(v)) for ch, v in refs]
        raws = self._call("get_blobs", lambda: self.client.hmget(key, fields))
        where = f"channel blob of thread {thread.thread_id!r}"
        out: dict[BlobRef, ChannelBlob] = {}
        for ref, field, raw in zip(refs, fields, raws):
            if raw is not None:
                out[(ref[0], str(ref[1]))] = self._parse_blob(field, raw, where)
        return out

    def get_writes(self, thread: ThreadKey, checkpoint_ns: str, checkpoint_ids: Sequence[str]) -> dict[str, list[StoredWrite]]:
        if not checkpoint_ids:
            return {}
        enc = encode_id(thread.thread_id)
        args = [_member(thread.actor_id, checkpoint_ns), *checkpoint_ids]
        rows = self._call("get_writes", lambda: self._eval("GET_WRITES", enc, args))
        out: dict[str, list[StoredWrite]] = {}
        for cid, raws in zip(checkpoint_ids, rows):
            ws = [self._parse_write(thread, checkpoint_ns, cid, raw) for raw in raws if raw is not None]
            ws.sort(key=lambda w: w.sort_key)
            out[cid] = ws
        return out

    # -- deletes ----------------------------------------------------------------------
    def delete_thread(self, thread_id: str, actor_id: Optional[str] = None) -> None:
        enc = encode_id(thread_id)
        args = ["1" if actor_id is not None else "0", encode_actor(actor_id)]
        self._call("delete_thread", lambda: self._eval("DELETE_THREAD", enc, args))

    def delete_checkpoints(self, thread: ThreadKey, checkpoint_ns: str, checkpoint_ids: Sequence[str]) -> None:
        if not checkpoint_ids:
            return
        enc = encode_id(thread.thread_id)
        args = [_member(thread.actor_id, checkpoint_ns), *checkpoint_ids]
        self._call("delete_checkpoints", lambda: self._eval("DELETE_CHECKPOINTS", enc, args))

    def delete_blobs(self, thread: ThreadKey, checkpoint_ns: str, refs: Sequence[BlobRef]) -> None:
        if not refs:
            return
        enc = encode_id(thread.thread_id)
        key = self.layout.heads(enc)[2] + _member(thread.actor_id, checkpoint_ns)
        fields = [blob_field(ch, str(v)) for ch, v in refs]
        self._call("delete_blobs", lambda: self.client.hdel(key, *fields))

    # -- bulk -------------------------------------------------------------------------
    def export_thread(self, thread: ThreadKey) -> ThreadData:
        enc = encode_id(thread.thread_id)
        args = ["1", encode_actor(thread.actor_id)]
        rows = self._call("export_thread", lambda: self._eval("EXPORT", enc, args))
        checkpoints: list[StoredCheckpoint] = []
        blobs: list[tuple[str, ChannelBlob]] = []
        writes: list[StoredWrite] = []
        where = f"thread {thread.thread_id!r}"
        for member, headers, blob_pairs, write_pairs in rows:
            _, ns = _split_member(member)
            for i in range(0, len(headers), 2):
                checkpoints.append(self._parse_header(thread, ns, _s(headers[i]), headers[i + 1])[0])
            for i in range(0, len(blob_pairs), 2):
                blobs.append((ns, self._parse_blob(blob_pairs[i], blob_pairs[i + 1], where)))
            for i in range(0, len(write_pairs), 2):
                cid, _ = _parse_len_prefixed(write_pairs[i], where)
                writes.append(self._parse_write(thread, ns, _s(cid), write_pairs[i + 1]))
        return ThreadData(thread=thread, checkpoints=checkpoints, blobs=blobs, writes=writes)

    def import_thread(self, data: ThreadData) -> None:
        thread = data.thread
        ops: list[list[Any]] = []
        for ns, blob in data.blobs:
            ops.append(["B", _member(thread.actor_id, ns), blob_field(blob.channel, blob.version), self._blob_value(blob.payload)])
        for cp in data.checkpoints:
            ops.append(["C", _member(thread.actor_id, cp.checkpoint_ns), cp.checkpoint_id, self._header_value(attrs.evolve(cp, thread=thread))])
        for w in data.writes:
            ops.append(["U", _member(thread.actor_id, w.checkpoint_ns), write_field(w.checkpoint_id, w.task_id, w.idx), self._write_value(w)])
        enc = encode_id(thread.thread_id)
        for start in range(0, len(ops), _IMPORT_CHUNK):
            args: list[Any] = [self._ttl_arg]
            for op in ops[start : start + _IMPORT_CHUNK]:
                args.extend(op)
            self._call("import_thread", lambda a=args: self._eval("WRITE", enc, a, register=True))

    # -- inspection -------------------------------------------------------------------
    def thread_keys(self, thread_id: str) -> list[str]:
        """Every key holding data of a thread (for inspection tools and tests)."""
        enc = encode_id(thread_id)
        registry = self.layout.registry_key(enc)
        members = self._call("thread_keys", lambda: self.client.smembers(registry))
        keys = [registry]
        for m in sorted(members):
            keys.extend(head + _s(m) for head in self.layout.heads(enc))
        return keys


def _connection_kwargs(client: Any) -> Mapping[str, Any]:
    pool = getattr(client, "connection_pool", None)
    if pool is not None:
        return getattr(pool, "connection_kwargs", {}) or {}
    return getattr(client, "get_connection_kwargs", lambda: {})() or {}


def describe_client(client: Any) -> str:
    """``valkey at host:port`` (or the cluster's nodes) for error messages; never a password."""
    try:
        if isinstance(client, ValkeyCluster):
            nodes = [n.name for n in client.get_nodes()][:3]
            return "valkey cluster at " + ",".join(nodes)
        kw = _connection_kwargs(client)
        if kw.get("path"):
            return f"valkey at unix:{kw['path']}"
        return f"valkey at {kw.get('host', 'localhost')}:{kw.get('port', 6379)}"
    except Exception:  # noqa: BLE001 - a description must never fail
        return "valkey"
