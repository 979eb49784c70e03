"""Adapters: one package per backend, each implementing the domain ports."""
