"""A multiplexed async Valkey client: one socket, commands of every coroutine pipelined.

Why: on a small machine the client's CPU per round trip, not the server,
caps throughput. valkey-py's asyncio client takes a pooled connection, arms a
timeout and parses through streams for every command. This client keeps one
connection per server, packs commands in C (libvalkey), writes all the
commands issued during one turn of the event loop in one ``send``, and
matches replies to callers in order from one C reader. Many coroutines thus
share one socket and one system call per batch, the way auto-pipelining
clients do.

Scope: a standalone server over TCP (``valkey://``, ``redis://``) with
optional ``username``/``password``/``db``. The few methods the checkpoint
repositories use are provided with valkey-py's return types. For TLS, unix
sockets and clusters, ``async_client_from_url`` builds a valkey-py client
instead. The client is created by the library (``from_conn_string``) and
closed with ``aclose()``; a client a user passes in is always used as given.

Failure handling: a lost connection fails every command in flight with
valkey's ``ConnectionError`` (the repository turns it into
``TransientBackendError``, which the RetryPolicy may retry) and the next
command reconnects. A server that stops answering for ``socket_timeout``
seconds closes the connection the same way.
"""

from __future__ import annotations

import asyncio
import collections
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any, Optional

import libvalkey
from valkey.exceptions import (
    AuthenticationError,
    ConnectionError,
    NoScriptError,
    ResponseError,
    TimeoutError,
)

__all__ = ["MultiplexedValkey", "supports"]

_OK = b"OK"


def supports(options: dict[str, Any]) -> bool:
    """Whether parsed URL ``options`` (valkey's ``parse_url``) are within this client's scope."""
    return "connection_class" not in options and "host" in options


def _pack(args: Sequence[Any]) -> bytes:
    """One command in RESP, in C; ``"SCRIPT LOAD"`` style names split as valkey-py does."""
    name = args[0]
    if isinstance(name, str) and " " in name:
        args = (*name.split(), *args[1:])
    packed: bytes = libvalkey.pack_command(tuple(args))
    return packed


def _reply_error(message: str) -> Exception:
    if message.startswith("NOSCRIPT"):
        return NoScriptError(message)
    if message.startswith(("WRONGPASS", "NOAUTH", "NOPERM")):
        return AuthenticationError(message)
    return ResponseError(message)


class _Protocol(asyncio.Protocol):
    """One connection: writes are batched per loop turn, replies resolve futures in order."""

    def __init__(self, loop: asyncio.AbstractEventLoop, timeout: Optional[float]) -> None:
        self._loop = loop
        self._timeout = timeout
        self._reader = libvalkey.Reader(replyError=_reply_error)
        self._waiting: collections.deque[tuple[asyncio.Future[Any], int]] = collections.deque()
        self._outbox: list[bytes] = []
        self._transport: Optional[asyncio.Transport] = None
        self._lost: Optional[BaseException] = None
        self._progress = time.monotonic()
        self._watchdog: Optional[asyncio.TimerHandle] = None
        self._bucket: list[Any] = []  # replies received so far for the pipeline at the head

    # -- asyncio.Protocol -----------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        self._progress = time.monotonic()
        reader = self._reader
        reader.feed(data)
        waiting = self._waiting
        while True:
            reply = reader.gets()
            if reply is False:
                return
            if not waiting:
                self._fail(ConnectionError("valkey sent a reply nobody asked for"))
                return
            future, count = waiting[0]
            if count == 1:
                waiting.popleft()
                if not future.done():
                    future.set_result(reply)
            else:
                # A pipeline: its replies arrive one by one and are answered as one list.
                self._bucket.append(reply)
                if len(self._bucket) == count:
                    waiting.popleft()
                    bucket, self._bucket = self._bucket, []
                    if not future.done():
                        future.set_result(bucket)

    def connection_lost(self, exc: Optional[BaseException]) -> None:
        self._fail(ConnectionError(f"connection to valkey lost ({exc or 'closed by the server'})"))

    # -- commands -------------------------------------------------------------------------
    @property
    def alive(self) -> bool:
        return self._lost is None and self._transport is not None and not self._transport.is_closing()

    def submit(self, packed: bytes, count: int) -> asyncio.Future[Any]:
        """Queue ``count`` packed commands; the future gets one reply (or a list for count > 1)."""
        if self._lost is not None:
            raise ConnectionError(str(self._lost))
        future: asyncio.Future[Any] = self._loop.create_future()
        idle = not self._waiting
        if idle:
            self._progress = time.monotonic()
        self._waiting.append((future, count))
        if idle and not self._outbox and self._transport is not None:
            # Nothing in flight: send now rather than a loop turn later (latency at low concurrency).
            self._transport.write(packed)
        else:
            # Commands already in flight: gather what this loop turn issues into one send.
            if not self._outbox:
                self._loop.call_soon(self._flush)
            self._outbox.append(packed)
        if self._timeout is not None and self._watchdog is None:
            self._watchdog = self._loop.call_later(self._timeout, self._watch)
        return future

    def _flush(self) -> None:
        outbox, self._outbox = self._outbox, []
        if outbox and self._transport is not None and not self._transport.is_closing():
            self._transport.write(b"".join(outbox))

    def _watch(self) -> None:
        self._watchdog = None
        if not self._waiting or self._timeout is None:
            return
        idle = time.monotonic() - self._progress
        if idle >= self._timeout:
            self._fail(TimeoutError(f"valkey did not answer for {self._timeout:g} s"))
            return
        self._watchdog = self._loop.call_later(self._timeout - idle, self._watch)

    def _fail(self, exc: BaseException) -> None:
        if self._lost is None:
            self._lost = exc
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None
        while self._waiting:
            future, _ = self._waiting.popleft()
            if not future.done():
                future.set_exception(exc if isinstance(exc, (ConnectionError, TimeoutError)) else ConnectionError(str(exc)))
        if self._transport is not None and not self._transport.is_closing():
            self._transport.abort()

    def close(self) -> None:
        self._fail(ConnectionError("client closed"))


class _Pipeline:
    """Commands sent together and answered together (no MULTI: ``transaction=False``)."""

    def __init__(self, client: MultiplexedValkey) -> None:
        self._client = client
        self._commands: list[Sequence[Any]] = []

    def execute_command(self, *args: Any) -> _Pipeline:
        self._commands.append(args)
        return self

    async def execute(self) -> list[Any]:
        if not self._commands:
            return []
        replies: list[Any] = await self._client._submit(self._commands)
        for reply in replies:
            if isinstance(reply, Exception):
                raise reply
        return replies


class MultiplexedValkey:
    """An async client for one standalone server: every coroutine's commands share one socket.

    Args:
        host: server host.
        port: server port.
        username: ACL user (None: the default user).
        password: password (None: no AUTH).
        db: database number.
        socket_connect_timeout: seconds to connect.
        socket_timeout: seconds without any reply, while commands wait, before the
            connection is dropped (None: wait forever).
    """

    def __init__(
        self,
        *,
        host: str = "localhost",
        port: int = 6379,
        username: Optional[str] = None,
        password: Optional[str] = None,
        db: int = 0,
        socket_connect_timeout: Optional[float] = 5.0,
        socket_timeout: Optional[float] = 30.0,
        **_ignored: Any,
    ) -> None:
        self.connection_kwargs = {"host": host, "port": port, "db": db, "username": username}
        self._host, self._port = host, port
        self._username, self._password, self._db = username, password, int(db or 0)
        self._connect_timeout = socket_connect_timeout
        self._timeout = socket_timeout
        self._protocol: Optional[_Protocol] = None
        self._connecting: Optional[asyncio.Future[_Protocol]] = None
        self._closed = False

    # -- the connection ----------------------------------------------------------------------
    async def _connection(self) -> _Protocol:
        protocol = self._protocol
        if protocol is not None and protocol.alive:
            return protocol
        if self._closed:
            raise ConnectionError("client closed")
        if self._connecting is None:
            self._connecting = asyncio.ensure_future(self._connect())
        connecting = self._connecting
        try:
            return await asyncio.shield(connecting)
        finally:
            if connecting.done():
                self._connecting = None

    async def _connect(self) -> _Protocol:
        loop = asyncio.get_running_loop()
        protocol = _Protocol(loop, self._timeout)
        try:
            await asyncio.wait_for(
                loop.create_connection(lambda: protocol, self._host, self._port), self._connect_timeout
            )
        except asyncio.TimeoutError as exc:
            raise TimeoutError(f"Timeout connecting to {self._host}:{self._port}") from exc
        except OSError as exc:
            raise ConnectionError(f"Error connecting to {self._host}:{self._port}: {exc}") from exc
        handshake: list[Sequence[Any]] = []
        if self._password is not None:
            handshake.append(("AUTH", self._username, self._password) if self._username else ("AUTH", self._password))
        if self._db:
            handshake.append(("SELECT", self._db))
        if handshake:
            await self._handshake(protocol, handshake)
        self._protocol = protocol
        return protocol

    @staticmethod
    async def _handshake(protocol: _Protocol, commands: list[Sequence[Any]]) -> list[Any]:
        packed = b"".join(_pack(c) for c in commands)
        raw = await protocol.submit(packed, len(commands))
        replies = raw if len(commands) > 1 else [raw]
        for reply in replies:
            if isinstance(reply, Exception):
                protocol.close()
                raise reply
        return replies

    async def _submit(self, commands: Sequence[Sequence[Any]]) -> Any:
        protocol = await self._connection()
        packed = b"".join(_pack(c) for c in commands)
        raw = await protocol.submit(packed, len(commands))
        return raw if len(commands) > 1 else [raw]

    # -- the valkey-py methods the repositories use -------------------------------------------
    async def execute_command(self, *args: Any) -> Any:
        """Send one command; error replies raise valkey's exceptions."""
        protocol = self._protocol
        if protocol is None or not protocol.alive:
            protocol = await self._connection()
        reply = await protocol.submit(_pack(args), 1)
        if isinstance(reply, Exception):
            raise reply
        return reply

    def pipeline(self, transaction: bool = False) -> _Pipeline:
        """Commands sent in one batch (never a MULTI transaction)."""
        if transaction:
            raise ValueError("MultiplexedValkey pipelines are not transactions")
        return _Pipeline(self)

    async def ping(self) -> bool:
        return bool(await self.execute_command("PING") in (b"PONG", "PONG"))

    async def hmget(self, key: Any, keys: Sequence[Any]) -> list[Any]:
        return list(await self.execute_command("HMGET", key, *keys))

    async def hdel(self, key: Any, *fields: Any) -> int:
        return int(await self.execute_command("HDEL", key, *fields))

    async def smembers(self, key: Any) -> set[Any]:
        return set(await self.execute_command("SMEMBERS", key))

    async def script_load(self, script: str) -> str:
        sha = await self.execute_command("SCRIPT", "LOAD", script)
        return sha.decode() if isinstance(sha, bytes) else str(sha)

    async def sscan_iter(self, name: Any, match: Optional[str] = None, count: Optional[int] = None) -> AsyncIterator[Any]:
        cursor: Any = b"0"
        while True:
            args: list[Any] = ["SSCAN", name, cursor]
            if match is not None:
                args += ["MATCH", match]
            if count is not None:
                args += ["COUNT", count]
            cursor, members = await self.execute_command(*args)
            for member in members:
                yield member
            if cursor in (b"0", 0, "0"):
                return

    async def scan_iter(self, match: Optional[str] = None, count: Optional[int] = None) -> AsyncIterator[Any]:
        cursor: Any = b"0"
        while True:
            args: list[Any] = ["SCAN", cursor]
            if match is not None:
                args += ["MATCH", match]
            if count is not None:
                args += ["COUNT", count]
            cursor, keys = await self.execute_command(*args)
            for key in keys:
                yield key
            if cursor in (b"0", 0, "0"):
                return

    async def aclose(self) -> None:
        """Close the connection; commands in flight fail with ConnectionError."""
        self._closed = True
        if self._protocol is not None:
            self._protocol.close()
            self._protocol = None
            # The transport closes its socket on the loop's next turn: let it, so
            # the connection is gone when aclose() returns.
            await asyncio.sleep(0)

    multiplexed = True
    """Commands of every caller share one connection (no pool to size)."""

    def get_connection_kwargs(self) -> dict[str, Any]:
        """Where this client connects (for error messages); never the password."""
        return dict(self.connection_kwargs)

    def __repr__(self) -> str:
        return f"MultiplexedValkey<{self._host}:{self._port}/{self._db}>"
