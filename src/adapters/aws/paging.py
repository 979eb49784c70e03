"""One pagination loop for every AWS API that pages with a continuation token."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Callable, Optional

import attrs

__all__ = ["Cursor", "pages", "DYNAMODB_PAGES", "S3_LIST_PAGES", "NEXT_TOKEN_PAGES"]


@attrs.frozen
class Cursor:
    """Where a paginated API returns its continuation token and where it takes it back.

    Attributes:
        response_key: the token in a response (absent or empty on the last page).
        request_key: the parameter that asks for the next page.
        limit_key: the parameter that sizes a page.
    """

    response_key: str
    request_key: str
    limit_key: str


DYNAMODB_PAGES = Cursor("LastEvaluatedKey", "ExclusiveStartKey", "Limit")
"""DynamoDB Query and Scan."""

S3_LIST_PAGES = Cursor("NextContinuationToken", "ContinuationToken", "MaxKeys")
"""S3 ListObjectsV2."""

NEXT_TOKEN_PAGES = Cursor("NextToken", "NextToken", "MaxResults")
"""Most other AWS APIs (AgentCore, Bedrock): ``nextToken``-style services pass their own Cursor."""


def pages(
    fetch: Callable[..., Mapping[str, Any]],
    params: Mapping[str, Any],
    cursor: Cursor,
    *,
    page_sizes: Sequence[Optional[int]] = (None,),
) -> Iterator[Mapping[str, Any]]:
    """The responses of a paginated call, one per page, each fetched only when asked for.

    Stopping the iteration early saves the remaining calls, which is how a
    caller that needs only the first few items pays for one page.

    Args:
        fetch: the call, given the parameters as keywords (wrap it to translate errors).
        params: the parameters of the first page (not modified).
        cursor: the API's token names.
        page_sizes: the size of page 1, 2, ...; the last entry repeats (None: the
            service's maximum). Growing sizes fetch a little first, more if needed.
    """
    request = dict(params)
    page = 0
    while True:
        size = page_sizes[min(page, len(page_sizes) - 1)] if page_sizes else None
        if size:
            request[cursor.limit_key] = size
        else:
            request.pop(cursor.limit_key, None)
        response = fetch(**request)
        yield response
        page += 1
        token = response.get(cursor.response_key)
        if not token:
            return
        request[cursor.request_key] = token
