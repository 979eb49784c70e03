"""Valkey cache repository: one string key per entry, hash-tagged by namespace, expired by the server.

Layout (``<prefix>`` defaults to ``langgraph:cache:``)::

    <prefix>{<N>}:<K>      string: <len(type tag)>\\n<type tag><payload bytes>

``<N>`` encodes the namespace: the number of labels, then ``/`` and the
percent-encoded label (``layout.encode_id``) for each, so ``()`` is ``0``,
``("a", "b")`` is ``2/a/b`` and ``("a/b",)`` is ``1/a%2Fb``. ``<K>`` is the
percent-encoded key. Encoded ids hold only ``A-Za-z0-9_.-~%`` (never ``:``,
``/``, a brace or a glob character), so the encoding is injective, the hash
tag ``{<N>}`` is never empty (every key of a namespace shares one slot), and
the closing brace ends a namespace exactly: the keys of ``("a",)`` never match
the head of ``("ab",)`` or ``("a", "b")``. Prefixes holding a brace are
refused: a brace there would move the hash tag.

Expiry is Valkey's: ``SET ... PX <ms>`` with the milliseconds left until the
entry's ``expires_at``; nothing else is written (no index, no registry), so an
expired entry leaves nothing behind.

Round trips:

- ``get_entries``: one. A standalone server answers one MGET of every key; a
  cluster one MGET per namespace (one slot each), sent in one pipeline that
  writes to every node before reading (one round trip per node, in parallel).
- ``set_entries``: one pipeline of SETs (an already expired entry is UNLINKed
  instead, so it cannot outlive its overwrite); on a cluster one per node, in parallel.
- ``clear(namespaces)``: per namespace, a cursor SCAN MATCH of that namespace's
  exact key head ``<prefix>{<N>}:*`` (glob characters of the prefix escaped) on
  the node that owns its slot, plus one UNLINK per 500 keys found (never KEYS).
  The scan walks that node's keyspace, ``keys / 1000`` round trips: clearing is rare.
- ``clear(None)``: the same with ``<prefix>{*`` on every primary; on a cluster
  the UNLINKs of a batch go in one pipeline.

``get_entries`` does not read the remaining TTL back: the entries it returns
carry ``expires_at=None`` (the server has already hidden every expired one).
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Iterator, Sequence
from typing import Any, Callable, Optional

from ...domain.errors import ConfigurationError
from ...domain.models import CacheEntry
from . import _records as rec
from ._base import _is_cluster, check_raw_bytes, describe_client
from ._errors import translate
from .layout import encode_id

__all__ = ["ValkeyCacheRepository", "DEFAULT_CACHE_PREFIX", "encode_namespace"]

DEFAULT_CACHE_PREFIX = "langgraph:cache:"

_EntryKey = tuple[tuple[str, ...], str]
_SCAN_COUNT = 1000  # keys the server inspects per SCAN call
_UNLINK_BATCH = 500  # keys per UNLINK while clearing


def encode_namespace(namespace: Sequence[str]) -> str:
    """The namespace as the text of a hash tag: injective, never empty, never a brace or a glob character.

    ``()`` -> ``0``, ``("",)`` -> ``1/``, ``("a", "b")`` -> ``2/a/b``, ``("a/b",)`` -> ``1/a%2Fb``.
    """
    return str(len(namespace)) + "".join("/" + encode_id(label) for label in namespace)


def _describe_entry(namespace: tuple[str, ...], key: str) -> str:
    """An entry, for CorruptRecordError messages."""
    return f"cache entry {key!r} of namespace {namespace!r}"


def _glob_escape(text: str) -> str:
    """``text`` as a literal inside a SCAN MATCH pattern."""
    return "".join("\\" + c if c in "\\*?[]" else c for c in text)


class ValkeyCacheRepository:
    """A CacheRepository on Valkey (standalone or cluster), one round trip per get or set.

    Args:
        client: a ``valkey.Valkey`` or ``valkey.cluster.ValkeyCluster`` with
            ``decode_responses=False`` (values are raw bytes). It stays the caller's.
        prefix: head of every key of this cache (no ``{`` or ``}``).
        clock: POSIX seconds, to turn an entry's ``expires_at`` into the
            milliseconds Valkey counts down (the same clock as the CacheService's).

    Raises:
        ConfigurationError: the client decodes responses, or the prefix holds a brace.
    """

    def __init__(
        self,
        client: Any,
        *,
        prefix: str = DEFAULT_CACHE_PREFIX,
        clock: Callable[[], float] = time.time,
    ) -> None:
        check_raw_bytes(client)
        if not isinstance(prefix, str) or "{" in prefix or "}" in prefix:
            # A brace in the prefix would become the hash tag and break the one-slot-per-namespace layout.
            raise ConfigurationError(f"cache.prefix must be a string without '{{' or '}}', got {prefix!r}")
        self.client = client
        self.prefix = prefix
        self._clock = clock
        self._cluster = _is_cluster(client)

    def _where(self) -> str:
        # Passed to translate() uncalled: the client is described only when an error occurs.
        return describe_client(self.client)

    # -- keys ---------------------------------------------------------------------------
    def namespace_head(self, namespace: Sequence[str]) -> str:
        """``<prefix>{<N>}:``: what every key of the namespace starts with."""
        return f"{self.prefix}{{{encode_namespace(namespace)}}}:"

    def entry_key(self, namespace: Sequence[str], key: str) -> str:
        """The Valkey key of the entry ``(namespace, key)``."""
        return self.namespace_head(namespace) + encode_id(key)

    # -- CacheRepository ----------------------------------------------------------------
    def get_entries(self, keys: Sequence[_EntryKey]) -> dict[_EntryKey, CacheEntry]:
        """The live entries among ``keys`` (one round trip)."""
        groups: dict[tuple[str, ...], list[str]] = {}
        for namespace, key in keys:
            groups.setdefault(tuple(namespace), []).append(key)
        if not groups:
            return {}
        asked = [(ns, key) for ns, names in groups.items() for key in names]
        with translate(self._where, "cache get"):
            if not self._cluster or len(groups) == 1:
                # One namespace head per group, not per key: encoding it is most of the client's work.
                full = [
                    head + encode_id(k)
                    for head, names in ((self.namespace_head(ns), names) for ns, names in groups.items())
                    for k in names
                ]
                values = self.client.execute_command("MGET", *full)
            else:
                pipe = self.client.pipeline(transaction=False)
                for ns, names in groups.items():
                    head = self.namespace_head(ns)
                    pipe.execute_command("MGET", *(head + encode_id(k) for k in names))
                values = [raw for reply in pipe.execute() for raw in reply]
        found: dict[_EntryKey, CacheEntry] = {}
        for (ns, key), raw in zip(asked, values):
            if raw is None:
                continue
            payload = rec.parse_payload(raw, functools.partial(_describe_entry, ns, key))
            found[(ns, key)] = CacheEntry(namespace=ns, key=key, payload=payload)
        return found

    def set_entries(self, entries: Sequence[CacheEntry]) -> None:
        """Insert or replace entries (one round trip); each expires at its ``expires_at``."""
        now = self._clock()
        commands: list[tuple[Any, ...]] = []
        for entry in entries:
            key = self.entry_key(entry.namespace, entry.key)
            if entry.expires_at is None:
                # A plain SET also drops the TTL of the value it replaces.
                commands.append(("SET", key, rec.blob_value(entry.payload)))
                continue
            ms = math.ceil((entry.expires_at - now) * 1000)
            commands.append(("SET", key, rec.blob_value(entry.payload), "PX", ms) if ms > 0 else ("UNLINK", key))
        if not commands:
            return
        with translate(self._where, "cache set"):
            if len(commands) == 1:
                self.client.execute_command(*commands[0])
                return
            pipe = self.client.pipeline(transaction=False)
            for command in commands:
                pipe.execute_command(*command)
            pipe.execute()

    def clear(self, namespaces: Optional[Sequence[tuple[str, ...]]] = None) -> None:
        """Delete the entries of ``namespaces`` (every entry of this prefix when None)."""
        with translate(self._where, "cache clear"):
            if namespaces is None:
                self._unlink_matching(_glob_escape(self.prefix) + "{*", node=None, one_slot=False)
                return
            for namespace in dict.fromkeys(tuple(ns) for ns in namespaces):
                head = self.namespace_head(namespace)
                # Only the node that owns the namespace's slot can hold its keys.
                node = self.client.get_node_from_key(head) if self._cluster else None
                self._unlink_matching(_glob_escape(head) + "*", node=node, one_slot=True)

    # -- clearing -----------------------------------------------------------------------
    def _scan(self, pattern: str, node: Any) -> Iterator[bytes]:
        """Keys matching ``pattern`` (cursor SCAN: on ``node``, or every primary of a cluster)."""
        if node is None:
            return iter(self.client.scan_iter(match=pattern, count=_SCAN_COUNT))
        return iter(self.client.scan_iter(match=pattern, count=_SCAN_COUNT, target_nodes=node))

    def _unlink_matching(self, pattern: str, *, node: Any, one_slot: bool) -> None:
        batch: list[bytes] = []
        for key in self._scan(pattern, node):
            batch.append(key)
            if len(batch) >= _UNLINK_BATCH:
                self._unlink(batch, one_slot)
                batch = []
        if batch:
            self._unlink(batch, one_slot)

    def _unlink(self, keys: list[bytes], one_slot: bool) -> None:
        if not self._cluster or one_slot:
            self.client.execute_command("UNLINK", *keys)
            return
        # Keys of many slots: one UNLINK each, grouped per node by the cluster pipeline.
        pipe = self.client.pipeline(transaction=False)
        for key in keys:
            pipe.execute_command("UNLINK", key)
        pipe.execute()
