"""Demo backend: Amazon Bedrock AgentCore Memory, served by the project's emulator in this process.

The emulator (``langgraph_checkpoint_aws.emulator``) keeps its state in
``<data_dir>/agentcore``, so a second ``make demo BACKEND=agentcore`` finds the
thread of the first one. The checkpointer is ``AgentCoreMemorySaver`` (thread =
session, of the actor ``demo-user``, which every config of the demo carries as
``configurable.actor_id``); long-term memory is ``AgentCoreMemoryStore`` (one
memory record per item, searched with RetrieveMemoryRecords). ``DATA_DIR=...``
and ``PORT=...`` on the make command line choose the folder and the port.
"""

from __future__ import annotations

import json
import socket
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Optional

import boto3
from botocore.config import Config

from langgraph_checkpoint_aws import AgentCoreMemorySaver, AgentCoreMemoryStore
from langgraph_checkpoint_aws.emulator import Emulator

MEMORY_ID = "langgraph_demo-demomemory"
"""The demo's memory (the emulator creates any id the service's pattern accepts on first use)."""
ACTOR_ID = "demo-user"
REGION = "us-east-1"
KINDS = {"c": "checkpoints", "w": "pending writes", "h": "head pointers", "b": "moved blobs"}


class DemoMemoryStore(AgentCoreMemoryStore):
    """The AgentCore store; ``searches_by_query`` tells the demo that search ranks by its query without an index."""

    searches_by_query = True


def _bindable(port: int) -> bool:
    """Whether nothing listens on 127.0.0.1:``port``."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT leftovers do not count
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _address_in_use(port: int) -> RuntimeError:
    return RuntimeError(
        f"the AgentCore Memory emulator cannot listen on 127.0.0.1:{port}: address in use "
        f"(another process holds port {port}; choose another port)"
    )


def _pages(call: Any, key: str, **params: Any) -> Iterator[dict[str, Any]]:
    """Every item under ``key`` of a paged AgentCore call."""
    while True:
        page = call(**params)
        yield from page.get(key, [])
        if not page.get("nextToken"):
            return
        params["nextToken"] = page["nextToken"]


class AgentCoreDemo:
    """An AgentCoreMemorySaver and AgentCoreMemoryStore on the emulator, with a look at the sessions and records."""

    configurable = {"actor_id": ACTOR_ID}
    """Merged into every config of the demo: the AgentCore saver needs the actor."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        session = boto3.session.Session(aws_access_key_id="demo", aws_secret_access_key="demo", region_name=REGION)
        common: dict[str, Any] = {
            "region_name": REGION,
            "session": session,
            "endpoint_url": emulator.endpoint_url,
            "config": Config(connect_timeout=2, read_timeout=30),
        }
        self.saver: Any = AgentCoreMemorySaver(MEMORY_ID, **common)
        self.store: Any = DemoMemoryStore(memory_id=MEMORY_ID, **common)
        self.client = session.client("bedrock-agentcore", endpoint_url=emulator.endpoint_url,
                                     config=Config(retries={"total_max_attempts": 1, "mode": "standard"}))

    def describe_storage(self) -> list[tuple[str, str]]:
        rows: list[tuple[str, str]] = []
        for actor in _pages(self.client.list_actors, "actorSummaries", memoryId=MEMORY_ID, maxResults=100):
            actor_id = actor["actorId"]
            for session in _pages(self.client.list_sessions, "sessionSummaries", memoryId=MEMORY_ID,
                                  actorId=actor_id, maxResults=100):
                session_id = session["sessionId"]
                counts: Counter[str] = Counter()
                sizes: Counter[str] = Counter()
                for event in _pages(self.client.list_events, "events", memoryId=MEMORY_ID, actorId=actor_id,
                                    sessionId=session_id, includePayloads=True, maxResults=100):
                    kind = (event.get("metadata") or {}).get("k", {}).get("stringValue", "?")
                    counts[kind] += 1
                    sizes[kind] += len(json.dumps(event.get("payload", []), default=str))
                events = ", ".join(f"{n} {KINDS.get(k, k)} (~{sizes[k]:,} bytes)" for k, n in sorted(counts.items()))
                rows.append((f"session {session_id!r}", f"actor {actor_id!r}: {sum(counts.values())} events: {events}"))
        records: Counter[str] = Counter()
        for record in _pages(self.client.list_memory_records, "memoryRecordSummaries", memoryId=MEMORY_ID,
                             namespacePath="/", maxResults=100):
            for namespace in record.get("namespaces", []):
                records[namespace] += 1
        for namespace, n in sorted(records.items()):
            rows.append(("memory records", f"{n} in namespace {namespace!r} (the store's items, one record each)"))
        if not records:
            rows.append(("memory records", "none"))
        where = self.emulator.data_dir
        rows.append(("memory", f"{MEMORY_ID!r} (events: short-term memory; records: long-term memory)"))
        rows.append(("server", f"AgentCore Memory emulator at {self.emulator.endpoint_url}, state in {where}"))
        return rows


@contextmanager
def open_backend(data_dir: Path, port: Optional[int]) -> Iterator[AgentCoreDemo]:
    """Start the emulator on 127.0.0.1 (``port`` or one the OS picks) with its state in ``data_dir/agentcore``."""
    if port and not _bindable(port):
        raise _address_in_use(port)
    emulator = Emulator("127.0.0.1", port or 0, data_dir=Path(data_dir) / "agentcore")
    try:
        emulator.start()
    except OSError as exc:  # the port was taken between the probe and the bind
        if port:
            raise _address_in_use(port) from exc
        raise RuntimeError(f"the AgentCore Memory emulator could not start: {exc}") from exc
    try:
        demo = AgentCoreDemo(emulator)
        yield demo
        demo.store.close()
        demo.saver.close()
    finally:
        emulator.stop()  # writes the state to data_dir/agentcore
