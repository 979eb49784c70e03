"""Peer implementations for the benchmarks: cached virtualenvs and worker scripts."""
