"""S3 adapters: the blob store for offloaded payloads, and the plain-S3 checkpoint repository."""

from __future__ import annotations

from .blobs import TTL_TAG, S3BlobStore, lifecycle_rule_id
from .checkpoints import S3_CHECKPOINT_ERRORS, S3CheckpointRepository

__all__ = ["S3BlobStore", "TTL_TAG", "lifecycle_rule_id", "S3CheckpointRepository", "S3_CHECKPOINT_ERRORS"]
