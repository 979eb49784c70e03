"""The calls the checkpoint repository makes on its table: queries, batch reads and writes, setup.

Every call goes through the AWS toolkit: errors translated (naming table,
operation, region and endpoint), pages followed lazily, unprocessed batch
items resubmitted with backoff. Nothing here knows checkpoints; the item
layout is in ``_items`` and ``_layout``.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Callable, Optional, TypeVar

from botocore.exceptions import ClientError

from ...domain.errors import ConfigurationError
from ...domain.policies import RetryPolicy
from ..aws import (
    DYNAMODB_ERRORS,
    DYNAMODB_PAGES,
    AwsResource,
    drain,
    error_code,
    operation_name,
    pages,
    translate_errors,
)
from ._items import Item, key_of

__all__ = ["DynamoDBTable", "KEY_SCHEMA", "BATCH_WRITE", "BATCH_GET"]

T = TypeVar("T")
R = TypeVar("R")

BATCH_WRITE = 25
"""Items per BatchWriteItem (AWS limit; moto accepts 26)."""
BATCH_GET = 100
"""Keys per BatchGetItem (AWS limit)."""

KEY_SCHEMA = (("PK", "S", "HASH"), ("SK", "S", "RANGE"))
"""The key schema every checkpoint table has: (attribute, type, key type)."""

_LIVE = "attribute_not_exists(#ttl) OR #ttl > :now"
_PLACEHOLDER = re.compile(r"[#:][A-Za-z0-9_]+")


def _chunks(items: Sequence[T], size: int) -> list[list[T]]:
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


class DynamoDBTable:
    """One DynamoDB table as the repository uses it.

    Args:
        client: a boto3 DynamoDB client.
        table_name: the table.
        backoff: paces the resubmission of unprocessed batch items.
        clock: time source for TTL checks.
        max_workers: threads for independent calls of one operation.
    """

    def __init__(
        self,
        *,
        client: Any,
        table_name: str,
        backoff: RetryPolicy,
        clock: Callable[[], float],
        max_workers: int = 8,
    ) -> None:
        self.client = client
        self.table_name = table_name
        self.backoff = backoff
        self.clock = clock
        self.max_workers = max_workers
        self.resource = AwsResource.of(client, DYNAMODB_ERRORS, table_name)

    # -- plumbing ------------------------------------------------------------------------------
    def errors(self, method: str) -> contextlib.AbstractContextManager[None]:
        """The error translation of one call of ``method`` (snake_case, as on the client)."""
        return translate_errors(self.resource, operation_name(self.client, method))

    def call(self, method: str, **params: Any) -> Any:
        """``client.<method>(**params)`` with its errors translated."""
        with self.errors(method):
            return getattr(self.client, method)(**params)

    def now(self) -> int:
        """The clock, in whole seconds (TTL resolution)."""
        return int(self.clock())

    def live(self, item: Mapping[str, Any]) -> bool:
        """Whether an item's ``ttl`` (if any) has not passed: DynamoDB deletes expired items lazily."""
        ttl = item.get("ttl")
        return ttl is None or float(ttl["N"]) > self.clock()

    def parallel(self, fn: Callable[[T], R], args: Sequence[T]) -> list[R]:
        """``fn`` over ``args`` in threads (inline for one argument); results in order."""
        if len(args) <= 1:
            return [fn(a) for a in args]
        with concurrent.futures.ThreadPoolExecutor(max_workers=min(self.max_workers, len(args))) as pool:
            return list(pool.map(fn, args))

    def _expression(
        self,
        params: dict[str, Any],
        *,
        filters: Sequence[str],
        names: Mapping[str, str],
        values: Mapping[str, Any],
        live_only: bool,
        projection: Optional[str],
    ) -> dict[str, Any]:
        """Add filter, projection, names and values, keeping only the placeholders used.

        DynamoDB rejects unused names and values, and callers share dicts of them.
        """
        clauses = ([_LIVE] if live_only else []) + [f for f in filters if f]
        if clauses:
            params["FilterExpression"] = clauses[0] if len(clauses) == 1 else " AND ".join(f"({c})" for c in clauses)
        if projection:
            params["ProjectionExpression"] = projection
        all_names = {"#ttl": "ttl", "#pk": "PK", "#sk": "SK", **names}
        all_values = {":now": {"N": str(self.now())}, **values}
        used: set[str] = set()
        for field in ("KeyConditionExpression", "FilterExpression", "ProjectionExpression"):
            used.update(_PLACEHOLDER.findall(params.get(field, "")))
        if any(n in used for n in all_names):
            params["ExpressionAttributeNames"] = {n: v for n, v in all_names.items() if n in used}
        if any(v in used for v in all_values):
            params["ExpressionAttributeValues"] = {n: v for n, v in all_values.items() if n in used}
        return params

    # -- reads ---------------------------------------------------------------------------------
    def query(
        self,
        key_condition: str,
        values: Mapping[str, Any],
        *,
        descending: bool = False,
        filters: Sequence[str] = (),
        names: Optional[Mapping[str, str]] = None,
        projection: Optional[str] = None,
        page_sizes: Sequence[Optional[int]] = (None,),
        live_only: bool = True,
    ) -> Iterator[Item]:
        """Items of a strongly consistent Query, page after page, fetched lazily.

        ``filters`` are ANDed into the FilterExpression. Placeholders ``#pk``,
        ``#sk``, ``#ttl`` and ``:now`` are predefined. With ``live_only``
        expired items are filtered out by DynamoDB.
        """
        params = self._expression(
            {
                "TableName": self.table_name,
                "KeyConditionExpression": key_condition,
                "ConsistentRead": True,
                "ScanIndexForward": not descending,
            },
            filters=filters,
            names=names or {},
            values=values,
            live_only=live_only,
            projection=projection,
        )
        for response in pages(lambda **p: self.call("query", **p), params, DYNAMODB_PAGES, page_sizes=page_sizes):
            yield from response.get("Items", [])

    def query_keys(self, key_condition: str, values: Mapping[str, Any]) -> list[Item]:
        """Keys of every item in a key range, expired ones included (for deletions)."""
        return list(self.query(key_condition, values, projection="#pk, #sk", live_only=False))

    def scan(
        self,
        filters: Sequence[str],
        names: Mapping[str, str],
        values: Mapping[str, Any],
        *,
        projection: Optional[str] = None,
    ) -> Iterator[Item]:
        """Live items of a strongly consistent Scan of the whole table, page after page (1 MB each)."""
        params = self._expression(
            {"TableName": self.table_name, "ConsistentRead": True},
            filters=filters,
            names=names,
            values=values,
            live_only=True,
            projection=projection,
        )
        for response in pages(lambda **p: self.call("scan", **p), params, DYNAMODB_PAGES):
            yield from response.get("Items", [])

    def batch_get(self, keys: Sequence[Item], *, projection: Optional[str] = None) -> list[Item]:
        """Live items among ``keys`` (deduplicated): BatchGetItem per 100 keys, in parallel."""
        unique = list({key_of(k): k for k in keys}.values())
        request: dict[str, Any] = {"ConsistentRead": True}
        if projection:
            request["ProjectionExpression"] = projection
            request["ExpressionAttributeNames"] = {"#ttl": "ttl"}

        def get(chunk: list[Item]) -> list[Item]:
            found: list[Item] = []

            def send(pending: list[Item]) -> list[Item]:
                response = self.call("batch_get_item", RequestItems={self.table_name: {**request, "Keys": pending}})
                found.extend(response.get("Responses", {}).get(self.table_name, []))
                return list((response.get("UnprocessedKeys") or {}).get(self.table_name, {}).get("Keys") or [])

            drain(send, chunk, call=f"{self.resource.describe()}: BatchGetItem", backoff=self.backoff)
            return found

        return [item for found in self.parallel(get, _chunks(unique, BATCH_GET)) for item in found if self.live(item)]

    # -- writes --------------------------------------------------------------------------------
    def batch_write(self, requests: Sequence[dict[str, Any]]) -> None:
        """Put/Delete requests: BatchWriteItem per 25 requests, in parallel, unprocessed ones resubmitted."""

        def write(chunk: list[dict[str, Any]]) -> None:
            def send(pending: list[dict[str, Any]]) -> list[dict[str, Any]]:
                response = self.call("batch_write_item", RequestItems={self.table_name: pending})
                return list((response.get("UnprocessedItems") or {}).get(self.table_name) or [])

            drain(send, chunk, call=f"{self.resource.describe()}: BatchWriteItem", backoff=self.backoff)

        self.parallel(write, _chunks(requests, BATCH_WRITE))

    def put_items(self, items: Sequence[Item]) -> None:
        """Insert or replace items (BatchWriteItem)."""
        self.batch_write([{"PutRequest": {"Item": i}} for i in items])

    def delete_keys(self, keys: Sequence[Item]) -> None:
        """Delete items by key (BatchWriteItem); missing items are no error."""
        self.batch_write([{"DeleteRequest": {"Key": {"PK": k["PK"], "SK": k["SK"]}}} for k in keys])

    def update_if_exists(self, params: Mapping[str, Any]) -> bool:
        """An UpdateItem whose condition requires the item; False when the condition failed."""
        with self.errors("update_item"):
            try:
                self.client.update_item(**params)
            except ClientError as exc:
                if error_code(exc) != "ConditionalCheckFailedException":
                    raise
                return False
        return True

    # -- resources -----------------------------------------------------------------------------
    def create(self, *, enable_ttl: bool = True, wait: bool = True) -> bool:
        """Create the table if missing (on demand; TTL on ``ttl``); True when it was created."""
        with self.errors("create_table"):
            try:
                self.client.create_table(
                    TableName=self.table_name,
                    AttributeDefinitions=[{"AttributeName": n, "AttributeType": t} for n, t, _ in KEY_SCHEMA],
                    KeySchema=[{"AttributeName": n, "KeyType": k} for n, _, k in KEY_SCHEMA],
                    BillingMode="PAY_PER_REQUEST",
                )
                created = True
            except ClientError as exc:
                if error_code(exc) != "ResourceInUseException":
                    raise
                created = False
        if wait:
            with self.errors("describe_table"):
                self.client.get_waiter("table_exists").wait(
                    TableName=self.table_name, WaiterConfig={"Delay": 1, "MaxAttempts": 60}
                )
        if enable_ttl:
            status = self.call("describe_time_to_live", TableName=self.table_name)["TimeToLiveDescription"]
            if status.get("TimeToLiveStatus") not in ("ENABLED", "ENABLING"):
                self.call(
                    "update_time_to_live",
                    TableName=self.table_name,
                    TimeToLiveSpecification={"Enabled": True, "AttributeName": "ttl"},
                )
        return created

    def verify(self) -> None:
        """Check that the table exists with the checkpoint key schema.

        Raises:
            NotFoundError: the table does not exist (names it and the region).
            ConfigurationError: the key schema is not string PK (HASH) + string SK (RANGE).
        """
        table = self.call("describe_table", TableName=self.table_name)["Table"]
        types = {a["AttributeName"]: a["AttributeType"] for a in table.get("AttributeDefinitions", [])}
        actual = tuple((k["AttributeName"], types.get(k["AttributeName"], "?"), k["KeyType"]) for k in table["KeySchema"])
        if actual != KEY_SCHEMA:
            raise ConfigurationError(
                f"{self.resource.describe()} has the wrong key schema: expected {_schema(KEY_SCHEMA)}, "
                f"found {_schema(actual)}; use a table created by setup() or the CloudFormation template"
            )


def _schema(schema: Sequence[tuple[str, str, str]]) -> str:
    names = {"S": "string", "N": "number", "B": "binary"}
    return " + ".join(f"{names.get(t, t)} {n} ({k})" for n, t, k in schema) or "(none)"
