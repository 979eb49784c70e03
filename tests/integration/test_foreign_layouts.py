"""A saver pointed at a published package's data raises ForeignLayoutError naming the migration, never an empty thread."""

from __future__ import annotations

from typing import Any

import pytest
import valkey

from langgraph_checkpoint_aws import DynamoDBSaver, ForeignLayoutError, ValkeySaver
from tests.integration.test_legacy_readers import fixture, load_dynamodb, load_valkey


def test_valkey_saver_refuses_a_thread_stored_by_the_published_saver(valkey_sync: valkey.Valkey) -> None:
    load_valkey(fixture("aws_valkey"), valkey_sync)
    saver = ValkeySaver(valkey_sync)
    with pytest.raises(ForeignLayoutError, match="langgraph-aws migrate .*langgraph-checkpoint-aws-1.2"):
        saver.get_tuple({"configurable": {"thread_id": "alpha"}})
    with pytest.raises(ForeignLayoutError, match="thread 'alpha'"):
        list(saver.list({"configurable": {"thread_id": "alpha"}}))
    # A thread the published saver never wrote is simply new.
    assert saver.get_tuple({"configurable": {"thread_id": "brand-new"}}) is None


async def test_the_async_api_refuses_it_too(valkey_sync: valkey.Valkey) -> None:
    load_valkey(fixture("aws_valkey"), valkey_sync)
    saver = ValkeySaver(valkey_sync)
    with pytest.raises(ForeignLayoutError):
        await saver.aget_tuple({"configurable": {"thread_id": "alpha"}})


def test_valkey_saver_on_its_own_data_never_probes_per_thread(valkey_sync: valkey.Valkey) -> None:
    saver = ValkeySaver(valkey_sync)
    assert saver.get_tuple({"configurable": {"thread_id": "x"}}) is None  # one sample of the keyspace
    calls = {"n": 0}
    original = valkey_sync.execute_command

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        return original(*args, **kwargs)

    valkey_sync.execute_command = counting  # type: ignore[method-assign]
    try:
        for i in range(5):
            assert saver.get_tuple({"configurable": {"thread_id": f"new-{i}"}}) is None
    finally:
        valkey_sync.execute_command = original  # type: ignore[method-assign]
    assert calls["n"] == 5  # one read each: no probe once the sample found no published data


def test_dynamodb_saver_refuses_the_published_table(
    dynamodb_client: Any, s3_client: Any, moto_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    table, _ = load_dynamodb(fixture("aws_dynamodb"), dynamodb_client, s3_client)
    saver = DynamoDBSaver(table_name=table, region_name="us-east-1", endpoint_url=moto_endpoint)
    try:
        with pytest.raises(ForeignLayoutError, match="langgraph-aws migrate"):
            saver.get_tuple({"configurable": {"thread_id": "alpha"}})
        assert saver.get_tuple({"configurable": {"thread_id": "brand-new"}}) is None
    finally:
        saver.close()
