"""AgentCore Memory checkpoint repository: checkpoints as events of one session per thread.

Identity: a thread is one session (``sessionId`` = ``service_id(thread_id)``)
of one actor (``actorId`` = ``actor_key(actor_id)``; threads without an actor
use the reserved ``n__``); both encodings are injective (see ``_ids``), and
every record also carries the thread id, actor id, namespace and checkpoint
id it belongs to, which readers check.

Events (all immutable; metadata values pass through ``metadata_value``)::

    kind k=c  ns, cid, s    one per put_checkpoint: the header (payload, parent,
                            versions, metadata) and the blobs of the channels it
                            changed; ``refs`` maps every (channel, version) of
                            the checkpoint to the stamp ``s`` of the event that
                            holds its blob (its own or an ancestor's).
    kind k=w  ns, cid       one per task and put_writes call: the task's writes,
                            with a write stamp (first write of an idx >= 0
                            wins, the last of an idx < 0, LangGraph's rule).
    kind k=h  ns, cid       the head pointer of a namespace: the latest
                            checkpoint id, its stamp and the stamps it refers to.
    kind k=b  ns, s         blobs moved out of a pruned checkpoint's event that
                            survivors still refer to (same stamp, so refs hold).

A record too large for one payload item is split over several events (tags
``g``, ``p``, ``n``), each of at most ``items_per_event`` items of 96,000
characters; readers only see complete groups.

Why this shape: ListEvents filters on event metadata (EQUALS_TO) and on
nothing else that helps, and the service documents no order, so a read must
never page through a session. Every read names what it wants by metadata:

- ``get_checkpoint`` (latest): 1 ListEvents of the head pointers
  (``k=h, ns``), then, in parallel, 1 ListEvents of the checkpoint's own
  events and writes (``ns, cid``) and 1 ListEvents per distinct older event
  holding one of its blobs (``s``); by id: the second round first, then the
  blob events. That is ``2 + D`` calls, D being the number of earlier puts
  whose blobs the checkpoint still uses (at most its number of channels),
  whatever the length of the session; a page holds 100 events.
- ``put_checkpoint``: 1 CreateEvent (more only for a split record), then the
  new head pointer (1 CreateEvent) and the deletion of the pointer it
  replaces (1 DeleteEvent), in parallel. The refs of unchanged channels come
  from the parent's header, kept in a per-process cache filled by every read
  and put; on a miss, 1 ListEvents reads the parent (``ns, cid``), and the
  pointers of the namespace (``k=h, ns``) once per process. A crash between
  the pointer's creation and the old one's deletion leaves two pointers: the
  newest wins; a missing pointer falls back to listing the namespace.
- ``put_writes``: 1 CreateEvent per task.
- ``list_checkpoints``: 1 ListEvents per 100 events of the thread (or of the
  namespace), then filters (metadata, before, limit) in the client; without a
  thread, ListActors and ListSessions pages first.
- ``delete_thread``: 1 ListEvents per 100 events (no payloads) and one
  DeleteEvent per event (the API deletes one event per call), in parallel,
  in every namespace; without an actor, ListActors pages first and one
  listing per actor.
- ``prune``: 1 ListEvents per 100 events of the namespace, one CreateEvent per
  doomed put whose blobs survivors still use (the blobs move to a ``k=b``
  event with the same stamp), and one DeleteEvent per removed event.

Writes are idempotent: every CreateEvent carries a ``clientToken`` derived
from its content and the write's stamp, and a stamp is kept per content in
the process, so the RetryPolicy's retry of a call whose answer was lost
returns the first event instead of writing a second one.
"""

from __future__ import annotations

import threading
from collections import OrderedDict, defaultdict
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from typing import Any, Optional

import attrs

from ...domain.errors import CorruptRecordError
from ...domain.models import (
    EMPTY_PAYLOAD,
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
from ...domain.policies import metadata_matches
from ...domain.ports import BlobRef
from ._client import MemoryClient
from ._ids import actor_key, metadata_value, service_id
from ._records import Loaded, assemble, b64, digest, new_stamp, split_record, stamp_time_ns, unb64

__all__ = ["AgentCoreCheckpointRepository", "MAX_INLINE_BYTES"]

WRITER = "\x00agentcore:put"
"""Marker channel of ``export_thread``: the blobs after it were written by one put (its version: that put's stamp)."""

MAX_INLINE_BYTES: Optional[int] = None
"""No payload limit: records over one event are split across events."""

_CACHE = 4096
_Loc = tuple[str, str]
"""(actorId, sessionId) of a thread."""


class _Lru:
    """A small thread-safe LRU map."""

    def __init__(self, capacity: int = _CACHE) -> None:
        self._data: OrderedDict[Any, Any] = OrderedDict()
        self._lock = threading.Lock()
        self._capacity = capacity

    def get(self, key: Any) -> Any:
        with self._lock:
            value = self._data.get(key)
            if value is not None:
                self._data.move_to_end(key)
            return value

    def put(self, key: Any, value: Any) -> None:
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self._capacity:
                self._data.popitem(last=False)

    def keys(self) -> list[Any]:
        with self._lock:
            return list(self._data)

    def drop(self, match: Any) -> None:
        with self._lock:
            for key in [k for k in self._data if match(k)]:
                del self._data[key]


@attrs.frozen
class _Header:
    """A checkpoint record read back."""

    checkpoint: StoredCheckpoint
    stamp: str
    refs: Mapping[tuple[str, str], str]
    blobs: Mapping[tuple[str, str], ChannelBlob]
    event_ids: tuple[str, ...]


@attrs.frozen
class _Pointer:
    cid: str
    stamp: str
    refs: tuple[str, ...]
    event_id: str


def _payload(pair: Sequence[Any]) -> Payload:
    return Payload(str(pair[0]), unb64(str(pair[1])))


def _pair(payload: Payload) -> list[str]:
    return [payload.type_tag, b64(payload.data)]


class AgentCoreCheckpointRepository:
    """A CheckpointRepository on one AgentCore Memory (see the module docstring for the layout).

    Besides the core port it offers ``AncestryReader``, ``CheckpointPruner``,
    ``ThreadTransfer``, ``ThreadLister`` and ``ActorLister``.

    Args:
        client: a boto3 ``bedrock-agentcore`` client (see ``adapters.aws.build_client``).
        memory_id: the memory's id (or ARN).
        items_per_event: payload items of 96,000 characters per event (a
            record larger than that is split over several events).
        max_workers: threads for the independent calls of one operation.
    """

    def __init__(self, *, client: Any, memory_id: str, items_per_event: int = 10, max_workers: int = 8) -> None:
        self.memory = MemoryClient(client, memory_id, max_workers=max_workers)
        self.memory_id = memory_id
        self.items_per_event = items_per_event
        self._refs = _Lru()
        """(loc, ns, cid) -> {(channel, version): stamp} of headers seen."""
        self._pointers = _Lru()
        """(loc, ns) -> list of the head pointers known to exist."""
        self._exported = _Lru()
        """(ns, cid, stamp) -> refs of checkpoints exported lately (an import keeps each value's put)."""
        self._stamps = _Lru()
        """content digest -> stamp: a retried write reuses its stamp, so its clientToken matches."""

    # -- identity ----------------------------------------------------------------------
    @staticmethod
    def _loc(thread: ThreadKey) -> _Loc:
        return actor_key(thread.actor_id), service_id(thread.thread_id)

    def _where(self, thread: ThreadKey) -> str:
        return f"AgentCore memory {self.memory_id!r} session of thread {thread.thread_id!r}"

    @staticmethod
    def _mine(record: Mapping[str, Any], thread: ThreadKey) -> bool:
        return bool(record.get("t") == thread.thread_id and record.get("a") == thread.actor_id)

    # -- writing -------------------------------------------------------------------------
    def _stamp_for(self, *content: Any) -> tuple[str, str]:
        key = digest(*content)
        stamp = self._stamps.get(key)
        if stamp is None:
            stamp = new_stamp()
            self._stamps.put(key, stamp)
        return stamp, key

    def _create(self, loc: _Loc, record: Mapping[str, Any], metadata: Mapping[str, str], stamp: str, key: str) -> list[str]:
        """Create the events of a record (in parallel when split); returns their ids."""
        events = split_record(record, self.items_per_event)
        timestamp = stamp_time_ns(stamp)

        def one(index: int) -> str:
            payload, extra = events[index]
            return self.memory.create_event(
                loc[0],
                loc[1],
                payload=payload,
                metadata={**metadata, **extra},
                timestamp_ns=timestamp,
                token=f"{key[:40]}{stamp}{index:04d}",
            )

        return self.memory.parallel(one, list(range(len(events))))

    @staticmethod
    def _identity(thread: ThreadKey, ns: str) -> dict[str, Any]:
        return {"t": thread.thread_id, "a": thread.actor_id, "ns": ns}

    def _header_record(self, cp: StoredCheckpoint, blobs: Sequence[ChannelBlob], refs: Mapping[tuple[str, str], str], stamp: str) -> dict[str, Any]:
        return {
            **self._identity(cp.thread, cp.checkpoint_ns),
            "cid": cp.checkpoint_id,
            "s": stamp,
            "h": {
                "p": cp.parent_checkpoint_id,
                "d": _pair(cp.payload),
                "cv": dict(cp.channel_versions),
                "md": dict(cp.metadata),
                "mp": None if cp.metadata_payload is None else _pair(cp.metadata_payload),
                "r": sorted([ch, v, s] for (ch, v), s in refs.items()),
            },
            "b": [[b.channel, b.version, *_pair(b.payload)] for b in blobs],
        }

    def _resolve_refs(
        self, cp: StoredCheckpoint, own: Collection[tuple[str, str]], stamp: str
    ) -> dict[tuple[str, str], str]:
        """Where each (channel, version) of ``cp`` is stored: this put, the parent's refs, or (rarely) a scan."""
        loc = self._loc(cp.thread)
        ns = cp.checkpoint_ns
        wanted = {(ch, str(v)) for ch, v in cp.channel_versions.items()}
        refs = {ref: stamp for ref in wanted if ref in own}
        missing = wanted - refs.keys()
        if missing and cp.parent_checkpoint_id is not None:
            parent = self._refs.get((loc, ns, cp.parent_checkpoint_id))
            if parent is None:
                found = self._headers(cp.thread, {"k": "c", "ns": metadata_value(ns), "cid": metadata_value(cp.parent_checkpoint_id)}, ns)
                header = _newest(h for h in found if h.checkpoint.checkpoint_id == cp.parent_checkpoint_id)
                parent = header.refs if header is not None else {}
            refs.update({ref: parent[ref] for ref in missing if ref in parent})
            missing = wanted - refs.keys()
        if missing:
            # Versions that neither this put nor the parent hold: find them in the namespace (imports, odd callers).
            held = self._blob_index(cp.thread, ns)
            refs.update({ref: held[ref] for ref in missing if ref in held})
        return refs

    def put_checkpoint(self, checkpoint: StoredCheckpoint, blobs: Sequence[ChannelBlob]) -> None:
        cp = checkpoint
        loc = self._loc(cp.thread)
        ns = cp.checkpoint_ns
        unique = list({(b.channel, b.version): b for b in blobs}.values())
        content = (self.memory_id, loc, ns, cp.checkpoint_id, cp.parent_checkpoint_id, _pair(cp.payload),
                   dict(cp.channel_versions), dict(cp.metadata),
                   [[b.channel, b.version, *_pair(b.payload)] for b in unique])
        stamp, key = self._stamp_for("c", *content)
        refs = self._resolve_refs(cp, {(b.channel, b.version) for b in unique}, stamp)
        record = self._header_record(cp, unique, refs, stamp)
        self._create(loc, record, {"k": "c", "ns": metadata_value(ns), "cid": metadata_value(cp.checkpoint_id), "s": stamp}, stamp, key)
        self._refs.put((loc, ns, cp.checkpoint_id), refs)
        self._move_head(cp.thread, ns, cp.checkpoint_id, stamp, sorted(set(refs.values()) | {stamp}))

    def _known_pointers(self, thread: ThreadKey, ns: str) -> list[_Pointer]:
        loc = self._loc(thread)
        known = self._pointers.get((loc, ns))
        if known is None:
            known = self._list_pointers(thread, ns)
            self._pointers.put((loc, ns), known)
        return list(known)

    def _list_pointers(self, thread: ThreadKey, ns: str) -> list[_Pointer]:
        loc = self._loc(thread)
        events = self.memory.list_events(loc[0], loc[1], equals={"k": "h", "ns": metadata_value(ns)})
        pointers = []
        for loaded in assemble(events, self._where(thread)):
            r = loaded.record
            if loaded.kind == "h" and self._mine(r, thread) and r.get("ns") == ns:
                pointers.append(_Pointer(str(r["cid"]), str(r["s"]), tuple(r.get("r") or ()), loaded.event_ids[0]))
        return pointers

    def _move_head(self, thread: ThreadKey, ns: str, cid: str, stamp: str, refs: Sequence[str]) -> None:
        """Point the namespace's head at ``cid`` unless a newer checkpoint holds it; drop the pointers it replaces."""
        loc = self._loc(thread)
        known = self._known_pointers(thread, ns)
        if any((p.cid, p.stamp) > (cid, stamp) for p in known):
            return
        record = {**self._identity(thread, ns), "cid": cid, "s": stamp, "r": list(refs)}
        key = digest("h", self.memory_id, loc, record)

        def create() -> list[_Pointer]:
            (event_id,) = self._create(loc, record, {"k": "h", "ns": metadata_value(ns), "cid": metadata_value(cid)}, stamp, key)
            return [_Pointer(cid, stamp, tuple(refs), event_id)]

        def drop() -> list[_Pointer]:
            self.memory.delete_events(loc[0], loc[1], [p.event_id for p in known])
            return []

        # Creating the new pointer and deleting the old ones are independent: should the
        # deletion win and the creation fail, a namespace without a pointer is listed instead.
        results = self.memory.parallel(lambda f: f(), [create, drop]) if known else [create()]
        self._pointers.put((loc, ns), [p for r in results for p in r])

    def put_writes(self, writes: Sequence[StoredWrite]) -> None:
        if not writes:
            return
        by_task: dict[tuple[ThreadKey, str, str, str, str], dict[int, StoredWrite]] = defaultdict(dict)
        for w in writes:
            by_task[(w.thread, w.checkpoint_ns, w.checkpoint_id, w.task_id, w.task_path)][w.idx] = w

        def one(item: tuple[tuple[ThreadKey, str, str, str, str], dict[int, StoredWrite]]) -> None:
            (thread, ns, cid, task_id, path), latest = item
            loc = self._loc(thread)
            rows = [[w.idx, w.channel, *_pair(w.payload)] for w in sorted(latest.values(), key=lambda w: w.idx)]
            stamp, key = self._stamp_for("w", self.memory_id, loc, ns, cid, task_id, path, rows)
            record = {**self._identity(thread, ns), "cid": cid, "task": task_id, "path": path, "ts": stamp, "w": rows}
            self._create(loc, record, {"k": "w", "ns": metadata_value(ns), "cid": metadata_value(cid)}, stamp, key)

        self.memory.parallel(one, list(by_task.items()))

    # -- reading -------------------------------------------------------------------------
    def _load(self, thread: ThreadKey, equals: Optional[Mapping[str, str]]) -> list[Loaded]:
        loc = self._loc(thread)
        events = self.memory.list_events(loc[0], loc[1], equals=equals)
        return [r for r in assemble(events, self._where(thread)) if self._mine(r.record, thread)]

    def _parse_header(self, thread: ThreadKey, loaded: Loaded) -> _Header:
        r = loaded.record
        try:
            h = r["h"]
            cp = StoredCheckpoint(
                thread=thread,
                checkpoint_ns=str(r["ns"]),
                checkpoint_id=str(r["cid"]),
                parent_checkpoint_id=h.get("p"),
                payload=_payload(h["d"]),
                channel_versions=h.get("cv") or {},
                metadata=h.get("md") or {},
                metadata_payload=None if h.get("mp") is None else _payload(h["mp"]),
            )
            refs = {(str(ch), str(v)): str(s) for ch, v, s in h.get("r") or []}
            blobs = {(str(ch), str(v)): ChannelBlob(str(ch), str(v), _payload([tag, data])) for ch, v, tag, data in r.get("b") or []}
        except (KeyError, TypeError, ValueError) as exc:
            raise CorruptRecordError(f"{self._where(thread)}: checkpoint event {loaded.event_ids} is malformed") from exc
        header = _Header(cp, str(r["s"]), refs, blobs, loaded.event_ids)
        self._refs.put((self._loc(thread), cp.checkpoint_ns, cp.checkpoint_id), refs)
        return header

    def _headers(self, thread: ThreadKey, equals: Mapping[str, str], ns: Optional[str]) -> list[_Header]:
        return [
            self._parse_header(thread, r)
            for r in self._load(thread, equals)
            if r.kind == "c" and "h" in r.record and (ns is None or r.record.get("ns") == ns)
        ]

    @staticmethod
    def _blob_holders(loaded: Iterable[Loaded], ns: Optional[str]) -> dict[str, dict[tuple[str, str], ChannelBlob]]:
        """Blobs by the stamp of the event holding them (``c`` and ``b`` events)."""
        out: dict[str, dict[tuple[str, str], ChannelBlob]] = defaultdict(dict)
        for r in loaded:
            if r.kind not in ("c", "b") or (ns is not None and r.record.get("ns") != ns):
                continue
            for ch, v, tag, data in r.record.get("b") or []:
                out[str(r.record["s"])][(str(ch), str(v))] = ChannelBlob(str(ch), str(v), _payload([tag, data]))
        return out

    def _blob_index(self, thread: ThreadKey, ns: str) -> dict[tuple[str, str], str]:
        """(channel, version) -> stamp, for every blob stored in a namespace (a listing of it)."""
        held = self._blob_holders(self._load(thread, {"ns": metadata_value(ns)}), ns)
        return {ref: stamp for stamp, blobs in held.items() for ref in blobs}

    @staticmethod
    def _writes(thread: ThreadKey, loaded: Iterable[Loaded]) -> dict[tuple[str, str], list[StoredWrite]]:
        """Pending writes per (ns, cid), deduplicated by LangGraph's rule and in its order."""
        chosen: dict[tuple[str, str, str, int], tuple[str, StoredWrite]] = {}
        for r in loaded:
            if r.kind != "w":
                continue
            rec = r.record
            ns, cid, task, path, ts = str(rec["ns"]), str(rec["cid"]), str(rec["task"]), str(rec.get("path") or ""), str(rec["ts"])
            for idx, channel, tag, data in rec.get("w") or []:
                w = StoredWrite(thread, ns, cid, task, int(idx), str(channel), _payload([tag, data]), path)
                key = (ns, cid, task, int(idx))
                seen = chosen.get(key)
                # idx >= 0: the first write wins; idx < 0 (errors, interrupts): the last one.
                if seen is None or (ts < seen[0] if w.idx >= 0 else ts > seen[0]):
                    chosen[key] = (ts, w)
        out: dict[tuple[str, str], list[StoredWrite]] = defaultdict(list)
        for _, w in chosen.values():
            out[(w.checkpoint_ns, w.checkpoint_id)].append(w)
        for ws in out.values():
            ws.sort(key=lambda w: w.sort_key)
        return out

    def _assemble_record(
        self, header: _Header, holders: Mapping[str, Mapping[tuple[str, str], ChannelBlob]], writes: Sequence[StoredWrite]
    ) -> CheckpointRecord:
        blobs = []
        for ch, v in header.checkpoint.channel_versions.items():
            ref = (ch, str(v))
            blob = header.blobs.get(ref)
            if blob is None:
                stamp = header.refs.get(ref)
                blob = holders.get(stamp, {}).get(ref) if stamp is not None else None
            if blob is not None:
                blobs.append(blob)
        return CheckpointRecord(header.checkpoint, blobs, writes)

    def get_checkpoint(self, key: CheckpointKey) -> Optional[CheckpointRecord]:
        thread, ns = key.thread, key.checkpoint_ns
        loc = self._loc(thread)
        mv_ns = metadata_value(ns)
        cid = key.checkpoint_id
        extra: list[str] = []
        if cid is None:
            pointers = self._list_pointers(thread, ns)
            self._pointers.put((loc, ns), pointers)
            if not pointers:
                return self._latest_by_listing(thread, ns)
            head = max(pointers, key=lambda p: (p.cid, p.stamp))
            cid = head.cid
            extra = [s for s in head.refs if s != head.stamp]
        mv_cid = metadata_value(cid)

        def fetch(what: Optional[str]) -> list[Loaded]:
            equals = {"ns": mv_ns, "cid": mv_cid} if what is None else {"ns": mv_ns, "s": what}
            return self._load(thread, equals)

        rounds = self.memory.parallel(fetch, [None, *extra])
        own = [r for r in rounds[0] if r.record.get("ns") == ns and r.record.get("cid") == cid]
        headers = [self._parse_header(thread, r) for r in own if r.kind == "c" and "h" in r.record]
        header = _newest(headers)
        if header is None:
            return None
        loaded = [r for batch in rounds[1:] for r in batch]
        holders = self._blob_holders(loaded, ns)
        needed = sorted(
            {header.refs[(ch, str(v))] for ch, v in header.checkpoint.channel_versions.items()
             if (ch, str(v)) in header.refs and (ch, str(v)) not in header.blobs} - holders.keys() - {header.stamp}
        )
        if needed:
            # By id (or a pointer older than its checkpoint's refs): fetch the holders now.
            more = self.memory.parallel(fetch, needed)
            holders.update(self._blob_holders([r for batch in more for r in batch], ns))
        writes = self._writes(thread, own).get((ns, cid), [])
        return self._assemble_record(header, holders, writes)

    def _latest_by_listing(self, thread: ThreadKey, ns: str) -> Optional[CheckpointRecord]:
        """No head pointer (a new thread, or a crash between pointer updates): the namespace, listed."""
        records = list(self.list_checkpoints(CheckpointQuery(thread=thread, checkpoint_ns=ns, limit=1)))
        return records[0] if records else None

    def _threads(self, query: CheckpointQuery) -> list[ThreadKey]:
        if query.thread is not None:
            return [query.thread]
        found: dict[ThreadKey, None] = {}
        for thread in self.list_threads():
            found[thread] = None
        return list(found)

    def list_checkpoints(self, query: CheckpointQuery) -> Iterator[CheckpointRecord]:
        if query.limit is not None and query.limit <= 0:
            return iter(())
        out: list[CheckpointRecord] = []
        for thread in self._threads(query):
            out.extend(self._list_thread(thread, query))
        out.sort(key=lambda r: r.checkpoint.checkpoint_id, reverse=True)
        return iter(out[: query.limit] if query.limit is not None else out)

    def _list_thread(self, thread: ThreadKey, query: CheckpointQuery) -> list[CheckpointRecord]:
        ns = query.checkpoint_ns
        equals: dict[str, str] = {}
        if ns is not None:
            equals["ns"] = metadata_value(ns)
        if query.checkpoint_id is not None:
            equals["cid"] = metadata_value(query.checkpoint_id)
        if query.headers_only:
            equals["k"] = "c"
        loaded = self._load(thread, equals or None)
        headers = self._dedupe([self._parse_header(thread, r) for r in loaded if r.kind == "c" and "h" in r.record])
        selected = [
            h for h in headers
            if (ns is None or h.checkpoint.checkpoint_ns == ns)
            and (query.checkpoint_id is None or h.checkpoint.checkpoint_id == query.checkpoint_id)
            and (query.before_id is None or h.checkpoint.checkpoint_id < query.before_id)
            and metadata_matches(h.checkpoint.metadata, query.metadata_filter)
        ]
        selected.sort(key=lambda h: h.checkpoint.checkpoint_id, reverse=True)
        if query.limit is not None:
            selected = selected[: query.limit]
        if query.headers_only:
            return [CheckpointRecord(h.checkpoint) for h in selected]
        holders: dict[str, dict[tuple[str, str], ChannelBlob]] = defaultdict(dict)
        for space in {h.checkpoint.checkpoint_ns for h in selected}:
            for stamp, blobs in self._blob_holders(loaded, space).items():
                holders[stamp].update(blobs)
        if query.checkpoint_id is not None:
            # The listing named one checkpoint: its older blob events are fetched by stamp.
            for h in selected:
                stamps = {s for ref, s in h.refs.items() if ref not in h.blobs} - holders.keys()
                mv_ns = metadata_value(h.checkpoint.checkpoint_ns)
                def by_stamp(stamp: str, mv_ns: str = mv_ns) -> list[Loaded]:
                    return self._load(thread, {"ns": mv_ns, "s": stamp})

                for batch in self.memory.parallel(by_stamp, sorted(stamps)):
                    for stamp, blobs in self._blob_holders(batch, h.checkpoint.checkpoint_ns).items():
                        holders[stamp].update(blobs)
        writes = self._writes(thread, loaded)
        return [
            self._assemble_record(h, holders, writes.get((h.checkpoint.checkpoint_ns, h.checkpoint.checkpoint_id), []))
            for h in selected
        ]

    @staticmethod
    def _dedupe(headers: Iterable[_Header]) -> list[_Header]:
        """One header per (ns, checkpoint id): the newest put of it (a re-put replaces)."""
        best: dict[tuple[str, str], _Header] = {}
        for h in headers:
            k = (h.checkpoint.checkpoint_ns, h.checkpoint.checkpoint_id)
            if k not in best or h.stamp > best[k].stamp:
                best[k] = h
        return list(best.values())

    # -- AncestryReader ------------------------------------------------------------------
    def scan_checkpoints(self, thread: ThreadKey, checkpoint_ns: Optional[str] = None) -> Iterator[StoredCheckpoint]:
        equals = {"k": "c"} if checkpoint_ns is None else {"k": "c", "ns": metadata_value(checkpoint_ns)}
        headers = self._dedupe(self._headers(thread, equals, checkpoint_ns))
        return iter([h.checkpoint for h in headers])

    def get_blobs(self, thread: ThreadKey, checkpoint_ns: str, refs: Sequence[BlobRef]) -> dict[BlobRef, ChannelBlob]:
        held = self._blob_holders(self._load(thread, {"ns": metadata_value(checkpoint_ns)}), checkpoint_ns)
        every = {ref: blob for blobs in held.values() for ref, blob in blobs.items()}
        return {ref: every[ref] for ref in refs if ref in every}

    def get_writes(self, thread: ThreadKey, checkpoint_ns: str, checkpoint_ids: Sequence[str]) -> dict[str, list[StoredWrite]]:
        result: dict[str, list[StoredWrite]] = {cid: [] for cid in checkpoint_ids}
        if not checkpoint_ids:
            return result
        writes = self._writes(thread, self._load(thread, {"k": "w", "ns": metadata_value(checkpoint_ns)}))
        for cid in checkpoint_ids:
            result[cid] = writes.get((checkpoint_ns, cid), [])
        return result

    # -- deletes ---------------------------------------------------------------------------
    def _forget(self, thread: ThreadKey) -> None:
        loc = self._loc(thread)
        self._refs.drop(lambda k: k[0] == loc)
        self._pointers.drop(lambda k: k[0] == loc)

    def delete_thread(self, thread_id: str, actor_id: Optional[str] = None) -> None:
        session = service_id(thread_id)
        if actor_id is not None:
            actors = [actor_key(actor_id)]
        else:
            actors = list(self.memory.actors())

        def clear(actor: str) -> None:
            ids = [str(e["eventId"]) for e in self.memory.list_events(actor, session, payloads=False)]
            self.memory.delete_events(actor, session, ids)

        self.memory.parallel(clear, actors)
        self._refs.drop(lambda k: k[0][1] == session)
        self._pointers.drop(lambda k: k[0][1] == session)

    def delete_checkpoints(self, thread: ThreadKey, checkpoint_ns: str, checkpoint_ids: Sequence[str]) -> None:
        """Delete checkpoints and their writes; blobs other checkpoints use move to ``k=b`` events."""
        if checkpoint_ids:
            self._remove(thread, checkpoint_ns, set(checkpoint_ids))

    def delete_blobs(self, thread: ThreadKey, checkpoint_ns: str, refs: Sequence[BlobRef]) -> None:
        """Delete channel blobs by ``(channel, version)``: the events holding them are rewritten without them."""
        doomed = {(ch, str(v)) for ch, v in refs}
        loc = self._loc(thread)
        for r in self._load(thread, {"ns": metadata_value(checkpoint_ns)}):
            if r.kind not in ("c", "b") or r.record.get("ns") != checkpoint_ns:
                continue
            rows = r.record.get("b") or []
            kept = [row for row in rows if (str(row[0]), str(row[1])) not in doomed]
            if len(kept) == len(rows):
                continue
            self._rewrite(thread, r, {**r.record, "b": kept})
            self.memory.delete_events(loc[0], loc[1], list(r.event_ids))

    def _rewrite(self, thread: ThreadKey, old: Loaded, record: Mapping[str, Any]) -> None:
        """A record again under the same stamp (refs to it still hold), as new events."""
        loc = self._loc(thread)
        stamp = str(record["s"])
        kind = old.kind if "h" in record else "b"
        metadata = {"k": kind, "ns": metadata_value(str(record["ns"])), "s": stamp}
        if kind == "c":
            metadata["cid"] = metadata_value(str(record["cid"]))
        self._create(loc, record, metadata, stamp, digest("r", self.memory_id, loc, record, old.event_ids))

    # -- CheckpointPruner --------------------------------------------------------------------
    def prune(self, thread: ThreadKey, checkpoint_ns: str, keep_ids: Collection[str]) -> None:
        """Delete every checkpoint of the namespace not in ``keep_ids`` (see ``_remove``)."""
        self._remove(thread, checkpoint_ns, None, keep=set(keep_ids))

    def _remove(self, thread: ThreadKey, ns: str, doomed_ids: Optional[set[str]], keep: Optional[set[str]] = None) -> None:
        """Remove checkpoints of one namespace, their writes and pointers; move blobs survivors use.

        One listing of the namespace; then one CreateEvent per doomed put whose
        blobs survivors still use (its surviving blobs, same stamp, ``k=b``),
        and one DeleteEvent per removed event, the moved ones last.
        """
        loc = self._loc(thread)
        loaded = [r for r in self._load(thread, {"ns": metadata_value(ns)}) if r.record.get("ns") == ns]
        headers = [self._parse_header(thread, r) for r in loaded if r.kind == "c" and "h" in r.record]
        current = {id(h) for h in self._dedupe(headers)}
        ids = {h.checkpoint.checkpoint_id for h in headers}
        doomed = (ids - keep) if keep is not None else (ids & (doomed_ids or set()))
        if not doomed:
            return
        survivors = [h for h in headers if id(h) in current and h.checkpoint.checkpoint_id not in doomed]
        used: dict[str, set[tuple[str, str]]] = defaultdict(set)
        for h in survivors:
            for ref, stamp in h.refs.items():
                used[stamp].add(ref)
        by_events = {r.event_ids: r for r in loaded}
        removed: list[str] = []
        for h in headers:
            if h.checkpoint.checkpoint_id not in doomed and id(h) in current:
                continue
            old = by_events[h.event_ids]
            refs = used.get(h.stamp)
            if refs:
                rows = [[b.channel, b.version, *_pair(b.payload)] for ref, b in h.blobs.items() if ref in refs]
                if rows:
                    self._rewrite(thread, old, {**self._identity(thread, ns), "s": h.stamp, "b": rows})
            removed.extend(h.event_ids)
        for r in loaded:
            if r.kind in ("w", "h") and str(r.record.get("cid")) in doomed:
                removed.extend(r.event_ids)
            elif r.kind == "b" and not used.get(str(r.record.get("s"))):
                removed.extend(r.event_ids)
        self.memory.delete_events(loc[0], loc[1], removed)
        self._pointers.drop(lambda k: k == (loc, ns))
        for cid in doomed:
            self._refs.drop(lambda k, cid=cid: k == (loc, ns, cid))
        latest = _newest([h for h in survivors], by_id=True)
        if latest is not None and not any(p.cid == latest.checkpoint.checkpoint_id for p in self._list_pointers(thread, ns)):
            head_refs = sorted(set(latest.refs.values()) | {latest.stamp})
            self._move_head(thread, ns, latest.checkpoint.checkpoint_id, latest.stamp, head_refs)

    # -- ThreadLister / ActorLister --------------------------------------------------------
    def list_threads(self) -> Iterator[ThreadKey]:
        """Every thread with a checkpoint: ListActors, ListSessions per actor, one small ListEvents per session."""
        seen: set[ThreadKey] = set()
        for actor in self.memory.actors():
            for session in self.memory.sessions(actor):
                thread = self._probe(actor, session)
                if thread is not None and thread not in seen:
                    seen.add(thread)
                    yield thread

    def _probe(self, actor: str, session: str) -> Optional[ThreadKey]:
        """The thread a session holds (read from one of its head pointers, never split), or None."""
        events = self.memory.list_events(actor, session, equals={"k": "h"}, page_sizes=(1,))
        for loaded in assemble(_first_complete(events), f"AgentCore memory {self.memory_id!r} session {session!r}"):
            a = loaded.record.get("a")
            return ThreadKey(str(loaded.record["t"]), None if a is None else str(a))
        return None

    def list_actors(self, thread_id: str) -> Sequence[ThreadKey]:
        """A ThreadKey per actor holding a checkpoint of ``thread_id``: ListActors, one small ListEvents per actor."""
        session = service_id(thread_id)
        actors = list(self.memory.actors())
        found = self.memory.parallel(lambda a: self._probe(a, session), actors)
        return [t for t in found if t is not None and t.thread_id == thread_id]

    # -- ThreadTransfer ----------------------------------------------------------------------
    def export_thread(self, thread: ThreadKey) -> ThreadData:
        """Everything of a thread. Blobs come per put, each group after a ``WRITER`` marker naming its checkpoint.

        One (channel, version) may hold different values in different puts (callers
        other than LangGraph reuse versions): the markers let ``import_thread``
        give each checkpoint exactly the values it had. Other backends ignore them
        (an empty blob no checkpoint refers to).
        """
        loaded = self._load(thread, None)
        headers = self._dedupe([self._parse_header(thread, r) for r in loaded if r.kind == "c" and "h" in r.record])
        puts: list[tuple[str, str, list[ChannelBlob]]] = []
        for r in sorted(loaded, key=lambda r: str(r.record.get("s", ""))):
            rows = r.record.get("b") or []
            if r.kind in ("c", "b") and rows:
                group = [ChannelBlob(str(ch), str(v), _payload([tag, data])) for ch, v, tag, data in rows]
                puts.append((str(r.record["ns"]), str(r.record["s"]), group))
        values: dict[tuple[str, str, str], set[Payload]] = defaultdict(set)
        for ns, _, group in puts:
            for b in group:
                values[(ns, b.channel, b.version)].add(b.payload)
        blobs: list[tuple[str, ChannelBlob]] = []
        if all(len(v) == 1 for v in values.values()):
            flat = {(ns, b.channel, b.version): b for ns, _, group in puts for b in group}
            blobs = [(ns, b) for (ns, _, _), b in flat.items()]
        else:
            for ns, stamp, group in puts:
                blobs.append((ns, ChannelBlob(WRITER, stamp, EMPTY_PAYLOAD)))
                blobs.extend((ns, b) for b in group)
        writes = [w for ws in self._writes(thread, loaded).values() for w in ws]
        for h in headers:  # which put holds each value, for an import into this memory
            self._exported.put((h.checkpoint.checkpoint_ns, h.checkpoint.checkpoint_id, h.stamp), dict(h.refs))
        return ThreadData(thread=thread, checkpoints=[h.checkpoint for h in headers], blobs=blobs, writes=writes)

    def _exported_refs(self, ns: str, cid: str) -> dict[tuple[str, str], str]:
        best: dict[tuple[str, str], str] = {}
        for key in self._exported.keys():
            if key[0] == ns and key[1] == cid:
                best = self._exported.get(key) or best
        return best

    def import_thread(self, data: ThreadData) -> None:
        """Per put of the export (or per namespace): one ``k=b`` event of blobs; one ``k=c`` event per checkpoint; writes; heads."""
        thread = data.thread
        loc = self._loc(thread)
        groups: list[tuple[str, Optional[str], list[ChannelBlob]]] = []
        for ns, blob in data.blobs:
            if blob.channel == WRITER:
                groups.append((ns, blob.version, []))
            elif groups and groups[-1][0] == ns:
                groups[-1][2].append(blob)
            else:
                groups.append((ns, None, [blob]))
        stamp_of: dict[tuple[str, Optional[str]], str] = {}
        held: dict[str, dict[tuple[str, str], str]] = defaultdict(dict)
        for ns, old_stamp, group in groups:
            rows = [[b.channel, b.version, *_pair(b.payload)] for b in group]
            stamp, key = self._stamp_for("b", self.memory_id, loc, ns, old_stamp, rows)
            stamp_of[(ns, old_stamp)] = stamp
            self._create(loc, {**self._identity(thread, ns), "s": stamp, "b": rows}, {"k": "b", "ns": metadata_value(ns), "s": stamp}, stamp, key)
            for b in group:
                held[ns][(b.channel, b.version)] = stamp

        def put(cp: StoredCheckpoint) -> None:
            ns = cp.checkpoint_ns
            source = self._exported_refs(ns, cp.checkpoint_id)
            refs: dict[tuple[str, str], str] = {}
            for ch, v in cp.channel_versions.items():
                ref = (ch, str(v))
                old = source.get(ref)
                if old is not None and (ns, old) in stamp_of:
                    refs[ref] = stamp_of[(ns, old)]
                elif ref in held[ns]:
                    refs[ref] = held[ns][ref]
            cstamp, ckey = self._stamp_for("ic", self.memory_id, loc, ns, cp.checkpoint_id, _pair(cp.payload), dict(cp.metadata))
            record = self._header_record(cp, [], refs, cstamp)
            self._create(loc, record, {"k": "c", "ns": metadata_value(ns), "cid": metadata_value(cp.checkpoint_id), "s": cstamp}, cstamp, ckey)
            self._refs.put((loc, ns, cp.checkpoint_id), refs)

        self.memory.parallel(put, list(data.checkpoints))
        if data.writes:
            self.put_writes(list(data.writes))
        for ns in sorted({cp.checkpoint_ns for cp in data.checkpoints}):
            self._pointers.drop(lambda k, ns=ns: k == (loc, ns))
            headers = self._dedupe(self._headers(thread, {"k": "c", "ns": metadata_value(ns)}, ns))
            latest = _newest(headers, by_id=True)
            if latest is not None:
                self._move_head(thread, ns, latest.checkpoint.checkpoint_id, latest.stamp, sorted(set(latest.refs.values()) | {latest.stamp}))


def _newest(headers: Iterable[_Header], *, by_id: bool = False) -> Optional[_Header]:
    """The newest put (by stamp), or with ``by_id`` the highest checkpoint id (then newest put)."""
    best: Optional[_Header] = None
    for h in headers:
        rank = (h.checkpoint.checkpoint_id, h.stamp) if by_id else (h.stamp,)
        if best is None or rank > ((best.checkpoint.checkpoint_id, best.stamp) if by_id else (best.stamp,)):
            best = h
    return best


def _first_complete(events: Iterator[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The first event of a listing (enough to read a session's identity from an unsplit record)."""
    for event in events:
        return [event]
    return []

