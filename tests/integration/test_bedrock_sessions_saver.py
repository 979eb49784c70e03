"""BedrockSessionSaver on the emulator: the session client, thread ids, bounded reads, split payloads, delete_thread."""

from __future__ import annotations

import operator
from typing import Annotated, Any

import pytest
from langgraph.checkpoint.base import empty_checkpoint
from langgraph.graph import END, START, StateGraph
from langgraph.types import Send
from typing_extensions import TypedDict

from langgraph_checkpoint_aws import AsyncBedrockSessionSaver, BedrockSessionSaver, NotFoundError, create_saver
from langgraph_checkpoint_aws.emulator import Emulator
from tests.backends.bedrock_sessions import BEDROCK_REGION

SERVICE = "bedrock-agent-runtime"


def _saver(endpoint: str, cls: Any = BedrockSessionSaver, **kwargs: Any) -> Any:
    return cls(region_name=BEDROCK_REGION, endpoint_url=endpoint, aws_access_key_id="testing",
               aws_secret_access_key="testing", **kwargs)


def _config(thread_id: str, checkpoint_id: str | None = None) -> dict[str, Any]:
    configurable: dict[str, Any] = {"thread_id": thread_id, "checkpoint_ns": ""}
    if checkpoint_id is not None:
        configurable["checkpoint_id"] = checkpoint_id
    return {"configurable": configurable}


def _fill(saver: Any, thread_id: str, n: int) -> list[str]:
    """``n`` checkpoints in a chain, each changing one of three channels, with one task's writes."""
    config: dict[str, Any] = _config(thread_id)
    ids = []
    values = {"ch0": 0, "ch1": 0, "ch2": 0}
    versions = {"ch0": "00000000", "ch1": "00000000", "ch2": "00000000"}
    for i in range(n):
        cp = empty_checkpoint()
        changed = dict(versions) if i == 0 else {f"ch{i % 3}": f"{i:08d}"}
        for channel, version in changed.items():
            values[channel], versions[channel] = i, version
        cp["channel_values"] = dict(values)
        cp["channel_versions"] = dict(versions)
        config = saver.put(config, cp, {"step": i, "source": "loop"}, changed)
        saver.put_writes(config, [("ch0", i)], task_id=f"task-{i}")
        ids.append(config["configurable"]["checkpoint_id"])
    return ids


def _counted(emulator: Emulator, fn: Any) -> tuple[Any, int]:
    emulator.reset_calls()
    result = fn()
    return result, emulator.call_count(service=SERVICE)


def test_session_client_creates_sessions_with_typed_answers(agentcore_endpoint: str) -> None:
    with _saver(agentcore_endpoint) as saver:
        created = saver.session_client.create_session(session_metadata={"user": "u1"})
        assert created.session_status == "ACTIVE" and created.session_arn.endswith(created.session_id)
        got = saver.session_client.get_session(session_identifier=created.session_id)
        assert got.session_metadata == {"user": "u1"}
        assert saver.session_client.end_session(created.session_id).session_status == "ENDED"
        saver.session_client.delete_session(created.session_id)
        with pytest.raises(NotFoundError, match=created.session_id):
            saver.session_client.get_session(session_identifier=created.session_id)


async def test_async_session_client(agentcore_endpoint: str) -> None:
    saver = _saver(agentcore_endpoint, AsyncBedrockSessionSaver)
    try:
        session_id = (await saver.session_client.create_session()).session_id
        assert (await saver.aget_tuple(_config(session_id))) is None
        config = await saver.aput(_config(session_id), empty_checkpoint(), {"step": 0}, {})
        assert (await saver.aget_tuple(config)).metadata["step"] == 0
        steps = await saver.session_client.list_invocation_steps(session_identifier=session_id)
        assert steps.invocation_step_summaries
    finally:
        saver.close()


def test_unknown_session_is_a_clear_error_by_default(agentcore_endpoint: str) -> None:
    with _saver(agentcore_endpoint) as saver:
        with pytest.raises(NotFoundError, match=r"session_client\.create_session\(\).*create_missing_sessions=True"):
            saver.get_tuple(_config("my-thread"))
        missing = "00000000-0000-4000-8000-000000000000"
        with pytest.raises(NotFoundError, match=missing):
            saver.get_tuple(_config(missing))
        with pytest.raises(NotFoundError, match="create_missing_sessions"):
            saver.put(_config(missing), empty_checkpoint(), {}, {})


def test_created_session_as_thread_id_and_delete_thread(agentcore_endpoint: str, agentcore_emulator: Emulator) -> None:
    with _saver(agentcore_endpoint) as saver:
        session_id = saver.session_client.create_session().session_id
        _fill(saver, session_id, 3)
        assert len(list(saver.list(_config(session_id)))) == 3
        _, calls = _counted(agentcore_emulator, lambda: saver.delete_thread(session_id))
        assert calls == 2  # EndSession + DeleteSession, whatever the thread's length
        with pytest.raises(NotFoundError, match=session_id):
            saver.get_tuple(_config(session_id))


def test_create_missing_sessions_maps_each_thread_to_its_own_session(agentcore_endpoint: str) -> None:
    with _saver(agentcore_endpoint, create_missing_sessions=True) as saver:
        _fill(saver, "alpha", 2)
        _fill(saver, "alpha:b", 1)
        registry = saver.repository.registry_session_id
        # Another saver (another process) on the same registry finds the same sessions.
        with _saver(agentcore_endpoint, create_missing_sessions=True, registry_session_id=registry) as other:
            assert other.get_tuple(_config("alpha")).metadata["step"] == 1
            assert other.get_tuple(_config("alpha:b")).metadata["step"] == 0
            other.delete_thread("alpha")
        assert saver.get_tuple(_config("alpha")) is None
        assert saver.get_tuple(_config("alpha:b")) is not None
        _fill(saver, "alpha", 1)  # a deleted thread starts again in a new session
        assert [t.metadata["step"] for t in saver.list(_config("alpha"))] == [0]


@pytest.mark.parametrize("n", [10, 300])
def test_reads_cost_the_same_at_10_and_300_checkpoints(agentcore_endpoint: str, agentcore_emulator: Emulator, n: int) -> None:
    with _saver(agentcore_endpoint, create_missing_sessions=True) as saver:
        ids = _fill(saver, f"long-{n}", n)
        latest, calls_latest = _counted(agentcore_emulator, lambda: saver.get_tuple(_config(f"long-{n}")))
        expected = {f"ch{(n - 1 - k) % 3}": n - 1 - k for k in range(3)}
        assert latest.checkpoint["id"] == ids[-1] and latest.checkpoint["channel_values"] == expected
        assert [w[2] for w in latest.pending_writes] == [n - 1]
        by_id, calls_by_id = _counted(agentcore_emulator, lambda: saver.get_tuple(_config(f"long-{n}", ids[n // 2])))
        assert by_id.metadata["step"] == n // 2
        listed, calls_list = _counted(agentcore_emulator, lambda: list(saver.list(_config(f"long-{n}"), limit=10)))
        assert [t.metadata["step"] for t in listed] == list(range(n - 1, n - 11, -1))
        # GetSession + ListInvocationSteps + header and writes steps + the two older steps holding blobs.
        assert calls_latest <= 6 and calls_by_id <= 5
        assert calls_list <= 1 + 10 * 5


class FanOutState(TypedDict):
    items: list[int]
    results: Annotated[list[int], operator.add]


def test_sibling_writes_of_a_send_fan_out_are_all_kept(agentcore_endpoint: str) -> None:
    State = FanOutState

    def fan_out(state: FanOutState) -> list[Send]:
        return [Send("work", {"items": [i], "results": []}) for i in state["items"]]

    def work(state: FanOutState) -> dict[str, Any]:
        return {"results": [state["items"][0] * 10]}

    builder = StateGraph(State)
    builder.add_node("work", work)
    builder.add_conditional_edges(START, fan_out, ["work"])
    builder.add_edge("work", END)
    with _saver(agentcore_endpoint) as saver:
        session_id = saver.session_client.create_session().session_id
        graph = builder.compile(checkpointer=saver)
        out = graph.invoke({"items": [1, 2, 3, 4, 5], "results": []}, _config(session_id))
        assert sorted(out["results"]) == [10, 20, 30, 40, 50]
        assert sorted(graph.get_state(_config(session_id)).values["results"]) == [10, 20, 30, 40, 50]


def test_payloads_over_the_step_limit_are_split(agentcore_endpoint: str, agentcore_emulator: Emulator) -> None:
    big = "x" * 300_000
    with _saver(agentcore_endpoint, create_missing_sessions=True, max_step_bytes=64 * 1024) as saver:
        cp = empty_checkpoint()
        cp["channel_values"] = {"big": big}
        cp["channel_versions"] = {"big": "1"}
        _, calls = _counted(agentcore_emulator, lambda: saver.put(_config("big"), cp, {}, {"big": "1"}))
        assert agentcore_emulator.calls()[SERVICE]["PutInvocationStep"] >= 5
        saver.put_writes(_config("big", cp["id"]), [("big", big)], task_id="t")
        got = saver.get_tuple(_config("big"))
        assert got.checkpoint["channel_values"]["big"] == big
        assert got.pending_writes[0][2] == big


def test_create_saver_builds_a_bedrock_session_saver(agentcore_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    saver = create_saver({"backend": "bedrock_sessions", "bedrock_sessions": {
        "region_name": BEDROCK_REGION, "endpoint_url": agentcore_endpoint, "create_missing_sessions": True}})
    with saver:
        assert isinstance(saver, BedrockSessionSaver)
        config = saver.put(_config("from-config"), empty_checkpoint(), {"step": 7}, {})
        assert saver.get_tuple(config).metadata["step"] == 7


def test_deprecated_paths_warn_and_give_the_same_classes() -> None:
    import importlib
    import sys

    for path, name in [("saver", "BedrockSessionSaver"), ("async_saver", "AsyncBedrockSessionSaver"),
                       ("session", "BedrockAgentRuntimeSessionClient"),
                       ("async_session", "AsyncBedrockAgentRuntimeSessionClient")]:
        sys.modules.pop(f"langgraph_checkpoint_aws.{path}", None)
        with pytest.warns(DeprecationWarning):
            module = importlib.import_module(f"langgraph_checkpoint_aws.{path}")
        import langgraph_checkpoint_aws

        assert getattr(module, name) is getattr(langgraph_checkpoint_aws, name)
