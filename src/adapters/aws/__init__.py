"""The AWS toolkit shared by every AWS adapter: errors, paging, batch loops, clients."""

from __future__ import annotations

from .batching import MAX_STALLED_ROUNDS, UnprocessedItemsError, drain
from .clients import USER_AGENT_EXTRA, build_client, merged_boto_config
from .errors import (
    DYNAMODB_ERRORS,
    S3_ERRORS,
    TRANSIENT_CODES,
    AwsResource,
    ServiceErrors,
    error_code,
    operation_name,
    translate_errors,
)
from .paging import DYNAMODB_PAGES, NEXT_TOKEN_PAGES, S3_LIST_PAGES, Cursor, pages

__all__ = [
    "AwsResource",
    "ServiceErrors",
    "DYNAMODB_ERRORS",
    "S3_ERRORS",
    "translate_errors",
    "error_code",
    "operation_name",
    "TRANSIENT_CODES",
    "Cursor",
    "pages",
    "DYNAMODB_PAGES",
    "S3_LIST_PAGES",
    "NEXT_TOKEN_PAGES",
    "drain",
    "UnprocessedItemsError",
    "MAX_STALLED_ROUNDS",
    "build_client",
    "merged_boto_config",
    "USER_AGENT_EXTRA",
]
