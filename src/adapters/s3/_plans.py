"""What each repository operation asks of S3, round by round, written once for the sync and the async client.

A plan is a generator that yields a *round* (a list of requests that do not
depend on each other: the driver sends them in parallel) and receives the
list of their results; everything between rounds is pure. The sync
repository drives plans on a thread pool, the async one with
``asyncio.gather`` on an aiobotocore client, so both send exactly the same
requests in the same rounds (the figures in the module docstring of
``checkpoints`` hold for both).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any, Optional, TypeVar, Union

import attrs

from ...domain.errors import CorruptRecordError
from ...domain.models import (
    EMPTY_PAYLOAD,
    ChannelBlob,
    CheckpointKey,
    CheckpointQuery,
    CheckpointRecord,
    StoredCheckpoint,
    StoredWrite,
    ThreadData,
    ThreadKey,
)
from ...domain.policies import metadata_matches, plan_prune
from ...domain.ports import BlobRef
from ..aws.plans import Plan, in_parallel
from ._layout import HEAD, Layout, decomp, looks_published, published_format_error, thread_of_segment, uninv
from ._records import (
    decode_blob,
    decode_header_empties,
    decode_writes,
    encode_blob,
    encode_header,
    encode_writes,
    ordered_writes,
)

__all__ = ["Get", "ListKeys", "Put", "Delete", "Page", "Plan", "Plans", "in_parallel", "LIST_MAX", "DELETE_MAX"]

T = TypeVar("T")

LIST_MAX = 1000
"""Keys per ListObjectsV2 page (the S3 maximum)."""
DELETE_MAX = 1000
"""Keys per DeleteObjects request (the S3 maximum)."""
_BATCH = 100
"""Headers read per round when a listing is consumed (bounds memory and the size of a round)."""
_EMPTIES_CAPACITY = 100_000
"""Checkpoints whose cleared channels this process remembers."""


@attrs.frozen
class Get:
    """GetObject: the body, or None when the key does not exist."""

    key: str


@attrs.frozen
class ListKeys:
    """One ListObjectsV2 page."""

    prefix: str
    start_after: Optional[str] = None
    max_keys: Optional[int] = None
    token: Optional[str] = None
    delimiter: Optional[str] = None


@attrs.frozen
class Put:
    """PutObject; with ``if_absent`` (If-None-Match: *) returns False when the key already existed."""

    key: str
    body: bytes
    if_absent: bool = False


@attrs.frozen
class Delete:
    """DeleteObjects of at most ``DELETE_MAX`` keys (missing keys are fine)."""

    keys: tuple[str, ...]


Op = Union[Get, ListKeys, Put, Delete]


@attrs.frozen
class Page:
    """A ListObjectsV2 page: keys with their LastModified (ISO text), common prefixes, the next token."""

    keys: tuple[tuple[str, str], ...]
    prefixes: tuple[str, ...] = ()
    token: Optional[str] = None



def _chunks(items: Sequence[T], size: int) -> list[list[T]]:
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


class _Empties:
    """Which channels of recent checkpoints have no value (bounded LRU, thread-safe).

    A channel cleared in a step keeps its version in later checkpoints, but no
    blob: a put records the cleared channels it inherits from its parent (when
    this process knows the parent) in its header, so reads skip those GETs.
    """

    def __init__(self, capacity: int = _EMPTIES_CAPACITY) -> None:
        self._entries: OrderedDict[tuple[ThreadKey, str, str], dict[str, str]] = OrderedDict()
        self._lock = threading.Lock()
        self._capacity = capacity

    def get(self, key: tuple[ThreadKey, str, str]) -> dict[str, str]:
        with self._lock:
            return dict(self._entries.get(key, {}))

    def put(self, key: tuple[ThreadKey, str, str], empties: Mapping[str, str]) -> None:
        with self._lock:
            self._entries[key] = dict(empties)
            self._entries.move_to_end(key)
            while len(self._entries) > self._capacity:
                self._entries.popitem(last=False)


class Plans:
    """The plans of one bucket prefix (see the module docstring of ``checkpoints`` for the costs)."""

    def __init__(self, layout: Layout, bucket: str) -> None:
        self.layout = layout
        self.bucket = bucket
        self._empties = _Empties()

    def _header(self, body: bytes, where: str) -> StoredCheckpoint:
        """Decode a header and remember its known-empty channels."""
        cp, empties = decode_header_empties(body, where)
        self._empties.put((cp.thread, cp.checkpoint_ns, cp.checkpoint_id), empties)
        return cp

    # -- small helpers ---------------------------------------------------------------------
    def _check_key(self, key: str) -> None:
        if looks_published(key):
            raise published_format_error(self.bucket, self.layout.root, key)

    def _header_keys(self, page: Page) -> list[str]:
        """Header keys of a listing page under one namespace (the head object skipped)."""
        out = []
        for key, _ in page.keys:
            tail = key.rsplit("/", 1)[-1]
            if tail == HEAD:
                continue
            if uninv(tail) is None:
                self._check_key(key)
                raise CorruptRecordError(f"S3 bucket {self.bucket!r}: unexpected object {key!r} among checkpoints")
            out.append(key)
        return out

    def _list_all(self, prefix: str, start_after: Optional[str] = None) -> Plan[list[tuple[str, str]]]:
        """Every key under ``prefix`` (one request per 1,000 keys)."""
        keys: list[tuple[str, str]] = []
        (page,) = yield [ListKeys(prefix, start_after=start_after)]
        keys.extend(page.keys)
        while page.token:
            (page,) = yield [ListKeys(prefix, token=page.token)]
            keys.extend(page.keys)
        return keys

    def _list_many(self, prefixes: Sequence[str]) -> Plan[list[tuple[str, str]]]:
        found = yield from in_parallel([self._list_all(p) for p in prefixes])
        return [k for keys in found for k in keys]

    def _writes_of(self, listing: Iterable[tuple[str, str]], thread: ThreadKey, ns: str, cid: str) -> list[tuple[str, str]]:
        prefix = self.layout.writes_prefix(thread, ns, cid)
        return [(k, m) for k, m in listing if k.startswith(prefix)]

    def _read_writes(self, keys: Sequence[tuple[str, str]]) -> Plan[list[StoredWrite]]:
        bodies = yield [Get(k) for k, _ in keys]
        objects = []
        for (key, modified), body in zip(keys, bodies):
            if body is not None:
                self._check_key(key)
                objects.append((f"{modified}|{key}", decode_writes(body, f"{self.bucket}/{key}")))
        return ordered_writes(objects)

    # -- records: headers -> records with their blobs and writes ---------------------------
    def _records(
        self, headers: Sequence[StoredCheckpoint], writes_keys: Sequence[Sequence[tuple[str, str]]]
    ) -> Plan[list[CheckpointRecord]]:
        """One round: every blob the headers reference (each once) and every writes object."""
        refs: dict[str, tuple[str, str]] = {}
        known = [self._empties.get((cp.thread, cp.checkpoint_ns, cp.checkpoint_id)) for cp in headers]
        for cp, empties in zip(headers, known):
            for ch, v in cp.channel_versions.items():
                if empties.get(ch) != str(v):
                    refs.setdefault(self.layout.blob(cp.thread, cp.checkpoint_ns, ch, str(v)), (ch, str(v)))
        blob_keys = list(refs)
        flat_writes = [k for keys in writes_keys for k in keys]
        answers = yield [Get(k) for k in blob_keys] + [Get(k) for k, _ in flat_writes]
        blobs: dict[str, ChannelBlob] = {}
        for key, body in zip(blob_keys, answers):
            if body is not None:
                ch, v = refs[key]
                blobs[key] = decode_blob(body, ch, v, f"{self.bucket}/{key}")
        bodies = dict(zip([k for k, _ in flat_writes], answers[len(blob_keys) :]))
        records = []
        for cp, keys, empties in zip(headers, writes_keys, known):
            cp_blobs = []
            for ch, v in cp.channel_versions.items():
                key = self.layout.blob(cp.thread, cp.checkpoint_ns, ch, str(v))
                found = blobs.get(key)
                if found is not None:
                    cp_blobs.append(found)
                elif key in refs:
                    empties[ch] = str(v)  # asked for and missing: a cleared channel
            self._empties.put((cp.thread, cp.checkpoint_ns, cp.checkpoint_id), empties)
            objects = []
            for key, modified in keys:
                body = bodies.get(key)
                if body is not None:
                    objects.append((f"{modified}|{key}", decode_writes(body, f"{self.bucket}/{key}")))
            records.append(CheckpointRecord(cp, cp_blobs, ordered_writes(objects)))
        return records

    # -- writes ----------------------------------------------------------------------------
    def put_checkpoint(self, checkpoint: StoredCheckpoint, blobs: Sequence[ChannelBlob]) -> Plan[None]:
        """Round 1: the changed blobs, in parallel; round 2: the header and the head.

        Channels cleared in a step (``empty``) need no object: a missing blob
        reads as no value. Blobs go first, so a crash leaves orphan blobs,
        never a header pointing at a missing one.
        """
        thread, ns = checkpoint.thread, checkpoint.checkpoint_ns
        stored = {(b.channel, b.version): b for b in blobs if b.payload.type_tag != "empty"}
        if stored:
            yield [Put(self.layout.blob(thread, ns, b.channel, b.version), encode_blob(b)) for b in stored.values()]
        written = {b.channel for b in blobs}
        empties: dict[str, str] = {}
        if checkpoint.parent_checkpoint_id is not None:
            inherited = self._empties.get((thread, ns, checkpoint.parent_checkpoint_id))
            empties = {
                ch: v
                for ch, v in inherited.items()
                if ch not in written and str(checkpoint.channel_versions.get(ch)) == v
            }
        empties.update(
            {b.channel: b.version for b in blobs if b.payload.type_tag == "empty" and str(checkpoint.channel_versions.get(b.channel)) == b.version}
        )
        self._empties.put((thread, ns, checkpoint.checkpoint_id), empties)
        body = encode_header(checkpoint, empties)
        yield [
            Put(self.layout.header(thread, ns, checkpoint.checkpoint_id), body),
            Put(self.layout.head(thread, ns), body),
        ]

    def put_writes(self, writes: Sequence[StoredWrite]) -> Plan[None]:
        """One round: per task, one object for its regular writes (kept if one exists: first write
        wins) and one per special write (``idx < 0``, replaced)."""
        ops = self._writes_ops(writes)
        if ops:
            yield ops

    def _writes_ops(self, writes: Iterable[StoredWrite]) -> list[Any]:
        by_task: dict[tuple[ThreadKey, str, str, str], dict[int, StoredWrite]] = {}
        for w in writes:
            by_task.setdefault((w.thread, w.checkpoint_ns, w.checkpoint_id, w.task_id), {})[w.idx] = w
        ops: list[Any] = []
        for (thread, ns, cid, task), latest in by_task.items():
            regular = sorted((w for w in latest.values() if w.idx >= 0), key=lambda w: w.idx)
            if regular:
                key = self.layout.writes_key(thread, ns, cid, task, regular[0].idx)
                ops.append(Put(key, encode_writes(regular), if_absent=True))
            for w in latest.values():
                if w.idx < 0:
                    ops.append(Put(self.layout.writes_key(thread, ns, cid, task, w.idx), encode_writes([w])))
        return ops

    def import_thread(self, data: ThreadData) -> Plan[None]:
        """Blobs and writes first (one round), then every header and each namespace's head."""
        thread = data.thread
        first: list[Any] = [
            Put(self.layout.blob(thread, ns, b.channel, b.version), encode_blob(b))
            for ns, b in data.blobs
            if b.payload.type_tag != "empty"
        ]
        first.extend(self._writes_ops(attrs.evolve(w, thread=thread) for w in data.writes))
        if first:
            yield first
        cleared = {(ns, b.channel, b.version) for ns, b in data.blobs if b.payload.type_tag == "empty"}
        heads: dict[str, tuple[StoredCheckpoint, bytes]] = {}
        last: list[Any] = []
        for cp in data.checkpoints:
            cp = attrs.evolve(cp, thread=thread)
            # Cleared channels have no object: the header names them, as a put does.
            empties = {ch: str(v) for ch, v in cp.channel_versions.items() if (cp.checkpoint_ns, ch, str(v)) in cleared}
            body = encode_header(cp, empties)
            last.append(Put(self.layout.header(thread, cp.checkpoint_ns, cp.checkpoint_id), body))
            if cp.checkpoint_ns not in heads or cp.checkpoint_id > heads[cp.checkpoint_ns][0].checkpoint_id:
                heads[cp.checkpoint_ns] = (cp, body)
        last.extend(Put(self.layout.head(thread, ns), body) for ns, (_, body) in heads.items())
        if last:
            yield last

    # -- reads -----------------------------------------------------------------------------
    def get_checkpoint(self, key: CheckpointKey) -> Plan[Optional[CheckpointRecord]]:
        """By id: GET header + LIST its writes, then GET blobs and writes (2 rounds).

        Latest: GET head + LIST the newest header key + LIST the newest writes,
        then GET blobs and writes (2 rounds). Only when the head is stale (a
        concurrent put of an older id, a pruned newest checkpoint) does a third
        round read the newest header itself.
        """
        thread, ns = key.thread, key.checkpoint_ns
        lay = self.layout
        if key.checkpoint_id is not None:
            body, wpage = yield [Get(lay.header(thread, ns, key.checkpoint_id)), ListKeys(lay.writes_prefix(thread, ns, key.checkpoint_id))]
            if body is None:
                return None
            where = f"{self.bucket}/{lay.header(thread, ns, key.checkpoint_id)}"
            cp = self._header(body, where)
            wkeys = list(wpage.keys)
            if wpage.token:
                wkeys += yield from self._continue(lay.writes_prefix(thread, ns, key.checkpoint_id), wpage.token)
            records = yield from self._records([cp], [wkeys])
            return records[0]
        head, cpage, wpage = yield [
            Get(lay.head(thread, ns)),
            ListKeys(lay.ns_prefix(lay.checkpoints, thread, ns), max_keys=1),
            ListKeys(lay.writes_prefix(thread, ns), max_keys=LIST_MAX),
        ]
        headers = self._header_keys(cpage)
        if not headers:
            return None
        newest_key = headers[0]
        newest_id = lay.header_id(newest_key)
        cached = self._header(head, f"{self.bucket}/{lay.head(thread, ns)}") if head is not None else None
        wkeys = self._writes_of(wpage.keys, thread, ns, newest_id or "")
        for k, _ in wpage.keys[:1]:
            self._check_key(k)
        more_writes = bool(wpage.token) and (not wpage.keys or wpage.keys[-1][0].startswith(lay.writes_prefix(thread, ns, newest_id or "")))
        if cached is not None and cached.checkpoint_id == newest_id:
            cp = cached
        else:
            (body,) = yield [Get(newest_key)]
            if body is None:  # deleted between the two rounds
                return None
            cp = self._header(body, f"{self.bucket}/{newest_key}")
        if more_writes:
            wkeys = yield from self._list_all(lay.writes_prefix(thread, ns, cp.checkpoint_id))
        records = yield from self._records([cp], [wkeys])
        return records[0]

    def _continue(self, prefix: str, token: str) -> Plan[list[tuple[str, str]]]:
        keys: list[tuple[str, str]] = []
        next_token: Optional[str] = token
        while next_token:
            (page,) = yield [ListKeys(prefix, token=next_token)]
            keys.extend(page.keys)
            next_token = page.token
        return keys

    def list_checkpoints(self, query: CheckpointQuery) -> Plan[list[CheckpointRecord]]:
        """Records matching ``query``, newest first (see ``_namespace`` for one namespace's rounds)."""
        if query.limit is not None and query.limit <= 0:
            return []
        if query.thread is None:
            threads = yield from self.list_threads()
            found = yield from in_parallel([self._thread(t, query) for t in threads])
            records = [r for rs in found for r in rs]
        else:
            records = yield from self._thread(query.thread, query)
        records.sort(key=lambda r: r.checkpoint.checkpoint_id, reverse=True)
        return records[: query.limit] if query.limit is not None else records

    def _thread(self, thread: ThreadKey, query: CheckpointQuery) -> Plan[list[CheckpointRecord]]:
        if query.checkpoint_ns is not None:
            records = yield from self._namespace(thread, query.checkpoint_ns, query)
            return records
        # Every thread has a root namespace: it is listed beside the namespace listing, so a thread
        # without subgraphs costs no extra round; the other namespaces follow in parallel.
        namespaces, root = yield from in_parallel([self.namespaces(thread), self._namespace(thread, "", query)])
        others = [ns for ns in namespaces if ns != ""]
        found = yield from in_parallel([self._namespace(thread, ns, query) for ns in others])
        records = [r for rs in [root, *found] for r in rs]
        records.sort(key=lambda r: r.checkpoint.checkpoint_id, reverse=True)
        return records[: query.limit] if query.limit is not None else records

    def namespaces(self, thread: ThreadKey) -> Plan[list[str]]:
        """The namespaces of a thread: one delimiter listing per 1,000."""
        prefix = self.layout.ns_prefix(self.layout.checkpoints, thread)
        out: list[str] = []
        token: Optional[str] = None
        while True:
            (page,) = yield [ListKeys(prefix, delimiter="/", token=token)]
            for p in page.prefixes:
                out.append(self.layout.parse(p + HEAD)[2])
            token = page.token
            if not token:
                return out

    def _namespace(self, thread: ThreadKey, ns: str, query: CheckpointQuery) -> Plan[list[CheckpointRecord]]:
        """One namespace, newest first.

        Without a filter, ``limit=L``: round 1 lists the L newest header keys
        (after ``before``) and, beside it, the newest writes keys; round 2 GETs
        the headers (and lists more writes only if a namespace's writes
        overflowed the page); round 3 GETs every referenced blob (each once)
        and the writes objects. With a filter, headers are read 100 per round
        until ``limit`` match. Without a limit, every header.
        """
        lay = self.layout
        if query.checkpoint_id is not None:
            if query.before_id is not None and not query.checkpoint_id < query.before_id:
                return []
            record = yield from self.get_checkpoint(CheckpointKey(thread, ns, query.checkpoint_id))
            if record is None or not metadata_matches(record.checkpoint.metadata, query.metadata_filter):
                return []
            return [CheckpointRecord(record.checkpoint)] if query.headers_only else [record]
        cprefix = lay.ns_prefix(lay.checkpoints, thread, ns)
        wprefix = lay.writes_prefix(thread, ns)
        start = lay.header(thread, ns, query.before_id) if query.before_id is not None else None
        wstart = wprefix + start[len(cprefix) :] if start is not None else None
        want = query.limit
        filtered = bool(query.metadata_filter)
        page_size = min(want, LIST_MAX) if want is not None and not filtered else None
        # Writes of consecutive checkpoints are listed once, beside the headers (newest first too).
        shared_writes = not query.headers_only and not filtered
        first: list[Any] = [ListKeys(cprefix, start_after=start, max_keys=page_size)]
        if shared_writes:
            first.append(ListKeys(wprefix, start_after=wstart))
        answers = yield first
        cpage: Page = answers[0]
        wkeys: list[tuple[str, str]] = list(answers[1].keys) if shared_writes else []
        wtoken: Optional[str] = answers[1].token if shared_writes else None
        out: list[CheckpointRecord] = []
        pending = self._header_keys(cpage)
        ctoken = cpage.token
        while True:
            while pending:
                batch, pending = pending[:_BATCH], pending[_BATCH:]
                oldest = batch[-1][len(cprefix) :]
                reads: list[Any] = [Get(k) for k in batch]
                # Writes of the batch: all listed once the writes listing is past its oldest header.
                need_writes = shared_writes and wtoken is not None and (not wkeys or _segment(wkeys[-1][0], wprefix) <= oldest)
                if need_writes:
                    reads.append(ListKeys(wprefix, token=wtoken))
                answers = yield reads
                headers = [self._header(b, f"{self.bucket}/{k}") for k, b in zip(batch, answers) if b is not None]
                if need_writes:
                    page = answers[-1]
                    wkeys.extend(page.keys)
                    wtoken = page.token
                    while wtoken and _segment(wkeys[-1][0], wprefix) <= oldest:
                        (page,) = yield [ListKeys(wprefix, token=wtoken)]
                        wkeys.extend(page.keys)
                        wtoken = page.token
                if filtered:
                    headers = [h for h in headers if metadata_matches(h.metadata, query.metadata_filter)]
                    if want is not None:
                        headers = headers[: want - len(out)]
                    if headers and not query.headers_only:
                        per = yield from in_parallel([self._list_all(lay.writes_prefix(thread, ns, h.checkpoint_id)) for h in headers])
                    else:
                        per = [[] for _ in headers]
                else:
                    per = [self._writes_of(wkeys, thread, ns, h.checkpoint_id) for h in headers]
                if query.headers_only:
                    out.extend(CheckpointRecord(h) for h in headers)
                else:
                    out.extend((yield from self._records(headers, per)))
                if want is not None and len(out) >= want:
                    return out[:want]
            if not ctoken:
                return out
            (cpage,) = yield [ListKeys(cprefix, token=ctoken, max_keys=None)]
            pending = self._header_keys(cpage)
            ctoken = cpage.token

    def list_threads(self) -> Plan[list[ThreadKey]]:
        """Every thread (and actor) with a checkpoint: one delimiter listing per 1,000 threads."""
        out: list[ThreadKey] = []
        token: Optional[str] = None
        while True:
            (page,) = yield [ListKeys(self.layout.checkpoints, delimiter="/", token=token)]
            for p in page.prefixes:
                out.append(thread_of_segment(p[len(self.layout.checkpoints) :].rstrip("/")))
            token = page.token
            if not token:
                return out

    # -- AncestryReader ----------------------------------------------------------------------
    def scan_checkpoints(self, thread: ThreadKey, ns: Optional[str] = None) -> Plan[list[StoredCheckpoint]]:
        """Every header of a thread (or namespace): the listing, then GETs 100 per round."""
        keys = yield from self._list_all(self.layout.ns_prefix(self.layout.checkpoints, thread, ns))
        header_keys = self._header_keys(Page(tuple(keys)))
        out: list[StoredCheckpoint] = []
        for batch in _chunks(header_keys, _BATCH):
            bodies = yield [Get(k) for k in batch]
            out.extend(self._header(b, f"{self.bucket}/{k}") for k, b in zip(batch, bodies) if b is not None)
        return out

    def get_blobs(self, thread: ThreadKey, ns: str, refs: Sequence[BlobRef]) -> Plan[dict[BlobRef, ChannelBlob]]:
        unique = list(dict.fromkeys((ch, str(v)) for ch, v in refs))
        keys = [self.layout.blob(thread, ns, ch, v) for ch, v in unique]
        bodies = yield [Get(k) for k in keys] if keys else []
        out = {}
        for (ch, v), key, body in zip(unique, keys, bodies or []):
            if body is not None:
                out[(ch, v)] = decode_blob(body, ch, v, f"{self.bucket}/{key}")
        return out

    def get_writes(self, thread: ThreadKey, ns: str, checkpoint_ids: Sequence[str]) -> Plan[dict[str, list[StoredWrite]]]:
        ids = list(dict.fromkeys(checkpoint_ids))
        listed = yield from in_parallel([self._list_all(self.layout.writes_prefix(thread, ns, cid)) for cid in ids])
        found = yield from in_parallel([self._read_writes(keys) for keys in listed])
        return dict(zip(ids, found))

    # -- deletes -----------------------------------------------------------------------------
    def delete_keys(self, keys: Sequence[str]) -> Plan[None]:
        """One DeleteObjects per 1,000 keys, in parallel."""
        chunks = _chunks(list(dict.fromkeys(keys)), DELETE_MAX)
        if chunks:
            yield [Delete(tuple(c)) for c in chunks]

    def delete_thread(self, thread_id: str, actor_id: Optional[str]) -> Plan[None]:
        """Listing pages of the three trees (in parallel), then one DeleteObjects per 1,000 keys."""
        lay = self.layout
        prefixes = [p for tree in (lay.checkpoints, lay.writes, lay.blobs) for p in lay.thread_prefixes(tree, thread_id, actor_id)]
        keys = yield from self._list_many(prefixes)
        headers = [k for k, _ in keys if k.startswith(lay.checkpoints)]
        rest = [k for k, _ in keys if not k.startswith(lay.checkpoints)]
        # One DeleteObjects per 1,000 keys, headers first: the requests holding headers go in the
        # first round, so a crash between rounds leaves unreferenced objects, never a header
        # whose blobs or writes are gone.
        chunks = _chunks(list(dict.fromkeys(headers + rest)), DELETE_MAX)
        first = [c for c in chunks if any(k.startswith(lay.checkpoints) for k in c)]
        later = [c for c in chunks if c not in first]
        for wave in (first, later):
            if wave:
                yield [Delete(tuple(c)) for c in wave]

    def delete_checkpoints(self, thread: ThreadKey, ns: str, checkpoint_ids: Sequence[str]) -> Plan[None]:
        """Headers first, then their writes (listed per checkpoint, in parallel)."""
        if not checkpoint_ids:
            return
        ids = list(dict.fromkeys(checkpoint_ids))
        headers = [self.layout.header(thread, ns, cid) for cid in ids]
        listed = yield from self._list_many([self.layout.writes_prefix(thread, ns, cid) for cid in ids])
        yield from self.delete_keys(headers)
        yield from self.delete_keys([k for k, _ in listed])

    def delete_blobs(self, thread: ThreadKey, ns: str, refs: Sequence[BlobRef]) -> Plan[None]:
        yield from self.delete_keys([self.layout.blob(thread, ns, ch, str(v)) for ch, v in refs])

    def prune(self, thread: ThreadKey, ns: str, keep_ids: Collection[str]) -> Plan[None]:
        """Read the namespace's headers, delete the doomed ones, then their writes and the blobs only they used."""
        lay = self.layout
        listings = yield from in_parallel(
            [self._list_all(lay.ns_prefix(lay.checkpoints, thread, ns)), self._list_all(lay.writes_prefix(thread, ns))]
        )
        header_keys = self._header_keys(Page(tuple(listings[0])))
        headers: list[StoredCheckpoint] = []
        for batch in _chunks(header_keys, _BATCH):
            bodies = yield [Get(k) for k in batch]
            headers.extend(self._header(b, f"{self.bucket}/{k}") for k, b in zip(batch, bodies) if b is not None)
        doomed, orphans = plan_prune(headers, keep_ids)
        if not doomed:
            return
        yield from self.delete_keys([lay.header(thread, ns, cid) for cid in doomed])
        doomed_writes = tuple(lay.writes_prefix(thread, ns, cid) for cid in doomed)
        rest = [k for k, _ in listings[1] if k.startswith(doomed_writes)]
        rest += [lay.blob(thread, ns, ch, v) for ch, v in orphans]
        yield from self.delete_keys(rest)

    # -- ThreadTransfer ----------------------------------------------------------------------
    def export_thread(self, thread: ThreadKey) -> Plan[ThreadData]:
        """Every key of the thread listed (three trees in parallel), then every object in one round per 100 headers."""
        lay = self.layout
        listings = yield from in_parallel([self._list_all(lay.ns_prefix(tree, thread)) for tree in (lay.checkpoints, lay.writes, lay.blobs)])
        header_keys = self._header_keys(Page(tuple(listings[0])))
        checkpoints: list[StoredCheckpoint] = []
        empties: dict[tuple[str, str, str], ChannelBlob] = {}
        for batch in _chunks(header_keys, _BATCH):
            bodies = yield [Get(k) for k in batch]
            for k, b in zip(batch, bodies):
                if b is None:
                    continue
                cp, empty = decode_header_empties(b, f"{self.bucket}/{k}")
                checkpoints.append(cp)
                for channel, version in empty.items():  # cleared channels have no object: exported explicitly
                    empties[(cp.checkpoint_ns, channel, str(version))] = ChannelBlob(channel, str(version), EMPTY_PAYLOAD)
        writes = yield from self._read_writes(listings[1])
        blob_keys = [k for k, _ in listings[2]]
        bodies = yield [Get(k) for k in blob_keys] if blob_keys else []
        blobs: list[tuple[str, ChannelBlob]] = []
        for key, body in zip(blob_keys, bodies or []):
            if body is None:
                continue
            _, _, ns, rest = lay.parse(key)
            blob = decode_blob(body, decomp(rest[0]), decomp(rest[1]), f"{self.bucket}/{key}")
            empties.pop((ns, blob.channel, blob.version), None)
            blobs.append((ns, blob))
        blobs.extend((ns, blob) for (ns, _, _), blob in empties.items())
        return ThreadData(thread=thread, checkpoints=checkpoints, blobs=blobs, writes=writes)

    # -- the published format ----------------------------------------------------------------
    def check_format(self) -> Plan[None]:
        """One LIST of the checkpoints tree: a key of langgraph-checkpoint-s3 0.1.3 raises, naming the migration."""
        (page,) = yield [ListKeys(self.layout.checkpoints, max_keys=LIST_MAX)]
        for key, _ in page.keys:
            self._check_key(key)


def _segment(key: str, prefix: str) -> str:
    """The checkpoint segment (``inv(id)``) of a writes key below a namespace's writes prefix."""
    return key[len(prefix) :].split("/", 1)[0]
