"""Seed import path: ``from langgraph_checkpoint_aws.checkpoint.valkey import ValkeySaver``."""

from ..langgraph_bindings.valkey import AsyncValkeySaver, ValkeySaver

__all__ = ["ValkeySaver", "AsyncValkeySaver"]
