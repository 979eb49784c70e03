"""Amazon Bedrock session management (``bedrock-agent-runtime``): the checkpoint repositories and the session clients.

``_plans`` holds every operation once, as rounds of calls; ``checkpoints`` drives
them over a boto3 client, ``aio`` over an aiobotocore client (imported by the
wiring only when the user gives an aioboto3 or aiobotocore session).
"""

from __future__ import annotations

from .checkpoints import BEDROCK_SESSION_ERRORS, DEFAULT_MAX_STEP_BYTES, BedrockSessionCheckpointRepository

__all__ = ["BedrockSessionCheckpointRepository", "BEDROCK_SESSION_ERRORS", "DEFAULT_MAX_STEP_BYTES"]
