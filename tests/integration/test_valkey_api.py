"""Both APIs on every class, actor_id rules, delete_thread scope, TTL, the container, cluster URLs."""

from __future__ import annotations

import asyncio

import pytest
import valkey
from langgraph.graph import END, START, StateGraph
from valkey.cluster import ValkeyCluster

from langgraph_checkpoint_aws import AgentCoreValkeySaver, AsyncValkeySaver, ValkeySaver, create_saver
from langgraph_checkpoint_aws.domain.errors import ConfigurationError, InvalidInputError
from tests.integration._valkey_data import config, put_step


def test_sync_saver_serves_the_async_api_without_blocking_the_loop(valkey_sync) -> None:  # type: ignore[no-untyped-def]
    saver = ValkeySaver(valkey_sync)

    async def main() -> int:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0)

        task = asyncio.create_task(ticker())
        for i in range(5):
            await saver.aput(config("async"), *_args(i))
        assert (await saver.aget_tuple(config("async"))).metadata["step"] == 4
        assert len([t async for t in saver.alist(config("async"))]) == 5
        await saver.adelete_thread("async")
        task.cancel()
        return ticks

    assert asyncio.run(main()) > 5


def _args(i: int):  # type: ignore[no-untyped-def]
    from langgraph.checkpoint.base import empty_checkpoint

    cp = empty_checkpoint()
    cp["id"] = f"1ef00000-0000-6000-8000-{i:012d}"
    cp["channel_values"] = {"x": i}
    cp["channel_versions"] = {"x": str(i)}
    return cp, {"step": i}, {"x": str(i)}


def test_async_saver_serves_sync_calls_outside_its_loop(valkey_standalone, valkey_sync) -> None:  # type: ignore[no-untyped-def]
    client = valkey.asyncio.Valkey(host="127.0.0.1", port=valkey_standalone.port)
    saver = AsyncValkeySaver(client)
    assert saver.service is None and saver.async_service is not None  # the async client as given, no sync twin
    # Before its loop is known, a sync call cannot reach the async client: a clear error.
    with pytest.raises(InvalidInputError, match="aput"):
        put_step(saver, "x", 1)

    async def inside() -> None:
        assert await saver.aget_tuple(config("x")) is None  # first async use: the saver learns its loop
        await asyncio.to_thread(put_step, saver, "x", 1)  # now a sync call from a thread is bridged
        assert (await saver.aget_tuple(config("x"))).metadata["step"] == 1
        with pytest.raises(InvalidInputError, match=r"running event loop.*aget_tuple"):
            saver.get_tuple(config("x"))
        with pytest.raises(InvalidInputError, match="alist"):
            list(saver.list(config("x")))
        # ...but from a worker thread of the same program it works.
        assert (await asyncio.to_thread(saver.get_tuple, config("x"))) is not None
        assert (await saver.aget_tuple(config("x"))) is not None
        assert len([t async for t in saver.alist(config("x"))]) == 1

        await client.aclose()

    asyncio.run(inside())
    saver.close()


async def test_async_from_conn_string_and_from_pool(valkey_standalone, valkey_sync) -> None:  # type: ignore[no-untyped-def]
    url = f"valkey://127.0.0.1:{valkey_standalone.port}"
    async with AsyncValkeySaver.from_conn_string(url, ttl_seconds=30, pool_size=4) as saver:
        await saver.aput(config("p"), *_args(1))
        assert await saver.client.ping()
    pool = valkey.asyncio.ConnectionPool.from_url(url)
    async with AsyncValkeySaver.from_pool(pool) as saver:
        assert (await saver.aget_tuple(config("p"))) is not None
    await pool.aclose()
    sync_pool = valkey.ConnectionPool.from_url(url)
    with ValkeySaver.from_pool(sync_pool, ttl_seconds=30) as saver:
        assert saver.get_tuple(config("p")) is not None
    sync_pool.disconnect()


def test_graph_end_to_end_through_both_apis(valkey_sync) -> None:  # type: ignore[no-untyped-def]
    def add_one(x: int) -> int:
        return x + 1

    builder = StateGraph(int)
    builder.add_node("add_one", add_one)
    builder.add_edge(START, "add_one")
    builder.add_edge("add_one", END)
    graph = builder.compile(checkpointer=ValkeySaver(valkey_sync))
    cfg = {"configurable": {"thread_id": "session-1"}}
    assert graph.invoke(1, cfg) == 2
    assert asyncio.run(graph.ainvoke(5, cfg)) == 6
    assert graph.get_state(cfg).values == 6
    assert len(list(graph.get_state_history(cfg))) >= 4

    agent_graph = builder.compile(checkpointer=AgentCoreValkeySaver(valkey_sync))
    acfg = {"configurable": {"thread_id": "session-1", "actor_id": "agent-456", "checkpoint_ns": ""}}
    assert agent_graph.invoke(10, acfg) == 11
    with pytest.raises(InvalidInputError, match="configurable.actor_id"):
        agent_graph.invoke(1, {"configurable": {"thread_id": "session-1"}})


def test_missing_actor_id_is_a_clear_error_and_stores_nothing(valkey_sync) -> None:  # type: ignore[no-untyped-def]
    saver = AgentCoreValkeySaver(valkey_sync)
    with pytest.raises(InvalidInputError, match=r"configurable\.actor_id.*AgentCoreValkeySaver"):
        put_step(saver, "s", 1)
    with pytest.raises(InvalidInputError, match="configurable.actor_id"):
        saver.get_tuple(config("s"))
    assert valkey_sync.dbsize() == 0
    with pytest.raises(InvalidInputError, match="default_actor_id"):
        AgentCoreValkeySaver(valkey_sync, default_actor_id="")


def test_delete_thread_scope_for_actors_and_similar_ids(valkey_sync) -> None:  # type: ignore[no-untyped-def]
    saver = AgentCoreValkeySaver(valkey_sync)
    ids = ["a", "ab", "a:b", "a*", "a{b}", "a%3A"]
    for tid in ids:
        for actor in ("alice", "bob"):
            put_step(saver, tid, 1, actor_id=actor)
            put_step(saver, tid, 1, ns="child:1", actor_id=actor)
    saver.delete_thread("a", actor_id="alice")
    assert saver.get_tuple(config("a", actor_id="alice")) is None
    assert saver.get_tuple(config("a", ns="child:1", actor_id="alice")) is None
    assert saver.get_tuple(config("a", actor_id="bob")) is not None
    saver.delete_thread("a")
    assert saver.get_tuple(config("a", actor_id="bob")) is None
    assert saver.get_tuple(config("a", ns="child:1", actor_id="bob")) is None
    for tid in ids[1:]:
        for actor in ("alice", "bob"):
            assert saver.get_tuple(config(tid, actor_id=actor)) is not None, (tid, actor)
            assert saver.get_tuple(config(tid, ns="child:1", actor_id=actor)) is not None
    assert all(k.startswith(b"agentcore:") for k in valkey_sync.keys("*"))  # test-side inspection only


def test_ttl_on_every_key_refreshed_on_write(valkey_sync) -> None:  # type: ignore[no-untyped-def]
    saver = ValkeySaver(valkey_sync, ttl=100)
    first = put_step(saver, "ttl", 1, big="b")
    put_step(saver, "ttl", 1, ns="sub")
    saver.put_writes(first, [("a", 1)], task_id="t")
    keys = [k for k in saver.repository.thread_keys("ttl") if valkey_sync.exists(k)]
    # registry, 6 keys of the root namespace (metadata copies included), ids/headers/blobs/metadata of "sub"
    assert len(keys) == 11
    for key in keys:
        assert 90 < valkey_sync.ttl(key) <= 100, key
    valkey_sync.expire(keys[1], 10)
    put_step(saver, "ttl", 2, first["configurable"]["checkpoint_id"])
    assert valkey_sync.ttl(keys[1]) > 90
    with pytest.raises(ConfigurationError, match="ttl_seconds"):
        ValkeySaver(valkey_sync, ttl=-1)


def test_container_builds_valkey_savers(valkey_standalone, valkey_sync) -> None:  # type: ignore[no-untyped-def]
    url = f"valkey://127.0.0.1:{valkey_standalone.port}"
    saver = create_saver({"backend": "valkey", "ttl_seconds": 60, "valkey": {"url": url, "pool_size": 3}})
    put_step(saver, "c", 1)
    assert saver.get_tuple(config("c")) is not None
    assert type(saver) is ValkeySaver
    saver.close()
    agent = create_saver({"backend": "valkey", "valkey": {"url": url, "layout": "agentcore", "retry_attempts": 2}})
    assert type(agent) is AgentCoreValkeySaver and agent.service.retry.attempts == 2
    with pytest.raises(InvalidInputError, match="configurable.actor_id"):
        put_step(agent, "c", 1)
    put_step(agent, "c", 1, actor_id="z")
    assert agent.repository.layout.name == "agentcore"
    agent.close()
    with pytest.raises(ConfigurationError, match="valkey.layout"):
        create_saver({"backend": "valkey", "valkey": {"url": url, "layout": "weird"}})
    with pytest.raises(ConfigurationError, match="valkey.pool_sizee"):
        create_saver({"backend": "valkey", "valkey": {"url": url, "pool_sizee": 3}})
    with pytest.raises(ConfigurationError, match="valkey.url"):
        create_saver({"backend": "valkey"})


def test_cluster_url_is_detected(valkey_cluster, valkey_cluster_sync) -> None:  # type: ignore[no-untyped-def]
    with AgentCoreValkeySaver.from_conn_string(valkey_cluster.url) as saver:
        assert isinstance(saver.client, ValkeyCluster)
        for i in range(20):  # many threads: spread over every master
            put_step(saver, f"t{i}", 1, actor_id="a")
        assert len(list(saver.list(None, filter={"step": 1}))) == 20
        saver.delete_thread("t3")
        assert len(list(saver.list(None))) == 19


def test_list_across_threads_scans_with_a_cursor_and_deletion_leaves_no_key(valkey_sync) -> None:  # type: ignore[no-untyped-def]
    saver = ValkeySaver(valkey_sync)
    for i in range(5):
        put_step(saver, f"x{i}", i)
    valkey_sync.config_resetstat()
    assert len(list(saver.list(None, limit=3))) == 3
    stats = valkey_sync.info("commandstats")
    assert "cmdstat_keys" not in stats and "cmdstat_scan" in stats  # a cursor, never KEYS
    assert "cmdstat_sadd" not in stats
    saver.delete_thread("x0")
    assert len(list(saver.list(None))) == 4
    for i in range(1, 5):
        saver.delete_thread(f"x{i}")
    assert valkey_sync.dbsize() == 0  # nothing left behind, no global structure growing per thread


async def test_agentcore_on_an_async_client_persists(valkey_standalone, valkey_sync) -> None:  # type: ignore[no-untyped-def]
    aclient = valkey.asyncio.Valkey(host="127.0.0.1", port=valkey_standalone.port)
    saver = AgentCoreValkeySaver(aclient)
    await saver.aput(config("s", actor_id="a"), *_args(1))
    assert (await saver.aget_tuple(config("s", actor_id="a"))).metadata["step"] == 1
    assert valkey_sync.exists("agentcore:session:{s}")
    saver.close()
    await aclient.aclose()
