"""Valkey adapters: the sync and async checkpoint repositories (plain and AgentCore key layouts), the cache repository and client helpers."""

from __future__ import annotations

from .aio import AsyncValkeyCheckpointRepository
from .cache import ValkeyCacheRepository
from .checkpoints import ValkeyCheckpointRepository
from .layout import AGENTCORE_LAYOUT, PLAIN_LAYOUT, KeyLayout

__all__ = [
    "ValkeyCheckpointRepository",
    "AsyncValkeyCheckpointRepository",
    "ValkeyCacheRepository",
    "KeyLayout",
    "PLAIN_LAYOUT",
    "AGENTCORE_LAYOUT",
]
