"""Translation of valkey-py exceptions into the library's error hierarchy (the only place it happens)."""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import Callable, Literal, Optional, Union

from valkey import exceptions as vx

from ...domain.errors import (
    BackendConnectionError,
    BackendError,
    CertificateVerificationError,
    ConfigurationError,
    PersistenceError,
    TransientBackendError,
)
from .._tls import rejected_certificate

__all__ = ["translate", "translated", "redact_url"]


def redact_url(url: str) -> str:
    """The URL with its password replaced by ``***`` (safe to put in messages)."""
    from urllib.parse import urlsplit, urlunsplit

    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
        user = parts.username or ""
        host = parts.hostname or ""
        if parts.port is not None:
            host = f"{host}:{parts.port}"
        return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))
    except ValueError:
        return "<unparseable url>"




def translated(exc: BaseException, where: str, what: str) -> Optional[PersistenceError]:
    """The PersistenceError that stands for a valkey-py (or socket) exception; None for any other.

    Args:
        exc: the exception raised by valkey-py.
        where: the server, e.g. ``"valkey at 127.0.0.1:6379"``.
        what: the operation, e.g. ``"get_checkpoint"``.
    """
    rejected = rejected_certificate(exc)
    if rejected is not None:
        # Before the connection errors: valkey-py reports it as one, but no retry can fix it.
        return CertificateVerificationError(
            f"{what}: TLS certificate verification failed for {where}: {rejected}; check ssl_ca_certs "
            "(the CA that signed the server's certificate) and that the URL's host is named in it"
        )
    if isinstance(exc, (vx.AuthenticationError, vx.AuthenticationWrongNumberOfArgsError)):
        return BackendError(f"{what}: authentication failed for {where} ({exc}); check the password and ACL user")
    if isinstance(exc, (vx.AuthorizationError, vx.NoPermissionError)):
        return BackendError(f"{what}: {where} refused the command for this ACL user ({exc})")
    if isinstance(exc, vx.BusyLoadingError):
        return TransientBackendError(f"{what}: {where} is still loading its dataset ({exc})")
    if isinstance(exc, (vx.TimeoutError, vx.ConnectionError)):
        return BackendConnectionError(f"{what}: cannot reach {where} ({type(exc).__name__}: {exc})")
    if isinstance(exc, (vx.ClusterDownError, vx.TryAgainError, vx.SlotNotCoveredError, vx.ClusterError)):
        return TransientBackendError(f"{what}: cluster at {where} is not ready ({exc})")
    if isinstance(exc, vx.ReadOnlyError):
        return TransientBackendError(f"{what}: {where} is a read-only replica right now ({exc})")
    if isinstance(exc, vx.OutOfMemoryError):
        return BackendError(f"{what}: {where} is out of memory (maxmemory reached): {exc}")
    if isinstance(exc, vx.ResponseError):
        return BackendError(f"{what}: {where} answered with an error: {exc}")
    if isinstance(exc, vx.DataError):
        return ConfigurationError(f"{what}: invalid value sent to {where}: {exc}")
    if isinstance(exc, vx.ValkeyError):
        return BackendError(f"{what}: {where} failed: {type(exc).__name__}: {exc}")
    if isinstance(exc, vx.ValkeyClusterException):
        # Not a ValkeyError: raised when no startup node answers (the cause is the connection error).
        if isinstance(exc.__cause__, (vx.ConnectionError, vx.TimeoutError, OSError)) or "cannot be connected" in str(exc):
            return BackendConnectionError(f"{what}: cannot reach {where} ({exc})")
        return BackendError(f"{what}: {where} failed: {type(exc).__name__}: {exc}")
    # Sockets failing below valkey-py's own wrapping; asyncio's timeout is no OSError before 3.11.
    if isinstance(exc, (OSError, asyncio.TimeoutError)):
        return BackendConnectionError(f"{what}: cannot reach {where} ({str(exc) or type(exc).__name__})")
    return None


class _Translation:
    """The context manager behind :func:`translate` (a class: cheaper than a generator per call)."""

    __slots__ = ("_where", "_what")

    def __init__(self, where: Union[str, Callable[[], str]], what: str) -> None:
        self._where = where
        self._what = what

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, exc_type: Optional[type[BaseException]], exc: Optional[BaseException], tb: Optional[TracebackType]
    ) -> Literal[False]:
        if exc is None or isinstance(exc, PersistenceError):
            return False
        where = self._where if isinstance(self._where, str) else self._where()
        error = translated(exc, where, self._what)
        if error is None:
            return False
        raise error from exc

    async def __aenter__(self) -> None:
        return None

    async def __aexit__(
        self, exc_type: Optional[type[BaseException]], exc: Optional[BaseException], tb: Optional[TracebackType]
    ) -> Literal[False]:
        return self.__exit__(exc_type, exc, tb)


def translate(where: Union[str, Callable[[], str]], what: str) -> _Translation:
    """Re-raise valkey exceptions raised inside the block as PersistenceError subclasses.

    Works as ``with`` (around sync calls or an ``await``) and as ``async with``.

    Args:
        where: the server, e.g. ``"valkey at 127.0.0.1:6379"``, or a callable
            returning it: it is called only when an error is translated, so a
            hot path never pays for describing the client.
        what: the operation, e.g. ``"get_checkpoint"``.
    """
    return _Translation(where, what)
