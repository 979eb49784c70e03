"""Valkey adapters: the checkpoint repository (plain and AgentCore key layouts) and client helpers."""

from __future__ import annotations

from langgraph_checkpoint_aws.adapters.valkey.checkpoints import ValkeyCheckpointRepository
from langgraph_checkpoint_aws.adapters.valkey.layout import AGENTCORE_LAYOUT, PLAIN_LAYOUT, KeyLayout

__all__ = ["ValkeyCheckpointRepository", "KeyLayout", "PLAIN_LAYOUT", "AGENTCORE_LAYOUT"]
