"""Command-line tools (public API layer): ``langgraph-aws`` (operations on every backend) and ``s3-checkpoint``."""
