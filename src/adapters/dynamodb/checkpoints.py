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
batch reads).

Round trips:

- ``put_checkpoint``: one TransactWriteItems (blobs, TTL refreshes of the
  blobs it reuses, header), all or nothing; if the transaction limits (100
  items, 4 MB) are exceeded, blobs go first in BatchWriteItem chunks and the
  header last, so a header is never visible without its blobs.
- ``put_writes``: one UpdateItem per task (``if_not_exists`` per write keeps
  the first write of ``idx >= 0``; ``idx < 0`` overwrites), whatever the count
  up to 64 writes; writes that would overflow the 400 KB item are spilled.
- ``get_checkpoint``: one Query (a checkpoint's write items sort right after
  its header, so the header and its writes come together; the latest is the
  first group of a descending query) and one BatchGetItem for the blobs.
- ``list_checkpoints``: one Query per 1 MB page (metadata filter as a
  FilterExpression), then BatchGetItem for the blobs (100 keys per call).
- ``delete_thread``: one keys-only Query per page and BatchWriteItem deletes
  of 25 items, UnprocessedItems retried with backoff.
"""

from __future__ import annotations

import concurrent.futures
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, Callable, Optional

import tenacity

from ...domain.errors import CorruptRecordError, TransientBackendError
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
from ._errors import error_code, translate_errors
from ._layout import (
    SK_MAX,
    actor_prefix,
    blob_sk,
    esc,
    from_av,
    header_prefix,
    header_sk,
    partition_key,
    to_av,
    writes_sk,
)

__all__ = [
    "DynamoDBCheckpointRepository",
    "UnprocessedItemsError",
    "default_batch_retry",
    "MAX_INLINE_BYTES",
]

MAX_INLINE_BYTES = 380_000
"""Largest payload stored inline: DynamoDB items are capped at 400 KB (409,600
bytes; moto: 405,000) and the rest of the item needs room."""

_BATCH_WRITE = 25
_BATCH_GET = 100
_TRANSACT_ITEMS = 100
_TRANSACT_BYTES = 3_500_000
_WRITES_PER_UPDATE = 64
_WRITE_ITEM_BUDGET = 300_000
_EXISTS_CACHE = 100_000


class UnprocessedItemsError(TransientBackendError):
    """A batch call left UnprocessedItems or UnprocessedKeys (retried with backoff)."""


def default_batch_retry(sleep: Callable[[float], None] = time.sleep) -> tenacity.Retrying:
    """Exponential backoff (50 ms doubling, at most 2 s, 8 attempts) on unprocessed batch items."""
    return tenacity.Retrying(
        stop=tenacity.stop_after_attempt(8),
        wait=tenacity.wait_exponential(multiplier=0.05, max=2),
        retry=tenacity.retry_if_exception_type(UnprocessedItemsError),
        sleep=sleep,
        reraise=True,
    )


def _s(item: Mapping[str, Any], name: str, default: Optional[str] = None) -> Optional[str]:
    av = item.get(name)
    return default if av is None else av.get("S", default)


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


class DynamoDBCheckpointRepository:
    """A CheckpointRepository on one DynamoDB table (see the module docstring for the layout).

    Args:
        client: a boto3 DynamoDB client (its retry config handles throttling).
        table_name: the table (string ``PK`` and ``SK``).
        ttl_seconds: lifetime of every item written (None: no ``ttl`` attribute).
        batch_retry: tenacity policy for UnprocessedItems/UnprocessedKeys.
        clock: time source, injectable for tests.
        max_workers: threads for independent calls of one operation.
    """

    def __init__(
        self,
        *,
        client: Any,
        table_name: str,
        ttl_seconds: Optional[float] = None,
        batch_retry: Optional[tenacity.Retrying] = None,
        clock: Callable[[], float] = time.time,
        max_workers: int = 8,
    ) -> None:
        self.client = client
        self.table_name = table_name
        self.ttl_seconds = ttl_seconds
        self._retry = batch_retry if batch_retry is not None else default_batch_retry()
        self._clock = clock
        self._endpoint = getattr(getattr(client, "meta", None), "endpoint_url", None)
        self._max_workers = max_workers
        self._known_blobs: OrderedDict[tuple[str, str], None] = OrderedDict()
        self._known_lock = threading.Lock()

    # -- plumbing --------------------------------------------------------------------------
    def _call(self, operation: str, **params: Any) -> Any:
        with translate_errors(self.table_name, self._endpoint, operation):
            return getattr(self.client, operation)(**params)

    def _expires_at(self) -> Optional[int]:
        return None if self.ttl_seconds is None else int(self._clock() + self.ttl_seconds)

    def _live(self, item: Mapping[str, Any]) -> bool:
        ttl = item.get("ttl")
        return ttl is None or float(ttl["N"]) > self._clock()

    def _remember(self, keys: Iterable[tuple[str, str]]) -> None:
        with self._known_lock:
            for key in keys:
                self._known_blobs[key] = None
                self._known_blobs.move_to_end(key)
            while len(self._known_blobs) > _EXISTS_CACHE:
                self._known_blobs.popitem(last=False)

    def _forget(self, keys: Iterable[tuple[str, str]]) -> None:
        with self._known_lock:
            for key in keys:
                self._known_blobs.pop(key, None)

    def _query(
        self,
        key_condition: str,
        values: dict[str, Any],
        *,
        descending: bool = False,
        filter_expression: Optional[str] = None,
        names: Optional[dict[str, str]] = None,
        projection: Optional[str] = None,
        page_sizes: Sequence[Optional[int]] = (None,),
    ) -> Iterator[dict[str, Any]]:
        """Items of a Query, page after page; expired items are filtered by DynamoDB."""
        live = "(attribute_not_exists(#ttl) OR #ttl > :now)"
        params: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": key_condition,
            "ConsistentRead": True,
            "ScanIndexForward": not descending,
            "FilterExpression": live if not filter_expression else f"{live} AND ({filter_expression})",
            "ExpressionAttributeNames": {"#ttl": "ttl", "#pk": "PK", "#sk": "SK", **(names or {})},
            "ExpressionAttributeValues": {":now": {"N": str(int(self._clock()))}, **values},
        }
        if projection:
            params["ProjectionExpression"] = projection
        used = {n for n in params["ExpressionAttributeNames"] if n in key_condition + params["FilterExpression"] + (projection or "")}
        params["ExpressionAttributeNames"] = {n: v for n, v in params["ExpressionAttributeNames"].items() if n in used}
        page = 0
        while True:
            size = page_sizes[min(page, len(page_sizes) - 1)]
            if size:
                params["Limit"] = size
            else:
                params.pop("Limit", None)
            response = self._call("query", **params)
            yield from response.get("Items", [])
            page += 1
            last = response.get("LastEvaluatedKey")
            if not last:
                return
            params["ExclusiveStartKey"] = last

    def _scan(self, filter_expression: str, names: dict[str, str], values: dict[str, Any]) -> Iterator[dict[str, Any]]:
        params: dict[str, Any] = {
            "TableName": self.table_name,
            "ConsistentRead": True,
            "FilterExpression": f"(attribute_not_exists(#ttl) OR #ttl > :now) AND ({filter_expression})",
            "ExpressionAttributeNames": {"#ttl": "ttl", **names},
            "ExpressionAttributeValues": {":now": {"N": str(int(self._clock()))}, **values},
        }
        while True:
            response = self._call("scan", **params)
            yield from response.get("Items", [])
            last = response.get("LastEvaluatedKey")
            if not last:
                return
            params["ExclusiveStartKey"] = last

    def _batch_write(self, requests: Sequence[dict[str, Any]]) -> None:
        """BatchWriteItem in chunks of 25 (in order), UnprocessedItems retried with backoff."""
        for start in range(0, len(requests), _BATCH_WRITE):
            pending: dict[str, Any] = {self.table_name: list(requests[start : start + _BATCH_WRITE])}
            for attempt in self._retry.copy():
                with attempt:
                    response = self._call("batch_write_item", RequestItems=pending)
                    unprocessed = response.get("UnprocessedItems") or {}
                    if unprocessed.get(self.table_name):
                        pending = unprocessed
                        raise UnprocessedItemsError(
                            f"DynamoDB table {self.table_name!r}: {len(unprocessed[self.table_name])} "
                            "items left unprocessed by BatchWriteItem after retries"
                        )

    def _batch_get(self, keys: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """BatchGetItem in chunks of 100 (consistent), UnprocessedKeys retried; live items only."""
        out: list[dict[str, Any]] = []
        seen: set[tuple[str, str]] = set()
        unique = []
        for k in keys:
            ident = (k["PK"]["S"], k["SK"]["S"])
            if ident not in seen:
                seen.add(ident)
                unique.append(k)
        for start in range(0, len(unique), _BATCH_GET):
            pending: dict[str, Any] = {
                self.table_name: {"Keys": unique[start : start + _BATCH_GET], "ConsistentRead": True}
            }
            for attempt in self._retry.copy():
                with attempt:
                    response = self._call("batch_get_item", RequestItems=pending)
                    out.extend(response.get("Responses", {}).get(self.table_name, []))
                    unprocessed = response.get("UnprocessedKeys") or {}
                    if unprocessed.get(self.table_name, {}).get("Keys"):
                        pending = unprocessed
                        raise UnprocessedItemsError(
                            f"DynamoDB table {self.table_name!r}: keys left unprocessed by "
                            "BatchGetItem after retries"
                        )
        return [item for item in out if self._live(item)]

    @staticmethod
    def _key(pk: str, sk: str) -> dict[str, Any]:
        return {"PK": {"S": pk}, "SK": {"S": sk}}

    # -- item codecs ---------------------------------------------------------------------------
    def _common(self, thread: ThreadKey, ns: str, kind: str, expires: Optional[int]) -> dict[str, Any]:
        item: dict[str, Any] = {"k": {"S": kind}, "th": {"S": thread.thread_id}, "ns": {"S": ns}}
        if thread.actor_id is not None:
            item["ac"] = {"S": thread.actor_id}
        if expires is not None:
            item["ttl"] = {"N": str(expires)}
        return item

    def _header_item(self, cp: StoredCheckpoint, expires: Optional[int]) -> dict[str, Any]:
        item = self._key(
            partition_key(cp.thread.thread_id), header_sk(cp.thread.actor_id, cp.checkpoint_ns, cp.checkpoint_id)
        )
        item.update(self._common(cp.thread, cp.checkpoint_ns, "h", expires))
        item.update(
            {
                "cid": {"S": cp.checkpoint_id},
                "t": {"S": cp.payload.type_tag},
                "d": {"B": cp.payload.data},
                "cv": to_av(dict(cp.channel_versions)),
                "md": to_av(dict(cp.metadata)),
            }
        )
        if cp.parent_checkpoint_id is not None:
            item["p"] = {"S": cp.parent_checkpoint_id}
        if cp.metadata_payload is not None:
            item["mt"] = {"S": cp.metadata_payload.type_tag}
            item["mb"] = {"B": cp.metadata_payload.data}
        return item

    def _blob_item(self, thread: ThreadKey, ns: str, blob: ChannelBlob, expires: Optional[int]) -> dict[str, Any]:
        item = self._key(partition_key(thread.thread_id), blob_sk(thread.actor_id, ns, blob.channel, blob.version))
        item.update(self._common(thread, ns, "b", expires))
        item.update(
            {
                "ch": {"S": blob.channel},
                "v": {"S": blob.version},
                "t": {"S": blob.payload.type_tag},
                "d": {"B": blob.payload.data},
            }
        )
        return item

    def _corrupt(self, item: Mapping[str, Any], exc: Exception) -> CorruptRecordError:
        where = f"{_s(item, 'PK', '?')!r}/{_s(item, 'SK', '?')!r}"
        return CorruptRecordError(
            f"DynamoDB table {self.table_name!r}: item {where} is corrupt ({type(exc).__name__}: {exc})"
        )

    def _thread_of(self, item: Mapping[str, Any]) -> ThreadKey:
        return ThreadKey(item["th"]["S"], _s(item, "ac"))

    def _parse_header(self, item: Mapping[str, Any]) -> StoredCheckpoint:
        try:
            metadata_payload = None
            if "mt" in item:
                metadata_payload = Payload(item["mt"]["S"], item["mb"]["B"])
            return StoredCheckpoint(
                thread=self._thread_of(item),
                checkpoint_ns=item["ns"]["S"],
                checkpoint_id=item["cid"]["S"],
                parent_checkpoint_id=_s(item, "p"),
                payload=Payload(item["t"]["S"], item["d"]["B"]),
                channel_versions=from_av(item["cv"]),
                metadata=from_av(item["md"]),
                metadata_payload=metadata_payload,
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise self._corrupt(item, exc) from exc

    def _parse_blob(self, item: Mapping[str, Any]) -> ChannelBlob:
        try:
            return ChannelBlob(item["ch"]["S"], item["v"]["S"], Payload(item["t"]["S"], item["d"]["B"]))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise self._corrupt(item, exc) from exc

    def _parse_writes(self, item: Mapping[str, Any]) -> list[StoredWrite]:
        try:
            thread = self._thread_of(item)
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
                        task_path=_s(item, "tp", "") or "",
                    )
                )
            return out
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise self._corrupt(item, exc) from exc

    @staticmethod
    def _ordered(writes: Iterable[StoredWrite]) -> list[StoredWrite]:
        unique: dict[tuple[str, int], StoredWrite] = {}
        for w in writes:
            unique.setdefault((w.task_id, w.idx), w)
        return sorted(unique.values(), key=lambda w: w.sort_key)

    # -- writes ----------------------------------------------------------------------------------
    def put_checkpoint(self, checkpoint: StoredCheckpoint, blobs: Sequence[ChannelBlob]) -> None:
        thread, ns = checkpoint.thread, checkpoint.checkpoint_ns
        pk = partition_key(thread.thread_id)
        expires = self._expires_at()
        # Channels cleared in a step ("empty") need no item: a missing blob reads as no value.
        stored = {(b.channel, b.version): b for b in blobs if b.payload.type_tag != "empty"}
        blob_items = [self._blob_item(thread, ns, b, expires) for b in stored.values()]
        header = self._header_item(checkpoint, expires)
        refresh: list[dict[str, Any]] = []
        if expires is not None:
            reused = [
                blob_sk(thread.actor_id, ns, ch, str(v))
                for ch, v in checkpoint.channel_versions.items()
                if (ch, str(v)) not in stored
            ]
            refresh = [self._key(pk, sk) for sk in self._existing(pk, reused)]
        size = sum(len(i["d"]["B"]) for i in blob_items) + len(header["d"]["B"])
        if len(blob_items) + len(refresh) + 1 <= _TRANSACT_ITEMS and size <= _TRANSACT_BYTES:
            self._put_transaction(blob_items, refresh, header, expires)
        else:
            # Too big for one transaction: blobs first, header last.
            self._batch_write([{"PutRequest": {"Item": i}} for i in blob_items])
            if refresh:
                self._refresh_ttl(refresh, expires)
            self._call("put_item", TableName=self.table_name, Item=header)
        self._remember((pk, i["SK"]["S"]) for i in blob_items)

    def _existing(self, pk: str, sks: Sequence[str]) -> list[str]:
        """Which of these blob sort keys exist (cached; unknown ones probed in one batch read)."""
        with self._known_lock:
            known = [sk for sk in sks if (pk, sk) in self._known_blobs]
        unknown = [sk for sk in sks if (pk, sk) not in self._known_blobs]
        if unknown:
            found = self._batch_get_projected([self._key(pk, sk) for sk in unknown])
            self._remember((pk, sk) for sk in found)
            known += [sk for sk in unknown if sk in found]
        return known

    def _batch_get_projected(self, keys: Sequence[dict[str, Any]]) -> set[str]:
        out: set[str] = set()
        for start in range(0, len(keys), _BATCH_GET):
            pending: dict[str, Any] = {
                self.table_name: {
                    "Keys": list(keys[start : start + _BATCH_GET]),
                    "ConsistentRead": True,
                    "ProjectionExpression": "PK, SK, #ttl",
                    "ExpressionAttributeNames": {"#ttl": "ttl"},
                }
            }
            for attempt in self._retry.copy():
                with attempt:
                    response = self._call("batch_get_item", RequestItems=pending)
                    out.update(i["SK"]["S"] for i in response.get("Responses", {}).get(self.table_name, []) if self._live(i))
                    unprocessed = response.get("UnprocessedKeys") or {}
                    if unprocessed.get(self.table_name, {}).get("Keys"):
                        pending = unprocessed
                        raise UnprocessedItemsError(
                            f"DynamoDB table {self.table_name!r}: keys left unprocessed by BatchGetItem after retries"
                        )
        return out

    def _ttl_update(self, key: dict[str, Any], expires: Optional[int]) -> dict[str, Any]:
        return {
            "TableName": self.table_name,
            "Key": key,
            "UpdateExpression": "SET #ttl = :ttl",
            "ConditionExpression": "attribute_exists(PK)",
            "ExpressionAttributeNames": {"#ttl": "ttl"},
            "ExpressionAttributeValues": {":ttl": {"N": str(expires)}},
        }

    def _put_transaction(
        self,
        blob_items: list[dict[str, Any]],
        refresh: list[dict[str, Any]],
        header: dict[str, Any],
        expires: Optional[int],
    ) -> None:
        actions: list[dict[str, Any]] = [{"Put": {"TableName": self.table_name, "Item": i}} for i in blob_items]
        actions += [{"Update": self._ttl_update(k, expires)} for k in refresh]
        actions.append({"Put": {"TableName": self.table_name, "Item": header}})
        with translate_errors(self.table_name, self._endpoint, "transact_write_items"):
            try:
                self.client.transact_write_items(TransactItems=actions)
            except Exception as exc:  # noqa: BLE001 - inspected below, re-raised otherwise
                if error_code_of(exc) != "TransactionCanceledException" or not refresh:
                    raise
                # A reused blob vanished (deleted elsewhere): forget it and retry once without it.
                reasons = getattr(exc, "response", {}).get("CancellationReasons") or []
                first, last = len(blob_items), len(blob_items) + len(refresh)
                gone = [
                    refresh[i - first]
                    for i, r in enumerate(reasons)
                    if r.get("Code") == "ConditionalCheckFailed" and first <= i < last
                ]
                if not gone:
                    raise
                self._forget((k["PK"]["S"], k["SK"]["S"]) for k in gone)
                keep = [k for k in refresh if k not in gone]
                actions = [{"Put": {"TableName": self.table_name, "Item": i}} for i in blob_items]
                actions += [{"Update": self._ttl_update(k, expires)} for k in keep]
                actions.append({"Put": {"TableName": self.table_name, "Item": header}})
                self.client.transact_write_items(TransactItems=actions)

    def _refresh_ttl(self, keys: Sequence[dict[str, Any]], expires: Optional[int]) -> None:
        def one(key: dict[str, Any]) -> None:
            try:
                with translate_errors(self.table_name, self._endpoint, "update_item"):
                    self.client.update_item(**self._ttl_update(key, expires))
            except Exception as exc:  # noqa: BLE001
                cause = exc.__cause__ if exc.__cause__ is not None else exc
                if error_code_of(cause) != "ConditionalCheckFailedException":
                    raise
                self._forget([(key["PK"]["S"], key["SK"]["S"])])

        self._parallel(one, keys)

    def _parallel(self, fn: Callable[[Any], Any], args: Sequence[Any]) -> list[Any]:
        if len(args) <= 1:
            return [fn(a) for a in args]
        with concurrent.futures.ThreadPoolExecutor(max_workers=min(self._max_workers, len(args))) as pool:
            return list(pool.map(fn, args))

    def put_writes(self, writes: Sequence[StoredWrite]) -> None:
        if not writes:
            return
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
            self._call("update_item", **self._writes_update(sk, chunk, expires))

        self._parallel(run, updates)

    def _writes_update(self, sk: str, chunk: Sequence[StoredWrite], expires: Optional[int]) -> dict[str, Any]:
        first = chunk[0]
        names = {"#k": "k", "#th": "th", "#ns": "ns", "#cid": "cid", "#tid": "tid", "#tp": "tp"}
        values: dict[str, Any] = {
            ":k": {"S": "w"},
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
            values[f":x{i}"] = {
                "M": {"c": {"S": w.channel}, "t": {"S": w.payload.type_tag}, "d": {"B": w.payload.data}}
            }
            # First write wins for regular writes; special (negative idx) writes are upserted.
            clauses.append(f"#x{i} = if_not_exists(#x{i}, :x{i})" if w.idx >= 0 else f"#x{i} = :x{i}")
        return {
            "TableName": self.table_name,
            "Key": self._key(partition_key(first.thread.thread_id), sk),
            "UpdateExpression": "SET " + ", ".join(clauses),
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }

    # -- reads -------------------------------------------------------------------------------------
    def _groups(self, items: Iterable[dict[str, Any]], *, stop_after: Optional[int] = None) -> list[tuple[StoredCheckpoint, list[StoredWrite]]]:
        """Group query items (descending: a group's writes come before its header)."""
        groups: list[tuple[StoredCheckpoint, list[StoredWrite]]] = []
        pending: dict[tuple[str, str], list[StoredWrite]] = {}
        for item in items:
            kind = _s(item, "k")
            if kind == "w":
                for w in self._parse_writes(item):
                    pending.setdefault((w.checkpoint_ns, w.checkpoint_id), []).append(w)
            elif kind == "h":
                cp = self._parse_header(item)
                groups.append((cp, pending.pop((cp.checkpoint_ns, cp.checkpoint_id), [])))
                if stop_after is not None and len(groups) >= stop_after:
                    break
        return groups

    def _with_blobs(
        self, groups: Sequence[tuple[StoredCheckpoint, list[StoredWrite]]]
    ) -> list[CheckpointRecord]:
        keys = []
        for cp, _ in groups:
            pk = partition_key(cp.thread.thread_id)
            for ch, v in cp.channel_versions.items():
                keys.append(self._key(pk, blob_sk(cp.thread.actor_id, cp.checkpoint_ns, ch, str(v))))
        found = {(i["PK"]["S"], i["SK"]["S"]): i for i in self._batch_get(keys)} if keys else {}
        self._remember(found)
        records = []
        for cp, writes in groups:
            pk = partition_key(cp.thread.thread_id)
            blobs = []
            for ch, v in cp.channel_versions.items():
                item = found.get((pk, blob_sk(cp.thread.actor_id, cp.checkpoint_ns, ch, str(v))))
                if item is not None:
                    blobs.append(self._parse_blob(item))
            records.append(CheckpointRecord(cp, blobs, self._ordered(writes)))
        return records

    def get_checkpoint(self, key: CheckpointKey) -> Optional[CheckpointRecord]:
        thread = key.thread
        pk = partition_key(thread.thread_id)
        if key.checkpoint_id is not None:
            items = self._query(
                "#pk = :pk AND begins_with(#sk, :sk)",
                {":pk": {"S": pk}, ":sk": {"S": header_sk(thread.actor_id, key.checkpoint_ns, key.checkpoint_id)}},
                descending=True,
            )
            groups = [g for g in self._groups(items) if g[0].checkpoint_id == key.checkpoint_id]
        else:
            items = self._query(
                "#pk = :pk AND begins_with(#sk, :sk)",
                {":pk": {"S": pk}, ":sk": {"S": header_prefix(thread.actor_id, key.checkpoint_ns)}},
                descending=True,
                page_sizes=(8, 32, 128, None),
            )
            groups = self._groups(items, stop_after=1)
        if not groups:
            return None
        return self._with_blobs(groups[:1])[0]

    def _metadata_filter(self, flt: Mapping[str, Any]) -> tuple[str, dict[str, str], dict[str, Any]]:
        names: dict[str, str] = {"#md": "md"}
        values: dict[str, Any] = {}
        clauses = []
        for i, (field, value) in enumerate(flt.items()):
            names[f"#f{i}"] = field
            values[f":f{i}"] = to_av(value)
            # A missing key never matches, not even a None filter value.
            clauses.append(f"attribute_exists(#md.#f{i}) AND #md.#f{i} = :f{i}")
        return " AND ".join(clauses), names, values

    def list_checkpoints(self, query: CheckpointQuery) -> Iterator[CheckpointRecord]:
        if query.limit is not None and query.limit <= 0:
            return iter(())
        if query.thread is None:
            groups = self._scan_groups(query)
        else:
            groups = self._thread_groups(query)
        if query.headers_only:
            return iter([CheckpointRecord(cp) for cp, _ in groups])
        return self._records_in_pages(groups)

    def _records_in_pages(self, groups: list[tuple[StoredCheckpoint, list[StoredWrite]]]) -> Iterator[CheckpointRecord]:
        for start in range(0, len(groups), 32):
            yield from self._with_blobs(groups[start : start + 32])

    def _thread_groups(self, query: CheckpointQuery) -> list[tuple[StoredCheckpoint, list[StoredWrite]]]:
        thread = query.thread
        assert thread is not None
        pk = partition_key(thread.thread_id)
        ns = query.checkpoint_ns
        values: dict[str, Any] = {":pk": {"S": pk}}
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
            md_expr, md_names, md_values = self._metadata_filter(query.metadata_filter)
            names.update(md_names)
            values.update(md_values)
            names["#k"] = "k"
            if query.headers_only:
                values[":h"] = {"S": "h"}
                filters.append(f"#k = :h AND ({md_expr})")
            else:
                # Write items pass so that matching headers keep their writes (same page, no extra call).
                values[":w"] = {"S": "w"}
                filters.append(f"#k = :w OR ({md_expr})")
        elif query.headers_only:
            names["#k"] = "k"
            values[":h"] = {"S": "h"}
            filters.append("#k = :h")
        single_ns = ns is not None
        page_sizes: Sequence[Optional[int]] = (None,)
        if single_ns and query.limit is not None and not query.metadata_filter:
            page_sizes = (query.limit * 3 + 2, query.limit * 12 + 8, None)
        items = self._query(
            condition,
            values,
            descending=True,
            filter_expression=_all_of(filters) or None,
            names=names,
            page_sizes=page_sizes,
        )
        groups = self._groups(items, stop_after=query.limit if single_ns else None)
        if query.before_id is not None:
            groups = [g for g in groups if g[0].checkpoint_id < query.before_id]
        if not single_ns:
            groups.sort(key=lambda g: g[0].checkpoint_id, reverse=True)
        return groups[: query.limit] if query.limit is not None else groups

    def _scan_groups(self, query: CheckpointQuery) -> list[tuple[StoredCheckpoint, list[StoredWrite]]]:
        """Every thread: a Scan of headers with the filter on the server (rare operations only)."""
        names = {"#k": "k"}
        values: dict[str, Any] = {":h": {"S": "h"}}
        filters = ["#k = :h"]
        if query.metadata_filter:
            md_expr, md_names, md_values = self._metadata_filter(query.metadata_filter)
            names.update(md_names)
            values.update(md_values)
            filters.append(md_expr)
        if query.checkpoint_ns is not None:
            names["#ns"] = "ns"
            values[":ns"] = {"S": query.checkpoint_ns}
            filters.append("#ns = :ns")
        _id_filters(query, names, values, filters)
        headers = [self._parse_header(i) for i in self._scan(_all_of(filters), names, values)]
        headers.sort(key=lambda c: c.checkpoint_id, reverse=True)
        if query.limit is not None:
            headers = headers[: query.limit]
        if query.headers_only:
            return [(cp, []) for cp in headers]
        return [(cp, self.get_writes(cp.thread, cp.checkpoint_ns, [cp.checkpoint_id])[cp.checkpoint_id]) for cp in headers]

    def scan_checkpoints(self, thread: ThreadKey, checkpoint_ns: Optional[str] = None) -> Iterator[StoredCheckpoint]:
        items = self._query(
            "#pk = :pk AND begins_with(#sk, :sk)",
            {":pk": {"S": partition_key(thread.thread_id)}, ":sk": {"S": header_prefix(thread.actor_id, checkpoint_ns)}, ":h": {"S": "h"}},
            filter_expression="#k = :h",
            names={"#k": "k"},
        )
        return iter([self._parse_header(i) for i in items])

    def get_blobs(self, thread: ThreadKey, checkpoint_ns: str, refs: Sequence[BlobRef]) -> dict[BlobRef, ChannelBlob]:
        pk = partition_key(thread.thread_id)
        items = self._batch_get([self._key(pk, blob_sk(thread.actor_id, checkpoint_ns, ch, v)) for ch, v in refs])
        self._remember((i["PK"]["S"], i["SK"]["S"]) for i in items)
        blobs = [self._parse_blob(i) for i in items]
        return {(b.channel, b.version): b for b in blobs}

    def get_writes(self, thread: ThreadKey, checkpoint_ns: str, checkpoint_ids: Sequence[str]) -> dict[str, list[StoredWrite]]:
        result: dict[str, list[StoredWrite]] = {cid: [] for cid in checkpoint_ids}
        if not checkpoint_ids:
            return result
        wanted = set(checkpoint_ids)
        lo = header_sk(thread.actor_id, checkpoint_ns, min(wanted))
        hi = header_sk(thread.actor_id, checkpoint_ns, max(wanted)) + SK_MAX
        items = self._query(
            "#pk = :pk AND #sk BETWEEN :lo AND :hi",
            {":pk": {"S": partition_key(thread.thread_id)}, ":lo": {"S": lo}, ":hi": {"S": hi}, ":w": {"S": "w"}},
            filter_expression="#k = :w",
            names={"#k": "k"},
        )
        collected: dict[str, list[StoredWrite]] = {}
        for item in items:
            for w in self._parse_writes(item):
                if w.checkpoint_id in wanted:
                    collected.setdefault(w.checkpoint_id, []).append(w)
        for cid, ws in collected.items():
            result[cid] = self._ordered(ws)
        return result

    # -- deletes ---------------------------------------------------------------------------------------
    def _delete_keys(self, keys: Sequence[dict[str, Any]]) -> None:
        requests = [{"DeleteRequest": {"Key": {"PK": k["PK"], "SK": k["SK"]}}} for k in keys]
        chunks = [requests[i : i + _BATCH_WRITE] for i in range(0, len(requests), _BATCH_WRITE)]
        self._parallel(self._batch_write, chunks)
        self._forget((k["PK"]["S"], k["SK"]["S"]) for k in keys)

    def _keys_of(self, condition: str, values: dict[str, Any], **kwargs: Any) -> list[dict[str, Any]]:
        # Expired items are deleted too: no live-filter on deletions.
        params: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": values,
            "ExpressionAttributeNames": {"#pk": "PK", "#sk": "SK"},
            "ProjectionExpression": "#pk, #sk",
            "ConsistentRead": True,
        }
        if kwargs.get("filter_expression"):
            params["FilterExpression"] = kwargs["filter_expression"]
            params["ExpressionAttributeNames"].update(kwargs.get("names", {}))
        keys: list[dict[str, Any]] = []
        while True:
            response = self._call("query", **params)
            keys.extend(response.get("Items", []))
            last = response.get("LastEvaluatedKey")
            if not last:
                return keys
            params["ExclusiveStartKey"] = last

    def delete_thread(self, thread_id: str, actor_id: Optional[str] = None) -> None:
        pk = partition_key(thread_id)
        if actor_id is None:
            keys = self._keys_of("#pk = :pk", {":pk": {"S": pk}})
        else:
            keys = self._keys_of(
                "#pk = :pk AND begins_with(#sk, :sk)", {":pk": {"S": pk}, ":sk": {"S": actor_prefix(actor_id)}}
            )
        self._delete_keys(keys)

    def delete_checkpoints(self, thread: ThreadKey, checkpoint_ns: str, checkpoint_ids: Sequence[str]) -> None:
        if not checkpoint_ids:
            return
        wanted = set(checkpoint_ids)
        lo = header_sk(thread.actor_id, checkpoint_ns, min(wanted))
        hi = header_sk(thread.actor_id, checkpoint_ns, max(wanted)) + SK_MAX
        values = {":pk": {"S": partition_key(thread.thread_id)}, ":lo": {"S": lo}, ":hi": {"S": hi}}
        keys = self._keys_of(
            "#pk = :pk AND #sk BETWEEN :lo AND :hi",
            values,
        )
        prefixes = tuple(header_sk(thread.actor_id, checkpoint_ns, cid) for cid in wanted)
        self._delete_keys([k for k in keys if k["SK"]["S"].startswith(prefixes)])

    def delete_blobs(self, thread: ThreadKey, checkpoint_ns: str, refs: Sequence[BlobRef]) -> None:
        pk = partition_key(thread.thread_id)
        self._delete_keys([self._key(pk, blob_sk(thread.actor_id, checkpoint_ns, ch, v)) for ch, v in refs])

    # -- bulk ------------------------------------------------------------------------------------------
    def export_thread(self, thread: ThreadKey) -> ThreadData:
        pk = partition_key(thread.thread_id)
        prefixes = [actor_prefix(thread.actor_id) + "C!", actor_prefix(thread.actor_id) + "B!"]
        checkpoints: list[StoredCheckpoint] = []
        blobs: list[tuple[str, ChannelBlob]] = []
        writes: list[StoredWrite] = []
        for prefix in prefixes:
            for item in self._query("#pk = :pk AND begins_with(#sk, :sk)", {":pk": {"S": pk}, ":sk": {"S": prefix}}):
                kind = _s(item, "k")
                if kind == "h":
                    checkpoints.append(self._parse_header(item))
                elif kind == "w":
                    writes.extend(self._parse_writes(item))
                elif kind == "b":
                    blobs.append((item["ns"]["S"], self._parse_blob(item)))
        return ThreadData(thread=thread, checkpoints=checkpoints, blobs=blobs, writes=writes)

    def import_thread(self, data: ThreadData) -> None:
        expires = self._expires_at()
        thread = data.thread
        blob_items = [
            self._blob_item(thread, ns, b, expires) for ns, b in data.blobs if b.payload.type_tag != "empty"
        ]
        self._batch_write([{"PutRequest": {"Item": i}} for i in blob_items])
        self._remember((i["PK"]["S"], i["SK"]["S"]) for i in blob_items)
        if data.writes:
            self.put_writes(list(data.writes))
        headers = [self._header_item(cp, expires) for cp in data.checkpoints]
        self._batch_write([{"PutRequest": {"Item": i}} for i in headers])


def _all_of(clauses: Sequence[str]) -> str:
    """Clauses joined by AND (DynamoDB rejects redundant parentheses around a single one)."""
    return clauses[0] if len(clauses) == 1 else " AND ".join(f"({c})" for c in clauses)


def error_code_of(exc: BaseException) -> str:
    """The AWS error code of a botocore ClientError (empty for anything else)."""
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return ""
    return error_code(exc)  # type: ignore[arg-type]
