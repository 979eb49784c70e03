"""Valkey adapters: the sync and async checkpoint repositories (plain and AgentCore key layouts) and client helpers."""

from __future__ import annotations

from .aio import AsyncValkeyCheckpointRepository
from .checkpoints import ValkeyCheckpointRepository
from .layout import AGENTCORE_LAYOUT, PLAIN_LAYOUT, KeyLayout

__all__ = [
    "ValkeyCheckpointRepository",
    "AsyncValkeyCheckpointRepository",
    "KeyLayout",
    "PLAIN_LAYOUT",
    "AGENTCORE_LAYOUT",
]
