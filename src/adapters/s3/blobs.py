"""S3 blob store: offloaded payloads as objects, tagged for lifecycle expiry.

Objects are written whole with PutObject (tag ``langgraph-ttl-days=<n>`` when
an expiry is asked for), read in parallel with GetObject, deleted with
DeleteObjects in chunks of 1000. The store manages one lifecycle rule per
expiry period (``langgraph-checkpoint-expire-<n>d``: objects with that tag
expire after n days), adding it to the bucket's existing rules once per
process; S3 counts the days from each object's upload.
"""

from __future__ import annotations

import concurrent.futures
import logging
import threading
from collections.abc import Sequence
from typing import Any, Optional

from botocore.exceptions import ClientError

from ...domain.errors import BackendError, PersistenceError
from ._errors import error_code, translate_errors

__all__ = ["S3BlobStore", "TTL_TAG", "lifecycle_rule_id"]

TTL_TAG = "langgraph-ttl-days"
_DELETE_CHUNK = 1000
_log = logging.getLogger(__name__)


def lifecycle_rule_id(days: int) -> str:
    """The id of the lifecycle rule this library manages for ``days``."""
    return f"langgraph-checkpoint-expire-{days}d"


class S3BlobStore:
    """A BlobStore on one S3 bucket.

    Args:
        client: a boto3 S3 client.
        bucket_name: the bucket (must exist; see ``create_bucket``).
        prefix: key prefix for every object (e.g. ``"checkpoints/"``).
        manage_lifecycle: add the expiry rule for tagged objects to the bucket.
        max_workers: parallel GetObject/PutObject requests.
    """

    def __init__(
        self,
        *,
        client: Any,
        bucket_name: str,
        prefix: str = "",
        manage_lifecycle: bool = True,
        max_workers: int = 8,
    ) -> None:
        self.client = client
        self.bucket_name = bucket_name
        self.prefix = prefix
        self.manage_lifecycle = manage_lifecycle
        self._max_workers = max_workers
        self._endpoint = getattr(getattr(client, "meta", None), "endpoint_url", None)
        self._rules_ensured: set[int] = set()
        self._rules_lock = threading.Lock()

    def _errors(self, operation: str) -> Any:
        return translate_errors(self.bucket_name, self._endpoint, operation)

    # -- setup -----------------------------------------------------------------------------
    def create_bucket(self, region_name: Optional[str] = None) -> bool:
        """Create the bucket if it does not exist (development and tests); True when created."""
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
                rules = [*rules, {
                    "ID": rule_id,
                    "Status": "Enabled",
                    "Filter": {"Tag": {"Key": TTL_TAG, "Value": str(days)}},
                    "Expiration": {"Days": days},
                }]
                with self._errors("put_bucket_lifecycle_configuration"):
                    self.client.put_bucket_lifecycle_configuration(
                        Bucket=self.bucket_name, LifecycleConfiguration={"Rules": rules}
                    )
            self._rules_ensured.add(days)

    # -- BlobStore ---------------------------------------------------------------------------
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

    def delete_objects(self, keys: Sequence[str]) -> None:
        full = [self.prefix + k for k in dict.fromkeys(keys)]
        for start in range(0, len(full), _DELETE_CHUNK):
            chunk = full[start : start + _DELETE_CHUNK]
            with self._errors("delete_objects"):
                response = self.client.delete_objects(
                    Bucket=self.bucket_name, Delete={"Objects": [{"Key": k} for k in chunk], "Quiet": True}
                )
            errors = [e for e in response.get("Errors", []) if e.get("Code") != "NoSuchKey"]
            if errors:
                raise PersistenceError(
                    f"S3 bucket {self.bucket_name!r}: could not delete {len(errors)} objects "
                    f"(first: {errors[0].get('Key')!r}: {errors[0].get('Code')})"
                )

    def delete_prefix(self, prefix: str) -> None:
        keys: list[str] = []
        params: dict[str, Any] = {"Bucket": self.bucket_name, "Prefix": self.prefix + prefix}
        while True:
            with self._errors("list_objects_v2"):
                response = self.client.list_objects_v2(**params)
            keys.extend(o["Key"][len(self.prefix) :] for o in response.get("Contents", []))
            if not response.get("IsTruncated"):
                break
            params["ContinuationToken"] = response["NextContinuationToken"]
        if keys:
            self.delete_objects(keys)
