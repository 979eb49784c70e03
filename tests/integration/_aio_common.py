"""What the native-async checks share: the side run in the ``s3-aio`` virtualenv
(sessions, the conformance counts, the JSON report) and the pytest side that runs them.

Imports nothing of aioboto3 at module level, so the pytest side (our own venv) can import it.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections.abc import Awaitable
from pathlib import Path
from typing import Any, Callable

CREDS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing", "region_name": "us-east-1"}
KINDS = ("aioboto3", "aiobotocore")


# -- inside the aio venv ---------------------------------------------------------------------
def session_of(kind: str) -> Any:
    """An ``aioboto3.Session`` or an aiobotocore session with the test credentials."""
    if kind == "aioboto3":
        import aioboto3

        return aioboto3.Session(**CREDS)
    from aiobotocore.session import get_session

    s = get_session()
    s.set_credentials(CREDS["aws_access_key_id"], CREDS["aws_secret_access_key"])
    s.set_config_variable("region", CREDS["region_name"])
    return s


async def conformance(label: str, make: Callable[[], Any], out: dict[str, Any]) -> None:
    """The conformance suite through the async and the sync API: ``conformance_<api>`` as
    [passed, failed, skipped] and the first failures as ``failures_<api>`` in ``out``."""
    from tests.bindings.conformance import run_conformance

    for api, sync_api in (("async", False), ("sync", True)):
        report = await run_conformance(f"{label}-{api}", make, sync_api=sync_api)
        out[f"conformance_{api}"] = [
            sum(r.tests_passed for r in report.results.values()),
            sum(r.tests_failed for r in report.results.values()),
            sum(r.tests_skipped for r in report.results.values()),
        ]
        out[f"failures_{api}"] = [f for r in report.results.values() for f in r.failures][:5]


async def alist10(saver: Any, config: Any) -> list[Any]:
    return [t async for t in saver.alist(config, limit=10)]


def report(check: Callable[[str], Awaitable[dict[str, Any]]]) -> None:
    """Run ``check`` for both session kinds and print the results as one JSON line."""

    async def main() -> None:
        print(json.dumps({kind: await check(kind) for kind in KINDS}))

    asyncio.run(main())


# -- the pytest side ----------------------------------------------------------------------------
def run_check(script: Path, endpoint: str, timeout: float) -> dict[str, Any]:
    """Run a check script in the ``s3-aio`` virtualenv (built from PyPI on first use); its report."""
    from benchmarks.peers import venvs

    python = venvs.ensure("s3-aio")
    proc = subprocess.run([str(python), str(script), endpoint], capture_output=True, text=True, timeout=timeout)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    assert proc.returncode == 0 and lines, proc.stderr[-4000:]
    results: dict[str, Any] = json.loads(lines[-1])
    return results
