"""Seed import path: ``from langgraph_checkpoint_aws.checkpoint.dynamodb import DynamoDBSaver``."""

from __future__ import annotations

from ..langgraph_bindings.dynamodb import DynamoDBSaver

__all__ = ["DynamoDBSaver"]
