"""The ``s3-checkpoint`` command (seed 004): ``python -m langgraph_checkpoint_s3.cli`` runs it too."""

from __future__ import annotations

from langgraph_checkpoint_aws.cli.s3_checkpoint import cli, main

__all__ = ["cli", "main"]

if __name__ == "__main__":
    main()
