"""Savers own what they create and release it on close, never on garbage collection.

Server connections are counted with CLIENT LIST from a probe connection, so a
client, pool or thread left behind by any constructor shows up as a number.
"""

from __future__ import annotations

import asyncio
import gc
import threading
import time
from typing import Any

import pytest
import valkey
from langgraph.graph import END, START, StateGraph
from typing_extensions import TypedDict

from langgraph_checkpoint_aws import AgentCoreValkeySaver, AsyncValkeySaver, ValkeySaver, create_saver
from langgraph_checkpoint_aws.adapters.valkey.embedded import EmbeddedValkey


class State(TypedDict):
    n: int


def _builder() -> StateGraph:
    builder = StateGraph(State)
    builder.add_node("inc", lambda s: {"n": s["n"] + 1})
    builder.add_edge(START, "inc")
    builder.add_edge("inc", END)
    return builder


def _pool_threads() -> set[threading.Thread]:
    """Threads of the savers' executors (named ``lgaws-<backend>``)."""
    return {t for t in threading.enumerate() if t.name.startswith("lgaws-")}


class Probe:
    """Counts the server's client connections, its own excluded."""

    def __init__(self, port: int) -> None:
        self.client = valkey.Valkey(host="127.0.0.1", port=port)

    def count(self) -> int:
        return len(self.client.client_list()) - 1

    def settle(self, expected: int, timeout: float = 5.0) -> int:
        """The count once it reaches ``expected`` (closed sockets take a moment to leave CLIENT LIST)."""
        deadline = time.monotonic() + timeout
        while (n := self.count()) != expected and time.monotonic() < deadline:
            time.sleep(0.02)
        return n


@pytest.fixture
def server(tmp_path) -> Any:  # type: ignore[no-untyped-def]
    """A server of its own: other tests' connections would blur the counts."""
    own = EmbeddedValkey(tmp_path / "valkey").start()
    yield own
    own.stop()


@pytest.fixture
def probe(server: EmbeddedValkey) -> Any:
    p = Probe(server.port)
    yield p
    p.client.close()


def test_readme_create_saver_block_twenty_times_with_gc(server: EmbeddedValkey, probe: Probe) -> None:
    url = f"valkey://127.0.0.1:{server.port}"
    start = probe.count()
    threads = _pool_threads()
    for i in range(20):
        saver = create_saver({"backend": "valkey", "valkey": {"url": url}})
        gc.collect()  # the container is referenced by the saver: nothing is finalized under it
        graph = _builder().compile(checkpointer=saver)
        config = {"configurable": {"thread_id": f"readme-{i}"}}
        assert graph.invoke({"n": i}, config)["n"] == i + 1
        gc.collect()
        assert asyncio.run(graph.ainvoke({"n": 0}, config))["n"] == 1
        assert len(list(saver.list(config))) == 6
        saver.close()
    assert probe.settle(start) == start
    assert not _pool_threads() - threads  # the threads this test's savers started were joined on close


def test_every_constructor_returns_the_connections_it_opened(server: EmbeddedValkey, probe: Probe) -> None:
    url = f"valkey://127.0.0.1:{server.port}"
    start = probe.count()
    config = {"configurable": {"thread_id": "t", "actor_id": "a"}}

    def use(saver: Any) -> None:
        graph = _builder().compile(checkpointer=saver)
        graph.invoke({"n": 1}, config)
        asyncio.run(graph.ainvoke({"n": 1}, config))

    with ValkeySaver.from_conn_string(url, pool_size=3) as saver:
        use(saver)
        assert probe.count() > start
    assert probe.settle(start) == start

    with AgentCoreValkeySaver.from_conn_string(url) as saver:
        use(saver)
    assert probe.settle(start) == start

    pool = valkey.ConnectionPool.from_url(url, max_connections=4)
    with ValkeySaver.from_pool(pool) as saver:
        use(saver)
    assert valkey.Valkey(connection_pool=pool).ping()  # the pool is the caller's: still open
    pool.disconnect()
    assert probe.settle(start) == start

    client = valkey.Valkey.from_url(url)
    with ValkeySaver(client) as saver:
        use(saver)
    assert client.ping()  # the caller's client stays open after the saver closes
    client.close()
    assert probe.settle(start) == start

    saver = create_saver({"backend": "valkey", "valkey": {"url": url, "layout": "agentcore"}})
    assert type(saver) is AgentCoreValkeySaver
    use(saver)
    saver.close()
    assert probe.settle(start) == start


async def test_async_constructors_return_their_connections(server: EmbeddedValkey, probe: Probe) -> None:
    url = f"valkey://127.0.0.1:{server.port}"
    start = probe.count()
    config = {"configurable": {"thread_id": "t"}}
    async with AsyncValkeySaver.from_conn_string(url, pool_size=4) as saver:
        await _builder().compile(checkpointer=saver).ainvoke({"n": 1}, config)
        assert probe.count() > start
    assert probe.settle(start) == start

    pool = valkey.asyncio.ConnectionPool.from_url(url, max_connections=4)
    async with AsyncValkeySaver.from_pool(pool) as saver:
        await _builder().compile(checkpointer=saver).ainvoke({"n": 1}, config)
    await pool.disconnect()
    assert probe.settle(start) == start

    client = valkey.asyncio.Valkey.from_url(url)
    async with AsyncValkeySaver(client) as saver:
        await _builder().compile(checkpointer=saver).ainvoke({"n": 1}, config)
    assert await client.ping()  # the caller's client is used as given and stays open
    await client.aclose()
    assert probe.settle(start) == start
