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

from ._common import AWS_FORMAT, S3_FORMAT
from .aws_dynamodb import LegacyDynamoDBRepository
from .aws_valkey import LegacyAgentCoreValkeyRepository, LegacyValkeyRepository, agentcore_session_id
from .detect import FORMATS, detect_dynamodb, detect_s3, detect_valkey
from .s3_013 import LegacyS3Repository

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
