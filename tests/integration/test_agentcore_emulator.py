"""The AgentCore Memory emulator, through boto3 clients: every operation, paging, filters, validation, faults."""

from __future__ import annotations

import copy
import datetime
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, EndpointConnectionError
from botocore.model import Shape, StructureShape

from langgraph_checkpoint_aws.emulator import AgentCoreMemoryService, Emulator
from tests.backends.agentcore import AGENTCORE_FAST_FAIL, AGENTCORE_REGION, new_memory_id

NOW = datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)
MODEL = botocore.session.get_session().get_service_model("bedrock-agentcore")
IMPLEMENTED = sorted(AgentCoreMemoryService().implemented())


def at(seconds: float) -> datetime.datetime:
    return NOW + datetime.timedelta(seconds=seconds)


def error_of(info: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    response = info.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def client_for(endpoint: str, **config: Any) -> Any:
    session = boto3.session.Session(aws_access_key_id="x", aws_secret_access_key="x", region_name=AGENTCORE_REGION)
    merged = AGENTCORE_FAST_FAIL.merge(Config(**config)) if config else AGENTCORE_FAST_FAIL
    return session.client("bedrock-agentcore", endpoint_url=endpoint, config=merged)


def put(client: Any, memory: str, text: str, *, actor: str = "actor-1", session: str = "session-1",
        when: float = 0, **extra: Any) -> dict[str, Any]:
    event = client.create_event(
        memoryId=memory, actorId=actor, sessionId=session, eventTimestamp=at(when),
        payload=[{"blob": {"text": text}}], **extra,
    )["event"]
    return event  # type: ignore[no-any-return]


def texts(events: list[dict[str, Any]]) -> list[str]:
    return [e["payload"][0]["blob"]["text"] for e in events]


def list_all(client: Any, memory: str, *, actor: str = "actor-1", session: str = "session-1",
             **extra: Any) -> list[dict[str, Any]]:
    paginator = client.get_paginator("list_events")
    pages = paginator.paginate(memoryId=memory, actorId=actor, sessionId=session, **extra)
    return [e for page in pages for e in page["events"]]


def http_call(endpoint: str, method: str, path: str, body: bytes | None = None) -> tuple[int, dict[str, str], bytes]:
    host, port = endpoint.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        connection.request(method, path, body=body, headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


# -- liveness ----------------------------------------------------------------------------------


def test_ping_answers_200(agentcore_endpoint: str) -> None:
    with urllib.request.urlopen(agentcore_endpoint + "/ping", timeout=5) as response:
        assert response.status == 200


def test_every_listed_operation_is_implemented() -> None:
    assert IMPLEMENTED == sorted([
        "BatchCreateMemoryRecords", "BatchDeleteMemoryRecords", "BatchUpdateMemoryRecords", "CreateEvent",
        "DeleteEvent", "DeleteMemoryRecord", "GetEvent", "GetMemoryRecord", "ListActors", "ListEvents",
        "ListMemoryRecords", "ListSessions", "RetrieveMemoryRecords",
    ])


# -- events ------------------------------------------------------------------------------------


def test_event_round_trip(agentcore_client: Any, agentcore_memory_id: str) -> None:
    client, memory = agentcore_client, agentcore_memory_id
    payload = [
        {"conversational": {"content": {"text": "hello"}, "role": "USER"}},
        {"blob": {"nested": [1, 2.5, None, True, "x"]}},
        {"blob": "a plain string document"},
    ]
    response = client.create_event(
        memoryId=memory, actorId="user/42:web", sessionId="s-1_a", eventTimestamp=NOW, payload=payload,
        metadata={"kind": {"stringValue": "checkpoint"}},
    )
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 201
    event = response["event"]
    assert re.fullmatch(r"[0-9]+#[a-fA-F0-9]+", event["eventId"])
    assert event["memoryId"] == memory
    assert event["actorId"] == "user/42:web" and event["sessionId"] == "s-1_a"
    assert event["eventTimestamp"] == NOW
    assert event["payload"] == payload
    assert event["metadata"] == {"kind": {"stringValue": "checkpoint"}}
    assert "branch" not in event

    got = client.get_event(memoryId=memory, actorId="user/42:web", sessionId="s-1_a", eventId=event["eventId"])
    assert got["event"] == event

    deleted = client.delete_event(memoryId=memory, actorId="user/42:web", sessionId="s-1_a", eventId=event["eventId"])
    assert deleted["eventId"] == event["eventId"]
    for call in (client.get_event, client.delete_event):
        with pytest.raises(ClientError) as info:
            call(memoryId=memory, actorId="user/42:web", sessionId="s-1_a", eventId=event["eventId"])
        assert error_of(info) == ("ResourceNotFoundException", 404)


def test_events_are_scoped_by_actor_and_session(agentcore_client: Any, agentcore_memory_id: str) -> None:
    client, memory = agentcore_client, agentcore_memory_id
    event = put(client, memory, "mine", actor="a", session="s")
    for actor, session in (("a", "other"), ("b", "s")):
        with pytest.raises(ClientError) as info:
            client.get_event(memoryId=memory, actorId=actor, sessionId=session, eventId=event["eventId"])
        assert error_of(info)[0] == "ResourceNotFoundException"
        assert list_all(client, memory, actor=actor, session=session) == []
    assert list_all(client, new_memory_id(), actor="a", session="s") == []


def test_create_event_without_session_id_generates_one(agentcore_client: Any, agentcore_memory_id: str) -> None:
    event = agentcore_client.create_event(
        memoryId=agentcore_memory_id, actorId="a", eventTimestamp=NOW, payload=[{"blob": {}}],
    )["event"]
    assert re.fullmatch(r"[a-zA-Z0-9][a-zA-Z0-9-_]*", event["sessionId"])
    assert len(list_all(agentcore_client, agentcore_memory_id, actor="a", session=event["sessionId"])) == 1


def test_memory_arn_names_the_same_memory(agentcore_client: Any, agentcore_memory_id: str) -> None:
    arn = f"arn:aws:bedrock-agentcore:us-east-1:123456789012:memory/{agentcore_memory_id}"
    event = put(agentcore_client, arn, "via arn")
    assert event["memoryId"] == agentcore_memory_id
    assert texts(list_all(agentcore_client, agentcore_memory_id)) == ["via arn"]


def test_list_events_pages_newest_first(agentcore_client: Any, agentcore_memory_id: str) -> None:
    client, memory = agentcore_client, agentcore_memory_id
    # Same timestamp for all: arrival order breaks ties.
    for i in range(25):
        put(client, memory, f"e{i:02d}")
    first = client.list_events(memoryId=memory, actorId="actor-1", sessionId="session-1", maxResults=10)
    assert texts(first["events"]) == [f"e{i:02d}" for i in range(24, 14, -1)]
    second = client.list_events(memoryId=memory, actorId="actor-1", sessionId="session-1", maxResults=10,
                                nextToken=first["nextToken"])
    third = client.list_events(memoryId=memory, actorId="actor-1", sessionId="session-1", maxResults=10,
                               nextToken=second["nextToken"])
    assert texts(second["events"]) == [f"e{i:02d}" for i in range(14, 4, -1)]
    assert texts(third["events"]) == [f"e{i:02d}" for i in range(4, -1, -1)]
    assert "nextToken" not in third
    # The default page is 20 events.
    default = client.list_events(memoryId=memory, actorId="actor-1", sessionId="session-1")
    assert len(default["events"]) == 20 and "nextToken" in default
    # boto3's paginator walks every page.
    assert len(list_all(client, memory, PaginationConfig={"PageSize": 7})) == 25


def test_list_events_orders_by_event_timestamp(agentcore_client: Any, agentcore_memory_id: str) -> None:
    for name, when in (("middle", 10), ("oldest", 0), ("newest", 20)):
        put(agentcore_client, agentcore_memory_id, name, when=when)
    assert texts(list_all(agentcore_client, agentcore_memory_id)) == ["newest", "middle", "oldest"]


def test_paging_is_stable_while_events_arrive(agentcore_client: Any, agentcore_memory_id: str) -> None:
    client, memory = agentcore_client, agentcore_memory_id
    for i in range(6):
        put(client, memory, f"old{i}", when=i)
    first = client.list_events(memoryId=memory, actorId="actor-1", sessionId="session-1", maxResults=3)
    put(client, memory, "new", when=100)
    rest = client.list_events(memoryId=memory, actorId="actor-1", sessionId="session-1", maxResults=10,
                              nextToken=first["nextToken"])
    assert texts(first["events"]) + texts(rest["events"]) == [f"old{i}" for i in range(5, -1, -1)]


def test_next_token_of_another_query_is_refused(agentcore_client: Any, agentcore_memory_id: str) -> None:
    client, memory = agentcore_client, agentcore_memory_id
    for i in range(3):
        put(client, memory, f"e{i}")
    token = client.list_events(memoryId=memory, actorId="actor-1", sessionId="session-1", maxResults=1)["nextToken"]
    for bad in (token, "not a token"):
        with pytest.raises(ClientError) as info:
            client.list_events(memoryId=memory, actorId="actor-1", sessionId="other", nextToken=bad)
        assert error_of(info) == ("ValidationException", 400)


def test_list_events_without_payloads(agentcore_client: Any, agentcore_memory_id: str) -> None:
    put(agentcore_client, agentcore_memory_id, "x", metadata={"k": {"stringValue": "v"}})
    events = agentcore_client.list_events(memoryId=agentcore_memory_id, actorId="actor-1", sessionId="session-1",
                                          includePayloads=False)["events"]
    assert events[0]["payload"] == [] and events[0]["metadata"] == {"k": {"stringValue": "v"}}


def meta(key: str, operator: str, value: str | None = None) -> dict[str, Any]:
    expression: dict[str, Any] = {"left": {"metadataKey": key}, "operator": operator}
    if value is not None:
        expression["right"] = {"metadataValue": {"stringValue": value}}
    return expression


def test_event_metadata_filters(agentcore_client: Any, agentcore_memory_id: str) -> None:
    client, memory = agentcore_client, agentcore_memory_id
    put(client, memory, "cp1", when=1, metadata={"type": {"stringValue": "checkpoint"}, "ns": {"stringValue": "a"}})
    put(client, memory, "w1", when=2, metadata={"type": {"stringValue": "writes"}})
    put(client, memory, "plain", when=3)
    put(client, memory, "cp2", when=4, metadata={"type": {"stringValue": "checkpoint"}})

    def select(*expressions: dict[str, Any]) -> list[str]:
        return texts(list_all(client, memory, filter={"eventMetadata": list(expressions)}))

    assert select(meta("type", "EQUALS_TO", "checkpoint")) == ["cp2", "cp1"]
    assert select(meta("type", "EXISTS")) == ["cp2", "w1", "cp1"]
    assert select(meta("type", "NOT_EXISTS")) == ["plain"]
    assert select(meta("type", "EQUALS_TO", "checkpoint"), meta("ns", "EXISTS")) == ["cp1"]
    assert select(meta("type", "EQUALS_TO", "nothing")) == []
    # The newest checkpoint in one call: a filter plus maxResults=1.
    newest = client.list_events(memoryId=memory, actorId="actor-1", sessionId="session-1", maxResults=1,
                                filter={"eventMetadata": [meta("type", "EQUALS_TO", "checkpoint")]})
    assert texts(newest["events"]) == ["cp2"]
    with pytest.raises(ClientError) as info:
        select(meta("type", "EQUALS_TO"))
    assert error_of(info) == ("ValidationException", 400)


def test_branches_and_parent_branches(agentcore_client: Any, agentcore_memory_id: str) -> None:
    client, memory = agentcore_client, agentcore_memory_id
    m1 = put(client, memory, "m1", when=1)
    m2 = put(client, memory, "m2", when=2)
    put(client, memory, "m3", when=3)
    b1 = put(client, memory, "b1", when=4, branch={"name": "alt", "rootEventId": m2["eventId"]})
    assert b1["branch"] == {"name": "alt", "rootEventId": m2["eventId"]}
    put(client, memory, "b2", when=5, branch={"name": "alt"})  # later events may omit the root
    put(client, memory, "c1", when=6, branch={"name": "deep", "rootEventId": b1["eventId"]})

    def on(name: str, parents: bool = False) -> list[str]:
        return texts(list_all(client, memory, filter={"branch": {"name": name, "includeParentBranches": parents}}))

    assert on("main") == ["m3", "m2", "m1"]
    assert on("alt") == ["b2", "b1"]
    assert on("alt", parents=True) == ["b2", "b1", "m2", "m1"]
    assert on("deep", parents=True) == ["c1", "b1", "m2", "m1"]
    assert on("missing") == []
    assert texts(list_all(client, memory)) == ["c1", "b2", "b1", "m3", "m2", "m1"]
    # Branch and metadata filters combine.
    put(client, memory, "b3", when=7, branch={"name": "alt"}, metadata={"k": {"stringValue": "v"}})
    both = list_all(client, memory, filter={"branch": {"name": "alt"}, "eventMetadata": [meta("k", "EXISTS")]})
    assert texts(both) == ["b3"]

    def refused(branch: dict[str, Any], session: str = "session-1") -> tuple[str, int, str | None]:
        with pytest.raises(ClientError) as info:
            put(client, memory, "bad", session=session, branch=branch)
        code, status = error_of(info)
        return code, status, info.value.response.get("reason")

    assert refused({"name": "new"})[:2] == ("ValidationException", 400)
    assert refused({"name": "alt", "rootEventId": m1["eventId"]})[:2] == ("ValidationException", 400)
    assert refused({"name": "main", "rootEventId": m1["eventId"]})[:2] == ("ValidationException", 400)
    put(client, memory, "elsewhere", session="session-2")
    assert refused({"name": "x", "rootEventId": m1["eventId"]}, session="session-2") == (
        "ValidationException", 400, "EventInOtherSession")
    assert refused({"name": "x", "rootEventId": "123#abc"})[:2] == ("ResourceNotFoundException", 404)


def test_client_token_makes_create_event_idempotent(agentcore_client: Any, agentcore_memory_id: str) -> None:
    client, memory = agentcore_client, agentcore_memory_id
    first = put(client, memory, "once", clientToken="token-1")
    again = put(client, memory, "once", clientToken="token-1")
    assert again["eventId"] == first["eventId"]
    assert len(list_all(client, memory)) == 1
    with pytest.raises(ClientError) as info:
        put(client, memory, "different", clientToken="token-1")
    assert error_of(info) == ("ValidationException", 400)
    assert info.value.response["reason"] == "IdempotentParameterMismatchException"


def test_payload_item_size_limit(agentcore_client: Any, agentcore_memory_id: str) -> None:
    with pytest.raises(ClientError) as info:
        put(agentcore_client, agentcore_memory_id, "x" * (100 * 1024))
    assert error_of(info) == ("ValidationException", 400)
    put(agentcore_client, agentcore_memory_id, "x" * (100 * 1024 - 100))


# -- sessions and actors -----------------------------------------------------------------------


def test_list_sessions_and_actors(agentcore_client: Any, agentcore_memory_id: str) -> None:
    client, memory = agentcore_client, agentcore_memory_id
    events = {sid: put(client, memory, sid, session=sid) for sid in ("s1", "s2", "s3")}
    put(client, memory, "other actor", actor="actor-2", session="s9")

    first = client.list_sessions(memoryId=memory, actorId="actor-1", maxResults=2)
    rest = client.list_sessions(memoryId=memory, actorId="actor-1", maxResults=2, nextToken=first["nextToken"])
    summaries = first["sessionSummaries"] + rest["sessionSummaries"]
    assert [s["sessionId"] for s in summaries] == ["s3", "s2", "s1"]
    assert all(s["actorId"] == "actor-1" and isinstance(s["createdAt"], datetime.datetime) for s in summaries)
    assert "nextToken" not in rest

    client.delete_event(memoryId=memory, actorId="actor-1", sessionId="s2", eventId=events["s2"]["eventId"])
    with_events = client.list_sessions(memoryId=memory, actorId="actor-1", filter={"eventFilter": "HAS_EVENTS"})
    assert [s["sessionId"] for s in with_events["sessionSummaries"]] == ["s3", "s1"]
    assert len(client.list_sessions(memoryId=memory, actorId="actor-1")["sessionSummaries"]) == 3
    assert client.list_sessions(memoryId=memory, actorId="nobody")["sessionSummaries"] == []

    actors = client.list_actors(memoryId=memory, maxResults=1)
    more = client.list_actors(memoryId=memory, maxResults=1, nextToken=actors["nextToken"])
    assert [a["actorId"] for a in actors["actorSummaries"] + more["actorSummaries"]] == ["actor-1", "actor-2"]
    assert "nextToken" not in more
    pages = client.get_paginator("list_sessions").paginate(memoryId=memory, actorId="actor-1",
                                                           PaginationConfig={"PageSize": 1})
    assert len([s for page in pages for s in page["sessionSummaries"]]) == 3


# -- memory records ----------------------------------------------------------------------------


def create_records(client: Any, memory: str, *records: tuple[str, str], **extra: Any) -> list[str]:
    response = client.batch_create_memory_records(memoryId=memory, records=[
        {"requestIdentifier": f"r{i}", "namespaces": [ns], "content": {"text": text}, "timestamp": NOW, **extra}
        for i, (ns, text) in enumerate(records)
    ])
    assert response["failedRecords"] == []
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 201
    ordered = sorted(response["successfulRecords"], key=lambda r: int(r["requestIdentifier"][1:]))
    return [r["memoryRecordId"] for r in ordered]


def test_memory_record_lifecycle(agentcore_client: Any, agentcore_memory_id: str) -> None:
    client, memory = agentcore_client, agentcore_memory_id
    first, second, third = create_records(
        client, memory, ("/users/1/facts", "likes tea"), ("/users/1/facts/work", "works nights"),
        ("/users/10", "unrelated"),
    )
    assert all(re.fullmatch(r"mem-[a-zA-Z0-9-_]*", r) and 40 <= len(r) <= 50 for r in (first, second, third))

    record = client.get_memory_record(memoryId=memory, memoryRecordId=first)["memoryRecord"]
    assert record["content"] == {"text": "likes tea"}
    assert record["namespaces"] == ["/users/1/facts"]
    assert record["memoryStrategyId"] == "custom"
    assert record["timestamp"] == NOW and isinstance(record["createdAt"], datetime.datetime)
    assert client.get_memory_record(memoryId=memory, memoryRecordId=first, namespace="/users/1/facts")
    with pytest.raises(ClientError) as info:
        client.get_memory_record(memoryId=memory, memoryRecordId=first, namespace="/users/2")
    assert error_of(info) == ("ResourceNotFoundException", 404)

    def listed(**scope: Any) -> list[str]:
        pages = client.get_paginator("list_memory_records").paginate(memoryId=memory, **scope)
        return sorted(r["memoryRecordId"] for page in pages for r in page["memoryRecordSummaries"])

    assert listed(namespace="/users/1/facts") == [first]
    assert listed(namespacePath="/users/1") == sorted([first, second])
    assert listed(namespacePath="/users/1/") == sorted([first, second])
    assert listed(namespacePath="/") == sorted([first, second, third])
    with pytest.raises(ClientError) as info:
        listed()
    assert error_of(info)[0] == "ValidationException"

    updated = client.batch_update_memory_records(memoryId=memory, records=[
        {"memoryRecordId": first, "timestamp": at(60), "content": {"text": "likes coffee"},
         "namespaces": ["/users/2"], "metadata": {"source": {"stringValue": "edit"}}},
        {"memoryRecordId": "mem-" + "0" * 36, "timestamp": NOW},
    ])
    assert [r["memoryRecordId"] for r in updated["successfulRecords"]] == [first]
    assert updated["failedRecords"][0]["status"] == "FAILED" and updated["failedRecords"][0]["errorCode"] == 404
    record = client.get_memory_record(memoryId=memory, memoryRecordId=first)["memoryRecord"]
    assert record["content"] == {"text": "likes coffee"} and record["namespaces"] == ["/users/2"]
    assert record["metadata"] == {"source": {"stringValue": "edit"}} and record["timestamp"] == at(60)

    assert client.delete_memory_record(memoryId=memory, memoryRecordId=first)["memoryRecordId"] == first
    with pytest.raises(ClientError) as info:
        client.delete_memory_record(memoryId=memory, memoryRecordId=first)
    assert error_of(info) == ("ResourceNotFoundException", 404)

    deleted = client.batch_delete_memory_records(memoryId=memory, records=[
        {"memoryRecordId": second}, {"memoryRecordId": third, "namespace": "/elsewhere"}, {"memoryRecordId": first},
    ])
    assert [r["memoryRecordId"] for r in deleted["successfulRecords"]] == [second]
    assert sorted(r["memoryRecordId"] for r in deleted["failedRecords"]) == sorted([first, third])
    assert listed(namespacePath="/") == [third]


def test_batch_create_is_idempotent_with_a_client_token(agentcore_client: Any, agentcore_memory_id: str) -> None:
    client, memory = agentcore_client, agentcore_memory_id
    request = {"memoryId": memory, "clientToken": "batch-1", "records": [
        {"requestIdentifier": "only", "namespaces": ["/n"], "content": {"text": "t"}, "timestamp": NOW}]}
    first = client.batch_create_memory_records(**request)
    again = client.batch_create_memory_records(**request)
    assert first["successfulRecords"] == again["successfulRecords"]
    assert len(client.list_memory_records(memoryId=memory, namespace="/n")["memoryRecordSummaries"]) == 1


def test_retrieve_ranks_by_word_overlap(agentcore_client: Any, agentcore_memory_id: str) -> None:
    client, memory = agentcore_client, agentcore_memory_id
    ids = create_records(
        client, memory,
        ("/prefs/u1", "the user likes green tea in the morning"),
        ("/prefs/u1", "the user likes tea"),
        ("/prefs/u1", "favourite colour is blue"),
        ("/prefs/u2", "the user likes tea a lot"),
    )

    def retrieve(query: str, criteria: dict[str, Any] | None = None, **scope: Any) -> list[dict[str, Any]]:
        response = client.retrieve_memory_records(
            memoryId=memory, searchCriteria={"searchQuery": query, **(criteria or {})},
            **(scope or {"namespace": "/prefs/u1"}),
        )
        return response["memoryRecordSummaries"]  # type: ignore[no-any-return]

    hits = retrieve("Does the user like tea?")
    assert [h["memoryRecordId"] for h in hits] == [ids[1], ids[0], ids[2]]
    scores = [h["score"] for h in hits]
    assert scores == sorted(scores, reverse=True) and scores[0] > scores[1] > scores[2] == 0.0
    assert retrieve("Does the user like tea?") == hits  # deterministic
    assert [h["memoryRecordId"] for h in retrieve("tea", criteria={"topK": 1})] == [ids[1]]
    assert {h["memoryRecordId"] for h in retrieve("tea", namespace="/prefs/u2")} == {ids[3]}
    everywhere = retrieve("tea", namespacePath="/prefs")
    assert len(everywhere) == 4
    first = client.retrieve_memory_records(memoryId=memory, namespacePath="/prefs", maxResults=3,
                                           searchCriteria={"searchQuery": "tea"})
    second = client.retrieve_memory_records(memoryId=memory, namespacePath="/prefs", maxResults=3,
                                            searchCriteria={"searchQuery": "tea"}, nextToken=first["nextToken"])
    assert [h["memoryRecordId"] for h in first["memoryRecordSummaries"] + second["memoryRecordSummaries"]] == [
        h["memoryRecordId"] for h in everywhere]


def test_record_metadata_filters(agentcore_client: Any, agentcore_memory_id: str) -> None:
    client, memory = agentcore_client, agentcore_memory_id
    response = client.batch_create_memory_records(memoryId=memory, records=[
        {"requestIdentifier": "a", "namespaces": ["/m"], "content": {"text": "a"}, "timestamp": NOW,
         "metadata": {"n": {"numberValue": 1.0}, "tags": {"stringListValue": ["x", "y"]},
                      "when": {"dateTimeValue": at(0)}, "key": {"stringValue": "ka"}}},
        {"requestIdentifier": "b", "namespaces": ["/m"], "content": {"text": "b"}, "timestamp": NOW,
         "metadata": {"n": {"numberValue": 5.0}, "tags": {"stringListValue": ["z"]},
                      "when": {"dateTimeValue": at(100)}}},
    ])
    by_request = {r["requestIdentifier"]: r["memoryRecordId"] for r in response["successfulRecords"]}

    def matching(operator: str, value: dict[str, Any] | None, key: str) -> set[str]:
        expression: dict[str, Any] = {"left": {"metadataKey": key}, "operator": operator}
        if value is not None:
            expression["right"] = {"metadataValue": value}
        records = client.list_memory_records(memoryId=memory, namespace="/m", metadataFilters=[expression])
        found = {r["memoryRecordId"] for r in records["memoryRecordSummaries"]}
        return {name for name, rid in by_request.items() if rid in found}

    assert matching("GREATER_THAN", {"numberValue": 2.0}, "n") == {"b"}
    assert matching("LESS_THAN_OR_EQUALS", {"numberValue": 1.0}, "n") == {"a"}
    assert matching("CONTAINS", {"stringValue": "y"}, "tags") == {"a"}
    assert matching("BEFORE", {"dateTimeValue": at(50)}, "when") == {"a"}
    assert matching("AFTER", {"dateTimeValue": at(50)}, "when") == {"b"}
    assert matching("EQUALS_TO", {"stringValue": "ka"}, "key") == {"a"}
    assert matching("EXISTS", None, "key") == {"a"}
    assert matching("NOT_EXISTS", None, "key") == {"b"}
    records = client.retrieve_memory_records(memoryId=memory, namespace="/m", searchCriteria={
        "searchQuery": "a", "metadataFilters": [{"left": {"metadataKey": "n"}, "operator": "GREATER_THAN",
                                                 "right": {"metadataValue": {"numberValue": 2.0}}}]})
    assert [r["memoryRecordId"] for r in records["memoryRecordSummaries"]] == [by_request["b"]]


def test_records_expire(agentcore_memory_id: str) -> None:
    clock = [1_000_000.0]
    service = AgentCoreMemoryService(clock=lambda: clock[0])
    with Emulator(services=[service]) as emulator:
        client = client_for(emulator.endpoint_url)
        ids = client.batch_create_memory_records(
            memoryId=agentcore_memory_id, recordExpirySpecification={"recordExpiryDurationDays": 31},
            records=[{"requestIdentifier": "r", "namespaces": ["/n"], "content": {"text": "t"}, "timestamp": NOW}],
        )["successfulRecords"]
        record = client.get_memory_record(memoryId=agentcore_memory_id, memoryRecordId=ids[0]["memoryRecordId"])
        assert record["memoryRecord"]["expiresAt"].timestamp() == clock[0] + 31 * 86400
        clock[0] += 31 * 86400 + 1
        with pytest.raises(ClientError) as info:
            client.get_memory_record(memoryId=agentcore_memory_id, memoryRecordId=ids[0]["memoryRecordId"])
        assert error_of(info)[0] == "ResourceNotFoundException"


# -- validation, driven by the model -----------------------------------------------------------

SAMPLES = {
    "MemoryId": "sample_memory-abcdefghij",
    "ActorId": "actor-1",
    "SessionId": "session-1",
    "EventId": "1#ab",
    "BranchName": "main",
    "MetadataKey": "key",
    "MetadataValueStringValueString": "value",
    "Namespace": "/sample",
    "MemoryRecordId": "mem-" + "0" * 36,
    "RequestIdentifier": "req-1",
    "MemoryStrategyId": "strategy-1",
    "StringValue": "value",
    "StringListMemberValue": "value",
    "NamespaceVariableName": "var",
    "NamespaceVariableValue": "value",
}


def sample(shape: Shape) -> Any:
    """A valid value of ``shape``: its required members, the first member of a union."""
    kind = shape.type_name
    if shape.name in SAMPLES:
        return SAMPLES[shape.name]
    if isinstance(shape, StructureShape):
        if shape.metadata.get("document"):
            return {"sample": True}
        if shape.is_tagged_union:
            name, member = next(iter(shape.members.items()))
            return {name: sample(member)}
        return {name: sample(shape.members[name]) for name in shape.required_members}
    if kind == "list":
        return [sample(shape.member)] * max(1, shape.metadata.get("min", 0))  # type: ignore[attr-defined]
    if kind == "map":
        return {SAMPLES.get(shape.key.name, "k"): sample(shape.value)}  # type: ignore[attr-defined]
    if kind == "string":
        if shape.enum:  # type: ignore[attr-defined]
            return shape.enum[0]  # type: ignore[attr-defined]
        return "a" * max(1, shape.metadata.get("min", 1))
    if kind in ("integer", "long"):
        return max(1, shape.metadata.get("min", 1))
    if kind in ("float", "double"):
        return 1.0
    if kind == "boolean":
        return True
    if kind == "timestamp":
        return NOW
    if kind == "blob":
        return b"x"
    raise AssertionError(f"no sample for {shape.name} ({kind})")


def valid_input(operation: str) -> dict[str, Any]:
    shape = MODEL.operation_model(operation).input_shape
    params = sample(shape)
    if operation in ("ListMemoryRecords", "RetrieveMemoryRecords"):
        params["namespace"] = "/sample"  # the one-of rule the model cannot express
    return params  # type: ignore[no-any-return]


def invalid_variants(operation: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """(description, input) pairs the model forbids: one broken constraint each."""
    shape = MODEL.operation_model(operation).input_shape
    base = valid_input(operation)

    def walk(struct: StructureShape, path: list[str]) -> Iterator[tuple[list[str], Shape]]:
        for name, member in struct.members.items():
            yield path + [name], member
            if isinstance(member, StructureShape) and not member.metadata.get("document"):
                yield from walk(member, path + [name])

    for path, member in list(walk(shape, [])):
        in_uri = member.serialization.get("location") == "uri"
        top_required = len(path) == 1 and path[0] in shape.required_members

        def variant(value: Any, *, drop: bool = False, path: list[str] = path) -> dict[str, Any]:
            params = copy.deepcopy(base)
            target = params
            for depth, key in enumerate(path[:-1]):
                target = target.setdefault(key, sample(_member_at(shape, path[: depth + 1])))
            if drop:
                target.pop(path[-1], None)
            else:
                target[path[-1]] = value
            return params

        label = ".".join(path)
        if top_required and not in_uri:
            yield f"{label} missing", variant(None, drop=True)
        meta = member.metadata
        kind = member.type_name
        if kind == "string":
            if meta.get("max") is not None:
                yield f"{label} too long", variant("a" * (meta["max"] + 1))
            if meta.get("pattern") and re.fullmatch(meta["pattern"], "!bad!") is None:
                yield f"{label} bad pattern", variant("!bad!")
            if meta.get("enum"):
                yield f"{label} not in enum", variant("NOT_AN_ENUM_VALUE")
            if not in_uri and meta.get("min", 0) > 0 and not meta.get("enum"):
                yield f"{label} too short", variant("")
        elif kind in ("integer", "long"):
            if meta.get("max") is not None:
                yield f"{label} above max", variant(meta["max"] + 1)
            if meta.get("min") is not None:
                yield f"{label} below min", variant(meta["min"] - 1)
            if not in_uri:
                yield f"{label} wrong type", variant("seven")
        elif kind == "list":
            if meta.get("max") is not None:
                yield f"{label} too many items", variant([sample(member.member)] * (meta["max"] + 1))  # type: ignore[attr-defined]
        elif kind == "map":
            if meta.get("max") is not None:
                entries = {f"k{i}": sample(member.value) for i in range(meta["max"] + 1)}  # type: ignore[attr-defined]
                yield f"{label} too many entries", variant(entries)


def _member_at(shape: StructureShape, path: list[str]) -> Shape:
    current: Shape = shape
    for key in path:
        current = current.members[key]  # type: ignore[attr-defined]
    return current


CASES = [(op, label, params) for op in IMPLEMENTED for label, params in invalid_variants(op)]


@pytest.fixture(scope="module")
def raw_client(agentcore_endpoint: str) -> Any:
    """A client that skips botocore's own parameter validation, so that the emulator sees bad input."""
    return client_for(agentcore_endpoint, parameter_validation=False)


@pytest.mark.parametrize("operation", IMPLEMENTED)
def test_valid_samples_pass_validation(raw_client: Any, operation: str) -> None:
    method = getattr(raw_client, botocore_name(operation))
    try:
        method(**valid_input(operation))
    except ClientError as exc:
        assert exc.response["Error"]["Code"] != "ValidationException", exc.response["Error"]["Message"]


@pytest.mark.parametrize(("operation", "label", "params"), CASES, ids=[f"{op}:{label}" for op, label, _ in CASES])
def test_model_constraints_are_enforced(raw_client: Any, operation: str, label: str, params: dict[str, Any]) -> None:
    with pytest.raises(ClientError) as info:
        getattr(raw_client, botocore_name(operation))(**params)
    assert error_of(info) == ("ValidationException", 400), info.value.response["Error"]
    # The message names the member that broke the rule.
    member = label.split(" ")[0]
    assert f"at '{member}" in info.value.response["Error"]["Message"], info.value.response["Error"]["Message"]


def test_the_model_driven_cases_cover_the_documented_limits() -> None:
    labels = {(op, label) for op, label, _ in CASES}
    for expected in [
        ("CreateEvent", "sessionId too long"), ("CreateEvent", "sessionId bad pattern"),
        ("CreateEvent", "actorId too long"), ("CreateEvent", "metadata too many entries"),
        ("CreateEvent", "payload too many items"), ("CreateEvent", "payload missing"),
        ("ListEvents", "maxResults above max"), ("ListEvents", "filter.eventMetadata too many items"),
        ("BatchCreateMemoryRecords", "records too many items"), ("RetrieveMemoryRecords", "searchCriteria missing"),
        ("RetrieveMemoryRecords", "searchCriteria.topK above max"),
    ]:
        assert expected in labels


def botocore_name(operation: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", operation).lower()


def test_specific_limits(raw_client: Any, agentcore_memory_id: str) -> None:
    good: dict[str, Any] = {"memoryId": agentcore_memory_id, "actorId": "a", "sessionId": "s",
                            "eventTimestamp": NOW, "payload": [{"blob": {}}]}
    bad_inputs = [
        {"sessionId": "s" * 101},
        {"sessionId": "thread:1"},
        {"actorId": "a" * 256},
        {"metadata": {f"k{i}": {"stringValue": "v"} for i in range(16)}},
        {"payload": [{"blob": {}}] * 101},
        {"payload": [{"conversational": {"content": {"text": "x"}, "role": "ROBOT"}}]},
        {"payload": [{"blob": {}, "json": {"content": {}}}]},
    ]
    for change in bad_inputs:
        with pytest.raises(ClientError) as info:
            raw_client.create_event(**{**good, **change})
        assert error_of(info) == ("ValidationException", 400), change
        assert info.value.response["reason"] == "FieldValidationFailed"
        assert info.value.response["fieldList"]
    with pytest.raises(ClientError) as info:
        raw_client.list_events(memoryId=agentcore_memory_id, actorId="a", sessionId="s", maxResults=101)
    assert "less than or equal to 100" in info.value.response["Error"]["Message"]
    missing = dict(good)
    del missing["payload"]
    with pytest.raises(ClientError) as info:
        raw_client.create_event(**missing)
    assert "Value null at 'payload'" in info.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as info:
        raw_client.create_event(**{**good, "memoryId": "short"})
    assert error_of(info) == ("ValidationException", 400)
    raw_client.create_event(**good)


def test_bad_http_requests(agentcore_endpoint: str) -> None:
    status, headers, body = http_call(agentcore_endpoint, "POST", "/memories/sample_memory-abcdefghij/events", b"{nope")
    assert status == 400 and headers["x-amzn-ErrorType"] == "ValidationException"
    assert json.loads(body)["reason"] == "CannotParse"
    status, headers, body = http_call(agentcore_endpoint, "POST", "/memories/sample_memory-abcdefghij/events", json.dumps(
        {"actorId": "a", "sessionId": "s", "eventTimestamp": "yesterday", "payload": []}).encode())
    assert status == 400 and "eventTimestamp" in json.loads(body)["message"]
    status, headers, body = http_call(agentcore_endpoint, "GET", "/no/such/route")
    assert status == 404 and json.loads(body)["__type"] == "UnknownOperationException"


def test_operations_not_emulated_answer_501(agentcore_client: Any, agentcore_memory_id: str) -> None:
    with pytest.raises(ClientError) as info:
        agentcore_client.list_memory_extraction_jobs(memoryId=agentcore_memory_id)
    assert error_of(info) == ("NotImplementedException", 501)


# -- faults and call counts --------------------------------------------------------------------


def test_throttling_fault(agentcore_faults: Emulator, agentcore_client: Any, agentcore_memory_id: str) -> None:
    emulator = agentcore_faults
    emulator.add_fault("CreateEvent", "ThrottledException", count=2)
    for _ in range(2):
        with pytest.raises(ClientError) as info:
            put(agentcore_client, agentcore_memory_id, "x")
        assert error_of(info) == ("ThrottledException", 429)
    put(agentcore_client, agentcore_memory_id, "x")
    assert emulator.faults() == []

    # botocore's standard retry mode retries the service's throttling error.
    before = emulator.call_count("CreateEvent")
    emulator.add_fault("CreateEvent", "ThrottledException", count=2)
    retrying = client_for(emulator.endpoint_url, retries={"total_max_attempts": 3, "mode": "standard"})
    put(retrying, agentcore_memory_id, "after retries")
    assert emulator.call_count("CreateEvent") - before == 3


def test_lost_response_and_idempotent_retry(agentcore_faults: Emulator, agentcore_memory_id: str) -> None:
    """A conflict answered after the write: botocore retries with the same clientToken, and one event exists."""
    emulator = agentcore_faults
    emulator.add_fault("CreateEvent", "RetryableConflictException", when="after")
    retrying = client_for(emulator.endpoint_url, retries={"total_max_attempts": 3, "mode": "standard"})
    event = put(retrying, agentcore_memory_id, "once")
    events = list_all(retrying, agentcore_memory_id)
    assert [e["eventId"] for e in events] == [event["eventId"]]


def test_faults_through_http(agentcore_faults: Emulator, agentcore_client: Any, agentcore_memory_id: str) -> None:
    endpoint = agentcore_faults.endpoint_url
    fault = {"operation": "ListEvents", "error": "ServiceException", "count": 1, "skip": 1, "message": "boom"}
    status, _, body = http_call(endpoint, "POST", "/_emulator/faults", json.dumps(fault).encode())
    assert status == 200 and json.loads(body)["faults"][0]["operation"] == "ListEvents"
    agentcore_client.list_events(memoryId=agentcore_memory_id, actorId="a", sessionId="s")  # skipped
    with pytest.raises(ClientError) as info:
        agentcore_client.list_events(memoryId=agentcore_memory_id, actorId="a", sessionId="s")
    assert error_of(info) == ("ServiceException", 500)
    assert info.value.response["Error"]["Message"] == "boom"
    agentcore_client.list_events(memoryId=agentcore_memory_id, actorId="a", sessionId="s")

    forever = {"operation": "GetEvent", "error": "AccessDeniedException", "count": None}
    http_call(endpoint, "POST", "/_emulator/faults", json.dumps([forever]).encode())
    for _ in range(3):
        with pytest.raises(ClientError) as info:
            agentcore_client.get_event(memoryId=agentcore_memory_id, actorId="a", sessionId="s", eventId="1#a")
        assert error_of(info) == ("AccessDeniedException", 403)
    status, _, body = http_call(endpoint, "GET", "/_emulator/faults")
    assert len(json.loads(body)["faults"]) == 1
    status, _, body = http_call(endpoint, "DELETE", "/_emulator/faults")
    assert status == 200 and json.loads(body)["faults"] == []
    status, _, body = http_call(endpoint, "POST", "/_emulator/faults", b'{"operation": "X", "bogus": 1}')
    assert status == 400


def test_delay_fault(agentcore_faults: Emulator, agentcore_memory_id: str) -> None:
    agentcore_faults.add_fault("ListActors", delay=1.0)
    impatient = client_for(agentcore_faults.endpoint_url, read_timeout=0.3)
    with pytest.raises(Exception, match="timeout|Read timeout"):
        impatient.list_actors(memoryId=agentcore_memory_id)


def test_call_counts(agentcore_emulator: Emulator, agentcore_client: Any, agentcore_memory_id: str) -> None:
    status, _, body = http_call(agentcore_emulator.endpoint_url, "GET", "/_emulator/calls")
    before = json.loads(body)["calls"].get("bedrock-agentcore", {})
    put(agentcore_client, agentcore_memory_id, "a")
    put(agentcore_client, agentcore_memory_id, "b")
    list_all(agentcore_client, agentcore_memory_id)
    status, _, body = http_call(agentcore_emulator.endpoint_url, "GET", "/_emulator/calls")
    after = json.loads(body)["calls"]["bedrock-agentcore"]
    assert status == 200
    assert after["CreateEvent"] - before.get("CreateEvent", 0) == 2
    assert after["ListEvents"] - before.get("ListEvents", 0) == 1


# -- reset, persistence, lifecycle -------------------------------------------------------------


def test_reset_forgets_everything(agentcore_memory_id: str) -> None:
    with Emulator() as emulator:
        client = client_for(emulator.endpoint_url)
        put(client, agentcore_memory_id, "gone soon")
        emulator.add_fault("GetEvent", "ThrottledException")
        status, _, _ = http_call(emulator.endpoint_url, "POST", "/_emulator/reset")
        assert status == 200
        assert list_all(client, agentcore_memory_id) == []
        assert emulator.faults() == []
        assert emulator.calls() == {"bedrock-agentcore": {"ListEvents": 1}}
        http_call(emulator.endpoint_url, "DELETE", "/_emulator/calls")
        assert emulator.calls() == {}


def test_state_persists_across_restarts(tmp_path: Path, agentcore_memory_id: str) -> None:
    with Emulator(data_dir=tmp_path) as emulator:
        client = client_for(emulator.endpoint_url)
        root = put(client, agentcore_memory_id, "kept", metadata={"k": {"stringValue": "v"}})
        put(client, agentcore_memory_id, "branch", branch={"name": "b", "rootEventId": root["eventId"]})
        record_ids = create_records(client, agentcore_memory_id, ("/n", "a record"))
    assert (tmp_path / "bedrock-agentcore.json").exists()
    with Emulator(data_dir=tmp_path) as emulator:
        client = client_for(emulator.endpoint_url)
        assert texts(list_all(client, agentcore_memory_id)) == ["branch", "kept"]
        put(client, agentcore_memory_id, "more", branch={"name": "b"})  # the branch is known
        got = client.get_memory_record(memoryId=agentcore_memory_id, memoryRecordId=record_ids[0])
        assert got["memoryRecord"]["content"] == {"text": "a record"}
        emulator.reset()
    with Emulator(data_dir=tmp_path) as emulator:
        assert list_all(client_for(emulator.endpoint_url), agentcore_memory_id) == []


def test_a_server_that_goes_away(agentcore_memory_id: str) -> None:
    emulator = Emulator().start()
    client = client_for(emulator.endpoint_url, connect_timeout=1)
    put(client, agentcore_memory_id, "x")
    emulator.stop()
    with pytest.raises(EndpointConnectionError):
        put(client, agentcore_memory_id, "y")
    emulator.stop()  # stopping twice is harmless


def test_concurrent_clients(agentcore_client: Any, agentcore_memory_id: str) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: put(agentcore_client, agentcore_memory_id, f"e{i}"), range(40)))
    events = list_all(agentcore_client, agentcore_memory_id)
    assert sorted(texts(events)) == sorted(f"e{i}" for i in range(40))
    assert len({e["eventId"] for e in events}) == 40


def start_process(data_dir: Path) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "langgraph_checkpoint_aws.emulator", "--host", "127.0.0.1", "--port", "0",
         "--data-dir", str(data_dir)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    found = re.fullmatch(r"listening on (http://127\.0\.0\.1:(\d+))\n", line)
    assert found, (line, process.stderr.read() if process.poll() is not None and process.stderr else "")
    return process, found.group(1)


def test_runs_as_a_module(tmp_path: Path, agentcore_memory_id: str) -> None:
    process, endpoint = start_process(tmp_path)
    try:
        with urllib.request.urlopen(endpoint + "/ping", timeout=5) as response:
            assert response.status == 200
        put(client_for(endpoint), agentcore_memory_id, "from a process")
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
    process, endpoint = start_process(tmp_path)
    try:
        assert texts(list_all(client_for(endpoint), agentcore_memory_id)) == ["from a process"]
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=20)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def test_event_order_option(agentcore_memory_id: str) -> None:
    with Emulator(services=[AgentCoreMemoryService(event_order="oldest_first")]) as emulator:
        client = client_for(emulator.endpoint_url)
        for i in range(5):
            put(client, agentcore_memory_id, f"e{i}", when=i)
        first = client.list_events(memoryId=agentcore_memory_id, actorId="actor-1", sessionId="session-1",
                                   maxResults=2)
        assert texts(first["events"]) == ["e0", "e1"]
        assert texts(list_all(client, agentcore_memory_id)) == [f"e{i}" for i in range(5)]
