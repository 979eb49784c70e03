"""Translation of botocore exceptions into the library's errors, one table of codes per service.

Every AWS adapter wraps its calls in ``translate_errors(resource, operation)``.
The translation is the same for every service; what differs (which codes mean
"not found", extra throttling codes, hints) is data in a ``ServiceErrors``
table. Messages name the resource, the operation, the region and the endpoint,
and the original exception is always chained (``raise ... from exc``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any, Optional

import attrs
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    CredentialRetrievalError,
    HTTPClientError,
    NoCredentialsError,
    NoRegionError,
    ParamValidationError,
    PartialCredentialsError,
)
from botocore.exceptions import ConnectionError as BotoConnectionError
from botocore.exceptions import SSLError as BotoSSLError

from ...domain.errors import (
    BackendConnectionError,
    BackendError,
    CertificateVerificationError,
    ConfigurationError,
    NotFoundError,
    PayloadTooLargeError,
    PersistenceError,
    TransientBackendError,
)
from .._tls import rejected_certificate

__all__ = [
    "ServiceErrors",
    "AwsResource",
    "DYNAMODB_ERRORS",
    "S3_ERRORS",
    "translate_errors",
    "error_code",
    "operation_name",
    "TRANSIENT_CODES",
    "CREDENTIAL_CODES",
    "ACCESS_DENIED_CODES",
]

TRANSIENT_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "ProvisionedThroughputExceededException",
        "BandwidthLimitExceeded",
        "SlowDown",
        "RequestTimeout",
        "RequestTimeoutException",
        "PriorRequestNotComplete",
        "InternalServerError",
        "InternalError",
        "InternalFailure",
        "ServiceUnavailable",
        "ServiceUnavailableException",
    }
)
"""Codes every AWS service uses for throttling and server-side failures (retryable)."""

CREDENTIAL_CODES = frozenset(
    {
        "UnrecognizedClientException",
        "InvalidSignatureException",
        "ExpiredTokenException",
        "ExpiredToken",
        "InvalidClientTokenId",
        "MissingAuthenticationTokenException",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "InvalidToken",
        "AuthFailure",
        "RequestExpired",
    }
)
"""Codes meaning the credentials themselves were rejected (a configuration problem)."""

ACCESS_DENIED_CODES = frozenset({"AccessDeniedException", "AccessDenied", "403"})
"""Codes meaning valid credentials lack a permission ("403": S3 HEAD requests have no body)."""


@attrs.frozen
class ServiceErrors:
    """The per-service part of the translation: codes and hints.

    Attributes:
        service: the service as users know it ("DynamoDB").
        kind: what the resource is ("table", "bucket").
        not_found: codes meaning the resource itself is missing.
        transient: codes retryable on this service, besides ``TRANSIENT_CODES``.
        credentials: codes meaning rejected credentials, besides ``CREDENTIAL_CODES``.
        too_large: ``(code, message fragment)`` pairs meaning a payload over the
            service's size limit (an empty fragment matches any message).
        transient_reasons: for transactions cancelled as a whole, the reason
            codes that make the cancellation retryable (all reasons must be
            among them or ``"None"``).
        not_found_hint: appended to not-found messages (how to create it).
        too_large_hint: appended to payload-too-large messages.
    """

    service: str
    kind: str
    not_found: frozenset[str]
    transient: frozenset[str] = frozenset()
    credentials: frozenset[str] = frozenset()
    too_large: frozenset[tuple[str, str]] = frozenset()
    transient_reasons: frozenset[str] = frozenset()
    not_found_hint: str = ""
    too_large_hint: str = ""


DYNAMODB_ERRORS = ServiceErrors(
    service="DynamoDB",
    kind="table",
    not_found=frozenset({"ResourceNotFoundException"}),
    transient=frozenset({"TransactionConflictException", "LimitExceededException"}),
    too_large=frozenset({("ValidationException", "size")}),
    transient_reasons=frozenset(
        {"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded", "RequestLimitExceeded"}
    ),
    # Tables are regional: a table made in another region is "not found" here.
    not_found_hint="create it with setup() or the CloudFormation template, or set region_name to the region it is in",
    too_large_hint="configure s3_offload_config to offload large payloads",
)

S3_ERRORS = ServiceErrors(
    service="S3",
    kind="bucket",
    # HEAD requests carry no error body: "404" is a missing bucket for head_bucket
    # (a missing object is handled by the caller before translation).
    not_found=frozenset({"NoSuchBucket", "404"}),
    transient=frozenset({"500", "503"}),
    too_large=frozenset({("EntityTooLarge", "")}),
    not_found_hint="create it (setup()) or fix s3_offload_config",
)


@attrs.frozen
class AwsResource:
    """The AWS resource an adapter works on, as error messages name it.

    Attributes:
        errors: the service's table of codes.
        name: table or bucket name.
        region: the client's region (None when botocore has none).
        endpoint: the client's endpoint URL.
    """

    errors: ServiceErrors
    name: str
    region: Optional[str] = None
    endpoint: Optional[str] = None

    @classmethod
    def of(cls, client: Any, errors: ServiceErrors, name: str) -> AwsResource:
        """The resource ``name`` reached through a boto3 ``client`` (region and endpoint from its meta)."""
        meta = getattr(client, "meta", None)
        return cls(
            errors=errors,
            name=name,
            region=getattr(meta, "region_name", None),
            endpoint=getattr(meta, "endpoint_url", None),
        )

    def describe(self) -> str:
        """``DynamoDB table 'x' in region us-east-1 at https://...``."""
        text = f"{self.errors.service} {self.errors.kind} {self.name!r} in region {self.region or '(none)'}"
        return text + (f" at {self.endpoint}" if self.endpoint else "")


def error_code(exc: BaseException) -> str:
    """The AWS error code of a botocore ClientError; empty for anything else."""
    response = getattr(exc, "response", None)
    if not isinstance(response, Mapping):
        return ""
    return str(response.get("Error", {}).get("Code", ""))


def operation_name(client: Any, method: str) -> str:
    """The API name of a client method (``"query"`` -> ``"Query"``), as AWS documents and bills it."""
    mapping = getattr(getattr(client, "meta", None), "method_to_api_mapping", None) or {}
    return str(mapping.get(method, method))


def _status(exc: ClientError) -> int:
    try:
        return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
    except (TypeError, ValueError):
        return 0




def _cancelled_transiently(exc: ClientError, errors: ServiceErrors) -> bool:
    reasons = exc.response.get("CancellationReasons") or []
    codes = {str(r.get("Code", "None")) for r in reasons} - {"None"}
    return bool(codes) and codes <= errors.transient_reasons


def _translate_client_error(exc: ClientError, resource: AwsResource, operation: str) -> PersistenceError:
    errors = resource.errors
    where = resource.describe()
    code = error_code(exc)
    message = str(exc.response.get("Error", {}).get("Message", ""))
    detail = f"{code}: {message}" if message else code
    if code in errors.not_found:
        hint = f"; {errors.not_found_hint}" if errors.not_found_hint else ""
        return NotFoundError(f"{where} does not exist ({operation}){hint}")
    if code in CREDENTIAL_CODES or code in errors.credentials:
        return ConfigurationError(f"{where}: AWS credentials were rejected ({operation}: {detail})")
    if code in ACCESS_DENIED_CODES:
        return BackendError(f"{where}: access denied for {operation} ({detail}); check the IAM policy")
    if any(code == c and fragment in message.lower() for c, fragment in errors.too_large):
        hint = f"; {errors.too_large_hint}" if errors.too_large_hint else ""
        return PayloadTooLargeError(
            f"{where}: a payload is over the {errors.service} size limit ({operation}: {detail}){hint}"
        )
    if (
        code in TRANSIENT_CODES
        or code in errors.transient
        or _status(exc) >= 500
        or _cancelled_transiently(exc, errors)
    ):
        return TransientBackendError(f"{where}: {operation} failed transiently ({detail})")
    return BackendError(f"{where}: {operation} failed ({detail})")


@contextlib.contextmanager
def translate_errors(resource: AwsResource, operation: str) -> Iterator[None]:
    """Re-raise botocore errors of ``operation`` on ``resource`` as PersistenceError subclasses.

    Library errors pass through unchanged, so calls may nest.

    Raises:
        NotFoundError: the table or bucket does not exist (names it and the region).
        ConfigurationError: credentials missing or rejected, no region, invalid parameters.
        PayloadTooLargeError: an item or object over the service's limit.
        BackendConnectionError: the endpoint cannot be reached (refused, DNS,
            timeouts); transient, and a built-in ``ConnectionError``.
        CertificateVerificationError: the endpoint's TLS certificate was rejected.
        TransientBackendError: throttling, 5xx.
        BackendError: anything else botocore raises (access denied included).
    """
    try:
        yield
    except PersistenceError:
        raise
    except ClientError as exc:
        raise _translate_client_error(exc, resource, operation) from exc
    except (NoCredentialsError, PartialCredentialsError, CredentialRetrievalError) as exc:
        raise ConfigurationError(f"{resource.describe()}: no usable AWS credentials ({operation}): {exc}") from exc
    except NoRegionError as exc:
        raise ConfigurationError(
            f"{resource.describe()}: no AWS region configured ({operation}); set region_name"
        ) from exc
    except ParamValidationError as exc:
        raise ConfigurationError(f"{resource.describe()}: invalid request parameters ({operation}): {exc}") from exc
    except BotoSSLError as exc:
        rejected = rejected_certificate(exc)
        if rejected is None:
            # A handshake cut short: like any other lost connection.
            raise BackendConnectionError(
                f"{resource.describe()}: cannot reach the {resource.errors.service} endpoint ({operation}): {exc}"
            ) from exc
        raise CertificateVerificationError(
            f"TLS certificate verification failed for {resource.describe()} ({operation}): {rejected}; "
            "check the CA bundle (AWS_CA_BUNDLE or ca_bundle in the AWS config) and the endpoint's host name"
        ) from exc
    except (BotoConnectionError, HTTPClientError) as exc:
        # Connection refused, DNS, connect and read timeouts, connections closed mid-response.
        raise BackendConnectionError(
            f"{resource.describe()}: cannot reach the {resource.errors.service} endpoint ({operation}): {exc}"
        ) from exc
    except BotoCoreError as exc:
        raise BackendError(f"{resource.describe()}: {operation} failed: {exc}") from exc
