"""``python -m langgraph_checkpoint_aws.emulator``: serve the emulator until interrupted."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence

from .agentcore import AgentCoreMemoryService
from .bedrock_sessions import BedrockSessionsService
from .server import Emulator


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m langgraph_checkpoint_aws.emulator",
        description="A local emulator of the AWS APIs langgraph-checkpoint-aws-hex uses (AgentCore Memory, Bedrock sessions).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port to bind; 0 lets the OS pick (default)")
    parser.add_argument("--data-dir", default=None, help="directory to persist state to and reload it from")
    parser.add_argument("--event-order", choices=["newest_first", "oldest_first"], default="newest_first",
                        help="order of ListEvents results (the service documents none)")
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    args = parser.parse_args(argv)

    emulator = Emulator(args.host, args.port, data_dir=args.data_dir, verbose=args.verbose,
                        services=[AgentCoreMemoryService(event_order=args.event_order), BedrockSessionsService()])
    emulator.start()
    done = threading.Event()

    def stop(signum: int, frame: object) -> None:
        done.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"listening on {emulator.endpoint_url}", flush=True)
    try:
        while not done.wait(0.5):
            pass
    finally:
        emulator.stop()
    print("stopped", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
