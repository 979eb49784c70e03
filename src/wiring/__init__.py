"""Backend containers and the options schema; ``BACKENDS`` is the one registry.

Adding a backend: a folder under ``adapters/``, an options class and its
``BACKEND_OPTIONS`` entry in ``options.py``, a container implementing
``base.BackendContainer`` and its entry here, and a file in ``tests/backends/``.
"""

from __future__ import annotations

from dependency_injector import containers

from .agentcore import AgentCoreBackend
from .bedrock_sessions import BedrockSessionsBackend
from .dynamodb import DynamoDBBackend
from .memory import MemoryBackend
from .s3 import S3Backend
from .valkey import ValkeyBackend

__all__ = ["BACKENDS"]

BACKENDS: dict[str, type[containers.DeclarativeContainer]] = {
    "memory": MemoryBackend,
    "valkey": ValkeyBackend,
    "dynamodb": DynamoDBBackend,
    "s3": S3Backend,
    "agentcore": AgentCoreBackend,
    "bedrock_sessions": BedrockSessionsBackend,
}
"""Backend name -> its container class (selected by ``options.backend``)."""
