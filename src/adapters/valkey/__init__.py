"""Valkey adapters: the checkpoint repository (plain and AgentCore key layouts) and client helpers."""

from __future__ import annotations

from .checkpoints import ValkeyCheckpointRepository
from .layout import AGENTCORE_LAYOUT, PLAIN_LAYOUT, KeyLayout

__all__ = ["ValkeyCheckpointRepository", "KeyLayout", "PLAIN_LAYOUT", "AGENTCORE_LAYOUT"]
