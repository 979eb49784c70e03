"""Read-only readers of the published packages' layouts, and probes that detect them.

Sources for ``langgraph-aws migrate`` (and for savers that must refuse to show
a foreign layout as an empty thread):

- ``LegacyDynamoDBRepository``: langgraph-checkpoint-aws 1.2 ``DynamoDBSaver``
  (its table and S3-offloaded payloads);
- ``LegacyValkeyRepository``: langgraph-checkpoint-aws 1.2 ``ValkeySaver`` / ``AsyncValkeySaver``;
- ``LegacyAgentCoreValkeyRepository``: langgraph-checkpoint-aws 1.2 ``AgentCoreValkeySaver``;
- ``LegacyS3Repository``: langgraph-checkpoint-s3 0.1 ``S3CheckpointSaver``.

Each implements ``get_checkpoint``, ``list_checkpoints`` and ``list_threads``
and yields this project's records (a header without values, one
``ChannelBlob`` per channel version, the pending writes), so
``copy_thread_between`` copies a thread into any of this project's savers and
``get_state_history`` reads the same there as the published saver read it.
Their write methods raise ``UnsupportedOperationError``. ``detect_*`` name the
format a store holds: ``AWS_FORMAT``, ``S3_FORMAT`` or None.
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "AWS_FORMAT": "._common",
    "S3_FORMAT": "._common",
    "FORMATS": ".detect",
    "LegacyDynamoDBRepository": ".aws_dynamodb",
    "LegacyValkeyRepository": ".aws_valkey",
    "LegacyAgentCoreValkeyRepository": ".aws_valkey",
    "LegacyS3Repository": ".s3_013",
    "agentcore_session_id": ".aws_valkey",
    "detect_dynamodb": ".detect",
    "detect_valkey": ".detect",
    "detect_s3": ".detect",
}
"""Name -> submodule: loaded on first use, so a Valkey user never imports boto3 (and the reverse)."""


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


__all__ = [
    "AWS_FORMAT",
    "S3_FORMAT",
    "FORMATS",
    "LegacyDynamoDBRepository",
    "LegacyValkeyRepository",
    "LegacyAgentCoreValkeyRepository",
    "LegacyS3Repository",
    "agentcore_session_id",
    "detect_dynamodb",
    "detect_valkey",
    "detect_s3",
]
