"""DynamoDB checkpoint repository: one table, string ``PK`` and ``SK``.

Item layout (``E(x)`` is an order-preserving, injective encoding of a string:
characters up to ``"`` are escaped as ``"`` + one char and ``!`` terminates;
``A`` is ``""`` for threads without an actor, ``@E(actor_id)`` otherwise)::

    PK = "T#" + thread_id                        one partition per thread
    header  SK = A "C!" E(ns) E(checkpoint_id)    k="h": payload, parent, versions (map),
                                                  metadata (map: FilterExpression target)
    writes  SK = header SK "W" E(task_id)         k="w": one item per task and checkpoint,
                                                  attribute "x<idx>" per write
    spilled SK = writes SK E(idx)                 k="w": one large write of a task
    blob    SK = A "B!" E(ns) E(channel) E(version)   k="b": one channel value, written
                                                  only when the channel changed

Every item may carry ``ttl`` (epoch seconds): DynamoDB deletes expired items
lazily, so every read ignores them (FilterExpression on queries, a check on
batch reads). Headers and writes live ``ttl_seconds``; blobs, which later
headers reuse, live ``ttl_seconds + min(ttl_seconds, 1 day)``. A put checks
that each blob it reuses outlives its header (the expiry of every blob seen is
cached per process; unknown ones are probed once with a projected
BatchGetItem) and refreshes only those that would not, with one conditional
UpdateItem each, before the header: a blob is rewritten at most once per
``min(ttl_seconds, 1 day)`` instead of at every step.

Round trips:

- ``put_checkpoint``: one BatchWriteItem of the changed blobs (one per 25,
  in parallel), then one PutItem of the header, so a crash leaves orphan
  blobs, never a header pointing at a missing blob. No transaction: a
  TransactWriteItems bills every item twice. A put that changes no channel is
  the PutItem alone.
- ``put_writes``: one UpdateItem per task (``if_not_exists`` per write keeps
  the first write of ``idx >= 0``; ``idx < 0`` overwrites), whatever the count
  up to 64 writes; writes that would overflow the 400 KB item are spilled.
- ``get_checkpoint``: one Query (a checkpoint's write items sort right after
  its header, so the header and its writes come together; the latest is the
  first group of a descending query) and one BatchGetItem for the blobs.
- ``list_checkpoints``: one Query per 1 MB page (metadata filter as a
  FilterExpression), then BatchGetItem for the blobs (100 keys per call).
- ``delete_thread``: one keys-only Query per page and BatchWriteItem deletes
  of 25 items, in parallel.
- ``prune``: one Query per page over the namespace (keys, versions and ids
  only), then BatchWriteItem deletes: the doomed headers first, then their
  write items and the blobs only they referenced, so a crash leaves
  unreferenced items, never a visible checkpoint missing its writes or blobs.
- ``list_threads``: a Scan of the whole table (one call per 1 MB read;
  projected to thread and actor, filtered to live headers). It reads, and
  bills, every item of the table: for inspection and migration, not for
  request paths.
- ``setup``: CreateTable (on demand), the ``table_exists`` waiter, and
  DescribeTimeToLive/UpdateTimeToLive; ``verify``: one DescribeTable.

Unprocessed batch items are resubmitted with backoff (the AWS toolkit's
``drain``); whole calls are never retried here: the use cases do that once.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from typing import Any, Callable, Optional

from ...domain.models import (
    ChannelBlob,
    CheckpointKey,
    CheckpointQuery,
    CheckpointRecord,
    StoredCheckpoint,
    StoredWrite,
    ThreadData,
    ThreadKey,
)
from ...domain.policies import RetryPolicy, plan_prune
from ...domain.ports import BlobRef
from ._items import (
    BLOB,
    HEADER,
    WRITES,
    Group,
    Item,
    blob_item,
    group_items,
    header_item,
    key_of,
    metadata_av,
    metadata_name,
    ordered_writes,
    parse_blob,
    parse_header,
    parse_header_refs,
    parse_thread,
    parse_writes,
    primary_key,
    text,
    ttl_update,
    writes_update,
)
from ._layout import SK_MAX, actor_prefix, blob_sk, esc, header_prefix, header_sk, partition_key, writes_sk
from ._table import DynamoDBTable

__all__ = ["DynamoDBCheckpointRepository", "MAX_INLINE_BYTES"]

MAX_INLINE_BYTES = 380_000
"""Largest payload stored inline: DynamoDB items are capped at 400 KB (409,600
bytes; moto: 405,000) and the rest of the item needs room."""

_WRITES_PER_UPDATE = 64
_WRITE_ITEM_BUDGET = 300_000
_EXISTS_CACHE = 100_000
_BLOB_TTL_SLACK = 86_400
"""Blobs outlive headers by ``min(ttl_seconds, this)``: a reused blob is refreshed at most that often."""
_LIST_BATCH = 32
"""Checkpoints whose blobs are fetched together while a list is consumed."""


class _KnownBlobs:
    """What this process knows of blob keys (bounded LRU, thread-safe): spares probing reused blobs at each put.

    For a blob known to exist: its expiry, a lower bound (another process may
    only move it later, or delete the blob, which a put cannot prevent either
    way); ``math.inf`` for blobs without ``ttl``. For a blob known to have no
    item (a cleared channel, a deleted blob): until when that knowledge is
    trusted.
    """

    def __init__(self, capacity: int = _EXISTS_CACHE) -> None:
        self._entries: OrderedDict[tuple[str, str], tuple[float, bool]] = OrderedDict()
        self._lock = threading.Lock()
        self._capacity = capacity

    def get(self, key: tuple[str, str]) -> Optional[tuple[float, bool]]:
        """``(expiry, exists)`` of a blob, or None when nothing is known."""
        with self._lock:
            return self._entries.get(key)

    def _put(self, key: tuple[str, str], entry: tuple[float, bool]) -> None:
        self._entries[key] = entry
        self._entries.move_to_end(key)

    def remember(self, items: Iterable[Mapping[str, Any]]) -> None:
        """Remember blob items (or projections holding their key and ``ttl``) as existing."""
        with self._lock:
            for item in items:
                self._put(key_of(item), (_expiry_of(item), True))
            self._trim()

    def remember_missing(self, keys: Iterable[tuple[str, str]], until: float) -> None:
        """Remember blobs that have no item, trusted until ``until``."""
        with self._lock:
            for k in keys:
                self._put(k, (until, False))
            self._trim()

    def _trim(self) -> None:
        while len(self._entries) > self._capacity:
            self._entries.popitem(last=False)

    def forget(self, keys: Iterable[tuple[str, str]]) -> None:
        with self._lock:
            for k in keys:
                self._entries.pop(k, None)


def _expiry_of(item: Mapping[str, Any]) -> float:
    """An item's ``ttl`` in epoch seconds; ``math.inf`` when it has none (it never expires)."""
    ttl = item.get("ttl")
    return math.inf if ttl is None else float(ttl["N"])


def _id_filters(query: CheckpointQuery, names: dict[str, str], values: dict[str, Any], filters: list[str]) -> None:
    """Add the query's ``checkpoint_id`` and ``before_id`` conditions to a FilterExpression."""
    if query.checkpoint_id is not None:
        names["#cid"] = "cid"
        values[":cid"] = {"S": query.checkpoint_id}
        filters.append("#cid = :cid")
    if query.before_id is not None:
        names["#cid"] = "cid"
        values[":before"] = {"S": query.before_id}
        filters.append("#cid < :before")


def _metadata_filter(flt: Mapping[str, Any]) -> tuple[str, dict[str, str], dict[str, Any]]:
    """A metadata filter as a FilterExpression on the ``md`` map."""
    names: dict[str, str] = {"#md": "md"}
    values: dict[str, Any] = {}
    clauses = []
    for i, (field, value) in enumerate(flt.items()):
        names[f"#f{i}"] = metadata_name(field)
        values[f":f{i}"] = metadata_av(value)
        # A missing key never matches, not even a None filter value.
        clauses.append(f"attribute_exists(#md.#f{i}) AND #md.#f{i} = :f{i}")
    return " AND ".join(clauses), names, values


class DynamoDBCheckpointRepository:
    """A CheckpointRepository on one DynamoDB table (see the module docstring for the layout).

    Besides the core port it offers the capabilities ``AncestryReader``,
    ``CheckpointPruner``, ``ThreadTransfer``, ``ThreadLister`` and
    ``ResourceProvisioner``.

    Args:
        client: a boto3 DynamoDB client (see ``adapters.aws.build_client``).
        table_name: the table (string ``PK`` and ``SK``).
        ttl_seconds: lifetime of every item written (None: no ``ttl`` attribute).
        backoff: paces the resubmission of unprocessed batch items
            (``RetryPolicy.backoff``; its ``sleep`` is used when set). Default:
            50 ms doubling up to 2 s.
        clock: time source, injectable for tests.
        max_workers: threads for independent calls of one operation.
    """

    omits_cleared_channels = True
    """A channel cleared in a step has no blob stored: a missing blob reads as no value."""

    def __init__(
        self,
        *,
        client: Any,
        table_name: str,
        ttl_seconds: Optional[float] = None,
        backoff: Optional[RetryPolicy] = None,
        clock: Callable[[], float] = time.time,
        max_workers: int = 8,
    ) -> None:
        self.client = client
        self.table_name = table_name
        self.ttl_seconds = ttl_seconds
        self._clock = clock
        self.table = DynamoDBTable(
            client=client,
            table_name=table_name,
            backoff=backoff if backoff is not None else RetryPolicy(),
            clock=clock,
            max_workers=max_workers,
        )
        self._known = _KnownBlobs()
        self._verified = False
        self._verify_lock = threading.Lock()

    def _verify_once(self) -> None:
        """Check the table's key schema before the first operation (one DescribeTable per repository).

        A table made by hand with other keys then fails with an error naming the
        expected and the actual schema, instead of a raw ValidationException later.
        """
        if self._verified:
            return
        with self._verify_lock:
            if not self._verified:
                self.table.verify()
                self._verified = True

    def _expires_at(self) -> Optional[int]:
        """The ``ttl`` of headers and writes written now."""
        return None if self.ttl_seconds is None else int(self._clock() + self.ttl_seconds)

    def _blob_expires_at(self) -> Optional[int]:
        """The ``ttl`` of blobs written or refreshed now: later headers reuse them, so they live longer."""
        if self.ttl_seconds is None:
            return None
        return int(self._clock() + self.ttl_seconds + min(self.ttl_seconds, _BLOB_TTL_SLACK))

    # -- ResourceProvisioner ---------------------------------------------------------------
    def setup(self, *, enable_ttl: bool = True) -> None:
        """Create the table if missing (on demand, TTL on ``ttl``), then check its key schema."""
        self.table.create(enable_ttl=enable_ttl)
        self.table.verify()
        self._verified = True

    def verify(self) -> None:
        """Raise NotFoundError when the table is missing, ConfigurationError when its key schema is wrong."""
        self.table.verify()

    # -- writes ----------------------------------------------------------------------------
    def put_checkpoint(self, checkpoint: StoredCheckpoint, blobs: Sequence[ChannelBlob]) -> None:
        self._verify_once()
        thread, ns = checkpoint.thread, checkpoint.checkpoint_ns
        pk = partition_key(thread.thread_id)
        expires = self._expires_at()
        # Channels cleared in a step ("empty") need no item: a missing blob reads as no value.
        stored = {(b.channel, b.version): b for b in blobs if b.payload.type_tag != "empty"}
        blob_expires = self._blob_expires_at()
        blob_items = [blob_item(thread, ns, b, blob_expires) for b in stored.values()]
        stale: list[Item] = []
        if expires is not None and blob_expires is not None:
            written = {(b.channel, b.version) for b in blobs}
            # A cleared channel has no item to keep alive: known, so later puts do not probe for it.
            self._known.remember_missing(
                [(pk, blob_sk(thread.actor_id, ns, b.channel, b.version)) for b in blobs if (b.channel, b.version) not in stored],
                blob_expires,
            )
            reused = [
                blob_sk(thread.actor_id, ns, ch, str(v))
                for ch, v in checkpoint.channel_versions.items()
                if (ch, str(v)) not in written
            ]
            stale = [primary_key(pk, sk) for sk in self._dying_before(pk, reused, expires, blob_expires)]
        # Blobs (and refreshes) first, header last: a crash in between leaves orphan blobs, never a
        # header pointing at a missing one. Plain writes bill half of a transaction's.
        self.table.put_items(blob_items)
        self._known.remember(blob_items)
        if stale:
            self._refresh_ttl(stale)
        self.table.call("put_item", TableName=self.table_name, Item=header_item(checkpoint, expires))

    def _dying_before(self, pk: str, sks: Sequence[str], expires: int, blob_expires: int) -> list[str]:
        """The blobs among ``sks`` that exist but would expire before ``expires``.

        Expiries come from the cache; unknown blobs are probed in one projected
        batch read. A blob found missing (a cleared channel, or deleted) has
        nothing to refresh; that is trusted until ``blob_expires`` and probed
        again after: should its version be written after all, that write gives
        it a later expiry than ``blob_expires``.
        """

        def probe(sk: str) -> bool:
            entry = self._known.get((pk, sk))
            return entry is None or (not entry[1] and entry[0] < expires)

        unknown = [primary_key(pk, sk) for sk in sks if probe(sk)]
        if unknown:
            found = self.table.batch_get(unknown, projection="PK, SK, #ttl")
            self._known.remember(found)
            seen = {key_of(i) for i in found}
            self._known.remember_missing([key_of(k) for k in unknown if key_of(k) not in seen], blob_expires)
        dying = []
        for sk in sks:
            entry = self._known.get((pk, sk))
            if entry is not None and entry[1] and entry[0] < expires:
                dying.append(sk)
        return dying

    def _refresh_ttl(self, keys: Sequence[Item]) -> None:
        """Move the ``ttl`` of existing blobs to a new blob lifetime (one conditional UpdateItem each, in parallel)."""
        expires = self._blob_expires_at()

        def one(item_key: Item) -> None:
            if self.table.update_if_exists(ttl_update(self.table_name, item_key, expires)):
                self._known.remember([{**item_key, "ttl": {"N": str(expires)}}])
            else:
                self._known.forget([key_of(item_key)])

        self.table.parallel(one, keys)

    def put_writes(self, writes: Sequence[StoredWrite]) -> None:
        if not writes:
            return
        self._verify_once()
        expires = self._expires_at()
        by_task: dict[tuple[ThreadKey, str, str, str], list[StoredWrite]] = {}
        for w in writes:
            by_task.setdefault((w.thread, w.checkpoint_ns, w.checkpoint_id, w.task_id), []).append(w)
        updates: list[tuple[str, list[StoredWrite]]] = []
        for (thread, ns, cid, task_id), task_writes in by_task.items():
            latest = {w.idx: w for w in task_writes}  # a repeated idx in one call: the last one is kept
            ordered = sorted(latest.values(), key=lambda w: len(w.payload.data), reverse=True)
            total = sum(len(w.payload.data) + len(w.payload.type_tag) + len(w.channel) for w in ordered)
            spilled: list[StoredWrite] = []
            while ordered and total > _WRITE_ITEM_BUDGET:
                big = ordered.pop(0)
                total -= len(big.payload.data) + len(big.payload.type_tag) + len(big.channel)
                spilled.append(big)
            inline = sorted(ordered, key=lambda w: w.idx)
            for start in range(0, len(inline), _WRITES_PER_UPDATE):
                updates.append((writes_sk(thread.actor_id, ns, cid, task_id), inline[start : start + _WRITES_PER_UPDATE]))
            for w in spilled:
                updates.append((writes_sk(thread.actor_id, ns, cid, task_id, w.idx), [w]))

        def run(update: tuple[str, list[StoredWrite]]) -> None:
            sk, chunk = update
            self.table.call("update_item", **writes_update(self.table_name, sk, chunk, expires))

        self.table.parallel(run, updates)

    # -- reads -----------------------------------------------------------------------------
    def _groups(self, items: Iterable[Item], *, stop_after: Optional[int] = None) -> list[Group]:
        return group_items(self.table_name, items, stop_after=stop_after)

    def _with_blobs(self, groups: Sequence[Group]) -> list[CheckpointRecord]:
        def blob_key(cp: StoredCheckpoint, ch: str, v: Any) -> Item:
            return primary_key(partition_key(cp.thread.thread_id), blob_sk(cp.thread.actor_id, cp.checkpoint_ns, ch, str(v)))

        keys = [blob_key(cp, ch, v) for cp, _ in groups for ch, v in cp.channel_versions.items()]
        found = {key_of(i): i for i in self.table.batch_get(keys)} if keys else {}
        self._known.remember(found.values())
        records = []
        for cp, writes in groups:
            blobs = []
            for ch, v in cp.channel_versions.items():
                item = found.get(key_of(blob_key(cp, ch, v)))
                if item is not None:
                    blobs.append(parse_blob(self.table_name, item))
            records.append(CheckpointRecord(cp, blobs, ordered_writes(writes)))
        return records

    def get_checkpoint(self, key: CheckpointKey) -> Optional[CheckpointRecord]:
        self._verify_once()
        thread = key.thread
        values: dict[str, Any] = {":pk": {"S": partition_key(thread.thread_id)}}
        if key.checkpoint_id is not None:
            values[":sk"] = {"S": header_sk(thread.actor_id, key.checkpoint_ns, key.checkpoint_id)}
            items = self.table.query("#pk = :pk AND begins_with(#sk, :sk)", values, descending=True)
            groups = [g for g in self._groups(items) if g[0].checkpoint_id == key.checkpoint_id]
        else:
            # The latest group is at the top of a descending query: fetch little first, more if its
            # writes are many.
            values[":sk"] = {"S": header_prefix(thread.actor_id, key.checkpoint_ns)}
            items = self.table.query(
                "#pk = :pk AND begins_with(#sk, :sk)", values, descending=True, page_sizes=(8, 32, 128, None)
            )
            groups = self._groups(items, stop_after=1)
        if not groups:
            return None
        return self._with_blobs(groups[:1])[0]

    def list_checkpoints(self, query: CheckpointQuery) -> Iterator[CheckpointRecord]:
        if query.limit is not None and query.limit <= 0:
            return iter(())
        self._verify_once()
        groups = self._scan_groups(query) if query.thread is None else self._thread_groups(query)
        if query.headers_only:
            return iter([CheckpointRecord(cp) for cp, _ in groups])
        return self._records_in_pages(groups)

    def _records_in_pages(self, groups: list[Group]) -> Iterator[CheckpointRecord]:
        for start in range(0, len(groups), _LIST_BATCH):
            yield from self._with_blobs(groups[start : start + _LIST_BATCH])

    def _thread_groups(self, query: CheckpointQuery) -> list[Group]:
        thread = query.thread
        assert thread is not None
        ns = query.checkpoint_ns
        values: dict[str, Any] = {":pk": {"S": partition_key(thread.thread_id)}}
        names: dict[str, str] = {}
        filters: list[str] = []
        if ns is not None and query.checkpoint_id is not None:
            condition = "#pk = :pk AND begins_with(#sk, :sk)"
            values[":sk"] = {"S": header_sk(thread.actor_id, ns, query.checkpoint_id)}
        elif ns is not None and query.before_id is not None:
            condition = "#pk = :pk AND #sk BETWEEN :lo AND :hi"
            prefix = header_prefix(thread.actor_id, ns)
            values[":lo"] = {"S": prefix}
            values[":hi"] = {"S": prefix + esc(query.before_id)}
        else:
            condition = "#pk = :pk AND begins_with(#sk, :sk)"
            values[":sk"] = {"S": header_prefix(thread.actor_id, ns)}
            _id_filters(query, names, values, filters)
        if query.metadata_filter:
            md_expr, md_names, md_values = _metadata_filter(query.metadata_filter)
            names.update(md_names)
            values.update(md_values)
            names["#k"] = "k"
            if query.headers_only:
                values[":h"] = {"S": HEADER}
                filters.append(f"#k = :h AND ({md_expr})")
            else:
                # Write items pass so that matching headers keep their writes (same page, no extra call).
                values[":w"] = {"S": WRITES}
                filters.append(f"#k = :w OR ({md_expr})")
        elif query.headers_only:
            names["#k"] = "k"
            values[":h"] = {"S": HEADER}
            filters.append("#k = :h")
        single_ns = ns is not None
        page_sizes: Sequence[Optional[int]] = (None,)
        if single_ns and query.limit is not None and not query.metadata_filter:
            page_sizes = (query.limit * 3 + 2, query.limit * 12 + 8, None)
        items = self.table.query(
            condition, values, descending=True, filters=filters, names=names, page_sizes=page_sizes
        )
        groups = self._groups(items, stop_after=query.limit if single_ns else None)
        if query.before_id is not None:
            groups = [g for g in groups if g[0].checkpoint_id < query.before_id]
        if not single_ns:
            groups.sort(key=lambda g: g[0].checkpoint_id, reverse=True)
        return groups[: query.limit] if query.limit is not None else groups

    def _scan_groups(self, query: CheckpointQuery) -> list[Group]:
        """Every thread: a Scan of headers with the filter on the server (rare operations only)."""
        names = {"#k": "k"}
        values: dict[str, Any] = {":h": {"S": HEADER}}
        filters = ["#k = :h"]
        if query.metadata_filter:
            md_expr, md_names, md_values = _metadata_filter(query.metadata_filter)
            names.update(md_names)
            values.update(md_values)
            filters.append(md_expr)
        if query.checkpoint_ns is not None:
            names["#ns"] = "ns"
            values[":ns"] = {"S": query.checkpoint_ns}
            filters.append("#ns = :ns")
        _id_filters(query, names, values, filters)
        headers = [parse_header(self.table_name, i) for i in self.table.scan(filters, names, values)]
        headers.sort(key=lambda c: c.checkpoint_id, reverse=True)
        if query.limit is not None:
            headers = headers[: query.limit]
        if query.headers_only:
            return [(cp, []) for cp in headers]
        return [
            (cp, self.get_writes(cp.thread, cp.checkpoint_ns, [cp.checkpoint_id])[cp.checkpoint_id])
            for cp in headers
        ]

    # -- AncestryReader ----------------------------------------------------------------------
    def scan_checkpoints(self, thread: ThreadKey, checkpoint_ns: Optional[str] = None) -> Iterator[StoredCheckpoint]:
        items = self.table.query(
            "#pk = :pk AND begins_with(#sk, :sk)",
            {
                ":pk": {"S": partition_key(thread.thread_id)},
                ":sk": {"S": header_prefix(thread.actor_id, checkpoint_ns)},
                ":h": {"S": HEADER},
            },
            filters=["#k = :h"],
            names={"#k": "k"},
        )
        return iter([parse_header(self.table_name, i) for i in items])

    def get_blobs(self, thread: ThreadKey, checkpoint_ns: str, refs: Sequence[BlobRef]) -> dict[BlobRef, ChannelBlob]:
        pk = partition_key(thread.thread_id)
        items = self.table.batch_get([primary_key(pk, blob_sk(thread.actor_id, checkpoint_ns, ch, v)) for ch, v in refs])
        self._known.remember(items)
        blobs = [parse_blob(self.table_name, i) for i in items]
        return {(b.channel, b.version): b for b in blobs}

    def get_writes(
        self, thread: ThreadKey, checkpoint_ns: str, checkpoint_ids: Sequence[str]
    ) -> dict[str, list[StoredWrite]]:
        result: dict[str, list[StoredWrite]] = {cid: [] for cid in checkpoint_ids}
        if not checkpoint_ids:
            return result
        wanted = set(checkpoint_ids)
        items = self.table.query(
            "#pk = :pk AND #sk BETWEEN :lo AND :hi",
            {
                ":pk": {"S": partition_key(thread.thread_id)},
                ":lo": {"S": header_sk(thread.actor_id, checkpoint_ns, min(wanted))},
                ":hi": {"S": header_sk(thread.actor_id, checkpoint_ns, max(wanted)) + SK_MAX},
                ":w": {"S": WRITES},
            },
            filters=["#k = :w"],
            names={"#k": "k"},
        )
        collected: dict[str, list[StoredWrite]] = {}
        for item in items:
            for w in parse_writes(self.table_name, item):
                if w.checkpoint_id in wanted:
                    collected.setdefault(w.checkpoint_id, []).append(w)
        for cid, ws in collected.items():
            result[cid] = ordered_writes(ws)
        return result

    # -- deletes ---------------------------------------------------------------------------
    def _delete_keys(self, keys: Sequence[Item]) -> None:
        self.table.delete_keys(keys)
        self._known.forget(key_of(k) for k in keys)

    def delete_thread(self, thread_id: str, actor_id: Optional[str] = None) -> None:
        self._verify_once()
        values: dict[str, Any] = {":pk": {"S": partition_key(thread_id)}}
        if actor_id is None:
            keys = self.table.query_keys("#pk = :pk", values)
        else:
            values[":sk"] = {"S": actor_prefix(actor_id)}
            keys = self.table.query_keys("#pk = :pk AND begins_with(#sk, :sk)", values)
        self._delete_keys(keys)

    def delete_checkpoints(self, thread: ThreadKey, checkpoint_ns: str, checkpoint_ids: Sequence[str]) -> None:
        """Delete checkpoint headers and their write items (one keys-only Query over their range)."""
        if not checkpoint_ids:
            return
        wanted = set(checkpoint_ids)
        keys = self.table.query_keys(
            "#pk = :pk AND #sk BETWEEN :lo AND :hi",
            {
                ":pk": {"S": partition_key(thread.thread_id)},
                ":lo": {"S": header_sk(thread.actor_id, checkpoint_ns, min(wanted))},
                ":hi": {"S": header_sk(thread.actor_id, checkpoint_ns, max(wanted)) + SK_MAX},
            },
        )
        prefixes = tuple(header_sk(thread.actor_id, checkpoint_ns, cid) for cid in wanted)
        self._delete_keys([k for k in keys if k["SK"]["S"].startswith(prefixes)])

    def delete_blobs(self, thread: ThreadKey, checkpoint_ns: str, refs: Sequence[BlobRef]) -> None:
        """Delete channel blobs by ``(channel, version)``; missing ones are ignored."""
        pk = partition_key(thread.thread_id)
        self._delete_keys([primary_key(pk, blob_sk(thread.actor_id, checkpoint_ns, ch, v)) for ch, v in refs])

    # -- CheckpointPruner --------------------------------------------------------------------
    def prune(self, thread: ThreadKey, checkpoint_ns: str, keep_ids: Collection[str]) -> None:
        """Delete every checkpoint of the namespace not in ``keep_ids``, its writes, and blobs only it used.

        One Query per page over the namespace (keys, ids and versions only;
        expired items included, they go too), then BatchWriteItem deletes in
        two waves: headers first, then write items and orphaned blobs.
        """
        names = {"#k": "k", "#th": "th", "#ac": "ac", "#ns": "ns", "#cid": "cid", "#cv": "cv"}
        items = list(
            self.table.query(
                "#pk = :pk AND begins_with(#sk, :sk)",
                {
                    ":pk": {"S": partition_key(thread.thread_id)},
                    ":sk": {"S": header_prefix(thread.actor_id, checkpoint_ns)},
                },
                names=names,
                projection="#pk, #sk, " + ", ".join(names),
                live_only=False,
            )
        )
        headers = [parse_header_refs(self.table_name, i) for i in items if text(i, "k") == HEADER]
        doomed, orphans = plan_prune(headers, keep_ids)
        if not doomed:
            return
        doomed_ids = set(doomed)
        gone = [i for i in items if text(i, "cid") in doomed_ids]
        pk = partition_key(thread.thread_id)
        self._delete_keys([i for i in gone if text(i, "k") == HEADER])
        rest = [i for i in gone if text(i, "k") != HEADER]
        rest += [primary_key(pk, blob_sk(thread.actor_id, checkpoint_ns, ch, v)) for ch, v in orphans]
        self._delete_keys(rest)

    # -- ThreadLister ------------------------------------------------------------------------
    def list_threads(self) -> Iterator[ThreadKey]:
        """Every thread (and actor) with a live checkpoint header, each once.

        A paginated Scan of the whole table, projected to ``th`` and ``ac`` and
        filtered to live headers on the server: it reads (and bills) every item.
        """
        seen: set[ThreadKey] = set()
        items = self.table.scan(
            ["#k = :h"], {"#k": "k", "#th": "th", "#ac": "ac"}, {":h": {"S": HEADER}}, projection="#th, #ac"
        )
        for item in items:
            thread = parse_thread(item)
            if thread not in seen:
                seen.add(thread)
                yield thread

    # -- ThreadTransfer ----------------------------------------------------------------------
    def export_thread(self, thread: ThreadKey) -> ThreadData:
        pk = partition_key(thread.thread_id)
        checkpoints: list[StoredCheckpoint] = []
        blobs: list[tuple[str, ChannelBlob]] = []
        writes: list[StoredWrite] = []
        for prefix in (actor_prefix(thread.actor_id) + "C!", actor_prefix(thread.actor_id) + "B!"):
            for item in self.table.query("#pk = :pk AND begins_with(#sk, :sk)", {":pk": {"S": pk}, ":sk": {"S": prefix}}):
                kind = text(item, "k")
                if kind == HEADER:
                    checkpoints.append(parse_header(self.table_name, item))
                elif kind == WRITES:
                    writes.extend(parse_writes(self.table_name, item))
                elif kind == BLOB:
                    blobs.append((item["ns"]["S"], parse_blob(self.table_name, item)))
        return ThreadData(thread=thread, checkpoints=checkpoints, blobs=blobs, writes=writes)

    def import_thread(self, data: ThreadData) -> None:
        expires = self._expires_at()
        thread = data.thread
        blob_expires = self._blob_expires_at()
        blob_items = [blob_item(thread, ns, b, blob_expires) for ns, b in data.blobs if b.payload.type_tag != "empty"]
        # Blobs and writes first, headers last: a header is never visible without what it points at.
        self.table.put_items(blob_items)
        self._known.remember(blob_items)
        if data.writes:
            self.put_writes(list(data.writes))
        self.table.put_items([header_item(cp, expires) for cp in data.checkpoints])
