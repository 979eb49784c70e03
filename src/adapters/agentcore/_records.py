"""What one logical record (a checkpoint, a task's writes, a head pointer) looks like as events.

A record is a JSON object. When its JSON fits one payload item it is sent as
one event holding it as a ``blob`` document; otherwise its JSON is base64'd,
cut into items of ``ITEM_CHARS`` characters, and the items are spread over
events of at most ``items_per_event`` items, each tagged with the group id
``g``, its part ``p`` and the part count ``n`` so a reader can put them back
together (an incomplete group, left by a crash, is ignored).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from ...domain.errors import CorruptRecordError

__all__ = ["ITEM_CHARS", "Loaded", "new_stamp", "stamp_time_ns", "b64", "unb64", "split_record", "assemble", "digest"]

ITEM_CHARS = 96_000
"""Characters of one payload item: the service takes ``blob`` items of up to 100 KiB of JSON."""


def new_stamp() -> str:
    """A unique id of one write that sorts by time: 16 hex digits of nanoseconds + 8 random."""
    return f"{time.time_ns():016x}{secrets.token_hex(4)}"


def stamp_time_ns(stamp: str) -> int:
    """The nanoseconds a stamp was made at (the events of a write carry that timestamp)."""
    return int(stamp[:16], 16)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"))


def digest(*parts: Any) -> str:
    """A stable SHA-256 (hex) of JSON values: the idempotency key of a write."""
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def split_record(record: Mapping[str, Any], items_per_event: int) -> list[tuple[list[dict[str, Any]], dict[str, str]]]:
    """A record as events: ``(payload, extra metadata)`` per event (``p``/``n``/``g`` when split)."""
    text = json.dumps(record, separators=(",", ":"), ensure_ascii=True)
    if len(text) <= ITEM_CHARS:
        return [([{"blob": dict(record)}], {})]
    encoded = b64(text.encode("ascii"))
    chunks = [encoded[i : i + ITEM_CHARS] for i in range(0, len(encoded), ITEM_CHARS)]
    events = [chunks[i : i + items_per_event] for i in range(0, len(chunks), items_per_event)]
    group = digest(text)[:24]
    return [
        ([{"blob": {"z": c}} for c in chunk], {"g": group, "p": str(i), "n": str(len(events))})
        for i, chunk in enumerate(events)
    ]


@attrs.frozen
class Loaded:
    """One record read back: its JSON, its kind, and the ids of the events that hold it."""

    kind: str
    record: Mapping[str, Any]
    event_ids: tuple[str, ...]


def _items(event: Mapping[str, Any]) -> list[Any]:
    return [item.get("blob") for item in event.get("payload") or [] if "blob" in item]


def _metadata(event: Mapping[str, Any]) -> dict[str, str]:
    return {k: str(v.get("stringValue", "")) for k, v in (event.get("metadata") or {}).items()}


def assemble(events: Iterable[Mapping[str, Any]], where: str) -> list[Loaded]:
    """The complete records among ``events`` (events of other writers, e.g. conversational ones, skipped)."""
    out: list[Loaded] = []
    groups: dict[str, list[tuple[int, int, Mapping[str, Any], dict[str, str]]]] = defaultdict(list)
    for event in events:
        md = _metadata(event)
        kind = md.get("k")
        if kind is None:
            continue
        if "g" not in md:
            items = _items(event)
            if len(items) != 1 or not isinstance(items[0], Mapping):
                raise CorruptRecordError(f"{where}: event {event.get('eventId')} holds no record")
            out.append(Loaded(kind, items[0], (str(event["eventId"]),)))
            continue
        try:
            groups[md["g"]].append((int(md["p"]), int(md["n"]), event, md))
        except (KeyError, ValueError) as exc:
            raise CorruptRecordError(f"{where}: event {event.get('eventId')} has bad part metadata") from exc
    for parts in groups.values():
        parts = sorted({p[0]: p for p in parts}.values(), key=lambda p: p[0])  # a retried part counts once
        count = parts[0][1]
        if [p[0] for p in parts] != list(range(count)):
            continue  # a write that did not finish (or is being written): not visible yet
        text = "".join(str(item["z"]) for _, _, event, _ in parts for item in _items(event))
        try:
            record = json.loads(unb64(text).decode("ascii"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise CorruptRecordError(f"{where}: a split record does not decode") from exc
        out.append(Loaded(parts[0][3]["k"], record, tuple(str(e["eventId"]) for _, _, e, _ in parts)))
    return out
