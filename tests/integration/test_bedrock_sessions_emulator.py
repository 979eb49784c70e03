"""The emulator's Bedrock session management (``bedrock-agent-runtime``) through boto3: round trips, states, validation, paging."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from langgraph_checkpoint_aws.emulator import BedrockSessionsService, Emulator
from tests.backends.bedrock_sessions import bedrock_client


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def _code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


@pytest.fixture
def client(agentcore_endpoint: str) -> Any:
    return bedrock_client(agentcore_endpoint)


def _step(client: Any, session: str, invocation: str, text: str = "hello", **extra: Any) -> str:
    out = client.put_invocation_step(sessionIdentifier=session, invocationIdentifier=invocation,
                                     invocationStepTime=_now(), payload={"contentBlocks": [{"text": text}]}, **extra)
    return str(out["invocationStepId"])


def test_session_round_trip_by_id_and_arn(client: Any) -> None:
    created = client.create_session(sessionMetadata={"user": "u1"}, tags={"team": "a"})
    assert created["sessionStatus"] == "ACTIVE" and created["ResponseMetadata"]["HTTPStatusCode"] == 201
    by_arn = client.get_session(sessionIdentifier=created["sessionArn"])
    assert by_arn["sessionId"] == created["sessionId"] and by_arn["sessionMetadata"] == {"user": "u1"}
    updated = client.update_session(sessionIdentifier=created["sessionId"], sessionMetadata={"lang": "fr"})
    assert updated["lastUpdatedAt"] >= by_arn["lastUpdatedAt"]
    assert client.get_session(sessionIdentifier=created["sessionId"])["sessionMetadata"] == {"lang": "fr"}


def test_invocations_and_steps_with_text_and_images(client: Any) -> None:
    session = client.create_session()["sessionId"]
    invocation = client.create_invocation(sessionIdentifier=session, description="weather")["invocationId"]
    step = client.put_invocation_step(
        sessionIdentifier=session, invocationIdentifier=invocation, invocationStepTime=_now(),
        payload={"contentBlocks": [{"text": "look"}, {"image": {"format": "png", "source": {"bytes": b"\x89PNG"}}}]},
    )["invocationStepId"]
    got = client.get_invocation_step(sessionIdentifier=session, invocationIdentifier=invocation, invocationStepId=step)
    blocks = got["invocationStep"]["payload"]["contentBlocks"]
    assert blocks[0] == {"text": "look"} and blocks[1]["image"]["source"]["bytes"] == b"\x89PNG"
    mine = "11111111-2222-4333-8444-555555555555"
    assert _step(client, session, invocation, invocationStepId=mine) == mine
    with pytest.raises(ClientError) as exc:  # steps are never changed once written
        _step(client, session, invocation, invocationStepId=mine)
    assert _code(exc) == "ConflictException"
    other = client.create_invocation(sessionIdentifier=session)["invocationId"]
    with pytest.raises(ClientError) as exc:  # a step is found under its own invocation only
        client.get_invocation_step(sessionIdentifier=session, invocationIdentifier=other, invocationStepId=step)
    assert _code(exc) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as exc:
        client.create_invocation(sessionIdentifier=session, invocationId=invocation)
    assert _code(exc) == "ConflictException"
    with pytest.raises(ClientError) as exc:
        _step(client, session, "99999999-2222-4333-8444-555555555555")
    assert _code(exc) == "ResourceNotFoundException"


def test_ended_session_is_read_only_and_deletable(client: Any) -> None:
    session = client.create_session()["sessionId"]
    invocation = client.create_invocation(sessionIdentifier=session)["invocationId"]
    _step(client, session, invocation)
    with pytest.raises(ClientError) as exc:  # an ACTIVE session cannot be deleted
        client.delete_session(sessionIdentifier=session)
    assert _code(exc) == "ConflictException"
    assert client.end_session(sessionIdentifier=session)["sessionStatus"] == "ENDED"
    for call in (lambda: client.create_invocation(sessionIdentifier=session),
                 lambda: _step(client, session, invocation),
                 lambda: client.update_session(sessionIdentifier=session, sessionMetadata={}),
                 lambda: client.end_session(sessionIdentifier=session)):
        with pytest.raises(ClientError) as exc:
            call()
        assert _code(exc) == "ConflictException"
    assert len(client.list_invocation_steps(sessionIdentifier=session)["invocationStepSummaries"]) == 1
    client.delete_session(sessionIdentifier=session)
    with pytest.raises(ClientError) as exc:
        client.get_session(sessionIdentifier=session)
    assert _code(exc) == "ResourceNotFoundException"


def test_validation_errors_come_from_the_model(client: Any) -> None:
    with pytest.raises(ClientError) as exc:
        client.get_session(sessionIdentifier="not-a-session")
    assert _code(exc) == "ValidationException" and "regular expression pattern" in str(exc.value)
    session = client.create_session()["sessionId"]
    with pytest.raises(ClientError) as exc:
        client.create_invocation(sessionIdentifier=session, description="x" * 201)
    assert _code(exc) == "ValidationException" and "less than or equal to 200" in str(exc.value)
    with pytest.raises(ClientError) as exc:
        client.list_invocation_steps(sessionIdentifier=session, maxResults=1001)
    assert _code(exc) == "ValidationException"
    with pytest.raises(ClientError) as exc:
        client.create_session(sessionMetadata={f"k{i}": "v" for i in range(51)})
    assert _code(exc) == "ValidationException"


def test_paging_covers_everything_once(client: Any) -> None:
    session = client.create_session()["sessionId"]
    invocation = client.create_invocation(sessionIdentifier=session)["invocationId"]
    written = {_step(client, session, invocation, text=f"s{i}") for i in range(23)}
    seen: list[str] = []
    params: dict[str, Any] = {"sessionIdentifier": session, "invocationIdentifier": invocation, "maxResults": 5}
    pages = 0
    while True:
        page = client.list_invocation_steps(**params)
        pages += 1
        seen.extend(s["invocationStepId"] for s in page["invocationStepSummaries"])
        if "nextToken" not in page:
            break
        params["nextToken"] = page["nextToken"]
    assert pages == 5 and len(seen) == 23 and set(seen) == written
    assert len(client.list_invocation_steps(sessionIdentifier=session)["invocationStepSummaries"]) == 10  # default
    with pytest.raises(ClientError) as exc:  # a token of another query is refused
        client.list_invocations(sessionIdentifier=session, nextToken=params["nextToken"] if "nextToken" in params else "x")
    assert _code(exc) == "ValidationException"


@pytest.fixture
def oldest_first() -> Iterator[Emulator]:
    with Emulator(services=[BedrockSessionsService(order="oldest_first", step_text_limit=100)]) as emulator:
        yield emulator


def test_order_option_and_step_text_limit(oldest_first: Emulator) -> None:
    client = bedrock_client(oldest_first.endpoint_url)
    session = client.create_session()["sessionId"]
    invocation = client.create_invocation(sessionIdentifier=session)["invocationId"]
    first = _step(client, session, invocation, text="a")
    second = _step(client, session, invocation, text="b")
    listed = [s["invocationStepId"] for s in client.list_invocation_steps(sessionIdentifier=session)["invocationStepSummaries"]]
    assert listed == [first, second]
    with pytest.raises(ClientError) as exc:
        _step(client, session, invocation, text="x" * 101)
    assert _code(exc) == "ValidationException" and "at most 100 bytes" in str(exc.value)
    assert oldest_first.calls()["bedrock-agent-runtime"]["PutInvocationStep"] == 3


def test_default_emulator_serves_both_services_on_one_port(agentcore_emulator: Emulator) -> None:
    assert {s.service_name for s in agentcore_emulator.services} >= {"bedrock-agentcore", "bedrock-agent-runtime"}
