"""Translation of valkey-py exceptions into the library's error hierarchy (the only place it happens)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from valkey import exceptions as vx

from ...domain.errors import (
    BackendError,
    ConfigurationError,
    PersistenceError,
    TransientBackendError,
)

__all__ = ["translate", "redact_url"]


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


@contextlib.contextmanager
def translate(where: str, what: str) -> Iterator[None]:
    """Re-raise valkey exceptions raised inside the block as PersistenceError subclasses.

    Args:
        where: the server, e.g. ``"valkey at 127.0.0.1:6379"``.
        what: the operation, e.g. ``"get_checkpoint"``.
    """
    try:
        yield
    except PersistenceError:
        raise
    except (vx.AuthenticationError, vx.AuthenticationWrongNumberOfArgsError) as exc:
        raise BackendError(
            f"{what}: authentication failed for {where} ({exc}); check the password and ACL user"
        ) from exc
    except (vx.AuthorizationError, vx.NoPermissionError) as exc:
        raise BackendError(f"{what}: {where} refused the command for this ACL user ({exc})") from exc
    except (vx.BusyLoadingError, vx.TimeoutError, vx.ConnectionError) as exc:
        raise TransientBackendError(f"{what}: cannot reach {where} ({type(exc).__name__}: {exc})") from exc
    except (vx.ClusterDownError, vx.TryAgainError, vx.SlotNotCoveredError, vx.ClusterError) as exc:
        raise TransientBackendError(f"{what}: cluster at {where} is not ready ({exc})") from exc
    except vx.ReadOnlyError as exc:
        raise TransientBackendError(f"{what}: {where} is a read-only replica right now ({exc})") from exc
    except vx.OutOfMemoryError as exc:
        raise BackendError(f"{what}: {where} is out of memory (maxmemory reached): {exc}") from exc
    except vx.ResponseError as exc:
        raise BackendError(f"{what}: {where} answered with an error: {exc}") from exc
    except vx.DataError as exc:
        raise ConfigurationError(f"{what}: invalid value sent to {where}: {exc}") from exc
    except vx.ValkeyError as exc:
        raise BackendError(f"{what}: {where} failed: {type(exc).__name__}: {exc}") from exc
    except OSError as exc:  # sockets failing below valkey-py's own wrapping
        raise TransientBackendError(f"{what}: cannot reach {where} ({exc})") from exc
