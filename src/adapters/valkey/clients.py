"""Valkey clients from URLs and pools, and sync twins of valkey.asyncio clients.

URLs: ``valkey://`` and ``redis://`` (TCP), ``valkeys://`` and ``rediss://``
(TLS), ``unix://``; ``user:password@`` for ACL users, ``:password@`` for the
default user; query options as valkey-py reads them (``?ssl_ca_certs=...``).
"""

from __future__ import annotations

import inspect
from typing import Any, Optional
from urllib.parse import urlsplit

import valkey
import valkey.asyncio
import valkey.cluster
from valkey import connection as sync_connection

from ...domain.errors import ConfigurationError
from ._base import describe_client
from ._errors import redact_url, translate

__all__ = [
    "SCHEMES",
    "client_from_url",
    "client_from_pool",
    "sync_client_from_async",
    "is_async_client",
    "async_client_from_url",
    "pool_limit",
]

SCHEMES = ("valkey", "valkeys", "redis", "rediss", "unix")


def _check_url(url: Any, option: str = "url") -> str:
    if not isinstance(url, str) or not url:
        raise ConfigurationError(f"option {option} must be a Valkey URL such as valkey://host:6379, got {url!r}")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ConfigurationError(f"option {option}: malformed Valkey URL {redact_url(url)!r}: {exc}") from exc
    if parts.scheme not in SCHEMES:
        raise ConfigurationError(
            f"option {option}: unsupported scheme in {redact_url(url)!r} (use one of "
            + ", ".join(f"{s}://" for s in SCHEMES)
            + ")"
        )
    if parts.scheme != "unix" and not parts.hostname:
        raise ConfigurationError(f"option {option}: Valkey URL {redact_url(url)!r} has no host")
    del port
    return url


def client_from_url(
    url: str,
    *,
    pool_size: int = 10,
    cluster: Optional[bool] = None,
    check: bool = True,
    **kwargs: Any,
) -> Any:
    """A sync client for ``url``; a ValkeyCluster when the server runs in cluster mode.

    Args:
        url: the server URL (see module docstring).
        pool_size: most connections kept open.
        cluster: force cluster (True) or standalone (False); None asks the server.
        check: PING the server now so a wrong password or host fails here.
        kwargs: passed to valkey-py (e.g. ``socket_timeout``, ``ssl_ca_certs``).

    Raises:
        ConfigurationError: the URL is malformed.
        BackendError / TransientBackendError: the server refused or is unreachable.
    """
    _check_url(url)
    if not isinstance(pool_size, int) or isinstance(pool_size, bool) or pool_size < 1:
        raise ConfigurationError(f"option pool_size must be a positive int, got {pool_size!r}")
    kwargs.setdefault("socket_connect_timeout", 5)
    kwargs.setdefault("socket_timeout", 30)
    try:
        # A blocking pool: a caller past ``pool_size`` waits for a connection
        # instead of failing with "Too many connections".
        client = valkey.Valkey.from_pool(
            valkey.BlockingConnectionPool.from_url(url, max_connections=pool_size, **kwargs)
        )
    except ValueError as exc:
        raise ConfigurationError(f"option url: malformed Valkey URL {redact_url(url)!r}: {exc}") from exc
    where = describe_client(client)
    if cluster is None and not check:
        cluster = False
    if cluster is None:
        with translate(where, "connect"):
            info: Any = client.info("cluster")
        cluster = bool(info.get("cluster_enabled"))
    if cluster:
        client.close()
        with translate(where, "connect"):
            return valkey.cluster.ValkeyCluster.from_url(
                url, max_connections=pool_size, **kwargs
            )
    if check:
        with translate(where, "connect"):
            client.ping()
    return client


def client_from_pool(pool: Any) -> Any:
    """A sync client over a ``valkey.ConnectionPool`` (or a valkey.asyncio pool, via a sync twin)."""
    if isinstance(pool, valkey.asyncio.ConnectionPool):
        pool = _sync_pool_from_async(pool)
    if not isinstance(pool, valkey.ConnectionPool):
        raise ConfigurationError(f"from_pool needs a valkey ConnectionPool, got {type(pool).__name__}")
    return valkey.Valkey(connection_pool=pool)


def is_async_client(client: Any) -> bool:
    """Whether ``client`` is an async client (valkey.asyncio, standalone or cluster, or multiplexed)."""
    return isinstance(client, (valkey.asyncio.Valkey, valkey.asyncio.ValkeyCluster)) or getattr(
        client, "multiplexed", False
    )


_SYNC_CLASSES = {
    valkey.asyncio.connection.Connection: sync_connection.Connection,
    valkey.asyncio.connection.SSLConnection: sync_connection.SSLConnection,
    valkey.asyncio.connection.UnixDomainSocketConnection: sync_connection.UnixDomainSocketConnection,
}


def _accepted(cls: type) -> set[str]:
    names: set[str] = set()
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is not None:
            names |= set(inspect.signature(init).parameters)
    return names - {"self", "kwargs", "args"}


def _sync_pool_from_async(pool: Any) -> Any:
    async_cls = pool.connection_class
    sync_cls = next((s for a, s in _SYNC_CLASSES.items() if issubclass(async_cls, a) and async_cls is a), None)
    if sync_cls is None:
        sync_cls = next((s for a, s in _SYNC_CLASSES.items() if issubclass(async_cls, a)), sync_connection.Connection)
    accepted = _accepted(sync_cls)
    kwargs = {k: v for k, v in pool.connection_kwargs.items() if k in accepted and k not in ("retry", "connection_pool")}
    return valkey.ConnectionPool(
        connection_class=sync_cls, max_connections=pool.max_connections, **kwargs
    )


def sync_client_from_async(client: Any) -> Any:
    """A sync client to the same server(s), with the same credentials and TLS settings.

    The async savers run their use cases in worker threads over this twin, so
    the event loop never waits on a socket.
    """
    if isinstance(client, valkey.asyncio.ValkeyCluster):
        nodes = client.get_nodes() or list(client.nodes_manager.startup_nodes.values())
        kw = dict(client.connection_kwargs)
        ssl = issubclass(kw.get("connection_class", object), valkey.asyncio.connection.SSLConnection)
        accepted = _accepted(sync_connection.SSLConnection if ssl else sync_connection.Connection)
        kw = {k: v for k, v in kw.items() if k in accepted and k not in ("host", "port", "retry")}
        if ssl:
            kw["ssl"] = True
        startup = [valkey.cluster.ClusterNode(n.host, n.port) for n in nodes]
        return valkey.cluster.ValkeyCluster(startup_nodes=startup, **kw)
    if isinstance(client, valkey.asyncio.Valkey):
        if client.connection_pool.connection_kwargs.get("decode_responses"):
            raise ConfigurationError("valkey client: decode_responses must be False (checkpoints are raw bytes)")
        return valkey.Valkey(connection_pool=_sync_pool_from_async(client.connection_pool))
    return client


def _multiplexed(url: str, kwargs: dict[str, Any]) -> Any:
    """A MultiplexedValkey for ``url`` when it is in that client's scope (plain TCP) and libvalkey is installed."""
    if set(kwargs) - {"socket_timeout", "socket_connect_timeout"}:
        return None
    try:
        from .mux import MultiplexedValkey, supports
    except ImportError:  # libvalkey (the ``valkey`` extra) is missing: valkey-py's client it is
        return None
    options = dict(valkey.asyncio.connection.parse_url(url))
    if not supports(options):
        return None
    options.update(kwargs)
    return MultiplexedValkey(**options)


async def async_client_from_url(
    url: str,
    *,
    pool_size: int = 10,
    cluster: Optional[bool] = None,
    check: bool = True,
    multiplexed: bool = False,
    **kwargs: Any,
) -> Any:
    """A valkey.asyncio client for ``url``; a ValkeyCluster when the server runs in cluster mode.

    The async twin of :func:`client_from_url`: the server is asked (``INFO
    cluster``, awaited) unless ``cluster`` says which to build.

    Args:
        url: the server URL (see module docstring).
        pool_size: most connections kept open (per node on a cluster).
        cluster: force cluster (True) or standalone (False); None asks the server.
        check: reach the server now (PING, or the cluster's slot map) so a
            wrong password or host fails here.
        multiplexed: for a standalone server over plain TCP, return a
            ``MultiplexedValkey`` (one socket shared by every coroutine, commands
            pipelined per loop turn; see ``mux``) instead of valkey-py's client.
        kwargs: passed to valkey-py (e.g. ``socket_timeout``, ``ssl_ca_certs``).

    Returns:
        A ``valkey.asyncio.Valkey``, ``valkey.asyncio.ValkeyCluster`` or
        ``MultiplexedValkey``; close it with ``await client.aclose()``.

    Raises:
        ConfigurationError: the URL or ``pool_size`` is malformed.
        BackendError / TransientBackendError: the server refused or is unreachable.
    """
    _check_url(url)
    if not isinstance(pool_size, int) or isinstance(pool_size, bool) or pool_size < 1:
        raise ConfigurationError(f"option pool_size must be a positive int, got {pool_size!r}")
    kwargs.setdefault("socket_connect_timeout", 5)
    kwargs.setdefault("socket_timeout", 30)
    try:
        # A blocking pool: coroutines past ``pool_size`` wait for a connection
        # instead of failing with "Too many connections".
        client: Any = valkey.asyncio.Valkey.from_pool(
            valkey.asyncio.BlockingConnectionPool.from_url(url, max_connections=pool_size, **kwargs)
        )
    except ValueError as exc:
        raise ConfigurationError(f"option url: malformed Valkey URL {redact_url(url)!r}: {exc}") from exc
    where = describe_client(client)
    if cluster is None and not check:
        cluster = False
    try:
        if cluster is None:
            with translate(where, "connect"):
                info = await client.info("cluster")
            cluster = bool(info.get("cluster_enabled"))
        if not cluster:
            if check:
                with translate(where, "connect"):
                    await client.ping()
            if multiplexed:
                mux = _multiplexed(url, kwargs)
                if mux is not None:
                    await client.aclose()
                    return mux
            return client
    except BaseException:
        await client.aclose()
        raise
    await client.aclose()
    with translate(where, "connect"):
        nodes: Any = valkey.asyncio.ValkeyCluster.from_url(url, max_connections=pool_size, **kwargs)
    if check:
        try:
            with translate(where, "connect"):
                await nodes.initialize()
        except BaseException:
            await nodes.aclose()
            raise
    return nodes


def pool_limit(client: Any) -> Optional[int]:
    """The most connections ``client`` opens (per node on a cluster), when its pool says."""
    pool = getattr(client, "connection_pool", None)
    limit = getattr(pool, "max_connections", None) if pool is not None else getattr(client, "max_connections", None)
    return limit if isinstance(limit, int) and not isinstance(limit, bool) and limit > 0 else None
