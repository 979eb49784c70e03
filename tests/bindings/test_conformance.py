"""The official conformance suite (8 groups, 81 tests) on every saver, through both APIs."""

from __future__ import annotations

import pytest

from tests.bindings.conformance import assert_all_passed, run_conformance


@pytest.mark.parametrize("sync_api", [False, True], ids=["async-api", "sync-api"])
async def test_conformance(saver_factory, sync_api: bool) -> None:  # type: ignore[no-untyped-def]
    report = await run_conformance("saver", saver_factory, sync_api=sync_api)
    assert_all_passed(report)
