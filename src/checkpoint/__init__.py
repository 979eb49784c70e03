"""Seed-compatible import paths for checkpoint savers (``langgraph_checkpoint_aws.checkpoint.<backend>``)."""
