"""Read-only readers of langgraph-checkpoint-aws 1.2 ``ValkeySaver`` and ``AgentCoreValkeySaver`` keys.

``ValkeySaver`` (and ``AsyncValkeySaver``) layout, ``T`` the thread id and
``N`` the namespace as given (no escaping), ``P`` an optional key prefix:

- ``P thread:{T}:N`` list of checkpoint ids, newest pushed first (LPUSH; a
  re-put id appears twice);
- ``P checkpoint:{T}:N:<id>`` string, JSON ``{"thread_id", "checkpoint_id",
  "parent_checkpoint_id", "type", "checkpoint": base64(serde bytes of the whole
  Checkpoint), "metadata": base64(JSON text)}``;
- ``P writes:{T}:N:<id>`` string, JSON list of ``{"task_id", "idx", "channel",
  "type", "value": base64(serde bytes)}`` (no task path).

``AgentCoreValkeySaver`` layout, ``S`` the session id (the thread id in the
root namespace, else ``sha256(f"{thread_id}_{ns}")`` in hex) and ``A`` the actor:

- ``P agentcore:session:S:A:checkpoints`` list of checkpoint ids (LPUSH);
- ``P agentcore:checkpoint:S:A:N:<id>`` string, JSON ``{"checkpoint_id",
  "session_id", "actor_id", "thread_id", "checkpoint_ns", "parent_checkpoint_id",
  "checkpoint_data": {"type", "data": base64}, "metadata": {"type", "data": base64},
  "created_at"}``;
- ``P agentcore:writes:S:A:N:<id>`` list of JSON ``{"checkpoint_id", "task_id",
  "channel", "value": {"type", "data"}, "task_path", "created_at"}`` in
  RPUSH order (no index: it is renumbered as LangGraph numbered it);
- ``P agentcore:channel:S:A:N:<channel>:<id>``: written, never read by 1.2.6;
  ignored here too.

Cost: ``get_checkpoint`` 2 round trips (the id list, then the checkpoint and
its writes in one pipeline); ``list_checkpoints`` of one namespace 1 LRANGE
plus one pipeline per 50 checkpoints. Neither layout indexes threads or
namespaces, so ``list_threads`` and lists over every namespace of a thread
read an index built by one cursor SCAN MATCH over the keyspace (keys only,
plus one GET per ambiguous key or per AgentCore namespace); the index is
rebuilt by each ``list_threads`` call and by ``refresh()``.
"""

from __future__ import annotations

import abc
import contextlib
import hashlib
import json
from collections.abc import Iterator, Sequence
from typing import Any, Optional

from ...domain.errors import (
    BackendConnectionError,
    BackendError,
    InvalidInputError,
    PersistenceError,
)
from ...domain.models import (
    CheckpointRecord,
    Payload,
    StoredWrite,
    ThreadKey,
)
from ._common import (
    AWS_FORMAT,
    IdPagedReader,
    chunked,
    decode_b64,
    decode_json,
    metadata_from_json,
    metadata_from_payload,
    number_writes,
    ordered,
    split_checkpoint,
    stored_checkpoint,
)

__all__ = ["LegacyValkeyRepository", "LegacyAgentCoreValkeyRepository", "agentcore_session_id", "glob_escape"]

_PAGE = 50


def glob_escape(text: str) -> str:
    """``text`` as a literal inside a SCAN MATCH pattern."""
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)


def agentcore_session_id(thread_id: str, checkpoint_ns: str) -> str:
    """The session id AgentCoreValkeySaver 1.2 derives from a thread and a namespace."""
    if not checkpoint_ns:
        return thread_id
    return hashlib.sha256(f"{thread_id}_{checkpoint_ns}".encode()).hexdigest()


def _text(value: Any) -> str:
    return value.decode("utf-8", "surrogateescape") if isinstance(value, bytes) else str(value)






def _unique(ids: Sequence[Any]) -> list[str]:
    return list(dict.fromkeys(_text(i) for i in ids))


class _ValkeyReader(IdPagedReader):
    """Client calls with valkey-py errors translated, shared by both readers."""

    page_size = _PAGE

    def __init__(self, client: Any, *, prefix: str = "", scan_count: int = 1000) -> None:
        self.client = client
        self.prefix = prefix
        self.scan_count = scan_count
        self._index: Optional[dict[ThreadKey, set[str]]] = None
        pool = getattr(client, "connection_pool", None)
        kwargs = getattr(pool, "connection_kwargs", {}) or {}
        self.where = f"valkey at {kwargs.get('host', '?')}:{kwargs.get('port', '?')}"

    @contextlib.contextmanager
    def _errors(self, what: str) -> Iterator[None]:
        from valkey import exceptions as vx

        try:
            yield
        except PersistenceError:
            raise
        except (vx.ConnectionError, vx.TimeoutError, ConnectionError, TimeoutError) as exc:
            raise BackendConnectionError(f"{what}: cannot reach {self.where} ({type(exc).__name__}: {exc})") from exc
        except vx.ValkeyError as exc:
            raise BackendError(f"{what}: {self.where} failed: {type(exc).__name__}: {exc}") from exc

    def _pipeline(self, commands: Sequence[tuple[str, ...]], what: str) -> list[Any]:
        """Run commands in one round trip; a command's error comes back as its result."""
        with self._errors(what):
            pipe = self.client.pipeline(transaction=False)
            for command in commands:
                pipe.execute_command(*command)
            return list(pipe.execute(raise_on_error=False))

    def _scan(self, pattern: str, what: str) -> Iterator[str]:
        with self._errors(what):
            for key in self.client.scan_iter(match=pattern, count=self.scan_count):
                yield _text(key)

    # -- the index of threads and namespaces ------------------------------------------------
    def refresh(self) -> None:
        """Forget the index of threads and namespaces; the next read that needs it scans again."""
        self._index = None

    @abc.abstractmethod
    def _build_index(self) -> dict[ThreadKey, set[str]]:
        """Every thread of the layout and its namespaces (one SCAN MATCH)."""

    def _namespaces(self, thread: ThreadKey) -> list[str]:
        if self._index is None:
            self._index = self._build_index()
        return sorted(self._index.get(thread, ()))

    def list_threads(self) -> Iterator[ThreadKey]:
        """Every thread with checkpoints: one SCAN MATCH over the keyspace (the layout indexes no threads)."""
        self._index = self._build_index()
        yield from sorted(self._index, key=lambda t: (t.thread_id, t.actor_id or ""))


class LegacyValkeyRepository(_ValkeyReader):
    """Reads the threads a langgraph-checkpoint-aws 1.2 ``ValkeySaver``/``AsyncValkeySaver`` stored (read-only).

    Implements the read half of ``CheckpointRepository`` and ``ThreadLister``;
    the write methods raise ``UnsupportedOperationError``.

    Args:
        client: a sync ``valkey.Valkey`` client (or cluster client: every key of
            a thread shares the ``{thread_id}`` hash tag).
        prefix: a prefix in front of every key name, if the data was written
            through one (the published saver has none).
        scan_count: COUNT of each SCAN call when the keyspace must be scanned.
    """

    source_name = "a langgraph-checkpoint-aws 1.2 ValkeySaver keyspace"
    format_name = AWS_FORMAT

    def _key(self, kind: str, thread_id: str, ns: str, checkpoint_id: Optional[str] = None) -> str:
        key = f"{self.prefix}{kind}:{{{thread_id}}}:{ns}"
        return key if checkpoint_id is None else f"{key}:{checkpoint_id}"

    def _thread(self, thread: ThreadKey) -> ThreadKey:
        if thread.actor_id is not None:
            raise InvalidInputError("ValkeySaver (langgraph-checkpoint-aws 1.2) threads have no actor_id")
        return thread

    def _build_index(self) -> dict[ThreadKey, set[str]]:
        head = f"{self.prefix}thread:{{"
        index: dict[ThreadKey, set[str]] = {}
        ambiguous: list[str] = []
        for key in self._scan(glob_escape(head) + "*", "list_threads"):
            rest = key[len(head) :]
            if rest.count("}:") == 1:
                thread_id, ns = rest.split("}:")
                index.setdefault(ThreadKey(thread_id), set()).add(ns)
            elif "}:" in rest:
                ambiguous.append(rest)
        # A thread id holding "}:" makes the key ambiguous: the stored checkpoint names its thread.
        for batch in chunked(ambiguous, _PAGE):
            heads = self._pipeline([("LINDEX", head + rest, "0") for rest in batch], "list_threads")
            probes = [(rest, _text(cid)) for rest, cid in zip(batch, heads) if isinstance(cid, (bytes, str))]
            docs = self._pipeline(
                [("GET", f"{self.prefix}checkpoint:{{{rest}:{cid}") for rest, cid in probes], "list_threads"
            )
            for (rest, _), raw in zip(probes, docs):
                if not isinstance(raw, (bytes, str)):
                    continue
                thread_id = str(decode_json(raw, "list_threads").get("thread_id", ""))
                if rest.startswith(thread_id + "}:"):
                    index.setdefault(ThreadKey(thread_id), set()).add(rest[len(thread_id) + 2 :])
        return index

    def _ids(self, thread: ThreadKey, ns: str) -> list[str]:
        with self._errors("list_checkpoints"):
            return _unique(self.client.lrange(self._key("thread", thread.thread_id, ns), 0, -1))

    def _fetch(self, thread: ThreadKey, pairs: Sequence[tuple[str, str]], with_writes: bool) -> list[CheckpointRecord]:
        t = thread.thread_id
        commands: list[tuple[str, ...]] = [("GET", self._key("checkpoint", t, ns, cid)) for ns, cid in pairs]
        if with_writes:
            commands += [("GET", self._key("writes", t, ns, cid)) for ns, cid in pairs]
        results = self._pipeline(commands, "get_checkpoint")
        for r in results:
            if isinstance(r, Exception):
                raise BackendError(f"get_checkpoint: {self.where} failed: {r}")
        records = []
        for i, (ns, cid) in enumerate(pairs):
            raw = results[i]
            if raw is None:
                continue
            what = f"checkpoint {cid!r} of thread {t!r} (namespace {ns!r}) in {self.where}"
            doc = decode_json(raw, what)
            split = split_checkpoint(str(doc.get("type")), decode_b64(doc.get("checkpoint"), what), what)
            metadata, typed = metadata_from_json(decode_b64(doc.get("metadata") or "", what), what, revived=False)
            header = stored_checkpoint(thread, ns, cid, doc.get("parent_checkpoint_id"), split, metadata, typed)
            if not with_writes:
                records.append(CheckpointRecord(header))
                continue
            writes_raw = results[len(pairs) + i]
            writes = []
            for w in decode_json(writes_raw, what) if writes_raw else []:
                writes.append(
                    StoredWrite(
                        thread=thread,
                        checkpoint_ns=ns,
                        checkpoint_id=cid,
                        task_id=str(w["task_id"]),
                        idx=int(w["idx"]),
                        channel=str(w["channel"]),
                        payload=Payload(str(w["type"]), decode_b64(w["value"], what)),
                    )
                )
            records.append(CheckpointRecord(header, split.blobs, ordered(writes)))
        return records


class LegacyAgentCoreValkeyRepository(_ValkeyReader):
    """Reads the threads a langgraph-checkpoint-aws 1.2 ``AgentCoreValkeySaver`` stored (read-only).

    Threads are ``ThreadKey(thread_id, actor_id)``; every read needs the actor.
    Implements the read half of ``CheckpointRepository`` and ``ThreadLister``;
    the write methods raise ``UnsupportedOperationError``.

    Args:
        client: a sync ``valkey.Valkey`` client (the published saver used no
            hash tags, so its data lives on standalone servers only).
        prefix: a prefix in front of every key name, if any.
        scan_count: COUNT of each SCAN call when the keyspace must be scanned.
    """

    source_name = "a langgraph-checkpoint-aws 1.2 AgentCoreValkeySaver keyspace"
    format_name = AWS_FORMAT

    def _key(self, kind: str, thread: ThreadKey, ns: str, checkpoint_id: str) -> str:
        session = agentcore_session_id(thread.thread_id, ns)
        return f"{self.prefix}agentcore:{kind}:{session}:{thread.actor_id}:{ns}:{checkpoint_id}"

    def _thread(self, thread: ThreadKey) -> ThreadKey:
        if thread.actor_id is None:
            raise InvalidInputError("AgentCoreValkeySaver (langgraph-checkpoint-aws 1.2) threads need an actor_id")
        return thread

    def _build_index(self) -> dict[ThreadKey, set[str]]:
        head = f"{self.prefix}agentcore:checkpoint:"
        groups: dict[str, str] = {}
        for key in self._scan(glob_escape(head) + "*", "list_threads"):
            group, sep, _ = key.rpartition(":")
            if sep and group not in groups:
                groups[group] = key
        index: dict[ThreadKey, set[str]] = {}
        keys = list(groups.values())
        for batch in chunked(keys, _PAGE):
            for key, raw in zip(batch, self._pipeline([("GET", k) for k in batch], "list_threads")):
                if not isinstance(raw, (bytes, str)):
                    continue  # not a string: a key of another layout under the same head
                try:
                    doc = json.loads(raw)
                    thread = ThreadKey(str(doc["thread_id"]), str(doc["actor_id"]))
                    ns = str(doc.get("checkpoint_ns") or "")
                except (ValueError, KeyError, TypeError, AttributeError):
                    continue
                if key.startswith(head + f"{agentcore_session_id(thread.thread_id, ns)}:{thread.actor_id}:{ns}:"):
                    index.setdefault(thread, set()).add(ns)
        return index

    def _ids(self, thread: ThreadKey, ns: str) -> list[str]:
        session = agentcore_session_id(thread.thread_id, ns)
        with self._errors("list_checkpoints"):
            return _unique(self.client.lrange(f"{self.prefix}agentcore:session:{session}:{thread.actor_id}:checkpoints", 0, -1))

    def _fetch(self, thread: ThreadKey, pairs: Sequence[tuple[str, str]], with_writes: bool) -> list[CheckpointRecord]:
        commands: list[tuple[str, ...]] = [("GET", self._key("checkpoint", thread, ns, cid)) for ns, cid in pairs]
        if with_writes:
            commands += [("LRANGE", self._key("writes", thread, ns, cid), "0", "-1") for ns, cid in pairs]
        results = self._pipeline(commands, "get_checkpoint")
        for r in results:
            if isinstance(r, Exception):
                raise BackendError(f"get_checkpoint: {self.where} failed: {r}")
        records = []
        for i, (ns, cid) in enumerate(pairs):
            raw = results[i]
            if raw is None:
                continue
            what = f"checkpoint {cid!r} of thread {thread.thread_id!r}, actor {thread.actor_id!r} (namespace {ns!r}) in {self.where}"
            doc = decode_json(raw, what)
            data = doc.get("checkpoint_data") or {}
            split = split_checkpoint(str(data.get("type")), decode_b64(data.get("data"), what), what)
            md = doc.get("metadata") or {}
            metadata, typed = metadata_from_payload(str(md.get("type", "null")), decode_b64(md.get("data") or "", what), what)
            header = stored_checkpoint(thread, ns, cid, doc.get("parent_checkpoint_id"), split, metadata, typed)
            if not with_writes:
                records.append(CheckpointRecord(header))
                continue
            entries = []
            for item in results[len(pairs) + i] or []:
                w = decode_json(item, what)
                value = w.get("value") or {}
                entries.append(
                    (str(w["task_id"]), str(w["channel"]), Payload(str(value["type"]), decode_b64(value["data"], what)), str(w.get("task_path") or ""))
                )
            records.append(CheckpointRecord(header, split.blobs, ordered(number_writes(thread, ns, cid, entries))))
        return records
