"""Seed import path: ``from langgraph_checkpoint_aws.agentcore.valkey import AgentCoreValkeySaver``."""

from ..langgraph_bindings.valkey import AgentCoreValkeySaver

__all__ = ["AgentCoreValkeySaver"]
