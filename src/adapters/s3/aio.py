"""The S3 checkpoint repository on an aiobotocore client (the user's aioboto3 or aiobotocore session).

The same plans as the sync repository (``_plans``): the same requests in the
same rounds, each round's requests awaited together with ``asyncio.gather``.
aiobotocore is never imported here: the client comes from the session the
user passes (``aioboto3.Session`` or ``aiobotocore.session.AioSession``), so
it stays an optional dependency and boto3 users are not pinned to its
botocore range. The client is opened on first use, inside the running event
loop, and closed by ``aclose()``.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, Optional

from botocore.exceptions import ClientError

from ...domain.errors import ConfigurationError, NotFoundError
from ...domain.policies import RetryPolicy
from ..aws import MAX_STALLED_ROUNDS, AwsResource, UnprocessedItemsError, error_code, translate_errors
from ..aws.clients import is_async_session, open_async_client
from ..aws.plans import AsyncPlanDrivenRepository
from ._layout import Layout
from ._plans import Delete, Get, ListKeys, Plan, Plans, Put
from .checkpoints import (
    _CONDITION_FAILED,
    _MISSING,
    S3_CHECKPOINT_ERRORS,
    RoundObserver,
    check_delete_errors,
    head_bucket_error,
    list_params,
    op_names,
    page_of,
)

__all__ = ["AsyncS3CheckpointRepository", "is_async_session"]


class AsyncS3CheckpointRepository(AsyncPlanDrivenRepository):
    """``AsyncCheckpointRepository`` (and its capability twins) on an aiobotocore S3 client.

    Args:
        session: an ``aioboto3.Session`` or an aiobotocore ``AioSession``.
        bucket_name: the bucket.
        prefix: key prefix (normalised as the sync repository does).
        region_name: the client's region (None: the session's).
        endpoint_url: a custom endpoint (moto, MinIO, LocalStack).
        boto_config: a botocore Config merged over the library's defaults.
        max_concurrency: most requests of one round in flight at once (the
            client's connection pool is sized to it).
        backoff: paces the resubmission of keys DeleteObjects failed transiently.
        observer: called with the API names of each round (instrumentation).
    """

    def __init__(
        self,
        *,
        session: Any,
        bucket_name: str,
        prefix: str = "checkpoints/",
        region_name: Optional[str] = None,
        endpoint_url: Optional[str] = None,
        boto_config: Any = None,
        max_concurrency: int = 32,
        backoff: Optional[RetryPolicy] = None,
        observer: Optional[RoundObserver] = None,
    ) -> None:
        if not is_async_session(session):
            raise ConfigurationError(
                f"session must be an aioboto3.Session or an aiobotocore session, got {type(session).__name__}"
            )
        self.session = session
        self.bucket_name = bucket_name
        self.layout = Layout(prefix)
        self.prefix = self.layout.root
        self.plans = Plans(self.layout, bucket_name)
        self.region_name = region_name
        self.endpoint_url = endpoint_url
        self.boto_config = boto_config
        self.max_concurrency = max_concurrency
        self.observer = observer
        self._backoff = backoff if backoff is not None else RetryPolicy()
        self._client: Any = None
        self._client_cm: Any = None
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._open_lock: Optional[asyncio.Lock] = None
        self._verified = False
        self.resource = AwsResource(S3_CHECKPOINT_ERRORS, bucket_name, region_name, endpoint_url)

    # -- the client ---------------------------------------------------------------------------
    async def client(self) -> Any:
        """The aiobotocore client, created on first use in the running loop."""
        if self._client is not None:
            return self._client
        loop = asyncio.get_running_loop()
        if self._open_lock is None or self._loop is not loop:
            self._open_lock = asyncio.Lock()
            self._loop = loop
        async with self._open_lock:
            if self._client is None:
                client, self._client_cm = await open_async_client(
                    self.session, "s3", region_name=self.region_name, endpoint_url=self.endpoint_url,
                    boto_config=self.boto_config, pool_size=self.max_concurrency,
                    s3_path_style=self.endpoint_url is not None,
                )
                meta = getattr(client, "meta", None)
                self.resource = AwsResource(
                    S3_CHECKPOINT_ERRORS,
                    self.bucket_name,
                    getattr(meta, "region_name", self.region_name),
                    getattr(meta, "endpoint_url", self.endpoint_url),
                )
                self._client = client
        return self._client

    async def aclose(self) -> None:
        """Close the client (a later call opens a new one)."""
        cm, self._client_cm, self._client = self._client_cm, None, None
        if cm is not None:
            await cm.__aexit__(None, None, None)

    # -- driving plans -----------------------------------------------------------------------------
    async def run(self, plan: Plan[Any]) -> Any:
        """Drive a plan (the bucket is verified once, before the first one)."""
        if not self._verified:
            await self.verify()
        return await self._drive(plan)

    async def _drive(self, plan: Plan[Any]) -> Any:
        """Each round's requests awaited together, rounds one after another."""
        client = await self.client()
        try:
            ops = next(plan)
            while True:
                if self.observer is not None:
                    self.observer(op_names(ops))
                if len(ops) == 1:
                    results = [await self._send(client, ops[0])]
                else:
                    results = list(await asyncio.gather(*(self._send(client, op) for op in ops)))
                ops = plan.send(results)
        except StopIteration as done:
            return done.value

    def _errors(self, operation: str) -> contextlib.AbstractContextManager[None]:
        return translate_errors(self.resource, operation)

    async def _send(self, client: Any, op: Any) -> Any:
        bucket = self.bucket_name
        if isinstance(op, Get):
            with self._errors("GetObject"):
                try:
                    response = await client.get_object(Bucket=bucket, Key=op.key)
                except ClientError as exc:
                    if error_code(exc) in _MISSING:
                        return None
                    raise
                async with response["Body"] as stream:
                    return bytes(await stream.read())
        if isinstance(op, ListKeys):
            with self._errors("ListObjectsV2"):
                return page_of(await client.list_objects_v2(**list_params(bucket, op)))
        if isinstance(op, Put):
            params: dict[str, Any] = {"Bucket": bucket, "Key": op.key, "Body": op.body}
            if op.if_absent:
                params["IfNoneMatch"] = "*"
            with self._errors("PutObject"):
                try:
                    await client.put_object(**params)
                except ClientError as exc:
                    if op.if_absent and error_code(exc) in _CONDITION_FAILED:
                        return False
                    raise
            return True
        if isinstance(op, Delete):
            await self._delete(client, list(op.keys))
            return None
        raise TypeError(f"unknown S3 request {op!r}")

    async def _delete(self, client: Any, keys: list[str]) -> None:
        """DeleteObjects, resubmitting keys failed transiently (paced by ``backoff``) while rounds progress."""
        pending, rounds, stalled = keys, 0, 0
        while pending:
            with self._errors("DeleteObjects"):
                response = await client.delete_objects(
                    Bucket=self.bucket_name, Delete={"Objects": [{"Key": k} for k in pending], "Quiet": True}
                )
            left = check_delete_errors(self.resource, response)
            if not left:
                return
            rounds += 1
            stalled = stalled + 1 if len(left) >= len(pending) else 0
            if stalled >= MAX_STALLED_ROUNDS:
                raise UnprocessedItemsError(
                    f"{self.resource.describe()}: DeleteObjects: {len(left)} of {len(keys)} keys still "
                    f"failing after {stalled} rounds without progress"
                )
            await asyncio.sleep(self._backoff.backoff(rounds))
            pending = left

    # -- AsyncResourceProvisioner -------------------------------------------------------------------
    async def setup(self) -> None:
        """Create the bucket if missing (development and tests), then ``verify``."""
        client = await self.client()
        try:
            await self._head_bucket(client)
        except NotFoundError:
            params: dict[str, Any] = {"Bucket": self.bucket_name}
            region = getattr(client.meta, "region_name", None)
            if region and region != "us-east-1":
                params["CreateBucketConfiguration"] = {"LocationConstraint": region}
            with self._errors("CreateBucket"):
                try:
                    await client.create_bucket(**params)
                except ClientError as exc:
                    if error_code(exc) not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                        raise
        await self.verify()

    async def verify(self) -> None:
        """See ``S3CheckpointRepository.verify``."""
        await self._head_bucket(await self.client())
        await self._drive(self.plans.check_format())
        self._verified = True

    async def _head_bucket(self, client: Any) -> None:
        with self._errors("HeadBucket"):
            try:
                await client.head_bucket(Bucket=self.bucket_name)
            except ClientError as exc:
                moved = head_bucket_error(self.resource, exc)
                if moved is not None:
                    raise moved from exc
                raise
