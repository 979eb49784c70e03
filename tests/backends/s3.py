"""Fixtures of the plain-S3 backend: the moto server of tests.backends.dynamodb, a fresh bucket per repository or saver.

The contract suite runs on ``S3CheckpointRepository``; conformance (both
APIs) and the graph suite run on ``S3CheckpointSaver`` (plain and compressed)
and on ``AsyncS3CheckpointSaver`` without an async session (the sync
repository in the saver's threads). The native aiobotocore path needs
aiobotocore, which pins another botocore than this environment's boto3: it is
exercised in its own virtualenv by tests/integration/test_s3_aio.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Callable

import boto3
import pytest

from langgraph_checkpoint_aws.adapters.s3 import S3CheckpointRepository
from langgraph_checkpoint_aws.langgraph_bindings.s3 import AsyncS3CheckpointSaver, S3CheckpointSaver
from tests.backends.dynamodb import unique

CHECKPOINT_REPOSITORIES = ["s3"]
SAVER_FACTORIES = ["s3", "s3_compressed", "s3_async_class"]


def new_bucket(s3_client: Any, prefix: str = "s3cp") -> str:
    """A fresh, empty bucket on the moto server."""
    name = unique(prefix)
    s3_client.create_bucket(Bucket=name)
    return name


@pytest.fixture
def checkpoint_repository_s3(s3_client: Any) -> Iterator[S3CheckpointRepository]:
    repo = S3CheckpointRepository(client=s3_client, bucket_name=new_bucket(s3_client))
    yield repo
    repo.close()


@pytest.fixture
def make_s3_saver(aws_session: boto3.session.Session, moto_endpoint: str, s3_client: Any):  # type: ignore[no-untyped-def]
    """Build savers on fresh buckets; every saver built is closed at teardown."""
    made: list[Any] = []

    def make(cls: Callable[..., Any] = S3CheckpointSaver, **kwargs: Any) -> Any:
        bucket = new_bucket(s3_client)
        # Transient moto answers are retried by the saver's RetryPolicy (s3.retry_attempts), never by botocore too.
        saver = cls(bucket, session=aws_session, endpoint_url=moto_endpoint, **kwargs)
        made.append(saver)
        return saver

    yield make
    for saver in made:
        saver.close()


@pytest.fixture
def saver_factory_s3(make_s3_saver):  # type: ignore[no-untyped-def]
    return lambda: make_s3_saver()


@pytest.fixture
def saver_factory_s3_compressed(make_s3_saver):  # type: ignore[no-untyped-def]
    return lambda: make_s3_saver(enable_checkpoint_compression=True)


@pytest.fixture
def saver_factory_s3_async_class(make_s3_saver):  # type: ignore[no-untyped-def]
    """AsyncS3CheckpointSaver without an async session: the sync repository in the saver's threads."""
    return lambda: make_s3_saver(AsyncS3CheckpointSaver)
