"""DynamoDB adapters: the checkpoint repository on one table and its setup helper."""

from __future__ import annotations

from ..aws import UnprocessedItemsError
from .checkpoints import MAX_INLINE_BYTES, DynamoDBCheckpointRepository
from .setup import create_table

__all__ = [
    "DynamoDBCheckpointRepository",
    "MAX_INLINE_BYTES",
    "UnprocessedItemsError",
    "create_table",
]
