"""Fixtures of the AgentCore Memory backend: one emulator per pytest worker, a fresh memory id per test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config

from langgraph_checkpoint_aws.adapters.agentcore import AgentCoreCheckpointRepository
from langgraph_checkpoint_aws.emulator import Emulator

CHECKPOINT_REPOSITORIES = ["agentcore"]
SAVER_FACTORIES = ["agentcore", "agentcore_split"]
STORE_FACTORIES = ["agentcore"]

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


@pytest.fixture
def checkpoint_repository_agentcore(agentcore_client: Any, agentcore_memory_id: str) -> AgentCoreCheckpointRepository:
    return AgentCoreCheckpointRepository(client=agentcore_client, memory_id=agentcore_memory_id)


@pytest.fixture
def make_agentcore_saver(agentcore_session: boto3.session.Session, agentcore_endpoint: str):  # type: ignore[no-untyped-def]
    """Build an AgentCoreMemorySaver on a fresh memory id of the emulator."""
    from langgraph_checkpoint_aws import AgentCoreMemorySaver

    def make(memory_id: str | None = None, **kwargs: Any) -> Any:
        return AgentCoreMemorySaver(
            memory_id or new_memory_id(),
            region_name=AGENTCORE_REGION,
            session=agentcore_session,
            endpoint_url=agentcore_endpoint,
            **kwargs,
        )

    return make


@pytest.fixture
def saver_factory_agentcore(make_agentcore_saver):  # type: ignore[no-untyped-def]
    return lambda: make_agentcore_saver()


@pytest.fixture
def saver_factory_agentcore_split(agentcore_session: boto3.session.Session, agentcore_endpoint: str):  # type: ignore[no-untyped-def]
    """One payload item per event, through create_saver: checkpoints over 96,000 characters span events."""
    from langgraph_checkpoint_aws import create_saver

    def make() -> Any:
        return create_saver({
            "backend": "agentcore",
            "agentcore": {
                "memory_id": new_memory_id(),
                "session": agentcore_session,
                "endpoint_url": agentcore_endpoint,
                "region_name": AGENTCORE_REGION,
                "items_per_event": 1,
            },
        })

    return make


@pytest.fixture
def store_factory_agentcore(agentcore_session: boto3.session.Session, agentcore_endpoint: str):  # type: ignore[no-untyped-def]
    """``make(clock, index=None, ttl=None)``: an AgentCoreMemoryStore on a fresh memory id whose use cases read ``clock``."""
    from langgraph_checkpoint_aws import AgentCoreMemoryStore

    def make(clock, *, index=None, ttl=None, **kwargs):  # type: ignore[no-untyped-def]
        store = AgentCoreMemoryStore(
            memory_id=new_memory_id(),
            region_name=AGENTCORE_REGION,
            session=agentcore_session,
            endpoint_url=agentcore_endpoint,
            ttl=ttl,
            **kwargs,
        )
        store.service.clock = clock
        return store

    return make
