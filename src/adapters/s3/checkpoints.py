"""S3 checkpoint repository: checkpoints, writes and channel values as objects, requests in parallel rounds.

Key layout (``_layout``; object bodies in ``_records``), under the prefix
``R`` (langgraph-checkpoint-s3's tree, with injective encodings on top)::

    R checkpoints/{thread}/{ns or __default__}/{inv(checkpoint_id)}   header (no channel values)
    R checkpoints/{thread}/{ns}/~head                                  the header put last in ns
    R writes/{thread}/{ns}/{inv(checkpoint_id)}/{task}/r{i} | s{k}     a task's writes
    R blobs/{thread}/{ns}/{channel}/{version}                          one channel value per version

``inv`` reverses the order of ids, so one ascending ListObjectsV2 lists a
namespace's checkpoints (and their writes) newest first. A channel's value is
stored once per version, by the put that changed it: a 200 KB channel that
never changes is stored once per thread, not once per checkpoint.

Requests per operation (a *round* is a set of requests sent in parallel;
``C`` changed channels, ``V`` distinct channel versions read, ``W`` writes
objects read); every figure is independent of the thread's length:

- ``put_checkpoint``: 2 rounds: C PUTs of blobs, then the header and the head
  (1 round and 2 PUTs when no channel changed). Blobs first: a crash leaves
  orphan blobs, never a header pointing at a missing blob.
- ``put_writes``: 1 round: per task, 1 PUT of its regular writes
  (If-None-Match: the first write wins) and 1 PUT per special write.
- ``get_checkpoint``: 2 rounds. Latest: GET head + LIST 1 header key + LIST
  newest writes keys, then V + W GETs. By id: GET header + LIST its writes,
  then V + W GETs. (A stale head, after a concurrent put of an older id or
  the deletion of the newest checkpoint, costs a third round.)
- ``list_checkpoints(limit=L)`` in one namespace: 3 rounds: LIST L header
  keys + LIST writes keys; GET L headers; GET the distinct blobs and the
  writes objects. A metadata filter is applied to headers read 100 per round.
- ``delete_thread``: LIST pages of the three trees in parallel (6 prefixes:
  the thread without an actor and with any actor), then one DeleteObjects per
  1,000 keys (the requests holding headers first when there are several).
- ``prune``: LIST the namespace's headers and writes, GET the headers 100 per
  round, then DeleteObjects: doomed headers first, then their writes and the
  blobs only they referenced.
- ``list_threads``: one delimiter LIST per 1,000 threads.
- ``export_thread``: LIST the three trees, then GETs; ``import_thread``:
  blobs and writes in one round, headers and heads in the next.
- ``setup``: HeadBucket (+ CreateBucket); ``verify``: HeadBucket, and one
  LIST that recognises data of langgraph-checkpoint-s3 0.1.3 (an error names
  the migration command; reads meeting such a key raise the same error).

Requests within a round run on a thread pool (the one passed in, owned by
the container, or the repository's own, shut down by ``close()``). Whole
calls are never retried here: the use cases apply the RetryPolicy once.
"""

from __future__ import annotations

import concurrent.futures
import threading
from collections.abc import Sequence
from typing import Any, Callable, Optional

import attrs
from botocore.exceptions import ClientError

from ...domain.errors import BackendError, NotFoundError
from ...domain.models import (
    ThreadKey,
)
from ...domain.policies import RetryPolicy
from ..aws import S3_ERRORS, TRANSIENT_CODES, AwsResource, drain, error_code, operation_name, translate_errors
from ..aws.plans import PlanDrivenRepository
from ._layout import Layout
from ._plans import Delete, Get, ListKeys, Page, Plan, Plans, Put

__all__ = ["S3CheckpointRepository", "S3_CHECKPOINT_ERRORS", "RoundObserver", "op_names", "page_of", "check_delete_errors"]

S3_CHECKPOINT_ERRORS = attrs.evolve(
    S3_ERRORS,
    not_found_hint="create it (setup(), or `aws s3 mb`), or fix bucket_name and the region",
)

RoundObserver = Callable[[Sequence[str]], None]
"""Called with the API names of each round's requests (instrumentation: tests and benchmarks count rounds)."""

_CONDITION_FAILED = frozenset({"PreconditionFailed", "412", "ConditionalRequestConflict", "409"})
_MISSING = frozenset({"NoSuchKey", "404"})


def op_names(ops: Sequence[Any]) -> list[str]:
    """The S3 API names of a round's requests."""
    names = {Get: "GetObject", ListKeys: "ListObjectsV2", Put: "PutObject", Delete: "DeleteObjects"}
    return [names[type(op)] for op in ops]


def list_params(bucket: str, op: ListKeys) -> dict[str, Any]:
    """ListObjectsV2 parameters of a ``ListKeys``."""
    params: dict[str, Any] = {"Bucket": bucket, "Prefix": op.prefix}
    if op.token:
        params["ContinuationToken"] = op.token
    elif op.start_after:
        params["StartAfter"] = op.start_after
    if op.max_keys:
        params["MaxKeys"] = op.max_keys
    if op.delimiter:
        params["Delimiter"] = op.delimiter
    return params


def page_of(response: Any) -> Page:
    """A ListObjectsV2 response as a ``Page``."""
    keys = tuple((o["Key"], _iso(o.get("LastModified"))) for o in response.get("Contents", []) or [])
    prefixes = tuple(p["Prefix"] for p in response.get("CommonPrefixes", []) or [])
    token = response.get("NextContinuationToken") if response.get("IsTruncated") else None
    return Page(keys, prefixes, token)


def _iso(value: Any) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value or "")


def check_delete_errors(resource: AwsResource, response: Any) -> list[str]:
    """Keys a DeleteObjects failed transiently (to resubmit); raises for the other failures."""
    errors = [e for e in response.get("Errors", []) or [] if e.get("Code") != "NoSuchKey"]
    failed = [e for e in errors if e.get("Code") not in TRANSIENT_CODES]
    if failed:
        raise BackendError(
            f"{resource.describe()}: DeleteObjects could not delete {len(failed)} objects "
            f"(first: {failed[0].get('Key')!r}: {failed[0].get('Code')})"
        )
    return [str(e.get("Key")) for e in errors if e.get("Code") in TRANSIENT_CODES]


def head_bucket_error(resource: AwsResource, exc: ClientError) -> Optional[NotFoundError]:
    """The error for a bucket in another region (HeadBucket answers 301), else None."""
    if error_code(exc) not in ("301", "PermanentRedirect"):
        return None
    headers = exc.response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
    elsewhere = headers.get("x-amz-bucket-region", "another region")
    return NotFoundError(
        f"{resource.describe()} is not reachable from this region: the bucket is in {elsewhere} "
        "(HeadBucket); set region_name to it"
    )


class S3CheckpointRepository(PlanDrivenRepository):
    """A CheckpointRepository on one S3 bucket prefix (see the module docstring for layout and costs).

    Besides the core port it offers ``AncestryReader``, ``CheckpointPruner``,
    ``ThreadTransfer``, ``ThreadLister`` and ``ResourceProvisioner``.

    Args:
        client: a boto3 S3 client.
        bucket_name: the bucket (must exist; see ``setup``).
        prefix: key prefix (normalised to end with ``/``, as langgraph-checkpoint-s3 does).
        executor: where the requests of a round run in parallel (owned by the
            caller); None: a pool of ``max_workers`` threads owned here, shut
            down by ``close()``.
        max_workers: size of the repository's own pool.
        backoff: paces the resubmission of keys DeleteObjects failed transiently.
        observer: called with the API names of each round (instrumentation).
    """

    omits_cleared_channels = True
    """A channel cleared in a step has no blob stored: a missing blob reads as no value."""

    def __init__(
        self,
        *,
        client: Any,
        bucket_name: str,
        prefix: str = "checkpoints/",
        executor: Optional[concurrent.futures.Executor] = None,
        max_workers: int = 16,
        backoff: Optional[RetryPolicy] = None,
        observer: Optional[RoundObserver] = None,
    ) -> None:
        self.client = client
        self.bucket_name = bucket_name
        self.layout = Layout(prefix)
        self.prefix = self.layout.root
        self.plans = Plans(self.layout, bucket_name)
        self.resource = AwsResource.of(client, S3_CHECKPOINT_ERRORS, bucket_name)
        self.observer = observer
        self._backoff = backoff if backoff is not None else RetryPolicy()
        self._executor = executor
        self._own_executor: Optional[concurrent.futures.ThreadPoolExecutor] = None
        self._max_workers = max_workers
        self._lock = threading.Lock()
        self._verified = False
        # No more requests in flight than the client has connections (urllib3 drops the surplus).
        lanes = getattr(getattr(getattr(client, "meta", None), "config", None), "max_pool_connections", None)
        self._lanes = threading.BoundedSemaphore(lanes if isinstance(lanes, int) and lanes > 0 else max_workers)

    # -- driving plans -----------------------------------------------------------------------
    def _pool(self) -> concurrent.futures.Executor:
        if self._executor is not None:
            return self._executor
        with self._lock:
            if self._own_executor is None:
                self._own_executor = concurrent.futures.ThreadPoolExecutor(
                    max_workers=self._max_workers, thread_name_prefix="lgaws-s3"
                )
            return self._own_executor

    def close(self) -> None:
        """Shut down the repository's own thread pool (a pool passed in is left to its owner)."""
        with self._lock:
            pool, self._own_executor = self._own_executor, None
        if pool is not None:
            pool.shutdown(wait=True)

    def run(self, plan: Plan[Any]) -> Any:
        """Drive a plan (the bucket is verified once, before the first one)."""
        if not self._verified:
            self.verify()
        return self._drive(plan)

    def _drive(self, plan: Plan[Any]) -> Any:
        """Each round's requests in parallel, rounds one after another."""
        try:
            ops = next(plan)
            while True:
                if self.observer is not None:
                    self.observer(op_names(ops))
                if len(ops) <= 1:
                    results = [self._send(op) for op in ops]
                else:
                    results = list(self._pool().map(self._send, ops))
                ops = plan.send(results)
        except StopIteration as done:
            return done.value

    def _errors(self, method: str) -> Any:
        return translate_errors(self.resource, operation_name(self.client, method))

    def _send(self, op: Any) -> Any:
        with self._lanes:
            return self._request(op)

    def _request(self, op: Any) -> Any:
        bucket = self.bucket_name
        if isinstance(op, Get):
            with self._errors("get_object"):
                try:
                    body = self.client.get_object(Bucket=bucket, Key=op.key)["Body"]
                except ClientError as exc:
                    if error_code(exc) in _MISSING:
                        return None
                    raise
                try:
                    return bytes(body.read())
                finally:
                    body.close()
        if isinstance(op, ListKeys):
            with self._errors("list_objects_v2"):
                return page_of(self.client.list_objects_v2(**list_params(bucket, op)))
        if isinstance(op, Put):
            params: dict[str, Any] = {"Bucket": bucket, "Key": op.key, "Body": op.body}
            if op.if_absent:
                params["IfNoneMatch"] = "*"
            with self._errors("put_object"):
                try:
                    self.client.put_object(**params)
                except ClientError as exc:
                    if op.if_absent and error_code(exc) in _CONDITION_FAILED:
                        return False
                    raise
            return True
        if isinstance(op, Delete):
            drain(self._delete_round, list(op.keys), call=f"{self.resource.describe()}: DeleteObjects", backoff=self._backoff)
            return None
        raise TypeError(f"unknown S3 request {op!r}")

    def _delete_round(self, keys: list[str]) -> list[str]:
        with self._errors("delete_objects"):
            response = self.client.delete_objects(
                Bucket=self.bucket_name, Delete={"Objects": [{"Key": k} for k in keys], "Quiet": True}
            )
        return check_delete_errors(self.resource, response)

    # -- ResourceProvisioner ---------------------------------------------------------------------
    def setup(self) -> None:
        """Create the bucket if missing (development and tests), then ``verify``."""
        try:
            self._head_bucket()
        except NotFoundError:
            params: dict[str, Any] = {"Bucket": self.bucket_name}
            region = getattr(self.client.meta, "region_name", None)
            if region and region != "us-east-1":
                params["CreateBucketConfiguration"] = {"LocationConstraint": region}
            with self._errors("create_bucket"):
                try:
                    self.client.create_bucket(**params)
                except ClientError as exc:
                    if error_code(exc) not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                        raise
        self.verify()

    def verify(self) -> None:
        """Check the bucket (HeadBucket) and that the prefix holds no langgraph-checkpoint-s3 0.1.3 data.

        Raises:
            NotFoundError: the bucket is missing, or lives in another region.
            BackendError: access denied (HeadBucket needs ``s3:ListBucket``).
            ConfigurationError: credentials rejected, or the prefix holds 0.1.3
                data (names the migration command).
            BackendConnectionError: the endpoint cannot be reached.
        """
        self._head_bucket()
        self._drive(self.plans.check_format())
        self._verified = True

    def _head_bucket(self) -> None:
        with self._errors("head_bucket"):
            try:
                self.client.head_bucket(Bucket=self.bucket_name)
            except ClientError as exc:
                moved = head_bucket_error(self.resource, exc)
                if moved is not None:
                    raise moved from exc
                raise

    # -- the ports come from PlanDrivenRepository; S3 also lists a thread's namespaces -------------
    def list_namespaces(self, thread: ThreadKey) -> list[str]:
        """The namespaces of a thread that hold checkpoints (one delimiter LIST per 1,000)."""
        found: list[str] = self.run(self.plans.namespaces(thread))
        return found
