"""AsyncS3CheckpointSaver on an aioboto3 and an aiobotocore session (the native async path).

aiobotocore pins an older botocore than this environment's boto3, so the
native path runs in its own virtualenv (``.bench/venvs/s3-aio``: aioboto3 and
this package, built on first use by ``benchmarks/peers/venvs.py``), against
this session's moto server: ``_s3_aio_check.py`` runs there and reports.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.integration._aio_common import run_check

CHECK = Path(__file__).with_name("_s3_aio_check.py")


@pytest.fixture(scope="module")
def aio_results(moto_endpoint: str) -> dict[str, Any]:
    return run_check(CHECK, moto_endpoint, 900)


@pytest.mark.timeout(1200)
@pytest.mark.parametrize("kind", ["aioboto3", "aiobotocore"])
def test_native_async_session(aio_results: dict[str, Any], kind: str) -> None:
    got = aio_results[kind]
    assert got["native"] is True
    assert got["conformance_async"] == [81, 0, 0], got["failures_async"]
    assert got["conformance_sync"] == [81, 0, 0], got["failures_sync"]
    assert got["concurrent_ok"] and got["sync_bridge_messages"] == 12
    assert got["rounds"]["get_tuple"] <= 2 and got["rounds"]["list10"] <= 3
    assert got["sync_reads_async"]
    assert "no-such-bucket-aio" in got["missing_bucket"] and "does not exist" in got["missing_bucket"]
