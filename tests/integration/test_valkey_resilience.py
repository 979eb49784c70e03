"""A server killed and restarted mid-run, retries, concurrent writers, corrupt records."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Iterator

import pytest
import valkey

from langgraph_checkpoint_aws.adapters.valkey.embedded import EmbeddedValkey
from langgraph_checkpoint_aws.domain.errors import CorruptRecordError, TransientBackendError
from langgraph_checkpoint_aws.domain.policies import RetryPolicy
from langgraph_checkpoint_aws.langgraph_bindings.valkey import AgentCoreValkeySaver, AsyncValkeySaver, ValkeySaver
from tests.integration._valkey_data import config, put_step


@pytest.fixture
def durable(tmp_path) -> Iterator[EmbeddedValkey]:  # type: ignore[no-untyped-def]
    """A server writing an fsync'd append-only file, so a SIGKILL loses nothing acknowledged."""
    server = EmbeddedValkey(tmp_path / "data", persistent=True, extra_args=["--appendfsync", "always"]).start()
    yield server
    server.stop()


def test_killed_server_fails_clearly_and_the_thread_survives_restart(durable: EmbeddedValkey) -> None:
    client = valkey.Valkey(host="127.0.0.1", port=durable.port, socket_connect_timeout=1, socket_timeout=2)
    saver = ValkeySaver(client)
    parent = None
    for i in range(5):
        parent = put_step(saver, "run", i, parent and parent["configurable"]["checkpoint_id"], big="z" * 5000)
    saver.put_writes(parent, [("a", 1), ("b", 2)], task_id="task")

    durable.stop(kill=True)
    with pytest.raises(TransientBackendError, match=f"127.0.0.1:{durable.port}") as info:
        saver.get_tuple(config("run"))
    assert "cannot reach" in str(info.value)
    with pytest.raises(TransientBackendError):
        put_step(saver, "run", 5, parent["configurable"]["checkpoint_id"])
    with pytest.raises(TransientBackendError):  # a read error never looks like an empty thread
        list(saver.list(config("run")))

    durable.start()
    tup = saver.get_tuple(config("run"))
    assert tup is not None and tup.checkpoint["id"] == parent["configurable"]["checkpoint_id"]
    assert tup.checkpoint["channel_values"]["big"] == "z" * 5000
    assert [w[1] for w in tup.pending_writes] == ["a", "b"]
    assert len(list(saver.list(config("run")))) == 5
    put_step(saver, "run", 5, parent["configurable"]["checkpoint_id"])  # scripts reloaded after restart
    assert len(list(saver.list(config("run")))) == 6


def test_agentcore_retries_transient_errors_until_the_server_is_back(durable: EmbeddedValkey) -> None:
    sleeps: list[float] = []
    client = valkey.Valkey(host="127.0.0.1", port=durable.port, socket_connect_timeout=0.5, socket_timeout=2)
    saver = AgentCoreValkeySaver(client, retry=None)
    put_step(saver, "s", 1, actor_id="a")
    durable.stop(kill=True)

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        if len(sleeps) == 2:
            durable.start()

    saver_with_retry = AgentCoreValkeySaver(client, retry=RetryPolicy(attempts=5, sleep=sleep))
    tup = saver_with_retry.get_tuple(config("s", actor_id="a"))
    assert tup is not None and len(sleeps) == 2
    assert sleeps[1] >= sleeps[0]  # exponential backoff

    durable.stop(kill=True)
    failing = AgentCoreValkeySaver(client, retry=RetryPolicy(attempts=3, sleep=lambda s: None))
    with pytest.raises(TransientBackendError, match="cannot reach"):
        failing.get_tuple(config("s", actor_id="a"))


def test_default_agentcore_policy_retries_three_times(valkey_standalone) -> None:  # type: ignore[no-untyped-def]
    saver = AgentCoreValkeySaver(valkey.Valkey(port=valkey_standalone.port))
    assert saver.service is not None and saver.service.retry.attempts == 3
    plain = ValkeySaver(valkey.Valkey(port=valkey_standalone.port))
    assert plain.service is not None and plain.service.retry.attempts == 1


def test_many_threads_writing_distinct_and_shared_threads(valkey_sync) -> None:  # type: ignore[no-untyped-def]
    saver = ValkeySaver(valkey_sync)
    errors: list[BaseException] = []

    def worker(w: int) -> None:
        try:
            for i in range(15):
                put_step(saver, f"own-{w}", i)
                put_step(saver, "shared", w * 100 + i)
                saver.put_writes(config("shared", f"1ef00000-0000-6000-8000-{0:012d}"), [(f"ch{w}", i)], task_id=f"w{w}-{i}")
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    put_step(saver, "shared", 0)
    threads = [threading.Thread(target=worker, args=(w,)) for w in range(1, 9)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for w in range(1, 9):
        assert len(list(saver.list(config(f"own-{w}")))) == 15
    assert len(list(saver.list(config("shared")))) == 1 + 8 * 15
    first = saver.get_tuple(config("shared", f"1ef00000-0000-6000-8000-{0:012d}"))
    assert len(first.pending_writes) == 8 * 15


async def test_many_coroutines_writing_at_once(valkey_standalone) -> None:  # type: ignore[no-untyped-def]
    from tests.backends.valkey import flush_standalone

    flush_standalone(valkey_standalone)
    saver = AsyncValkeySaver(valkey.asyncio.Valkey(host="127.0.0.1", port=valkey_standalone.port))
    # Sync calls from threads are bridged onto the saver's loop; they get their
    # own pool so they never starve the loop's default executor.
    threads = concurrent.futures.ThreadPoolExecutor(max_workers=8)
    loop = asyncio.get_running_loop()

    async def writer(c: int) -> None:
        for i in range(10):
            await loop.run_in_executor(threads, put_step, saver, "together", c * 1000 + i)
            cfg = config(f"alone-{c}")
            cp, md, versions = _args(i)
            await saver.aput(cfg, cp, md, versions)

    await asyncio.gather(*(writer(c) for c in range(20)))
    assert len([t async for t in saver.alist(config("together"))]) == 200
    for c in range(20):
        assert len([t async for t in saver.alist(config(f"alone-{c}"))]) == 10
    threads.shutdown()


def _args(i: int):  # type: ignore[no-untyped-def]
    from langgraph.checkpoint.base import empty_checkpoint

    cp = empty_checkpoint()
    cp["id"] = f"1ef00000-0000-6000-8000-{i:012d}"
    cp["channel_values"] = {"x": i}
    cp["channel_versions"] = {"x": str(i)}
    return cp, {"step": i}, {"x": str(i)}


def test_a_corrupt_record_is_a_clear_error_and_loses_nothing_else(valkey_sync) -> None:  # type: ignore[no-untyped-def]
    saver = ValkeySaver(valkey_sync)
    first = put_step(saver, "c", 1)
    second = put_step(saver, "c", 2, first["configurable"]["checkpoint_id"])
    headers_key = saver.repository.thread_keys("c")[2]
    assert "headers" in headers_key
    cid = second["configurable"]["checkpoint_id"]
    valkey_sync.hset(headers_key, cid, b'16\n{"p":null,"t":5}xxxx')
    with pytest.raises(CorruptRecordError, match="failed validation") as info:
        saver.get_tuple(config("c"))
    assert cid in str(info.value)
    valkey_sync.hset(headers_key, cid, b"garbage")
    with pytest.raises(CorruptRecordError, match="not framed"):
        saver.get_tuple(config("c", cid))
    assert saver.get_tuple(config("c", first["configurable"]["checkpoint_id"])).metadata["step"] == 1
