"""The one error hierarchy of the library; adapters translate vendor errors into it."""

from __future__ import annotations

__all__ = [
    "PersistenceError",
    "NotFoundError",
    "ConflictError",
    "PayloadTooLargeError",
    "CorruptRecordError",
    "ConfigurationError",
    "InvalidInputError",
    "BackendError",
    "TransientBackendError",
    "BackendConnectionError",
    "CertificateVerificationError",
    "UnsupportedOperationError",
]


class PersistenceError(Exception):
    """Root of every error raised by this library."""


class NotFoundError(PersistenceError):
    """A record, table or bucket that must exist does not."""


class ConflictError(PersistenceError):
    """A write lost a race or contradicts what is stored."""


class PayloadTooLargeError(PersistenceError):
    """A payload does not fit the backend and no offload store is configured."""


class CorruptRecordError(PersistenceError):
    """A stored record failed validation or points at data that is gone."""


class ConfigurationError(PersistenceError, ValueError):
    """Configuration is missing or invalid; the message names the option path."""


class InvalidInputError(PersistenceError, ValueError):
    """A caller passed a value the contract does not allow (names the field)."""


class BackendError(PersistenceError):
    """The backend refused or failed an operation (not worth retrying)."""


class TransientBackendError(BackendError):
    """The backend failed in a way that may succeed on retry (timeouts, throttling)."""


class BackendConnectionError(TransientBackendError, ConnectionError):
    """The server or endpoint cannot be reached (refused, DNS, timeouts, connection lost); retryable.

    Also a built-in ``ConnectionError``, so code written as the seed documents
    show (``except ConnectionError``) catches an unreachable Valkey server or
    AWS endpoint without knowing this library's hierarchy.
    """


class CertificateVerificationError(BackendError, ConnectionError):
    """The server's TLS certificate was rejected (untrusted CA, hostname mismatch, expired).

    Not transient: retrying cannot make a certificate trusted, so the
    RetryPolicy leaves it alone. Still a built-in ``ConnectionError``, since
    to the caller it is a connection that could not be made.
    """


class UnsupportedOperationError(PersistenceError):
    """The configured backend lacks the capability an operation needs (names both)."""


class ForeignLayoutError(PersistenceError):
    """The backend holds this thread in another package's layout (e.g. the published
    langgraph-checkpoint-aws): migrate it with ``langgraph-aws migrate`` first."""
