"""Seed 004's import path: ``from langgraph_checkpoint_s3 import S3CheckpointSaver, AsyncS3CheckpointSaver``.

A thin alias shipped by langgraph-checkpoint-aws-hex: the classes are
``langgraph_checkpoint_aws.S3CheckpointSaver`` and
``langgraph_checkpoint_aws.AsyncS3CheckpointSaver``; the ``s3-checkpoint``
command lives in ``langgraph_checkpoint_s3.cli``.
"""

from __future__ import annotations

from langgraph_checkpoint_aws.langgraph_bindings.s3 import AsyncS3CheckpointSaver, S3CheckpointSaver

__all__ = ["S3CheckpointSaver", "AsyncS3CheckpointSaver"]
