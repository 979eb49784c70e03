"""The `make demo` agent and its backend launchers."""
