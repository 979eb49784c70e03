"""AsyncBedrockSessionSaver on an aioboto3 and an aiobotocore session (the native async path).

aiobotocore pins an older botocore than this environment's boto3, so the
native path runs in its own virtualenv (``.bench/venvs/s3-aio``: aioboto3,
langgraph, the conformance suite and this package, built on first use by
``benchmarks/peers/venvs.py``), against this session's emulator:
``_bedrock_sessions_aio_check.py`` runs there and reports.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.integration._aio_common import run_check

CHECK = Path(__file__).with_name("_bedrock_sessions_aio_check.py")


@pytest.fixture(scope="module")
def aio_results(agentcore_endpoint: str) -> dict[str, Any]:
    return run_check(CHECK, agentcore_endpoint, 1500)


@pytest.mark.timeout(1800)
@pytest.mark.parametrize("kind", ["aioboto3", "aiobotocore"])
def test_native_async_session(aio_results: dict[str, Any], kind: str) -> None:
    got = aio_results[kind]
    assert got["native"] is True and got["client_kind"] == ["AsyncBedrockSessionCheckpointRepository"]
    assert got["conformance_async"] == [81, 0, 0], got["failures_async"]
    assert got["conformance_sync"] == [81, 0, 0], got["failures_sync"]


@pytest.mark.timeout(1800)
@pytest.mark.parametrize("kind", ["aioboto3", "aiobotocore"])
def test_native_session_client_and_default_mode(aio_results: dict[str, Any], kind: str) -> None:
    got = aio_results[kind]
    assert got["created_status"] == "ACTIVE" and got["session_metadata"] == {"user": kind}
    assert got["default_mode_step"] == 0 and got["steps_listed"] >= 1
    assert "session_client.create_session()" in got["unknown_session"]
    assert got["client_unknown_session"] == "NotFoundError"
    assert got["fan_out"] == [f"w{i}!" for i in range(5)]
    assert got["deleted"] == "gone"


@pytest.mark.timeout(1800)
@pytest.mark.parametrize("kind", ["aioboto3", "aiobotocore"])
def test_native_matches_sync_repository(aio_results: dict[str, Any], kind: str) -> None:
    got = aio_results[kind]
    assert got["sync_bridge_step"] == 29
    assert got["sync_reads_async"] is True
    # The same plans: the same calls in the same rounds, and a bounded number of them.
    assert got["rounds"]["async"] == got["rounds"]["sync"]
    for op in ("get_tuple", "list10"):
        assert len(got["rounds"]["async"][op]) <= 4, got["rounds"]["async"][op]
