"""Fixtures of the Bedrock sessions backend: the shared emulator (every emulated service on one port), a fresh registry per test."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.config import Config

from langgraph_checkpoint_aws.adapters.bedrock_sessions import BedrockSessionCheckpointRepository
from langgraph_checkpoint_aws.langgraph_bindings.bedrock_sessions import AsyncBedrockSessionSaver, BedrockSessionSaver

CHECKPOINT_REPOSITORIES = ["bedrock_sessions"]
SAVER_FACTORIES = ["bedrock_sessions", "bedrock_sessions_async", "bedrock_sessions_small_steps"]

BEDROCK_REGION = "us-east-1"
BEDROCK_FAST_FAIL = Config(retries={"total_max_attempts": 1, "mode": "standard"}, connect_timeout=2, read_timeout=20)


def bedrock_client(endpoint: str) -> Any:
    """A ``bedrock-agent-runtime`` client on the emulator (dummy credentials, no botocore retries)."""
    return boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=BEDROCK_REGION
    ).client("bedrock-agent-runtime", endpoint_url=endpoint, config=BEDROCK_FAST_FAIL)


def new_registry(client: Any) -> str:
    """A fresh registry session, so that tests sharing the emulator never see each other's threads."""
    return str(client.create_session()["sessionId"])


@pytest.fixture
def checkpoint_repository_bedrock_sessions(agentcore_endpoint: str):  # type: ignore[no-untyped-def]
    client = bedrock_client(agentcore_endpoint)
    repo = BedrockSessionCheckpointRepository(
        client=client, create_missing_sessions=True, registry_session_id=new_registry(client)
    )
    yield repo
    repo.close()


@pytest.fixture
def make_bedrock_saver(agentcore_endpoint: str):  # type: ignore[no-untyped-def]
    """Build a Bedrock session saver on the emulator (any thread id: create_missing_sessions, a fresh registry)."""

    def make(cls: Any = BedrockSessionSaver, **kwargs: Any) -> Any:
        client = bedrock_client(agentcore_endpoint)
        kwargs.setdefault("create_missing_sessions", True)
        if kwargs["create_missing_sessions"]:
            kwargs.setdefault("registry_session_id", new_registry(client))
        return cls(
            region_name=BEDROCK_REGION, endpoint_url=agentcore_endpoint, aws_access_key_id="testing",
            aws_secret_access_key="testing", **kwargs,
        )

    return make


@pytest.fixture
def saver_factory_bedrock_sessions(make_bedrock_saver):  # type: ignore[no-untyped-def]
    return lambda: make_bedrock_saver()


@pytest.fixture
def saver_factory_bedrock_sessions_async(make_bedrock_saver):  # type: ignore[no-untyped-def]
    return lambda: make_bedrock_saver(AsyncBedrockSessionSaver)


@pytest.fixture
def saver_factory_bedrock_sessions_small_steps(make_bedrock_saver):  # type: ignore[no-untyped-def]
    """Steps of at most 2 KiB: nearly every record spans several steps."""
    return lambda: make_bedrock_saver(max_step_bytes=2048)
