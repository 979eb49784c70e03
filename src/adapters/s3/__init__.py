"""S3 adapters: the blob store for offloaded payloads."""

from __future__ import annotations

from .blobs import TTL_TAG, S3BlobStore, lifecycle_rule_id

__all__ = ["S3BlobStore", "TTL_TAG", "lifecycle_rule_id"]
