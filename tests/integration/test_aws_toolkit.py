"""The AWS toolkit (errors, config, paging, batch loops) and the DynamoDB/S3 capabilities, on a moto server."""

from __future__ import annotations

import json
import socket
from collections import Counter
from typing import Any, Optional

import pytest
from botocore.awsrequest import AWSResponse
from botocore.config import Config
from botocore.exceptions import ClientError

from langgraph_checkpoint_aws.adapters.aws import (
    DYNAMODB_PAGES,
    MAX_STALLED_ROUNDS,
    S3_LIST_PAGES,
    UnprocessedItemsError,
    build_client,
    drain,
    merged_boto_config,
    pages,
)
from langgraph_checkpoint_aws.adapters.dynamodb import DynamoDBCheckpointRepository, create_table
from langgraph_checkpoint_aws.adapters.s3 import S3BlobStore, lifecycle_rule_id
from langgraph_checkpoint_aws.domain.errors import (
    BackendError,
    ConfigurationError,
    NotFoundError,
    PayloadTooLargeError,
    PersistenceError,
    TransientBackendError,
)
from langgraph_checkpoint_aws.domain.models import (
    ChannelBlob,
    CheckpointKey,
    Payload,
    StoredCheckpoint,
    StoredWrite,
    ThreadKey,
)
from langgraph_checkpoint_aws.domain.policies import RetryPolicy
from langgraph_checkpoint_aws.domain.ports import (
    AncestryReader,
    CheckpointPruner,
    CheckpointRepository,
    ResourceProvisioner,
    ThreadLister,
    ThreadTransfer,
)
from tests.backends.dynamodb import REGION, unique


# -- helpers -----------------------------------------------------------------------------------------
class CallCounter:
    """API calls by operation name (botocore ``before-call``)."""

    def __init__(self, client: Any) -> None:
        self.calls: Counter[str] = Counter()
        client.meta.events.register("before-call", self._count)

    def _count(self, model: Any, **_: Any) -> None:
        self.calls[model.name] += 1

    def take(self) -> Counter[str]:
        out, self.calls = self.calls, Counter()
        return out


class _Raw:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_: Any):  # type: ignore[no-untyped-def]
        yield self.body


def inject(client: Any, operation: str, status: int, code: str, message: str = "injected", times: int = 1) -> list[int]:
    """Answer the next ``times`` calls of ``operation`` with an error on the wire (nothing reaches moto)."""
    seen = [0]

    def handler(request: Any, **_: Any) -> Optional[AWSResponse]:
        if seen[0] >= times:
            return None
        seen[0] += 1
        body = json.dumps({"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": message}).encode()
        return AWSResponse(request.url, status, {"x-amzn-ErrorType": code}, _Raw(body))

    client.meta.events.register(f"before-send.dynamodb.{operation}", handler)
    return seen


@pytest.fixture
def library_client(aws_session: Any, moto_endpoint: str) -> Any:
    """A DynamoDB client built by the toolkit with the library's defaults (no botocore retries)."""
    return build_client("dynamodb", session=aws_session, endpoint_url=moto_endpoint)


@pytest.fixture
def repo(library_client: Any) -> DynamoDBCheckpointRepository:
    repository = DynamoDBCheckpointRepository(client=library_client, table_name=unique("toolkit"))
    repository.setup()
    return repository


def header(thread: ThreadKey, cid: str, versions: dict[str, str], ns: str = "", parent: Optional[str] = None) -> StoredCheckpoint:
    return StoredCheckpoint(thread, ns, cid, parent, Payload("json", b"{}"), versions, {"id": cid})


def blob(channel: str, version: str) -> ChannelBlob:
    return ChannelBlob(channel, version, Payload("json", f'"{channel}@{version}"'.encode()))


def write(thread: ThreadKey, cid: str, ns: str = "") -> StoredWrite:
    return StoredWrite(thread, ns, cid, "task", 0, "ch", Payload("json", b"1"))


def all_items(client: Any, table: str) -> list[dict[str, Any]]:
    return client.scan(TableName=table, ConsistentRead=True)["Items"]


# -- error translation ---------------------------------------------------------------------------------
def test_missing_table_is_not_found_naming_table_and_region(library_client: Any) -> None:
    repo = DynamoDBCheckpointRepository(client=library_client, table_name="no-such-table")
    with pytest.raises(NotFoundError, match=f"'no-such-table' in region {REGION}.*does not exist \\(DescribeTable\\)") as info:
        repo.get_checkpoint(CheckpointKey(ThreadKey("t")))
    assert isinstance(info.value.__cause__, ClientError)
    with pytest.raises(NotFoundError, match=f"'no-such-table' in region {REGION}.*DescribeTable"):
        repo.verify()


@pytest.mark.parametrize(
    "status,code,message,error",
    [
        (400, "ThrottlingException", "slow down", TransientBackendError),
        (400, "ProvisionedThroughputExceededException", "too fast", TransientBackendError),
        (500, "InternalServerError", "oops", TransientBackendError),
        (503, "SomethingNew", "unavailable", TransientBackendError),  # any 5xx
        (400, "UnrecognizedClientException", "bad key", ConfigurationError),
        (400, "AccessDeniedException", "no", BackendError),
        (400, "ValidationException", "Item size has exceeded the maximum allowed size", PayloadTooLargeError),
    ],
)
def test_client_errors_are_translated(repo: DynamoDBCheckpointRepository, status: int, code: str, message: str, error: type) -> None:
    seen = inject(repo.client, "Query", status, code, message)
    with pytest.raises(PersistenceError) as info:
        repo.get_checkpoint(CheckpointKey(ThreadKey("t")))
    assert type(info.value) is error
    assert repo.table_name in str(info.value) and "Query" in str(info.value) and REGION in str(info.value)
    assert isinstance(info.value.__cause__, ClientError)
    assert seen[0] == 1  # the library's botocore Config does not retry: the use case's RetryPolicy does


def test_unreachable_endpoint_is_transient_naming_the_endpoint(aws_session: Any) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = build_client(
        "dynamodb", session=aws_session, endpoint_url=f"http://127.0.0.1:{port}", boto_config=Config(connect_timeout=1)
    )
    repo = DynamoDBCheckpointRepository(client=client, table_name="t")
    with pytest.raises(TransientBackendError, match=f"at http://127.0.0.1:{port}: cannot reach the DynamoDB endpoint"):
        repo.get_checkpoint(CheckpointKey(ThreadKey("t")))


# -- client configuration ---------------------------------------------------------------------------
def test_merged_config_defaults_and_the_user_wins(aws_session: Any, moto_endpoint: str) -> None:
    ours = merged_boto_config()
    assert ours.retries == {"mode": "standard", "max_attempts": 0}
    assert ours.user_agent_extra == "langgraph-checkpoint-aws-hex"
    theirs = merged_boto_config(
        Config(retries={"max_attempts": 4}, max_pool_connections=33, s3={"addressing_style": "virtual"}),
        s3_path_style=True,
    )
    assert theirs.retries == {"mode": "standard", "max_attempts": 4}  # their attempts, our mode
    assert theirs.max_pool_connections == 33 and theirs.s3 == {"addressing_style": "virtual"}
    assert theirs.user_agent_extra == "langgraph-checkpoint-aws-hex"

    ddb = build_client("dynamodb", session=aws_session, endpoint_url=moto_endpoint)
    assert ddb.meta.config.retries == {"mode": "standard", "total_max_attempts": 1}  # one request per call
    assert ddb.meta.region_name == REGION
    adaptive = build_client(
        "dynamodb", session=aws_session, endpoint_url=moto_endpoint, boto_config=Config(retries={"mode": "adaptive", "max_attempts": 6})
    )
    assert adaptive.meta.config.retries == {"mode": "adaptive", "total_max_attempts": 7}
    s3 = build_client("s3", session=aws_session, endpoint_url=moto_endpoint)
    assert s3.meta.config.s3 == {"addressing_style": "path"}  # implied by a custom endpoint


# -- paging ------------------------------------------------------------------------------------------
def test_pages_follow_last_evaluated_key_and_continuation_token(library_client: Any, s3_client: Any) -> None:
    table = unique("pages")
    create_table(library_client, table, enable_ttl=False)
    for i in range(7):
        library_client.put_item(TableName=table, Item={"PK": {"S": "p"}, "SK": {"S": f"{i:02d}"}})
    counter = CallCounter(library_client)
    params = {"TableName": table, "KeyConditionExpression": "PK = :p", "ExpressionAttributeValues": {":p": {"S": "p"}}}
    responses = list(pages(library_client.query, params, DYNAMODB_PAGES, page_sizes=(2, 3)))
    assert [r["Count"] for r in responses] == [2, 3, 2]
    assert [i["SK"]["S"] for r in responses for i in r["Items"]] == [f"{i:02d}" for i in range(7)]
    assert counter.take()["Query"] == 3
    # Stopping early fetches no further page.
    first = next(iter(pages(library_client.query, params, DYNAMODB_PAGES, page_sizes=(2,))))
    assert first["Count"] == 2 and counter.take()["Query"] == 1

    bucket = unique("pages")
    s3_client.create_bucket(Bucket=bucket)
    for i in range(5):
        s3_client.put_object(Bucket=bucket, Key=f"k{i}", Body=b"x")
    listed = list(pages(s3_client.list_objects_v2, {"Bucket": bucket}, S3_LIST_PAGES, page_sizes=(2,)))
    assert [len(p.get("Contents", [])) for p in listed] == [2, 2, 1]


# -- batch loops ---------------------------------------------------------------------------------------
class PartialBatches:
    """A boto3 client that sends only ``per_round`` requests of each batch and returns the rest unprocessed.

    The remainder really is not written (or read), as when DynamoDB throttles.
    """

    def __init__(self, client: Any, per_round: int) -> None:
        self._client = client
        self.per_round = per_round
        self.rounds: list[int] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def batch_write_item(self, RequestItems: Any) -> Any:  # noqa: N803
        ((table, requests),) = RequestItems.items()
        self.rounds.append(len(requests))
        now, later = requests[: self.per_round], requests[self.per_round :]
        if now:
            self._client.batch_write_item(RequestItems={table: now})
        return {"UnprocessedItems": {table: later} if later else {}}


def test_batch_write_resubmits_unprocessed_items_with_backoff(repo: DynamoDBCheckpointRepository) -> None:
    thread = ThreadKey("t")
    for i in range(4):
        repo.put_checkpoint(header(thread, f"{i:03d}", {"a": str(i)}), [blob("a", str(i))])
    assert len(all_items(repo.client, repo.table_name)) == 8
    sleeps: list[float] = []
    policy = RetryPolicy(sleep=sleeps.append)
    partial = PartialBatches(repo.client, per_round=3)
    DynamoDBCheckpointRepository(client=partial, table_name=repo.table_name, backoff=policy).delete_thread("t")
    assert partial.rounds == [8, 5, 2]  # every round makes progress: the loop keeps going
    assert sleeps == [policy.backoff(1), policy.backoff(2)]
    assert all_items(repo.client, repo.table_name) == []


def test_batch_write_gives_up_after_eight_rounds_without_progress(repo: DynamoDBCheckpointRepository) -> None:
    thread = ThreadKey("t")
    repo.put_checkpoint(header(thread, "001", {"a": "1"}), [blob("a", "1")])
    sleeps: list[float] = []
    stuck = PartialBatches(repo.client, per_round=0)
    stuck_repo = DynamoDBCheckpointRepository(client=stuck, table_name=repo.table_name, backoff=RetryPolicy(sleep=sleeps.append))
    with pytest.raises(UnprocessedItemsError, match=f"{repo.table_name}.*BatchWriteItem: 2 of 2 items still unprocessed") as info:
        stuck_repo.delete_thread("t")
    assert isinstance(info.value, TransientBackendError)  # the use case's retry may try the call again
    assert len(stuck.rounds) == MAX_STALLED_ROUNDS and len(sleeps) == MAX_STALLED_ROUNDS - 1
    assert sleeps == sorted(sleeps) and sleeps[-1] == RetryPolicy().max_backoff
    assert len(all_items(repo.client, repo.table_name)) == 2  # nothing was deleted


def test_drain_counts_only_consecutive_rounds_without_progress() -> None:
    sleeps: list[float] = []
    sent: list[int] = []
    stall_next = [True]

    def send(items: list[int]) -> list[int]:
        # Alternate: a round that processes nothing, then one that processes one item.
        sent.append(len(items))
        stall_next[0] = not stall_next[0]
        return items if not stall_next[0] else items[1:]

    drain(send, list(range(10)), call="test", backoff=RetryPolicy(sleep=sleeps.append, max_backoff=0.0))
    assert len(sent) == 20 and len(sleeps) == 19  # far more than 8 rounds, never 8 stalls in a row


# -- ResourceProvisioner -------------------------------------------------------------------------------
def test_verify_checks_the_key_schema(library_client: Any, repo: DynamoDBCheckpointRepository) -> None:
    repo.verify()  # created by setup(): fine
    assert library_client.describe_time_to_live(TableName=repo.table_name)["TimeToLiveDescription"]["AttributeName"] == "ttl"
    repo.setup()  # idempotent
    wrong = unique("wrong")
    library_client.create_table(
        TableName=wrong,
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "N"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    bad = DynamoDBCheckpointRepository(client=library_client, table_name=wrong)
    with pytest.raises(ConfigurationError) as info:
        bad.verify()
    message = str(info.value)
    assert wrong in message and REGION in message
    assert "expected string PK (HASH) + string SK (RANGE)" in message and "found number id (HASH)" in message


def test_blob_store_setup_and_verify(s3_client: Any) -> None:
    store = S3BlobStore(client=s3_client, bucket_name=unique("bucket"), lifecycle_days=3)
    with pytest.raises(NotFoundError, match=f"S3 bucket '{store.bucket_name}' in region {REGION}.*HeadBucket"):
        store.verify()
    store.setup()
    store.verify()
    rules = s3_client.get_bucket_lifecycle_configuration(Bucket=store.bucket_name)["Rules"]
    assert [r["ID"] for r in rules] == [lifecycle_rule_id(3)]
    store.setup()  # idempotent
    assert store.create_bucket() is False


def test_dynamodb_repository_offers_every_capability(repo: DynamoDBCheckpointRepository) -> None:
    for port in (CheckpointRepository, AncestryReader, CheckpointPruner, ThreadTransfer, ThreadLister, ResourceProvisioner):
        assert isinstance(repo, port), port.__name__


# -- CheckpointPruner ----------------------------------------------------------------------------------
def test_prune_keeps_exactly_the_kept_ids_and_removes_orphaned_blobs(repo: DynamoDBCheckpointRepository) -> None:
    thread = ThreadKey("t")
    parent = None
    for i in range(1, 6):
        cid = f"{i:03d}"
        blobs = [blob("a", str(i))] + ([blob("s", "1")] if i == 1 else [])
        repo.put_checkpoint(header(thread, cid, {"a": str(i), "s": "1"}, parent=parent), blobs)
        repo.put_writes([write(thread, cid)])
        parent = cid
    # Another namespace and a thread whose id extends this one must not be touched.
    repo.put_checkpoint(header(thread, "001", {"a": "1"}, ns="sub"), [blob("a", "1")])
    repo.put_writes([write(thread, "001", ns="sub")])
    repo.put_checkpoint(header(ThreadKey("t2"), "001", {"a": "1"}), [blob("a", "1")])
    before = all_items(repo.client, repo.table_name)
    assert len(before) == 5 + 5 + 6 + 3 + 2  # headers, writes, blobs (a1..a5, s1); sub; t2

    counter = CallCounter(repo.client)
    repo.prune(thread, "", keep_ids=["003", "005"])
    calls = counter.take()
    assert calls == Counter({"Query": 1, "BatchWriteItem": 2})  # headers first, then writes and blobs

    after = all_items(repo.client, repo.table_name)
    assert len(after) == len(before) - 3 - 3 - 3  # 3 headers, their 3 write items, blobs a1 a2 a4
    assert sorted(c.checkpoint_id for c in repo.scan_checkpoints(thread, "")) == ["003", "005"]
    record = repo.get_checkpoint(CheckpointKey(thread, "", "003"))
    assert record is not None and {(b.channel, b.version) for b in record.blobs} == {("a", "3"), ("s", "1")}
    assert [w.checkpoint_id for w in record.writes] == ["003"]
    assert repo.get_blobs(thread, "", [("a", "1"), ("a", "2"), ("a", "4")]) == {}
    assert [c.checkpoint_id for c in repo.scan_checkpoints(thread, "sub")] == ["001"]
    assert repo.get_blobs(thread, "sub", [("a", "1")]) != {}
    assert repo.get_checkpoint(CheckpointKey(ThreadKey("t2"))) is not None

    counter.take()
    repo.prune(thread, "", keep_ids=["003", "005"])  # nothing left to prune: one Query, no deletes
    assert counter.take() == Counter({"Query": 1})


# -- ThreadLister --------------------------------------------------------------------------------------
def test_list_threads_lists_each_live_thread_once(library_client: Any) -> None:
    now = [1_000_000.0]
    repo = DynamoDBCheckpointRepository(
        client=library_client, table_name=unique("threads"), ttl_seconds=60, clock=lambda: now[0]
    )
    repo.setup()
    keys = [ThreadKey("a"), ThreadKey("ab"), ThreadKey("a:b"), ThreadKey("t"), ThreadKey("t", "actor")]
    for k in keys:
        for cid in ("001", "002"):
            repo.put_checkpoint(header(k, cid, {"a": cid}), [blob("a", cid)])
    repo.put_checkpoint(header(ThreadKey("a"), "001", {}, ns="sub"), [])
    listed = list(repo.list_threads())
    assert len(listed) == len(set(listed)) and set(listed) == set(keys)

    now[0] += 30
    repo.put_checkpoint(header(ThreadKey("fresh"), "001", {}), [])
    now[0] += 31  # every item but the fresh thread's has expired (DynamoDB has not deleted them yet)
    assert list(repo.list_threads()) == [ThreadKey("fresh")]
