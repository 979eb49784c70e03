"""Fixtures of the DynamoDB+S3 backend: one moto server per pytest worker, fresh tables per test."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from moto.server import ThreadedMotoServer

from langgraph_checkpoint_aws.adapters.dynamodb import DynamoDBCheckpointRepository, create_table
from langgraph_checkpoint_aws.adapters.s3 import S3BlobStore
from langgraph_checkpoint_aws.langgraph_bindings.dynamodb import DynamoDBSaver

CHECKPOINT_REPOSITORIES = ["dynamodb"]
SAVER_FACTORIES = ["dynamodb", "dynamodb_compressed", "dynamodb_s3_offload"]
BLOB_STORES = ["s3"]

REGION = "us-east-1"
FAST_FAIL = Config(retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=2, read_timeout=20)
"""moto answers some bad requests with HTTP 500: at most one quick botocore retry (2 requests) for
clients that tests hand to repositories directly (savers retry through their RetryPolicy instead)."""



def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """A moto server (DynamoDB, S3...) on 127.0.0.1 and a port the OS picks."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(scope="session")
def aws_session() -> boto3.session.Session:
    """A boto3 session with dummy credentials (nothing leaves 127.0.0.1)."""
    return boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
    )


@pytest.fixture
def dynamodb_client(aws_session: boto3.session.Session, moto_endpoint: str) -> Any:
    return aws_session.client("dynamodb", endpoint_url=moto_endpoint, config=FAST_FAIL)


@pytest.fixture
def s3_client(aws_session: boto3.session.Session, moto_endpoint: str) -> Any:
    return aws_session.client(
        "s3", endpoint_url=moto_endpoint, config=FAST_FAIL.merge(Config(s3={"addressing_style": "path"}))
    )


@pytest.fixture
def checkpoint_repository_dynamodb(dynamodb_client: Any) -> DynamoDBCheckpointRepository:
    table = unique("contract")
    create_table(dynamodb_client, table)
    return DynamoDBCheckpointRepository(client=dynamodb_client, table_name=table)


@pytest.fixture
def blob_store_s3(s3_client: Any) -> S3BlobStore:
    store = S3BlobStore(client=s3_client, bucket_name=unique("contract"))
    store.create_bucket()
    return store


@pytest.fixture
def make_dynamodb_saver(aws_session: boto3.session.Session, moto_endpoint: str):  # type: ignore[no-untyped-def]
    """Build a DynamoDBSaver on a fresh table (and bucket with ``offload=True``), set up."""

    def make(*, offload: bool = False, threshold: int | None = None, **kwargs: Any) -> DynamoDBSaver:
        s3_config = None
        if offload:
            s3_config = {"bucket_name": unique("bucket"), "endpoint_url": moto_endpoint}
            if threshold is not None:
                s3_config["offload_threshold_bytes"] = threshold
        # Transient moto answers (HTTP 5xx) are retried by the saver's RetryPolicy
        # (dynamodb.retry_attempts, 5 by default), never by botocore as well.
        saver = DynamoDBSaver(
            unique("table"),
            session=aws_session,
            endpoint_url=moto_endpoint,
            s3_offload_config=s3_config,
            **kwargs,
        )
        saver.setup()
        return saver

    return make


@pytest.fixture
def saver_factory_dynamodb(make_dynamodb_saver):  # type: ignore[no-untyped-def]
    return lambda: make_dynamodb_saver()


@pytest.fixture
def saver_factory_dynamodb_compressed(make_dynamodb_saver):  # type: ignore[no-untyped-def]
    return lambda: make_dynamodb_saver(enable_checkpoint_compression=True)


@pytest.fixture
def saver_factory_dynamodb_s3_offload(make_dynamodb_saver):  # type: ignore[no-untyped-def]
    """Offload with a tiny threshold (and compression), so most payloads go through S3."""
    return lambda: make_dynamodb_saver(offload=True, threshold=64, enable_checkpoint_compression=True)
