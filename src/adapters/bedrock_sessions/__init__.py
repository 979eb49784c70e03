"""Amazon Bedrock session management (``bedrock-agent-runtime``): the checkpoint repository and the session clients."""

from __future__ import annotations

from .checkpoints import BEDROCK_SESSION_ERRORS, DEFAULT_MAX_STEP_BYTES, BedrockSessionCheckpointRepository

__all__ = ["BedrockSessionCheckpointRepository", "BEDROCK_SESSION_ERRORS", "DEFAULT_MAX_STEP_BYTES"]
