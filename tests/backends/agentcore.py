"""Fixtures of the AgentCore Memory backend: one emulator per pytest worker, a fresh memory id per test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config

from langgraph_checkpoint_aws.emulator import Emulator

# The saver and repository variants arrive with the AgentCore adapters.
CHECKPOINT_REPOSITORIES: list[str] = []
SAVER_FACTORIES: list[str] = []

AGENTCORE_REGION = "us-east-1"
AGENTCORE_FAST_FAIL = Config(retries={"total_max_attempts": 1, "mode": "standard"}, connect_timeout=2, read_timeout=20)
"""No botocore retries: tests see every answer of the emulator as it is."""


def new_memory_id() -> str:
    """A memory id the service's pattern accepts (``name-XXXXXXXXXX``); the emulator creates it on first use."""
    return f"test_{uuid.uuid4().hex[:12]}-{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="session")
def agentcore_emulator() -> Iterator[Emulator]:
    """The emulator (AgentCore Memory data plane) on 127.0.0.1 and a port the OS picks."""
    with Emulator("127.0.0.1", 0) as emulator:
        yield emulator


@pytest.fixture(scope="session")
def agentcore_endpoint(agentcore_emulator: Emulator) -> str:
    """``http://127.0.0.1:PORT`` of the emulator."""
    return agentcore_emulator.endpoint_url


@pytest.fixture(scope="session")
def agentcore_session() -> boto3.session.Session:
    """A boto3 session with dummy credentials (nothing leaves 127.0.0.1)."""
    return boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=AGENTCORE_REGION
    )


@pytest.fixture(scope="session")
def agentcore_client(agentcore_session: boto3.session.Session, agentcore_endpoint: str) -> Any:
    """A ``bedrock-agentcore`` boto3 client on the emulator, without retries."""
    return agentcore_session.client("bedrock-agentcore", endpoint_url=agentcore_endpoint, config=AGENTCORE_FAST_FAIL)


@pytest.fixture
def agentcore_memory_id() -> str:
    """A fresh memory id, so that tests sharing the emulator never see each other's data."""
    return new_memory_id()


@pytest.fixture
def agentcore_faults(agentcore_emulator: Emulator) -> Iterator[Emulator]:
    """The emulator, with its injected faults cleared after the test."""
    agentcore_emulator.clear_faults()
    yield agentcore_emulator
    agentcore_emulator.clear_faults()
