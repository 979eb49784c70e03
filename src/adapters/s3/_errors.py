"""Translation of botocore exceptions raised by S3 calls into the library's errors."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Optional

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ReadTimeoutError,
)

from ...domain.errors import (
    BackendError,
    ConfigurationError,
    NotFoundError,
    PersistenceError,
    TransientBackendError,
)

__all__ = ["translate_errors", "error_code"]

_TRANSIENT = {"SlowDown", "InternalError", "ServiceUnavailable", "RequestTimeout", "503", "500"}
_CREDENTIALS = {"InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken"}


def error_code(exc: ClientError) -> str:
    """The AWS error code of a ClientError."""
    return str(exc.response.get("Error", {}).get("Code", ""))


@contextlib.contextmanager
def translate_errors(bucket: str, endpoint: Optional[str], operation: str) -> Iterator[None]:
    """Re-raise botocore errors of ``operation`` as PersistenceError subclasses naming the bucket."""
    where = f"S3 bucket {bucket!r}" + (f" at {endpoint}" if endpoint else "")
    try:
        yield
    except PersistenceError:
        raise
    except ClientError as exc:
        code = error_code(exc)
        message = exc.response.get("Error", {}).get("Message", "")
        if code == "NoSuchBucket":
            raise NotFoundError(f"{where} does not exist ({operation}); create it or fix s3_offload_config") from exc
        if code in _CREDENTIALS:
            raise ConfigurationError(f"{where}: AWS credentials were rejected ({code}: {message})") from exc
        if code in ("AccessDenied", "403"):
            raise BackendError(f"{where}: access denied for {operation}; check the IAM policy") from exc
        if code in _TRANSIENT:
            raise TransientBackendError(f"{where}: {operation} failed transiently ({code}: {message})") from exc
        raise BackendError(f"{where}: {operation} failed ({code}: {message})") from exc
    except NoCredentialsError as exc:
        raise ConfigurationError(f"{where}: no AWS credentials found ({operation})") from exc
    except (EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError) as exc:
        raise TransientBackendError(f"{where}: cannot reach the S3 endpoint ({operation}): {exc}") from exc
    except BotoCoreError as exc:
        raise BackendError(f"{where}: {operation} failed: {exc}") from exc
