"""Translation of botocore exceptions raised by DynamoDB calls into the library's errors."""

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
    NoRegionError,
    ReadTimeoutError,
)

from ...domain.errors import (
    BackendError,
    ConfigurationError,
    NotFoundError,
    PayloadTooLargeError,
    PersistenceError,
    TransientBackendError,
)

__all__ = ["translate_errors", "error_code"]

_TRANSIENT = {
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
    "TransactionConflictException",
    "LimitExceededException",
}
_CREDENTIALS = {
    "UnrecognizedClientException",
    "InvalidSignatureException",
    "ExpiredTokenException",
    "InvalidClientTokenId",
    "MissingAuthenticationTokenException",
}


def error_code(exc: ClientError) -> str:
    """The AWS error code of a ClientError."""
    return str(exc.response.get("Error", {}).get("Code", ""))


def _where(table: str, endpoint: Optional[str]) -> str:
    return f"DynamoDB table {table!r}" + (f" at {endpoint}" if endpoint else "")


@contextlib.contextmanager
def translate_errors(table: str, endpoint: Optional[str], operation: str) -> Iterator[None]:
    """Re-raise botocore errors of ``operation`` as PersistenceError subclasses naming the table."""
    where = _where(table, endpoint)
    try:
        yield
    except PersistenceError:
        raise
    except ClientError as exc:
        code = error_code(exc)
        message = exc.response.get("Error", {}).get("Message", "")
        if code == "ResourceNotFoundException":
            raise NotFoundError(
                f"{where} does not exist ({operation}); create it with DynamoDBSaver.setup() "
                "or the CloudFormation template"
            ) from exc
        if code in _CREDENTIALS:
            raise ConfigurationError(f"{where}: AWS credentials were rejected ({code}: {message})") from exc
        if code == "AccessDeniedException":
            raise BackendError(f"{where}: access denied for {operation} ({message}); check the IAM policy") from exc
        if code == "ValidationException" and "size" in message.lower():
            raise PayloadTooLargeError(
                f"{where}: an item is over DynamoDB's 400 KB item limit ({operation}: {message}); "
                "configure s3_offload_config to offload large payloads"
            ) from exc
        if code in _TRANSIENT:
            raise TransientBackendError(f"{where}: {operation} failed transiently ({code}: {message})") from exc
        raise BackendError(f"{where}: {operation} failed ({code}: {message})") from exc
    except NoCredentialsError as exc:
        raise ConfigurationError(f"{where}: no AWS credentials found ({operation})") from exc
    except NoRegionError as exc:
        raise ConfigurationError(f"{where}: no AWS region configured (set region_name)") from exc
    except (EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError) as exc:
        raise TransientBackendError(f"{where}: cannot reach the DynamoDB endpoint ({operation}): {exc}") from exc
    except BotoCoreError as exc:
        raise BackendError(f"{where}: {operation} failed: {exc}") from exc
