"""The multiplexed client: replies matched under concurrency, pipelines, auth, loss, timeouts."""

from __future__ import annotations

import asyncio
import socket
import threading
from typing import Any

import pytest
import valkey
from valkey.exceptions import AuthenticationError, ConnectionError, NoScriptError, ResponseError, TimeoutError

from langgraph_checkpoint_aws import AsyncValkeySaver
from langgraph_checkpoint_aws.adapters.valkey.clients import async_client_from_url
from langgraph_checkpoint_aws.adapters.valkey.embedded import EmbeddedValkey
from langgraph_checkpoint_aws.adapters.valkey.mux import MultiplexedValkey
from langgraph_checkpoint_aws.domain.errors import TransientBackendError
from tests.integration._valkey_data import config, put_step


@pytest.fixture
def server(tmp_path) -> Any:  # type: ignore[no-untyped-def]
    own = EmbeddedValkey(tmp_path / "valkey").start()
    yield own
    own.stop()


async def test_replies_reach_their_callers_under_concurrency(server: EmbeddedValkey) -> None:
    client = MultiplexedValkey(host="127.0.0.1", port=server.port)

    async def worker(i: int) -> None:
        for j in range(20):
            assert await client.execute_command("SET", f"k{i}", f"v{i}-{j}") == b"OK"
            assert await client.execute_command("GET", f"k{i}") == f"v{i}-{j}".encode()

    await asyncio.gather(*(worker(i) for i in range(200)))
    probe = valkey.Valkey(port=server.port)
    assert len(probe.client_list()) == 2  # 200 coroutines, one socket (plus the probe's)
    await client.aclose()
    probe.close()


async def test_pipelines_errors_and_helpers(server: EmbeddedValkey) -> None:
    client = MultiplexedValkey(host="127.0.0.1", port=server.port)
    pipe = client.pipeline(transaction=False)
    pipe.execute_command("SADD", "s", "a", "b").execute_command("HSET", "h", "f", "1")
    assert await pipe.execute() == [2, 1]
    assert await client.smembers("s") == {b"a", b"b"}
    assert await client.hmget("h", ["f", "g"]) == [b"1", None]
    assert await client.hdel("h", "f") == 1
    assert [m async for m in client.sscan_iter("s", count=1)] != []
    sha = await client.script_load("return 7")
    assert await client.execute_command("EVALSHA", sha, 0) == 7
    await client.execute_command("SCRIPT FLUSH")
    with pytest.raises(NoScriptError):
        await client.execute_command("EVALSHA", sha, 0)
    with pytest.raises(ResponseError, match="unknown command"):
        await client.execute_command("NOSUCHCOMMAND")
    failing = client.pipeline()
    failing.execute_command("SET", "x", "1").execute_command("NOSUCHCOMMAND")
    with pytest.raises(ResponseError):
        await failing.execute()
    assert await client.ping()  # the connection is still in step after error replies
    await client.aclose()


async def test_password_acl_user_and_db(tmp_path) -> None:  # type: ignore[no-untyped-def]
    server = EmbeddedValkey(tmp_path / "auth", extra_args=["--requirepass", "s3cret"]).start()
    try:
        admin = valkey.Valkey(port=server.port, password="s3cret")
        admin.acl_setuser("app", enabled=True, passwords=["+apppw"], keys=["*"], commands=["+@all"])
        client = await async_client_from_url(f"valkey://app:apppw@127.0.0.1:{server.port}/3", multiplexed=True)
        assert isinstance(client, MultiplexedValkey)
        await client.execute_command("SET", "in3", "yes")
        assert valkey.Valkey(port=server.port, password="s3cret", db=3).get("in3") == b"yes"
        await client.aclose()
        wrong = MultiplexedValkey(host="127.0.0.1", port=server.port, password="nope")
        with pytest.raises(AuthenticationError):
            await wrong.ping()
        admin.close()
    finally:
        server.stop()


async def test_a_lost_server_fails_calls_in_flight_and_the_client_reconnects(tmp_path) -> None:  # type: ignore[no-untyped-def]
    server = EmbeddedValkey(tmp_path / "lost").start()
    port = server.port
    async with AsyncValkeySaver.from_conn_string(f"valkey://127.0.0.1:{port}") as saver:
        assert isinstance(saver.client, MultiplexedValkey)
        await asyncio.to_thread(put_step, saver, "t", 1)  # sync calls from threads are bridged
        server.stop()
        with pytest.raises(TransientBackendError, match="cannot reach valkey"):
            await saver.aget_tuple(config("t"))
        server = EmbeddedValkey(tmp_path / "lost2", port=port).start()
        assert await saver.aget_tuple(config("t")) is None  # reconnected (a fresh, empty server)
        await asyncio.to_thread(put_step, saver, "t", 2)
        assert (await saver.aget_tuple(config("t"))).metadata["step"] == 2
    server.stop()


async def test_a_silent_server_times_out() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    accepted: list[socket.socket] = []
    thread = threading.Thread(target=lambda: accepted.append(listener.accept()[0]), daemon=True)
    thread.start()
    client = MultiplexedValkey(host="127.0.0.1", port=listener.getsockname()[1], socket_timeout=0.3)
    with pytest.raises(TimeoutError):
        await client.ping()
    with pytest.raises((ConnectionError, TimeoutError)):
        await client.ping()  # reconnects, and the silent server times out again
    await client.aclose()
    for s in accepted:
        s.close()
    listener.close()


async def test_tls_urls_and_clusters_keep_valkey_py(valkey_cluster) -> None:  # type: ignore[no-untyped-def]
    client = await async_client_from_url(f"valkey://127.0.0.1:{valkey_cluster.ports[0]}", multiplexed=True)
    assert isinstance(client, valkey.asyncio.ValkeyCluster)
    await client.aclose()
