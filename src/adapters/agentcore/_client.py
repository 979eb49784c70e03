"""The AgentCore Memory calls the adapters make: errors translated, pages followed, deletes tolerant."""

from __future__ import annotations

import concurrent.futures
import datetime
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Callable, Optional, TypeVar

from ...domain.errors import NotFoundError
from ..aws.errors import AwsResource, ServiceErrors, translate_errors
from ..aws.paging import Cursor, pages

__all__ = ["AGENTCORE_ERRORS", "MemoryClient", "EVENT_PAGES", "RECORD_PAGES"]

T = TypeVar("T")
R = TypeVar("R")

AGENTCORE_ERRORS = ServiceErrors(
    service="AgentCore Memory",
    kind="memory",
    not_found=frozenset({"ResourceNotFoundException"}),
    # RetryableConflictException: concurrent changes to one session; ServiceException: a 5xx.
    transient=frozenset({"RetryableConflictException", "ServiceException"}),
    too_large=frozenset({("ValidationException", "size"), ("ServiceQuotaExceededException", "size")}),
    not_found_hint="create the memory (CreateMemory) or fix memory_id and region_name",
    too_large_hint="the event is over the service's payload limit",
)

EVENT_PAGES = Cursor("nextToken", "nextToken", "maxResults")
"""ListEvents, ListActors, ListSessions, ListMemoryRecords and RetrieveMemoryRecords."""
RECORD_PAGES = EVENT_PAGES


class MemoryClient:
    """One memory of AgentCore Memory through a boto3 ``bedrock-agentcore`` client.

    Every call is one API call, translated into the library's errors; nothing
    is retried here (the use cases retry whole operations once, with the
    RetryPolicy). Independent calls of one operation run in threads.
    """

    def __init__(self, client: Any, memory_id: str, *, max_workers: int = 8) -> None:
        self.client = client
        self.memory_id = memory_id
        self.resource = AwsResource.of(client, AGENTCORE_ERRORS, memory_id)
        self.max_workers = max_workers

    def call(self, method: str, **params: Any) -> Mapping[str, Any]:
        """One API call (``memoryId`` added), errors translated."""
        operation = self.client.meta.method_to_api_mapping.get(method, method)
        with translate_errors(self.resource, operation):
            result: Mapping[str, Any] = getattr(self.client, method)(memoryId=self.memory_id, **params)
            return result

    def parallel(self, fn: Callable[[T], R], args: Sequence[T]) -> list[R]:
        """``fn`` over ``args`` in threads (inline for one argument); results in order."""
        if len(args) <= 1:
            return [fn(a) for a in args]
        with concurrent.futures.ThreadPoolExecutor(max_workers=min(self.max_workers, len(args))) as pool:
            return list(pool.map(fn, args))

    # -- events ----------------------------------------------------------------------------
    def create_event(
        self,
        actor: str,
        session: str,
        *,
        payload: list[dict[str, Any]],
        metadata: Mapping[str, str],
        timestamp_ns: int,
        token: Optional[str] = None,
    ) -> str:
        """CreateEvent; returns the event id. ``token`` makes a retry with the same arguments a no-op."""
        params: dict[str, Any] = {
            "actorId": actor,
            "sessionId": session,
            "eventTimestamp": datetime.datetime.fromtimestamp(timestamp_ns / 1e9, tz=datetime.timezone.utc),
            "payload": payload,
            "metadata": {k: {"stringValue": v} for k, v in metadata.items()},
        }
        if token is not None:
            params["clientToken"] = token
        return str(self.call("create_event", **params)["event"]["eventId"])

    def list_events(
        self,
        actor: str,
        session: str,
        *,
        equals: Optional[Mapping[str, str]] = None,
        payloads: bool = True,
        page_sizes: Sequence[Optional[int]] = (100,),
    ) -> Iterator[Mapping[str, Any]]:
        """Events of a session whose metadata equals ``equals`` (every event when None), page by page."""
        params: dict[str, Any] = {
            "memoryId": self.memory_id,
            "actorId": actor,
            "sessionId": session,
            "includePayloads": payloads,
        }
        if equals:
            params["filter"] = {
                "eventMetadata": [
                    {"left": {"metadataKey": k}, "operator": "EQUALS_TO", "right": {"metadataValue": {"stringValue": v}}}
                    for k, v in equals.items()
                ]
            }

        def fetch(**request: Any) -> Mapping[str, Any]:
            request.pop("memoryId", None)
            return self.call("list_events", **request)

        for page in pages(fetch, params, EVENT_PAGES, page_sizes=page_sizes):
            yield from page.get("events", [])

    def delete_event(self, actor: str, session: str, event_id: str) -> bool:
        """DeleteEvent; False when the event was already gone."""
        try:
            self.call("delete_event", actorId=actor, sessionId=session, eventId=event_id)
        except NotFoundError:
            return False
        return True

    def delete_events(self, actor: str, session: str, event_ids: Sequence[str]) -> int:
        """One DeleteEvent per event (the API deletes one at a time), in parallel; returns how many existed."""
        return sum(self.parallel(lambda eid: self.delete_event(actor, session, eid), list(event_ids)))

    def actors(self) -> Iterator[str]:
        """Every actor id of the memory (ListActors pages)."""

        def fetch(**request: Any) -> Mapping[str, Any]:
            return self.call("list_actors", **request)

        for page in pages(fetch, {}, EVENT_PAGES, page_sizes=(100,)):
            for summary in page.get("actorSummaries", []):
                yield str(summary["actorId"])

    def sessions(self, actor: str) -> Iterator[str]:
        """Every session id of an actor that still has events (ListSessions pages)."""

        def fetch(**request: Any) -> Mapping[str, Any]:
            return self.call("list_sessions", **request)

        params = {"actorId": actor, "filter": {"eventFilter": "HAS_EVENTS"}}
        for page in pages(fetch, params, EVENT_PAGES, page_sizes=(100,)):
            for summary in page.get("sessionSummaries", []):
                yield str(summary["sessionId"])

