"""Application layer: use cases written once over the domain ports."""
