"""Runs inside the ``s3-aio`` virtualenv (aioboto3 + this package): AsyncS3CheckpointSaver on a native async session.

Called by tests/integration/test_s3_aio.py with the moto endpoint; prints one
JSON line of results that the test asserts on. It covers, for an
``aioboto3.Session`` and an aiobotocore session: the conformance suite through
the async and the sync API, request rounds per operation, 50 concurrent
graphs, the bucket check on entry, and that the sync saver reads what the
async one wrote (one format).
"""

from __future__ import annotations

import asyncio
import operator
import sys
import uuid
from pathlib import Path
from typing import Annotated, Any, TypedDict

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import boto3  # noqa: E402
from botocore.config import Config  # noqa: E402
from langgraph.graph import END, START, StateGraph  # noqa: E402
from langgraph_checkpoint_s3 import AsyncS3CheckpointSaver  # noqa: E402

from langgraph_checkpoint_aws import NotFoundError, S3CheckpointSaver  # noqa: E402
from tests.integration._aio_common import CREDS, alist10, conformance, report, session_of  # noqa: E402

ENDPOINT = sys.argv[1]
SYNC = boto3.session.Session(**CREDS).client("s3", endpoint_url=ENDPOINT, config=Config(s3={"addressing_style": "path"}))


def bucket() -> str:
    name = f"aio-{uuid.uuid4().hex[:12]}"
    SYNC.create_bucket(Bucket=name)
    return name


class State(TypedDict):
    messages: Annotated[list[str], operator.add]


def graph_of(saver: Any) -> Any:
    def step(state: State) -> dict[str, Any]:
        return {"messages": [f"m{len(state['messages'])}"]}

    b = StateGraph(State)
    b.add_node("step", step)
    b.add_edge(START, "step")
    b.add_edge("step", END)
    return b.compile(checkpointer=saver)


async def check(kind: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    made: list[Any] = []

    async def make() -> Any:
        saver = AsyncS3CheckpointSaver(bucket(), session=session_of(kind), endpoint_url=ENDPOINT)
        await saver.__aenter__()
        made.append(saver)
        return saver

    await conformance(kind, make, out)
    for saver in made:
        await saver.aclose()

    name = bucket()
    async with AsyncS3CheckpointSaver(name, prefix="p/", session=session_of(kind), endpoint_url=ENDPOINT) as saver:
        out["native"] = saver.native
        g = graph_of(saver)
        await asyncio.gather(*(g.ainvoke({"messages": ["x"]}, {"configurable": {"thread_id": f"c{i}"}}) for i in range(50)))
        for i in range(6):
            await g.ainvoke({"messages": [str(i)]}, {"configurable": {"thread_id": "long"}})
        states = [await g.aget_state({"configurable": {"thread_id": f"c{i}"}}) for i in range(50)]
        out["concurrent_ok"] = all(s.values["messages"] == ["x", "m1"] for s in states)
        # The sync API from another thread, bridged into this loop.
        sync_state = await asyncio.to_thread(g.get_state, {"configurable": {"thread_id": "long"}})
        out["sync_bridge_messages"] = len(sync_state.values["messages"])
        rounds: list[list[str]] = []
        saver.repository.observer = rounds.append
        config = {"configurable": {"thread_id": "long", "checkpoint_ns": ""}}
        costs: dict[str, int] = {}
        for op, call in (
            ("get_tuple", lambda: saver.aget_tuple(config)),
            ("list10", lambda: alist10(saver, config)),
        ):
            rounds.clear()
            await call()
            costs[op] = len(rounds)
        out["rounds"] = costs
        saver.repository.observer = None
    # One format: the sync saver (boto3) reads what the native async one wrote.
    with S3CheckpointSaver(name, prefix="p/", s3_client=SYNC) as reader:
        tup = reader.get_tuple({"configurable": {"thread_id": "long"}})
        out["sync_reads_async"] = tup is not None and len(tup.checkpoint["channel_values"]["messages"]) == 12
    try:
        async with AsyncS3CheckpointSaver("no-such-bucket-aio", session=session_of(kind), endpoint_url=ENDPOINT):
            out["missing_bucket"] = "no error"
    except NotFoundError as exc:
        out["missing_bucket"] = str(exc)
    return out


if __name__ == "__main__":
    report(check)
