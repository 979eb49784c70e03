"""S3 blob store: offloaded payloads as objects, tagged for lifecycle expiry.

Objects are written whole with PutObject (tag ``langgraph-ttl-days=<n>`` when
an expiry is asked for), read in parallel with GetObject, deleted with
DeleteObjects in chunks of 1000 (keys the service fails transiently are
resubmitted with backoff; whole calls are never retried here). The store
manages one lifecycle rule per expiry period (``langgraph-checkpoint-expire-<n>d``:
objects with that tag expire after n days), adding it to the bucket's existing
rules once per process; S3 counts the days from each object's upload.

Calls: ``put_object`` 1 PutObject (+ Get/PutBucketLifecycleConfiguration once
per process and period); ``get_objects`` 1 GetObject per key, in parallel;
``delete_objects`` 1 DeleteObjects per 1000 keys; ``delete_prefix`` 1
ListObjectsV2 per 1000 keys, then the deletes; ``setup`` HeadBucket and, if
missing, CreateBucket (+ the lifecycle rule); ``verify`` 1 HeadBucket.
"""

from __future__ import annotations

import concurrent.futures
import logging
import threading
from collections.abc import Sequence
from typing import Any, Optional

from botocore.exceptions import ClientError

from ...domain.errors import BackendError, NotFoundError
from ...domain.policies import RetryPolicy
from ..aws import (
    S3_ERRORS,
    S3_LIST_PAGES,
    TRANSIENT_CODES,
    AwsResource,
    drain,
    error_code,
    operation_name,
    pages,
    translate_errors,
)

__all__ = ["S3BlobStore", "TTL_TAG", "lifecycle_rule_id"]

TTL_TAG = "langgraph-ttl-days"
_DELETE_CHUNK = 1000
_log = logging.getLogger(__name__)


def lifecycle_rule_id(days: int) -> str:
    """The id of the lifecycle rule this library manages for ``days``."""
    return f"langgraph-checkpoint-expire-{days}d"


class S3BlobStore:
    """A BlobStore on one S3 bucket; also a ResourceProvisioner (``setup``/``verify``).

    Args:
        client: a boto3 S3 client (see ``adapters.aws.build_client``).
        bucket_name: the bucket (must exist; see ``setup``).
        prefix: key prefix for every object (e.g. ``"checkpoints/"``).
        manage_lifecycle: add the expiry rule for tagged objects to the bucket.
        max_workers: parallel GetObject requests.
        lifecycle_days: the expiry period (days) objects will be tagged with,
            when known up front: ``setup()`` then installs its lifecycle rule.
        backoff: paces the resubmission of keys DeleteObjects failed transiently.
    """

    def __init__(
        self,
        *,
        client: Any,
        bucket_name: str,
        prefix: str = "",
        manage_lifecycle: bool = True,
        max_workers: int = 8,
        lifecycle_days: Optional[int] = None,
        backoff: Optional[RetryPolicy] = None,
    ) -> None:
        self.client = client
        self.bucket_name = bucket_name
        self.prefix = prefix
        self.manage_lifecycle = manage_lifecycle
        self.lifecycle_days = lifecycle_days
        self._max_workers = max_workers
        self._backoff = backoff if backoff is not None else RetryPolicy()
        self.resource = AwsResource.of(client, S3_ERRORS, bucket_name)
        self._rules_ensured: set[int] = set()
        self._rules_lock = threading.Lock()

    def _errors(self, method: str) -> Any:
        return translate_errors(self.resource, operation_name(self.client, method))

    # -- ResourceProvisioner ---------------------------------------------------------------
    def setup(self) -> None:
        """Create the bucket if missing, and the lifecycle rule of ``lifecycle_days`` (development and tests)."""
        self.create_bucket()
        if self.manage_lifecycle and self.lifecycle_days is not None:
            self.ensure_lifecycle_rule(self.lifecycle_days)

    def verify(self) -> None:
        """Check that the bucket exists and answers in this client's region.

        Raises:
            NotFoundError: the bucket is missing, or lives in another region
                (names the bucket, this region and the bucket's region).
            BackendError: access denied (HeadBucket needs ``s3:ListBucket``).
            TransientBackendError: the endpoint cannot be reached.
        """
        with self._errors("head_bucket"):
            try:
                self.client.head_bucket(Bucket=self.bucket_name)
            except ClientError as exc:
                if error_code(exc) not in ("301", "PermanentRedirect"):
                    raise
                headers = exc.response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
                elsewhere = headers.get("x-amz-bucket-region", "another region")
                raise NotFoundError(
                    f"{self.resource.describe()} is not reachable from this region: the bucket is in "
                    f"{elsewhere} (HeadBucket); set the offload region_name to it"
                ) from exc

    def create_bucket(self, region_name: Optional[str] = None) -> bool:
        """Create the bucket if it does not exist; True when created (``setup`` without the rule).

        Asks HeadBucket first: in us-east-1, CreateBucket succeeds again for the
        owner of an existing bucket, which would hide that nothing was created.
        """
        try:
            self.verify()
            return False
        except NotFoundError:
            pass
        params: dict[str, Any] = {"Bucket": self.bucket_name}
        region = region_name or self.client.meta.region_name
        if region and region != "us-east-1":
            params["CreateBucketConfiguration"] = {"LocationConstraint": region}
        with self._errors("create_bucket"):
            try:
                self.client.create_bucket(**params)
                return True
            except ClientError as exc:
                if error_code(exc) in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                    return False
                raise

    def ensure_lifecycle_rule(self, days: int) -> None:
        """Make sure the bucket expires objects tagged ``langgraph-ttl-days=<days>`` after ``days`` days."""
        with self._rules_lock:
            if days in self._rules_ensured:
                return
            rule_id = lifecycle_rule_id(days)
            with self._errors("get_bucket_lifecycle_configuration"):
                try:
                    rules = self.client.get_bucket_lifecycle_configuration(Bucket=self.bucket_name).get("Rules", [])
                except ClientError as exc:
                    if error_code(exc) != "NoSuchLifecycleConfiguration":
                        raise
                    rules = []
            if not any(r.get("ID") == rule_id for r in rules):
                rules = [
                    *rules,
                    {
                        "ID": rule_id,
                        "Status": "Enabled",
                        "Filter": {"Tag": {"Key": TTL_TAG, "Value": str(days)}},
                        "Expiration": {"Days": days},
                    },
                ]
                with self._errors("put_bucket_lifecycle_configuration"):
                    self.client.put_bucket_lifecycle_configuration(
                        Bucket=self.bucket_name, LifecycleConfiguration={"Rules": rules}
                    )
            self._rules_ensured.add(days)

    # -- BlobStore -------------------------------------------------------------------------
    def put_object(self, key: str, data: bytes, *, expires_in_days: Optional[int] = None) -> None:
        params: dict[str, Any] = {"Bucket": self.bucket_name, "Key": self.prefix + key, "Body": bytes(data)}
        if expires_in_days is not None:
            if self.manage_lifecycle:
                try:
                    self.ensure_lifecycle_rule(expires_in_days)
                except BackendError as exc:
                    # Objects are still tagged; a rule added by an administrator expires them.
                    _log.warning("cannot manage the lifecycle rule of %s: %s", self.bucket_name, exc)
                    self._rules_ensured.add(expires_in_days)
            params["Tagging"] = f"{TTL_TAG}={expires_in_days}"
        with self._errors("put_object"):
            self.client.put_object(**params)

    def _get(self, key: str) -> Optional[bytes]:
        with self._errors("get_object"):
            try:
                body = self.client.get_object(Bucket=self.bucket_name, Key=self.prefix + key)["Body"]
                try:
                    return bytes(body.read())
                finally:
                    body.close()
            except ClientError as exc:
                if error_code(exc) in ("NoSuchKey", "404"):
                    return None
                raise

    def get_objects(self, keys: Sequence[str]) -> dict[str, bytes]:
        unique = list(dict.fromkeys(keys))
        if len(unique) <= 1:
            found = [self._get(k) for k in unique]
        else:
            with concurrent.futures.ThreadPoolExecutor(max_workers=min(self._max_workers, len(unique))) as pool:
                found = list(pool.map(self._get, unique))
        return {k: v for k, v in zip(unique, found) if v is not None}

    def _delete_round(self, full_keys: list[str]) -> list[str]:
        """One DeleteObjects; returns the keys to resubmit (failed transiently)."""
        with self._errors("delete_objects"):
            response = self.client.delete_objects(
                Bucket=self.bucket_name, Delete={"Objects": [{"Key": k} for k in full_keys], "Quiet": True}
            )
        errors = [e for e in response.get("Errors", []) if e.get("Code") != "NoSuchKey"]
        retry = [str(e.get("Key")) for e in errors if e.get("Code") in TRANSIENT_CODES]
        failed = [e for e in errors if e.get("Code") not in TRANSIENT_CODES]
        if failed:
            raise BackendError(
                f"{self.resource.describe()}: DeleteObjects could not delete {len(failed)} objects "
                f"(first: {failed[0].get('Key')!r}: {failed[0].get('Code')})"
            )
        return retry

    def delete_objects(self, keys: Sequence[str]) -> None:
        full = [self.prefix + k for k in dict.fromkeys(keys)]
        for start in range(0, len(full), _DELETE_CHUNK):
            drain(
                self._delete_round,
                full[start : start + _DELETE_CHUNK],
                call=f"{self.resource.describe()}: DeleteObjects",
                backoff=self._backoff,
            )

    def delete_prefix(self, prefix: str) -> None:
        listing = pages(
            self._list,
            {"Bucket": self.bucket_name, "Prefix": self.prefix + prefix},
            S3_LIST_PAGES,
        )
        keys = [o["Key"][len(self.prefix) :] for page in listing for o in page.get("Contents", [])]
        if keys:
            self.delete_objects(keys)

    def _list(self, **params: Any) -> Any:
        with self._errors("list_objects_v2"):
            return self.client.list_objects_v2(**params)
