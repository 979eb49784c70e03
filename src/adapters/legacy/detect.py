"""Cheap probes that tell whether a table, keyspace or bucket holds a published package's layout.

Each function returns the format name (``"langgraph-checkpoint-aws-1.2"`` or
``"langgraph-checkpoint-s3-0.1"``) or None, and never reads a payload:

- ``detect_dynamodb``: one Query of the thread's ``CHECKPOINT_`` partition
  when a thread is named, else one Scan of at most 25 keys;
- ``detect_valkey``: one EXISTS per layout when a thread is named (AgentCore:
  with its actor), else a few SCAN MATCH calls (``scan_calls`` of COUNT
  ``count`` keys each) per layout;
- ``detect_s3``: one or two ListObjectsV2 with MaxKeys=1.

This project's own layouts never match: its DynamoDB partitions are ``T#...``,
its Valkey keys ``langgraph:checkpoint:...`` or ``agentcore:<kind>:{...}``
(hash-tagged, never ending in ``:checkpoints``), and its S3 checkpoint keys
end in ``~`` or ``~head``, never ``.json``.

A probe without a thread samples the store: data of a published layout mixed
into a large store of this project's layout may go unseen; name a thread to
probe it exactly.
"""

from __future__ import annotations

import re
from typing import Any, Optional

from ._common import AWS_FORMAT, S3_FORMAT
from .aws_valkey import LegacyValkeyRepository, agentcore_session_id, glob_escape

# The DynamoDB and S3 probes import boto3's toolkit when called, so a Valkey user never needs boto3.

__all__ = ["detect_dynamodb", "detect_valkey", "detect_s3", "FORMATS"]

FORMATS = (AWS_FORMAT, S3_FORMAT)
"""Every format name a probe can return (``migrate --source-format`` takes these)."""

_LEGACY_PK = re.compile(r"^(CHECKPOINT_|WRITES_|CHUNK_)")
_UUID_JSON = re.compile(r"^[0-9a-fA-F-]{8,64}\.json$")


def detect_dynamodb(client: Any, table_name: str, *, thread_id: Optional[str] = None) -> Optional[str]:
    """``"langgraph-checkpoint-aws-1.2"`` when the table holds DynamoDBSaver 1.2 items, else None.

    Raises:
        NotFoundError: the table does not exist.
    """
    from ..aws import DYNAMODB_ERRORS, AwsResource, translate_errors
    from .aws_dynamodb import CHECKPOINT_PK_PREFIX

    resource = AwsResource.of(client, DYNAMODB_ERRORS, table_name)
    if thread_id is not None:
        with translate_errors(resource, "Query"):
            response = client.query(
                TableName=table_name,
                KeyConditionExpression="PK = :pk",
                ExpressionAttributeValues={":pk": {"S": CHECKPOINT_PK_PREFIX + thread_id}},
                ProjectionExpression="PK, SK",
                Limit=1,
            )
        return AWS_FORMAT if response.get("Items") else None
    with translate_errors(resource, "Scan"):
        response = client.scan(TableName=table_name, ProjectionExpression="PK, SK", Limit=25)
    for item in response.get("Items", []):
        pk, sk = item.get("PK", {}).get("S", ""), item.get("SK", {}).get("S", "")
        if not _LEGACY_PK.match(pk):
            continue
        if pk.startswith("CHUNK_") and sk != "CHUNK":
            continue
        if pk.startswith("CHECKPOINT_") and "#" not in sk:
            continue
        return AWS_FORMAT
    return None


def detect_valkey(
    client: Any,
    *,
    prefix: str = "",
    thread_id: Optional[str] = None,
    actor_id: Optional[str] = None,
    scan_calls: int = 10,
    count: int = 1000,
) -> Optional[str]:
    """``"langgraph-checkpoint-aws-1.2"`` when the keyspace holds ValkeySaver or AgentCoreValkeySaver 1.2 keys.

    Args:
        client: a sync valkey client.
        prefix: a prefix in front of every key name, if any.
        thread_id: probe this thread only (root namespace), exactly.
        actor_id: with ``thread_id``, the AgentCore actor to probe.
        scan_calls: without a thread, SCAN calls per layout at most.
        count: COUNT of each SCAN call.
    """
    reader = LegacyValkeyRepository(client, prefix=prefix, scan_count=count)  # for its pipeline and errors
    if thread_id is not None:
        keys = [f"{prefix}thread:{{{thread_id}}}:"]
        if actor_id is not None:
            keys.append(f"{prefix}agentcore:session:{agentcore_session_id(thread_id, '')}:{actor_id}:checkpoints")
        found = reader._pipeline([("TYPE", k) for k in keys], "detect")
        return AWS_FORMAT if any(_text(t) == "list" for t in found) else None
    nodes = getattr(client, "get_primaries", None)
    if callable(nodes):  # a cluster: sample every primary's keyspace in turn
        for node in nodes():
            on_node = detect_valkey(client.get_valkey_connection(node), prefix=prefix, scan_calls=scan_calls, count=count)
            if on_node is not None:
                return on_node
        return None
    patterns = [
        glob_escape(f"{prefix}thread:{{") + "*",
        glob_escape(f"{prefix}agentcore:session:") + "*" + glob_escape(":checkpoints"),
    ]
    for pattern in patterns:
        cursor: Any = 0
        for _ in range(max(1, scan_calls)):
            with reader._errors("detect"):
                cursor, keys = client.scan(cursor=cursor, match=pattern, count=count)
            if keys:
                kinds = reader._pipeline([("TYPE", k) for k in keys[:10]], "detect")
                if any(_text(t) == "list" for t in kinds):
                    return AWS_FORMAT
            if int(cursor) == 0:
                break
    return None


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def detect_s3(
    client: Any, bucket_name: str, prefix: str = "checkpoints/", *, thread_id: Optional[str] = None
) -> Optional[str]:
    """``"langgraph-checkpoint-s3-0.1"`` when ``prefix`` holds S3CheckpointSaver 0.1 objects, else None.

    ``prefix`` is the saver's ``prefix`` (0.1.3's default is ``"checkpoints/"``).

    Raises:
        NotFoundError: the bucket does not exist.
    """
    from ..aws import S3_ERRORS, AwsResource, translate_errors
    from .s3_013 import normalise_prefix

    root = normalise_prefix(prefix)
    resource = AwsResource.of(client, S3_ERRORS, bucket_name)
    heads = [f"{root}checkpoints/{thread_id}/"] if thread_id is not None else [f"{root}checkpoints/", f"{root}writes/"]
    for head in heads:
        with translate_errors(resource, "ListObjectsV2"):
            response = client.list_objects_v2(Bucket=bucket_name, Prefix=head, MaxKeys=1)
        for obj in response.get("Contents", []):
            parts = obj["Key"][len(f"{root}checkpoints/") :].split("/") if head.startswith(f"{root}checkpoints/") else None
            if parts is not None and len(parts) == 3 and _UUID_JSON.match(parts[2]):
                return S3_FORMAT
            if parts is None:
                tail = obj["Key"][len(head) :].split("/")
                if len(tail) == 4 and tail[3].endswith(".json") and "_" in tail[3]:
                    return S3_FORMAT
    return None
