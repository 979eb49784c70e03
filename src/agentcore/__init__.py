"""Seed-compatible import paths for AgentCore components (``langgraph_checkpoint_aws.agentcore.<backend>``)."""
