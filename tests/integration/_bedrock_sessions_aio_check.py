"""Runs inside the ``s3-aio`` virtualenv (aioboto3 + this package): AsyncBedrockSessionSaver on a native async session.

Called by tests/integration/test_bedrock_sessions_aio.py with the emulator's
endpoint; prints one JSON line of results that the test asserts on. It covers,
for an ``aioboto3.Session`` and an aiobotocore session: the conformance suite
through the async and the sync API (``create_missing_sessions=True``), the
session client (``(await saver.session_client.create_session()).session_id`` as
a thread id, typed answers, a clear error for an unknown session), Send fan-out
(sibling writes kept), the call rounds of reads against the sync repository's on
the same data, and that the sync saver (boto3) reads what the async one wrote.
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
from langgraph.checkpoint.base import empty_checkpoint  # noqa: E402
from langgraph.graph import END, START, StateGraph  # noqa: E402
from langgraph.types import Send  # noqa: E402

from langgraph_checkpoint_aws import AsyncBedrockSessionSaver, BedrockSessionSaver, NotFoundError  # noqa: E402
from tests.integration._aio_common import CREDS, alist10, conformance, report, session_of  # noqa: E402

ENDPOINT = sys.argv[1]
SYNC = boto3.session.Session(**CREDS).client("bedrock-agent-runtime", endpoint_url=ENDPOINT)


def registry() -> str:
    return str(SYNC.create_session()["sessionId"])


class Fan(TypedDict):
    items: Annotated[list[str], operator.add]


def fan_graph(saver: Any) -> Any:
    def spread(state: Fan) -> dict[str, Any]:
        return {}

    def route(state: Fan) -> list[Send]:
        return [Send("work", {"items": [f"w{i}"]}) for i in range(5)]

    def work(state: Fan) -> dict[str, Any]:
        return {"items": [state["items"][-1] + "!"]}

    b = StateGraph(Fan)
    b.add_node("spread", spread)
    b.add_node("work", work)
    b.add_edge(START, "spread")
    b.add_conditional_edges("spread", route, ["work"])
    b.add_edge("work", END)
    return b.compile(checkpointer=saver)


def _config(thread_id: str) -> dict[str, Any]:
    return {"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}}


async def _fill(saver: Any, thread_id: str, n: int) -> None:
    config: dict[str, Any] = _config(thread_id)
    for i in range(n):
        cp = empty_checkpoint()
        cp["channel_values"] = {"a": i, "b": "x" * 10}
        cp["channel_versions"] = {"a": f"{i:08d}", "b": "00000001"}
        config = await saver.aput(config, cp, {"step": i}, {"a": f"{i:08d}"} if i else dict(cp["channel_versions"]))
        await saver.aput_writes(config, [("a", i)], task_id=f"t{i}")


async def check(kind: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    made: list[Any] = []

    def make() -> Any:
        saver = AsyncBedrockSessionSaver(session=session_of(kind), endpoint_url=ENDPOINT,
                                         create_missing_sessions=True, registry_session_id=registry())
        made.append(saver)
        return saver

    await conformance(f"bedrock-{kind}", make, out)
    out["native"] = all(s.native for s in made)
    out["client_kind"] = sorted({type(s.repository).__name__ for s in made})
    for saver in made:
        await saver.aclose()

    # Default mode: the thread id is a session the session client created.
    async with AsyncBedrockSessionSaver(session=session_of(kind), endpoint_url=ENDPOINT) as saver:
        created = await saver.session_client.create_session(session_metadata={"user": kind})
        session_id = created.session_id
        out["created_status"] = created.session_status
        got = await saver.session_client.get_session(session_identifier=session_id)
        out["session_metadata"] = got.session_metadata
        config = await saver.aput(_config(session_id), empty_checkpoint(), {"step": 0}, {})
        tup = await saver.aget_tuple(config)
        out["default_mode_step"] = tup.metadata["step"] if tup else None
        steps = await saver.session_client.list_invocation_steps(session_identifier=session_id)
        out["steps_listed"] = len(steps.invocation_step_summaries)
        try:
            await saver.aget_tuple(_config(str(uuid.uuid4())))
            out["unknown_session"] = "no error"
        except NotFoundError as exc:
            out["unknown_session"] = str(exc)
        try:
            await saver.session_client.get_session(session_identifier=str(uuid.uuid4()))
            out["client_unknown_session"] = "no error"
        except NotFoundError as exc:
            out["client_unknown_session"] = type(exc).__name__

        # Sibling writes (Send fan-out), then delete_thread deletes the session.
        g = fan_graph(saver)
        fan_session = (await saver.session_client.create_session()).session_id
        result = await g.ainvoke({"items": []}, {"configurable": {"thread_id": fan_session}})
        out["fan_out"] = sorted(result["items"])
        await saver.adelete_thread(fan_session)
        try:
            await saver.aget_tuple(_config(fan_session))
            out["deleted"] = "still there"
        except NotFoundError:
            out["deleted"] = "gone"

    # Rounds of reads: the native repository against the sync one on the same data.
    reg = registry()
    rounds: dict[str, dict[str, list[list[str]]]] = {"async": {}, "sync": {}}
    async with AsyncBedrockSessionSaver(session=session_of(kind), endpoint_url=ENDPOINT,
                                        create_missing_sessions=True, registry_session_id=reg) as saver:
        await _fill(saver, "long", 30)
        # The sync API from another thread, bridged into this loop.
        bridged = await asyncio.to_thread(saver.get_tuple, _config("long"))
        out["sync_bridge_step"] = bridged.metadata["step"] if bridged else None
        seen: list[list[str]] = []
        saver.repository.observer = seen.append
        for op, call in (("get_tuple", lambda: saver.aget_tuple(_config("long"))),
                         ("list10", lambda: alist10(saver, _config("long")))):
            seen.clear()
            await call()
            rounds["async"][op] = list(seen)
        saver.repository.observer = None
    with BedrockSessionSaver(region_name="us-east-1", endpoint_url=ENDPOINT, aws_access_key_id="testing",
                             aws_secret_access_key="testing", create_missing_sessions=True,
                             registry_session_id=reg) as reader:
        tup = reader.get_tuple(_config("long"))
        out["sync_reads_async"] = (tup is not None and tup.metadata["step"] == 29
                                   and tup.checkpoint["channel_values"]["a"] == 29 and len(tup.pending_writes) == 1)
        seen_sync: list[list[str]] = []
        reader.repository.observer = seen_sync.append
        for op, fn in (("get_tuple", lambda: reader.get_tuple(_config("long"))),
                       ("list10", lambda: list(reader.list(_config("long"), limit=10)))):
            seen_sync.clear()
            fn()
            rounds["sync"][op] = list(seen_sync)
    out["rounds"] = {api: {op: [sorted(r) for r in rs] for op, rs in ops.items()} for api, ops in rounds.items()}
    return out


if __name__ == "__main__":
    report(check)
