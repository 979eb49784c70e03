"""Domain layer: models, ports, errors and pure policies. No I/O, no vendor SDKs."""
