"""Valkey store repositories: items and their vectors, one round trip per batch, standalone or cluster.

Layout (``<P>`` is the prefix, default ``langgraph:store:``; ``<N>`` is a
namespace as JSON strings each followed by a comma, ``"a","b",``; ``<K>`` and
``<F>`` are the key and a field path as JSON strings)::

    <P>r:{s<b>}            hash   <N> -> latest expiry of the namespace's items (``inf``: one never expires)
    <P>n:{s<b>}<N>         zset   <K> scored by the item's expiry (``+inf``: never)
    <P>i:{s<b>}<N><K>      hash   v (value JSON), c, u (created/updated), e (expiry), t (ttl minutes),
                                  x (the item's vector field paths, one per line)
    <P>x:{s<b>}<N><K><F>   hash   vec (float32 bytes), p (tags: one per namespace prefix)

A namespace lives in bucket ``b = crc32(<N>) % 64``; everything of a bucket
shares the hash tag ``{s<b>}`` and so one cluster slot, and one Lua script
(``_store_script.STORE``) does any operation on a bucket atomically. JSON
strings are prefix-free, so ``<N>`` of ``("a",)`` is a string prefix of
``("a", "b")``'s and never of ``("ab",)``'s, and distinct items never share a key.

Expiry: the server expires item and vector keys (``PEXPIRE``) and the scripts
hide items whose ``e`` has passed by the caller's clock; each write or refresh
resettles the namespace's zset and registry entry, so deleting or expiring
every item of a namespace leaves nothing behind.

Round trips:

- ``get_items``, ``write_items``: one (one script per bucket touched, in one
  pipeline; on a cluster, one per node in parallel). TTL refresh is inside it.
- ``list_namespaces``, ``scan_items``: one (the 64 bucket scripts in one pipeline).
- vector ``query``: one ``FT.SEARCH`` (KNN over the vector hashes, prefix by tag).

Vector search needs a search module (RediSearch, or valkey-search on managed
Valkey): the index is ``FT.CREATE ... ON HASH PREFIX 1 <P>x:`` with a TAG field
``p`` and a VECTOR field ``vec`` only, the subset valkey-search serves; replies
are read by position, tolerating either server's extras. Without the module,
``fallback="exact"`` scores every vector of the prefix in the client.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import math
import struct
import time
import zlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Callable, Optional

from valkey.exceptions import NoScriptError, ResponseError

from ...domain.errors import ConfigurationError, CorruptRecordError, InvalidInputError
from ...domain.models import StoreItem
from ...domain.ports import ItemKey, ItemVectors
from ._base import _is_cluster, check_raw_bytes, describe_client
from ._errors import translate
from ._store_script import STORE

__all__ = [
    "ValkeyItemRepository",
    "AsyncValkeyItemRepository",
    "ValkeyVectorIndex",
    "AsyncValkeyVectorIndex",
    "DEFAULT_STORE_PREFIX",
    "BUCKETS",
    "SearchModuleMissingError",
]

DEFAULT_STORE_PREFIX = "langgraph:store:"
BUCKETS = 64
"""Namespaces spread over this many hash tags (fixed: changing it moves every key)."""

_SHA = hashlib.sha1(STORE.encode()).hexdigest()
_DECODER = json.JSONDecoder()
_METRICS = {"cosine": "COSINE", "l2": "L2", "ip": "IP", "inner_product": "IP"}
logger = logging.getLogger(__name__)


class SearchModuleMissingError(ConfigurationError):
    """Vector search was asked of a server without a search module (FT.* commands)."""


# -- encoding ---------------------------------------------------------------------------------
def _json(text: str) -> str:
    return json.dumps(text)


def encode_namespace(namespace: Sequence[str]) -> str:
    """``("a", "b")`` -> ``"a","b",``: injective, and prefix-preserving label by label."""
    return "".join(_json(label) + "," for label in namespace)


def _bucket(enc_ns: str) -> int:
    return zlib.crc32(enc_ns.encode()) % BUCKETS


def _tag(bucket: int) -> str:
    return "{s" + str(bucket) + "}"


def _prefix_tags(namespace: Sequence[str]) -> str:
    """One short hash per namespace prefix (depth 1..n), comma-separated, for the TAG field ``p``."""
    return ",".join(_prefix_tag(namespace[:depth]) for depth in range(1, len(namespace) + 1))


def _prefix_tag(prefix: Sequence[str]) -> str:
    return hashlib.sha1(encode_namespace(prefix).encode()).hexdigest()[:20]


def decode_namespace(enc_ns: str) -> tuple[str, ...]:
    labels: list[str] = []
    pos = 0
    while pos < len(enc_ns):
        label, pos = _DECODER.raw_decode(enc_ns, pos)
        labels.append(label)
        pos += 1  # the comma
    return tuple(labels)


def _text(raw: Any) -> str:
    return raw.decode() if isinstance(raw, bytes) else str(raw)


def _float(raw: Any) -> Optional[float]:
    text = _text(raw) if raw is not None else ""
    return float(text) if text else None


def _vector_bytes(vector: Sequence[float]) -> bytes:
    return struct.pack(f"<{len(vector)}f", *vector)


def _vector(raw: bytes) -> tuple[float, ...]:
    return struct.unpack(f"<{len(raw) // 4}f", raw)


def _time_arg(value: float) -> str:
    return repr(float(value))


class _StoreCore:
    """Keys, script arguments and reply parsing shared by the sync and async repositories."""

    def __init__(self, client: Any, *, prefix: str = DEFAULT_STORE_PREFIX) -> None:
        check_raw_bytes(client)
        if not isinstance(prefix, str) or not prefix or "{" in prefix or "}" in prefix:
            raise ConfigurationError(f"store prefix must be a non-empty string without '{{' or '}}', got {prefix!r}")
        self.client = client
        self.prefix = prefix
        self._cluster = _is_cluster(client)

    def _where(self) -> str:
        return describe_client(self.client)

    def _script(self, bucket: int, now: float, op: str, args: Sequence[Any]) -> tuple[Any, ...]:
        tag = _tag(bucket)
        return ("EVALSHA", _SHA, 1, f"{self.prefix}r:{tag}", op, self.prefix, tag, _time_arg(now), *args)

    # -- get ----------------------------------------------------------------------------------
    def _get_plan(
        self, keys: Sequence[ItemKey], now: float, refresh: bool
    ) -> tuple[list[tuple[Any, ...]], list[list[ItemKey]]]:
        groups: dict[int, list[ItemKey]] = {}
        args: dict[int, list[str]] = {}
        for namespace, key in dict.fromkeys((tuple(ns), k) for ns, k in keys):
            enc = encode_namespace(namespace)
            b = _bucket(enc)
            groups.setdefault(b, []).append((namespace, key))
            args.setdefault(b, []).extend((enc, _json(key)))
        commands = [self._script(b, now, "get", ["1" if refresh else "0", *args[b]]) for b in groups]
        return commands, list(groups.values())

    @staticmethod
    def _get_result(groups: list[list[ItemKey]], replies: Sequence[Any]) -> dict[ItemKey, StoreItem]:
        found: dict[ItemKey, StoreItem] = {}
        for wanted, rows in zip(groups, replies):
            for (namespace, key), row in zip(wanted, rows):
                if row:
                    found[(namespace, key)] = _item(namespace, key, row)
        return found

    # -- write --------------------------------------------------------------------------------
    def _write_plan(
        self,
        upserts: Sequence[StoreItem],
        deletes: Sequence[ItemKey],
        vectors: Mapping[ItemKey, ItemVectors],
        now: float,
    ) -> list[tuple[Any, ...]]:
        puts: dict[int, list[Any]] = {}
        counts: dict[int, list[int]] = {}
        for item in upserts:
            enc = encode_namespace(item.namespace)
            b = _bucket(enc)
            try:
                value = json.dumps(item.value, separators=(",", ":"), ensure_ascii=False)
            except (TypeError, ValueError) as exc:
                raise InvalidInputError(
                    f"value of {item.key!r} in {item.namespace!r} is not JSON-serializable: {exc}"
                ) from exc
            by_path = vectors.get((item.namespace, item.key), {})
            tags = _prefix_tags(item.namespace)
            row: list[Any] = [
                enc,
                _json(item.key),
                value,
                _time_arg(item.updated_at),
                "" if item.expires_at is None else _time_arg(item.expires_at),
                "" if item.ttl_minutes is None else repr(float(item.ttl_minutes)),
                len(by_path),
            ]
            for path, vector in by_path.items():
                row.extend((_json(path), _vector_bytes(vector), tags))
            puts.setdefault(b, []).extend(row)
            counts.setdefault(b, [0, 0])[0] += 1
        dels: dict[int, list[str]] = {}
        for namespace, key in deletes:
            enc = encode_namespace(namespace)
            b = _bucket(enc)
            dels.setdefault(b, []).extend((enc, _json(key)))
            counts.setdefault(b, [0, 0])[1] += 1
        return [
            self._script(b, now, "write", [n_put, *puts.get(b, ()), n_del, *dels.get(b, ())])
            for b, (n_put, n_del) in counts.items()
        ]

    # -- every bucket ---------------------------------------------------------------------------
    def _all_buckets(self, now: float, op: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return [self._script(b, now, op, args) for b in range(BUCKETS)]

    @staticmethod
    def _scan_rows(replies: Iterable[Any]) -> Iterable[list[Any]]:
        for reply in replies:
            yield from reply


def _item(namespace: tuple[str, ...], key: str, row: Sequence[Any]) -> StoreItem:
    raw_value, created, updated, expires, ttl = row[:5]
    try:
        value = json.loads(raw_value)
    except ValueError as exc:
        raise CorruptRecordError(f"store item {key!r} of {namespace!r} holds unreadable JSON: {exc}") from exc
    return StoreItem(
        namespace=namespace,
        key=key,
        value=value,
        created_at=float(_text(created)),
        updated_at=float(_text(updated)),
        expires_at=_float(expires),
        ttl_minutes=_float(ttl),
    )


def _scanned(row: Sequence[Any]) -> StoreItem:
    namespace = decode_namespace(_text(row[0]))
    key = json.loads(_text(row[1]))
    return _item(namespace, key, row[2:7])


class ValkeyItemRepository(_StoreCore):
    """An ItemRepository on a sync Valkey client (standalone or cluster).

    Args:
        client: ``valkey.Valkey`` or ``valkey.cluster.ValkeyCluster`` with
            ``decode_responses=False``; it stays the caller's.
        prefix: head of every key of this store (no braces).

    Raises:
        ConfigurationError: the client decodes responses, or the prefix is unusable.
    """

    def _run(self, what: str, commands: Sequence[tuple[Any, ...]]) -> list[Any]:
        if not commands:
            return []
        with translate(self._where, what):
            try:
                return self._send(commands)
            except NoScriptError:
                self._load()
                return self._send(commands)

    def _send(self, commands: Sequence[tuple[Any, ...]]) -> list[Any]:
        if len(commands) == 1:
            return [self.client.execute_command(*commands[0])]
        pipe = self.client.pipeline(transaction=False)
        for command in commands:
            pipe.execute_command(*command)
        return list(pipe.execute())

    def _load(self) -> None:
        self.client.script_load(STORE)  # a cluster client loads it on every primary

    def get_items(self, keys: Sequence[ItemKey], *, now: float, refresh: bool = False) -> dict[ItemKey, StoreItem]:
        commands, groups = self._get_plan(keys, now, refresh)
        return self._get_result(groups, self._run("store get", commands))

    def write_items(
        self,
        upserts: Sequence[StoreItem],
        deletes: Sequence[ItemKey],
        *,
        vectors: Mapping[ItemKey, ItemVectors],
        now: float,
    ) -> None:
        self._run("store write", self._write_plan(upserts, deletes, vectors, now))

    def scan_items(self, namespace_prefix: tuple[str, ...], *, now: float) -> list[StoreItem]:
        replies = self._run("store search", self._all_buckets(now, "scan", (encode_namespace(namespace_prefix), "0")))
        return [_scanned(row) for row in self._scan_rows(replies)]

    def scan_vectors(
        self, namespace_prefix: tuple[str, ...], *, now: float
    ) -> list[tuple[StoreItem, list[tuple[float, ...]]]]:
        """Every live item under the prefix with its vectors (the exact fallback's input)."""
        replies = self._run("store search", self._all_buckets(now, "scan", (encode_namespace(namespace_prefix), "1")))
        return [(_scanned(row), [_vector(v) for v in row[8::2] if v]) for row in self._scan_rows(replies)]

    def list_namespaces(self, *, now: float) -> list[tuple[str, ...]]:
        replies = self._run("store list_namespaces", self._all_buckets(now, "namespaces"))
        return [decode_namespace(_text(enc)) for reply in replies for enc in reply]

    def purge_expired(self, now: float) -> int:
        return sum(int(n) for n in self._run("store sweep", self._all_buckets(now, "purge")))


class AsyncValkeyItemRepository(_StoreCore):
    """``ValkeyItemRepository`` on a ``valkey.asyncio`` client (standalone or cluster)."""

    async def _run(self, what: str, commands: Sequence[tuple[Any, ...]]) -> list[Any]:
        if not commands:
            return []
        with translate(self._where, what):
            try:
                return await self._send(commands)
            except NoScriptError:
                await self.client.script_load(STORE)
                return await self._send(commands)

    async def _send(self, commands: Sequence[tuple[Any, ...]]) -> list[Any]:
        if len(commands) == 1:
            return [await self.client.execute_command(*commands[0])]
        if self._cluster:  # one call per bucket, all in flight together
            return list(await asyncio.gather(*(self.client.execute_command(*c) for c in commands)))
        pipe = self.client.pipeline(transaction=False)
        for command in commands:
            pipe.execute_command(*command)
        return list(await pipe.execute())

    async def get_items(
        self, keys: Sequence[ItemKey], *, now: float, refresh: bool = False
    ) -> dict[ItemKey, StoreItem]:
        commands, groups = self._get_plan(keys, now, refresh)
        return self._get_result(groups, await self._run("store get", commands))

    async def write_items(
        self,
        upserts: Sequence[StoreItem],
        deletes: Sequence[ItemKey],
        *,
        vectors: Mapping[ItemKey, ItemVectors],
        now: float,
    ) -> None:
        await self._run("store write", self._write_plan(upserts, deletes, vectors, now))

    async def scan_items(self, namespace_prefix: tuple[str, ...], *, now: float) -> list[StoreItem]:
        commands = self._all_buckets(now, "scan", (encode_namespace(namespace_prefix), "0"))
        return [_scanned(row) for row in self._scan_rows(await self._run("store search", commands))]

    async def scan_vectors(
        self, namespace_prefix: tuple[str, ...], *, now: float
    ) -> list[tuple[StoreItem, list[tuple[float, ...]]]]:
        """See ``ValkeyItemRepository.scan_vectors``."""
        commands = self._all_buckets(now, "scan", (encode_namespace(namespace_prefix), "1"))
        rows = self._scan_rows(await self._run("store search", commands))
        return [(_scanned(row), [_vector(v) for v in row[8::2] if v]) for row in rows]

    async def list_namespaces(self, *, now: float) -> list[tuple[str, ...]]:
        replies = await self._run("store list_namespaces", self._all_buckets(now, "namespaces"))
        return [decode_namespace(_text(enc)) for reply in replies for enc in reply]

    async def purge_expired(self, now: float) -> int:
        return sum(int(n) for n in await self._run("store sweep", self._all_buckets(now, "purge")))


# -- vector search ------------------------------------------------------------------------------
class _IndexCore:
    """The FT index definition, the KNN query and the scoring shared by the sync and async indexes.

    Args:
        items: the item repository whose vector hashes are indexed.
        dims: vector length.
        collection_name: the index's name (default ``<prefix>idx``).
        distance_metric: ``cosine`` (default), ``l2`` or ``ip`` / ``inner_product``.
        index_type: ``hnsw`` (default) or ``flat``.
        hnsw_m, hnsw_ef_construction, hnsw_ef_runtime: HNSW parameters.
        fallback: ``"error"`` (default): a query without the search module
            raises SearchModuleMissingError; ``"exact"``: score every vector of
            the prefix in the client (logged once).
        clock: POSIX seconds for the exact fallback's expiry checks.
    """

    def __init__(
        self,
        items: _StoreCore,
        *,
        dims: Optional[int],
        collection_name: Optional[str] = None,
        distance_metric: str = "cosine",
        index_type: str = "hnsw",
        hnsw_m: int = 16,
        hnsw_ef_construction: int = 200,
        hnsw_ef_runtime: int = 10,
        fallback: str = "error",
        clock: Optional[Callable[[], float]] = None,
    ) -> None:
        metric = str(distance_metric).lower()
        if metric not in _METRICS:
            raise ConfigurationError(
                f"index.distance_metric must be one of cosine, l2, ip, got {distance_metric!r}"
            )
        kind = str(index_type).lower()
        if kind not in ("hnsw", "flat"):
            raise ConfigurationError(f"index.index_type must be 'hnsw' or 'flat', got {index_type!r}")
        if fallback not in ("error", "exact"):
            raise ConfigurationError(f"search_fallback must be 'error' or 'exact', got {fallback!r}")
        if dims is None or isinstance(dims, bool) or not isinstance(dims, int) or dims <= 0:
            raise ConfigurationError(f"index.dims must be a positive integer for the Valkey store, got {dims!r}")
        self.items = items
        self.dims = dims
        self.name = collection_name or f"{items.prefix}idx"
        self.metric = metric
        self.index_type = kind
        self.hnsw = (hnsw_m, hnsw_ef_construction, hnsw_ef_runtime)
        self.fallback = fallback
        self.module: Optional[bool] = None
        """Whether the server has the search module (None: not asked yet)."""
        self._warned = False
        self._clock = clock or time.time

    def _create_command(self) -> tuple[Any, ...]:
        params: list[Any] = ["TYPE", "FLOAT32", "DIM", self.dims, "DISTANCE_METRIC", _METRICS[self.metric]]
        if self.index_type == "hnsw":
            m, ef_construction, ef_runtime = self.hnsw
            params += ["M", m, "EF_CONSTRUCTION", ef_construction, "EF_RUNTIME", ef_runtime]
        return (
            "FT.CREATE", self.name, "ON", "HASH", "PREFIX", 1, f"{self.items.prefix}x:",
            "SCHEMA", "p", "TAG", "SEPARATOR", ",",
            "vec", "VECTOR", self.index_type.upper(), len(params), *params,
        )  # fmt: skip

    def _query_command(self, vector: Sequence[float], prefix: tuple[str, ...], k: int) -> tuple[Any, ...]:
        where = f"@p:{{{_prefix_tag(prefix)}}}" if prefix else "*"
        return (
            "FT.SEARCH", self.name, f"{where}=>[KNN {k} @vec $B AS dist]",
            "PARAMS", 2, "B", _vector_bytes(vector),
            "RETURN", 1, "dist", "LIMIT", 0, k, "DIALECT", 2,
        )  # fmt: skip

    def _score(self, distance: float) -> float:
        """Higher = more similar: cosine similarity, inner product, or minus the L2 distance."""
        if self.metric == "l2":
            return -math.sqrt(max(distance, 0.0))  # the server reports squared L2
        return 1.0 - distance

    def _parse_hits(self, reply: Sequence[Any]) -> list[tuple[tuple[str, ...], str, float]]:
        """Best score per item from an FT.SEARCH reply ``[total, id, fields, id, fields, ...]``."""
        best: dict[ItemKey, float] = {}
        head = f"{self.items.prefix}x:"
        for i in range(1, len(reply) - 1, 2):
            doc = _text(reply[i])
            fields = reply[i + 1]
            values = {_text(fields[j]): fields[j + 1] for j in range(0, len(fields) - 1, 2)}
            if "dist" not in values or not doc.startswith(head):
                continue
            rest = doc[doc.index("}", len(head)) + 1 :]
            labels: list[str] = []
            pos = 0
            while True:
                token, pos = _DECODER.raw_decode(rest, pos)
                if pos < len(rest) and rest[pos] == ",":
                    labels.append(token)
                    pos += 1
                    continue
                key = token
                break
            ident = (tuple(labels), key)
            score = self._score(float(_text(values["dist"])))
            if ident not in best or score > best[ident]:
                best[ident] = score
        ranked = sorted(best.items(), key=lambda hit: (-hit[1], hit[0]))
        return [(ns, key, score) for (ns, key), score in ranked]

    def _exact(
        self, rows: Sequence[tuple[StoreItem, list[tuple[float, ...]]]], vector: Sequence[float], candidates: int
    ) -> list[tuple[tuple[str, ...], str, float]]:
        if not self._warned:
            self._warned = True
            logger.warning(
                "no search module on %s: store queries score every vector of the namespace prefix in the client "
                "(search_fallback='exact')",
                describe_client(self.items.client),
            )
        query = [float(v) for v in vector]
        hits: list[tuple[tuple[str, ...], str, float]] = []
        for item, stored in rows:
            scores = [self._score(self._distance(query, v)) for v in stored if len(v) == len(query)]
            if scores:
                hits.append((item.namespace, item.key, max(scores)))
        hits.sort(key=lambda hit: (-hit[2], hit[0], hit[1]))
        return hits[:candidates]

    def _distance(self, a: Sequence[float], b: Sequence[float]) -> float:
        if self.metric == "l2":
            return math.fsum((x - y) ** 2 for x, y in zip(a, b))
        dot = math.fsum(x * y for x, y in zip(a, b))
        if self.metric == "ip":
            return 1.0 - dot
        norms = math.sqrt(math.fsum(x * x for x in a)) * math.sqrt(math.fsum(y * y for y in b))
        return 1.0 if norms == 0.0 else 1.0 - dot / norms

    def _missing(self) -> SearchModuleMissingError:
        return SearchModuleMissingError(
            f"vector search needs the search module (FT.CREATE / FT.SEARCH) on {describe_client(self.items.client)}: "
            "load RediSearch or valkey-search into the server, or pass search_fallback='exact' to score "
            "every vector of the namespace prefix in the client"
        )

    def _setup_failed(self, exc: ResponseError) -> None:
        if _index_exists(exc):
            self.module = True
        elif _unknown_command(exc):
            self.module = False
            logger.warning("%s", self._missing())
        else:
            raise ConfigurationError(f"FT.CREATE {self.name} failed: {exc}") from exc

    def _hits(
        self, reply: Optional[Sequence[Any]], candidates: int, k: int
    ) -> Optional[list[tuple[tuple[str, ...], str, float]]]:
        """The best ``candidates`` items of a reply; None when a wider query is needed (or no module)."""
        if reply is None:
            self.module = False
            return None
        self.module = True
        hits = self._parse_hits(reply)
        if len(hits) >= candidates or (len(reply) - 1) // 2 < k:
            return hits[:candidates]
        return None

    def _k(self, candidates: int) -> int:
        # An item has one vector per indexed field: ask for more hashes than items wanted.
        return max(candidates * 3, 10)


_BACKFILL_POLLS = 200
_BACKFILL_PAUSE = 0.05


def _backfilled(info: Sequence[Any]) -> bool:
    """Whether an FT.INFO reply says the index has scanned the existing keys (RediSearch or valkey-search)."""
    fields = {_text(info[i]): info[i + 1] for i in range(0, len(info) - 1, 2)}
    if "percent_indexed" in fields:
        return float(_text(fields["percent_indexed"])) >= 1.0
    if "backfill_in_progress" in fields:
        return _text(fields["backfill_in_progress"]) in ("0", "false")
    if "indexing" in fields:
        return _text(fields["indexing"]) in ("0", "false")
    return True


def _unknown_command(exc: ResponseError) -> bool:
    text = str(exc).lower()
    return "unknown command" in text or "unknown subcommand" in text


def _index_exists(exc: ResponseError) -> bool:
    return "already exists" in str(exc).lower()


def _unknown_index(exc: ResponseError) -> bool:
    text = str(exc).lower()
    return ("unknown" in text or "not found" in text or "no such index" in text) and "index" in text


class ValkeyVectorIndex(_IndexCore):
    """A VectorIndex over ``ValkeyItemRepository``'s vector hashes (FT.SEARCH KNN, one round trip)."""

    items: ValkeyItemRepository

    def setup(self) -> None:
        """Create the index when the server has a search module; log clearly when it has none."""
        with translate(self.items._where, "store setup"):
            try:
                self.items.client.execute_command(*self._create_command())
                self.module = True
            except ResponseError as exc:
                self._setup_failed(exc)

    def _search(self, command: tuple[Any, ...]) -> Optional[Any]:
        """The FT.SEARCH reply; None without the module. A missing index is created, then asked again."""
        with translate(self.items._where, "store search"):
            try:
                return self.items.client.execute_command(*command)
            except ResponseError as exc:
                if _unknown_command(exc):
                    return None
                if not _unknown_index(exc):
                    raise
            self.setup()
            for _ in range(_BACKFILL_POLLS):  # the new index scans the vectors already stored
                if _backfilled(self.items.client.execute_command("FT.INFO", self.name)):
                    break
                time.sleep(_BACKFILL_PAUSE)
            return self.items.client.execute_command(*command)

    def query(
        self, vector: Sequence[float], namespace_prefix: tuple[str, ...], candidates: int
    ) -> list[tuple[tuple[str, ...], str, float]]:
        if candidates <= 0:
            return []
        k = self._k(candidates)
        while self.module is not False:
            reply = self._search(self._query_command(vector, namespace_prefix, k))
            hits = self._hits(reply, candidates, k)
            if hits is not None:
                return hits
            k *= 4
        if self.fallback != "exact":
            raise self._missing()
        return self._exact(self.items.scan_vectors(namespace_prefix, now=self._clock()), vector, candidates)


class AsyncValkeyVectorIndex(_IndexCore):
    """``ValkeyVectorIndex`` on a ``valkey.asyncio`` client."""

    items: AsyncValkeyItemRepository

    async def setup(self) -> None:
        """See ``ValkeyVectorIndex.setup``."""
        with translate(self.items._where, "store setup"):
            try:
                await self.items.client.execute_command(*self._create_command())
                self.module = True
            except ResponseError as exc:
                self._setup_failed(exc)

    async def _search(self, command: tuple[Any, ...]) -> Optional[Any]:
        with translate(self.items._where, "store search"):
            try:
                return await self.items.client.execute_command(*command)
            except ResponseError as exc:
                if _unknown_command(exc):
                    return None
                if not _unknown_index(exc):
                    raise
            await self.setup()
            for _ in range(_BACKFILL_POLLS):  # the new index scans the vectors already stored
                if _backfilled(await self.items.client.execute_command("FT.INFO", self.name)):
                    break
                await asyncio.sleep(_BACKFILL_PAUSE)
            return await self.items.client.execute_command(*command)

    async def query(
        self, vector: Sequence[float], namespace_prefix: tuple[str, ...], candidates: int
    ) -> list[tuple[tuple[str, ...], str, float]]:
        if candidates <= 0:
            return []
        k = self._k(candidates)
        while self.module is not False:
            reply = await self._search(self._query_command(vector, namespace_prefix, k))
            hits = self._hits(reply, candidates, k)
            if hits is not None:
                return hits
            k *= 4
        if self.fallback != "exact":
            raise self._missing()
        return self._exact(await self.items.scan_vectors(namespace_prefix, now=self._clock()), vector, candidates)
