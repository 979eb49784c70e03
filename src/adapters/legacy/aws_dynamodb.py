"""Read-only reader of langgraph-checkpoint-aws 1.2 ``DynamoDBSaver`` tables (with S3 offload).

The layout it reads (one table, string keys ``PK``/``SK``; facts taken from
the 1.2.6 package, which this module does not import):

- checkpoint item: ``PK = "CHECKPOINT_<thread_id>"``, ``SK = "<ns>#<checkpoint_id>"``,
  attributes ``id``, ``ns``, ``type`` (serde tag), ``parent_checkpoint_id``
  (absent for the first), ``compression`` (``"gzip"`` or absent), ``ref_loc``
  (``"DYNAMODB"`` or ``"S3"``) and ``ref_key``;
- its payload: the serde bytes of ``{"checkpoint": <whole Checkpoint>, "metadata": <metadata>}``,
  gzip-compressed when ``compression`` says so, either in a chunk item
  ``PK = ref_key = "CHUNK_<thread>#<ns>#<id>"``, ``SK = "CHUNK"``, attribute
  ``payload`` (binary), or in S3 under ``[<key_prefix>/]<ref_key>`` where
  ``ref_key = "<thread>/checkpoints/<ns>/<id>"``;
- write item: ``PK = "WRITES_<thread>#<ns>#<checkpoint_id>"``, ``SK = "<task_id>#<idx>"``,
  attributes ``task_id``, ``channel``, ``idx`` (number), ``type``, ``task_path``
  (absent when empty), ``compression``, ``ref_loc``, ``ref_key``; the value
  is stored like a checkpoint payload (chunk ``CHUNK_<thread>#<ns>#<id>#<task>#<idx>``
  or S3 ``<thread>/checkpoints/<ns>/<id>/writes/<task>/<idx>``).

What a read costs (the layout has no index to do better): ``get_checkpoint``
1 GetItem or Query, 1 BatchGetItem of the payload chunk, 1 Query of its
writes and 1 BatchGetItem of their chunks (plus one S3 GET per offloaded
payload); ``list_checkpoints`` 1 Query per MB of checkpoint items, then per
page of 25 checkpoints 1 BatchGetItem of payloads, 1 Query per checkpoint for
its writes and 1 BatchGetItem per 100 write chunks; ``list_threads`` one Scan
per MB of the whole table (keys only).

As the published saver did, a checkpoint whose payload is gone is skipped, and
so is a write whose value is gone.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Optional

from ...domain.errors import ConfigurationError, CorruptRecordError, InvalidInputError
from ...domain.models import (
    CheckpointKey,
    CheckpointQuery,
    CheckpointRecord,
    Payload,
    StoredWrite,
    ThreadKey,
)
from ...domain.policies import RetryPolicy
from ..aws import (
    DYNAMODB_ERRORS,
    DYNAMODB_PAGES,
    S3_ERRORS,
    AwsResource,
    drain,
    error_code,
    operation_name,
    pages,
    translate_errors,
)
from ._common import (
    AWS_FORMAT,
    ReadOnlyRepository,
    chunked,
    filter_records,
    ordered,
    split_envelope,
    stored_checkpoint,
    wanted,
)

__all__ = ["LegacyDynamoDBRepository", "CHECKPOINT_PK_PREFIX"]

CHECKPOINT_PK_PREFIX = "CHECKPOINT_"
WRITES_PK_PREFIX = "WRITES_"
CHUNK_SK = "CHUNK"
_PAGE = 25
_BATCH_GET = 100
_CHECKPOINT_ATTRS = "PK, SK, id, ns, #t, ref_key, ref_loc, compression, parent_checkpoint_id"
_WRITE_ATTRS = "task_id, channel, idx, #t, ref_key, ref_loc, compression, task_path"


def _s(item: Mapping[str, Any], name: str) -> Optional[str]:
    value = item.get(name)
    return None if value is None else value.get("S")


class LegacyDynamoDBRepository(ReadOnlyRepository):
    """Reads the threads a langgraph-checkpoint-aws 1.2 ``DynamoDBSaver`` stored (read-only).

    Implements the read half of ``CheckpointRepository`` and ``ThreadLister``;
    the write methods raise ``UnsupportedOperationError``.

    Args:
        client: a boto3 DynamoDB client.
        table_name: the saver's table.
        s3_client: a boto3 S3 client, needed when payloads were offloaded
            (``s3_offload_config`` of the published saver).
        s3_bucket: the offload bucket (``s3_offload_config["bucket_name"]``).
        s3_key_prefix: the offload prefix (``s3_offload_config["key_prefix"]``), if one was set.
        backoff: paces the rounds of BatchGetItem that leave keys unprocessed.
    """

    source_name = "a langgraph-checkpoint-aws 1.2 DynamoDBSaver table"
    format_name = AWS_FORMAT

    def __init__(
        self,
        client: Any,
        table_name: str,
        *,
        s3_client: Any = None,
        s3_bucket: Optional[str] = None,
        s3_key_prefix: Optional[str] = None,
        backoff: Optional[RetryPolicy] = None,
    ) -> None:
        self.client = client
        self.table_name = table_name
        self.s3_client = s3_client
        self.s3_bucket = s3_bucket
        prefix = (s3_key_prefix or "").strip("/")
        self.s3_key_prefix = f"{prefix}/" if prefix else ""
        self.backoff = backoff if backoff is not None else RetryPolicy()
        self.resource = AwsResource.of(client, DYNAMODB_ERRORS, table_name)
        self.s3_resource = AwsResource.of(s3_client, S3_ERRORS, s3_bucket) if s3_client is not None and s3_bucket else None

    # -- calls ----------------------------------------------------------------------------
    def _call(self, method: str, **params: Any) -> Any:
        with translate_errors(self.resource, operation_name(self.client, method)):
            return getattr(self.client, method)(**params)

    def _query(self, params: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
        for page in pages(lambda **p: self._call("query", **p), params, DYNAMODB_PAGES):
            yield from page.get("Items", [])

    def _chunks(self, keys: Sequence[str]) -> dict[str, bytes]:
        """Payload chunk items by their PK (BatchGetItem, 100 keys a call, unprocessed keys resubmitted)."""
        found: dict[str, bytes] = {}

        def send(batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
            response = self._call(
                "batch_get_item",
                RequestItems={self.table_name: {"Keys": batch, "ProjectionExpression": "PK, payload"}},
            )
            for item in response.get("Responses", {}).get(self.table_name, []):
                found[item["PK"]["S"]] = bytes(item["payload"]["B"])
            left = response.get("UnprocessedKeys", {}).get(self.table_name)
            return list(left["Keys"]) if left else []

        unique = list(dict.fromkeys(keys))
        for chunk in chunked(unique, _BATCH_GET):
            drain(
                send,
                [{"PK": {"S": k}, "SK": {"S": CHUNK_SK}} for k in chunk],
                call=f"{self.resource.describe()}: BatchGetItem",
                backoff=self.backoff,
            )
        return found

    def _s3_object(self, ref_key: str) -> Optional[bytes]:
        if self.s3_client is None or not self.s3_bucket or self.s3_resource is None:
            raise ConfigurationError(
                f"{self.resource.describe()}: a payload was offloaded to S3 ({ref_key!r}); pass s3_client, "
                "s3_bucket and s3_key_prefix as the published saver's s3_offload_config had them"
            )
        with translate_errors(self.s3_resource, "GetObject"):
            try:
                response = self.s3_client.get_object(Bucket=self.s3_bucket, Key=self.s3_key_prefix + ref_key)
            except Exception as exc:
                if error_code(exc) in ("NoSuchKey", "404"):
                    return None
                raise
            return bytes(response["Body"].read())

    def _payloads(self, items: Sequence[Mapping[str, Any]]) -> dict[str, bytes]:
        """The stored bytes (decompressed) of checkpoint or write items, by ``ref_key``; missing ones absent."""
        in_table = [_s(i, "ref_key") for i in items if _s(i, "ref_loc") != "S3"]
        found = self._chunks([k for k in in_table if k])
        for item in items:
            ref = _s(item, "ref_key")
            if ref and _s(item, "ref_loc") == "S3":
                data = self._s3_object(ref)
                if data is not None:
                    found[ref] = data
        out: dict[str, bytes] = {}
        for item in items:
            ref = _s(item, "ref_key")
            if not ref or ref not in found:
                continue
            data = found[ref]
            compression = _s(item, "compression")
            if compression == "gzip":
                try:
                    data = gzip.decompress(data)
                except OSError as exc:
                    raise CorruptRecordError(f"{self.resource.describe()}: {ref!r} is not valid gzip ({exc})") from exc
            elif compression:
                raise CorruptRecordError(f"{self.resource.describe()}: {ref!r} uses unknown compression {compression!r}")
            out[ref] = data
        return out

    # -- records -----------------------------------------------------------------------------
    def _checkpoint_items(self, thread: ThreadKey, ns: Optional[str]) -> Iterator[dict[str, Any]]:
        """Checkpoint items of a thread (one namespace, exactly, or all), each namespace newest first."""
        params: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": "PK = :pk",
            "ExpressionAttributeValues": {":pk": {"S": CHECKPOINT_PK_PREFIX + thread.thread_id}},
            "ProjectionExpression": _CHECKPOINT_ATTRS,
            "ExpressionAttributeNames": {"#t": "type"},
            "ScanIndexForward": False,
        }
        if ns is not None:
            params["KeyConditionExpression"] += " AND begins_with(SK, :ns)"
            params["ExpressionAttributeValues"][":ns"] = {"S": f"{ns}#"}
        for item in self._query(params):
            if ns is None or _s(item, "ns") == ns:
                yield item

    def _writes(self, thread: ThreadKey, ns: str, checkpoint_id: str) -> list[StoredWrite]:
        items = list(
            self._query(
                {
                    "TableName": self.table_name,
                    "KeyConditionExpression": "PK = :pk",
                    "ExpressionAttributeValues": {":pk": {"S": f"{WRITES_PK_PREFIX}{thread.thread_id}#{ns}#{checkpoint_id}"}},
                    "ProjectionExpression": _WRITE_ATTRS,
                    "ExpressionAttributeNames": {"#t": "type"},
                }
            )
        )
        payloads = self._payloads(items)
        writes = []
        for item in items:
            ref = _s(item, "ref_key")
            if ref is None or ref not in payloads:
                continue  # an orphan write, as the published saver treats it
            writes.append(
                StoredWrite(
                    thread=thread,
                    checkpoint_ns=ns,
                    checkpoint_id=checkpoint_id,
                    task_id=_s(item, "task_id") or "",
                    idx=int(item["idx"]["N"]),
                    channel=_s(item, "channel") or "",
                    payload=Payload(_s(item, "type") or "", payloads[ref]),
                    task_path=_s(item, "task_path") or "",
                )
            )
        return list(ordered(writes))

    def _records(self, thread: ThreadKey, items: Sequence[Mapping[str, Any]], with_values: bool) -> list[CheckpointRecord]:
        payloads = self._payloads(items)
        records = []
        for item in items:
            ref = _s(item, "ref_key")
            if ref is None or ref not in payloads:
                continue  # payload gone: the published saver skips such checkpoints too
            ns = _s(item, "ns") or ""
            checkpoint_id = _s(item, "id") or ""
            what = f"{self.resource.describe()}: checkpoint {checkpoint_id!r} of thread {thread.thread_id!r}"
            split, metadata, typed = split_envelope(_s(item, "type") or "", payloads[ref], what)
            header = stored_checkpoint(
                thread, ns, checkpoint_id, _s(item, "parent_checkpoint_id"), split, metadata, typed
            )
            if not with_values:
                records.append(CheckpointRecord(header))
                continue
            records.append(CheckpointRecord(header, split.blobs, self._writes(thread, ns, checkpoint_id)))
        return records

    @staticmethod
    def _thread(thread: ThreadKey) -> ThreadKey:
        if thread.actor_id is not None:
            raise InvalidInputError("DynamoDBSaver (langgraph-checkpoint-aws 1.2) threads have no actor_id")
        return thread

    # -- the read port -------------------------------------------------------------------------
    def get_checkpoint(self, key: CheckpointKey) -> Optional[CheckpointRecord]:
        thread = self._thread(key.thread)
        if key.checkpoint_id is not None:
            response = self._call(
                "get_item",
                TableName=self.table_name,
                Key={
                    "PK": {"S": CHECKPOINT_PK_PREFIX + thread.thread_id},
                    "SK": {"S": f"{key.checkpoint_ns}#{key.checkpoint_id}"},
                },
                ProjectionExpression=_CHECKPOINT_ATTRS,
                ExpressionAttributeNames={"#t": "type"},
            )
            item = response.get("Item")
            found = self._records(thread, [item], True) if item and _s(item, "ns") == key.checkpoint_ns else []
            return found[0] if found else None
        for item in self._checkpoint_items(thread, key.checkpoint_ns):
            found = self._records(thread, [item], True)
            if found:
                return found[0]
        return None

    def list_checkpoints(self, query: CheckpointQuery) -> Iterator[CheckpointRecord]:
        if query.thread is None:
            threads: Iterator[ThreadKey] = self.list_threads()
        else:
            threads = iter([self._thread(query.thread)])
        for thread in threads:
            yield from filter_records(self._thread_records(thread, query), query)

    def _thread_records(self, thread: ThreadKey, query: CheckpointQuery) -> Iterator[CheckpointRecord]:
        items = [
            i
            for i in self._checkpoint_items(thread, query.checkpoint_ns)
            if wanted(_s(i, "id") or "", _s(i, "ns") or "", query)
        ]
        if query.checkpoint_ns is None:
            items.sort(key=lambda i: _s(i, "id") or "", reverse=True)
        for page in chunked(items, _PAGE):
            # Payloads are needed even for headers (metadata lives inside them); writes are not.
            yield from self._records(thread, page, not query.headers_only)

    def list_threads(self) -> Iterator[ThreadKey]:
        """Every thread with a checkpoint item: a keys-only Scan of the whole table (the layout has no index)."""
        seen: set[str] = set()
        params = {
            "TableName": self.table_name,
            "ProjectionExpression": "PK",
            "FilterExpression": "begins_with(PK, :p)",
            "ExpressionAttributeValues": {":p": {"S": CHECKPOINT_PK_PREFIX}},
        }
        for page in pages(lambda **p: self._call("scan", **p), params, DYNAMODB_PAGES):
            for item in page.get("Items", []):
                thread_id = item["PK"]["S"][len(CHECKPOINT_PK_PREFIX) :]
                if thread_id not in seen:
                    seen.add(thread_id)
                    yield ThreadKey(thread_id)
