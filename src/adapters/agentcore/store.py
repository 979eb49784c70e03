"""AgentCore Memory item repository: one memory record per store item, searched with RetrieveMemoryRecords.

Layout: an item ``(namespace, key)`` is one record in the record namespace
``/`` + the labels joined by ``/`` (each label through ``label_id``, so the
hierarchy is the service's own and ``namespacePath`` selects a prefix). Its
``content.text`` is the JSON of the item (namespace, key, value, timestamps,
TTL), at most 16,000 characters (the service's limit); its metadata ``key``
holds ``metadata_value(key)``, so one ListMemoryRecords with a metadata filter
finds it. A value holding a message (``{"message": {"type": ..., "data": ...}}``,
as ``AgentCoreMemoryStore`` writes a LangChain message) also becomes a
conversational event of the session ``(namespace[0], namespace[1])`` = (actor,
session), which AgentCore's long-term extraction reads.

Calls: ``get_items`` one ListMemoryRecords per key (in parallel);
``write_items`` one lookup per key, then one BatchUpdateMemoryRecords (re-puts:
the record keeps its id), one BatchCreateMemoryRecords and one
BatchDeleteMemoryRecords per 100 records; ``scan_items`` and
``list_namespaces`` one ListMemoryRecords per 100 records; ``search_text``
one RetrieveMemoryRecords (``topK`` at most 100). Expiry is kept in the item
and applied by reads (and ``purge_expired``): the service's own record expiry
counts in days, 31 at least.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, Optional

from ...domain.errors import InvalidInputError, PayloadTooLargeError, UnsupportedOperationError
from ...domain.models import StoreItem
from ...domain.ports import ItemKey, ItemVectors
from ..aws.paging import pages
from ._client import RECORD_PAGES, MemoryClient
from ._ids import actor_key, label_id, metadata_value, service_id
from ._records import digest, new_stamp, stamp_time_ns

__all__ = ["AgentCoreItemRepository", "MAX_RECORD_CHARS", "MAX_TOP_K"]

MAX_RECORD_CHARS = 16_000
"""The service's limit on a memory record's text."""
MAX_TOP_K = 100
"""RetrieveMemoryRecords returns at most this many records."""
_BATCH = 100
_ROLES = {"human": "USER", "ai": "ASSISTANT", "tool": "TOOL", "system": "OTHER"}


def record_namespace(namespace: Sequence[str]) -> str:
    """The record namespace of a store namespace (``/`` alone for the root)."""
    return "/" + "/".join(label_id(label) for label in namespace)


class AgentCoreItemRepository:
    """ItemRepository and TextSearchIndex on AgentCore Memory records (see the module docstring).

    Args:
        client: a boto3 ``bedrock-agentcore`` client.
        memory_id: the memory's id (or ARN).
        max_workers: threads for the independent calls of one operation.
    """

    def __init__(self, *, client: Any, memory_id: str, max_workers: int = 8) -> None:
        self.memory = MemoryClient(client, memory_id, max_workers=max_workers)
        self.memory_id = memory_id

    # -- records -------------------------------------------------------------------------
    def _records(self, **params: Any) -> Iterator[Mapping[str, Any]]:
        def fetch(**request: Any) -> Mapping[str, Any]:
            return self.memory.call("list_memory_records", **request)

        for page in pages(fetch, params, RECORD_PAGES, page_sizes=(100,)):
            yield from page.get("memoryRecordSummaries", [])

    @staticmethod
    def _item(record: Mapping[str, Any]) -> Optional[StoreItem]:
        try:
            doc = json.loads(record["content"]["text"])
            return StoreItem(
                namespace=tuple(doc["namespace"]),
                key=str(doc["key"]),
                value=doc["value"],
                created_at=float(doc["created_at"]),
                updated_at=float(doc["updated_at"]),
                expires_at=doc.get("expires_at"),
                ttl_minutes=doc.get("ttl_minutes"),
            )
        except (KeyError, TypeError, ValueError):
            return None  # a record this store did not write (e.g. extracted by a memory strategy)

    def _find(self, key: ItemKey) -> list[tuple[str, StoreItem]]:
        """The records of one item: ``(record id, item)`` (more than one only after a lost race)."""
        namespace, name = key
        found = []
        for record in self._records(
            namespace=record_namespace(namespace),
            metadataFilters=[{"left": {"metadataKey": "key"}, "operator": "EQUALS_TO",
                              "right": {"metadataValue": {"stringValue": metadata_value(name)}}}],
        ):
            item = self._item(record)
            if item is not None and item.namespace == tuple(namespace) and item.key == name:
                found.append((str(record["memoryRecordId"]), item))
        return found

    @staticmethod
    def _live(item: StoreItem, now: float) -> bool:
        return item.expires_at is None or item.expires_at > now

    @staticmethod
    def _text(item: StoreItem) -> str:
        doc = {
            "namespace": list(item.namespace), "key": item.key, "value": dict(item.value),
            "created_at": item.created_at, "updated_at": item.updated_at,
            "expires_at": item.expires_at, "ttl_minutes": item.ttl_minutes,
        }
        text = json.dumps(doc, ensure_ascii=False, default=str)
        if len(text) > MAX_RECORD_CHARS:
            raise PayloadTooLargeError(
                f"store item {item.namespace!r}/{item.key!r} takes {len(text)} characters as an AgentCore memory "
                f"record, over the service's limit of {MAX_RECORD_CHARS:,} characters of text"
            )
        return text

    def _record_input(self, item: StoreItem) -> dict[str, Any]:
        return {
            "content": {"text": self._text(item)},
            "namespaces": [record_namespace(item.namespace)],
            "timestamp": datetime.datetime.fromtimestamp(item.updated_at, tz=datetime.timezone.utc),
            "metadata": {"key": {"stringValue": metadata_value(item.key)}},
        }

    # -- ItemRepository ------------------------------------------------------------------
    def get_items(self, keys: Sequence[ItemKey], *, now: float, refresh: bool = False) -> dict[ItemKey, StoreItem]:
        found = self.memory.parallel(self._find, list(keys))
        out: dict[ItemKey, StoreItem] = {}
        refreshed: list[tuple[str, StoreItem]] = []
        for key, hits in zip(keys, found):
            live = [(rid, item) for rid, item in hits if self._live(item, now)]
            if not live:
                continue
            rid, item = max(live, key=lambda h: h[1].updated_at)
            if refresh and item.ttl_minutes is not None:
                item = StoreItem(item.namespace, item.key, item.value, item.created_at, item.updated_at,
                                 now + item.ttl_minutes * 60, item.ttl_minutes)
                refreshed.append((rid, item))
            out[(tuple(key[0]), key[1])] = item
        if refreshed:
            self._update(refreshed)
        return out

    def _update(self, records: Sequence[tuple[str, StoreItem]]) -> None:
        for start in range(0, len(records), _BATCH):
            chunk = records[start : start + _BATCH]
            self.memory.call("batch_update_memory_records", records=[
                {"memoryRecordId": rid, **self._record_input(item)} for rid, item in chunk
            ])

    def write_items(
        self,
        upserts: Sequence[StoreItem],
        deletes: Sequence[ItemKey],
        *,
        vectors: Mapping[ItemKey, ItemVectors],
        now: float,
    ) -> None:
        if any(vectors.values()):
            raise UnsupportedOperationError(
                "AgentCoreMemoryStore keeps no vectors: AgentCore Memory embeds records itself; "
                "search with query= (RetrieveMemoryRecords) instead of an index"
            )
        for item in upserts:
            self._text(item)  # the size limit is checked before anything is written
        keys = [(tuple(i.namespace), i.key) for i in upserts] + [(tuple(ns), k) for ns, k in deletes]
        existing = dict(zip(keys, self.memory.parallel(self._find, keys)))
        updates: list[tuple[str, StoreItem]] = []
        creates: list[StoreItem] = []
        doomed: list[tuple[str, str]] = []
        for item in upserts:
            hits = existing[(tuple(item.namespace), item.key)]
            if hits:
                hits = sorted(hits, key=lambda h: h[1].updated_at)
                rid, old = hits[-1]
                created = old.created_at if self._live(old, now) else item.created_at
                updates.append((rid, StoreItem(item.namespace, item.key, item.value, created, item.updated_at,
                                               item.expires_at, item.ttl_minutes)))
                doomed.extend((r, record_namespace(item.namespace)) for r, _ in hits[:-1])
            else:
                creates.append(item)
        for ns, k in deletes:
            doomed.extend((rid, record_namespace(ns)) for rid, _ in existing[(tuple(ns), k)])
        if updates:
            self._update(updates)
        for start in range(0, len(creates), _BATCH):
            chunk = creates[start : start + _BATCH]
            records = [{"requestIdentifier": f"r{i}", **self._record_input(item)} for i, item in enumerate(chunk)]
            answer = self.memory.call("batch_create_memory_records", records=records,
                                      clientToken=digest("items", self.memory_id, [r["content"] for r in records]))
            failed = answer.get("failedRecords") or []
            if failed:
                raise InvalidInputError(f"AgentCore memory {self.memory_id!r} refused records: {failed[0].get('errorMessage')}")
        for start in range(0, len(doomed), _BATCH):
            gone = doomed[start : start + _BATCH]
            self.memory.call("batch_delete_memory_records",
                             records=[{"memoryRecordId": rid, "namespace": ns} for rid, ns in gone])
        events = [item for item in upserts if _message(item.value) is not None and len(item.namespace) >= 2]
        self.memory.parallel(self._conversation, events)

    def _conversation(self, item: StoreItem) -> None:
        """The conversational event of a message value, in session ``namespace[1]`` of actor ``namespace[0]``."""
        message = _message(item.value)
        assert message is not None
        role, text = message
        stamp = new_stamp()
        self.memory.create_event(
            actor_key(item.namespace[0]),
            service_id(item.namespace[1]),
            payload=[{"conversational": {"content": {"text": text}, "role": role}}],
            metadata={},
            timestamp_ns=stamp_time_ns(stamp),
            token=digest("m", self.memory_id, list(item.namespace), item.key, text, stamp)[:64],
        )

    def scan_items(self, namespace_prefix: tuple[str, ...], *, now: float) -> Iterable[StoreItem]:
        prefix = tuple(namespace_prefix)
        out = []
        for record in self._records(namespacePath=record_namespace(prefix)):
            item = self._item(record)
            if item is not None and item.namespace[: len(prefix)] == prefix and self._live(item, now):
                out.append(item)
        return _latest(out)

    def list_namespaces(self, *, now: float) -> Iterable[tuple[str, ...]]:
        return sorted({item.namespace for item in self.scan_items((), now=now)})

    def purge_expired(self, now: float) -> int:
        expired: list[dict[str, str]] = []
        for record in self._records(namespacePath="/"):
            item = self._item(record)
            if item is not None and not self._live(item, now):
                expired.append({"memoryRecordId": str(record["memoryRecordId"]), "namespace": record_namespace(item.namespace)})
        for start in range(0, len(expired), _BATCH):
            self.memory.call("batch_delete_memory_records", records=expired[start : start + _BATCH])
        return len(expired)

    # -- TextSearchIndex -------------------------------------------------------------------
    def search_text(
        self, query: str, namespace_prefix: tuple[str, ...], candidates: int, *, now: float
    ) -> list[tuple[StoreItem, float]]:
        if candidates > MAX_TOP_K:
            raise UnsupportedOperationError(
                f"search(query=...) on AgentCoreMemoryStore ranks at most {MAX_TOP_K} records "
                f"(RetrieveMemoryRecords topK); offset + limit asked for {candidates}"
            )
        answer = self.memory.call(
            "retrieve_memory_records",
            namespacePath=record_namespace(tuple(namespace_prefix)),
            searchCriteria={"searchQuery": query[:10_000], "topK": max(1, candidates)},
            maxResults=100,
        )
        prefix = tuple(namespace_prefix)
        hits = []
        for record in answer.get("memoryRecordSummaries", []):
            item = self._item(record)
            if item is not None and item.namespace[: len(prefix)] == prefix and self._live(item, now):
                hits.append((item, float(record.get("score") or 0.0)))
        hits.sort(key=lambda h: h[1], reverse=True)
        return hits


def _latest(items: Iterable[StoreItem]) -> list[StoreItem]:
    best: dict[tuple[tuple[str, ...], str], StoreItem] = {}
    for item in items:
        k = (item.namespace, item.key)
        if k not in best or item.updated_at > best[k].updated_at:
            best[k] = item
    return list(best.values())


def _message(value: Mapping[str, Any]) -> Optional[tuple[str, str]]:
    """``(role, text)`` of a value holding a serialised LangChain message, else None."""
    message = value.get("message")
    if not isinstance(message, Mapping) or message.get("type") not in _ROLES:
        return None
    content = (message.get("data") or {}).get("content")
    if isinstance(content, list):
        content = " ".join(str(part.get("text", "")) if isinstance(part, Mapping) else str(part) for part in content)
    if not isinstance(content, str) or not content:
        return None
    return _ROLES[str(message["type"])], content[:100_000]
