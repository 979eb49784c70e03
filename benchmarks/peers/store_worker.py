"""One implementation of the store and cache benchmark, in its own process.

Run by ``benchmarks/store_bench.py`` (with our ``.venv`` python for ours, with
``.bench/venvs/published-aws/bin/python`` for the published
``langgraph-checkpoint-aws`` 1.2.6, which has our import root, and with
``.bench/venvs/redis/bin/python`` for langgraph-checkpoint-redis), or by hand::

    python benchmarks/peers/store_worker.py --impl ours --part store --url valkey://127.0.0.1:6379

It expects an empty database (the orchestrator flushes it before each worker)
and prints ONE JSON line on stdout (and nothing else there).

Parts:

- ``store``: the store's sync API (``put``, ``batch``, ``get``, ``search``,
  ``list_namespaces``) on 1,000 items with 64-dim vectors from the hashed
  bag-of-words embedder below, FLAT cosine index on the ``text`` field;
- ``recall`` (ours only): recall@10 of HNSW (default parameters) against
  FLAT on 10,000 gaussian vectors, at each of ``--dims``;
- ``cache``: ``set`` then ``get`` of 500 entries, one call each.

Counted in this process, per call: round trips, i.e. each
``send_packed_command`` of the client library's connections (valkey-py for
ours and the published package, redis-py for langgraph-checkpoint-redis; a
pipeline or a MULTI/EXEC counts once); server commands, i.e. the
``INFO commandstats`` delta (read over a raw socket, INFO itself excluded).

Standard library only, plus the implementation's own package and client, so
the same file runs in every venv.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import operator
import platform
import random
import socket
import statistics
import struct
import sys
import time
import traceback
from importlib import metadata
from typing import Any, Callable, Optional
from urllib.parse import urlparse

IMPLS = ("ours", "published", "redis")
PARTS = ("store", "recall", "cache")

DIMS = 64
DOCS = 1000
GROUPS = 10  # the documents spread over ("bench", "docs", "g0") .. ("bench", "docs", "g9")
CATEGORIES = 10
VOCABULARY = [f"w{i}" for i in range(200)]
WORDS_PER_DOC = 12
QUERIES = ["w3 w17 w42", "w99 w100 w5", "w150 w7 w64", "w1 w2 w3 w4", "w180 w33"]
CACHE_ENTRIES = 500
RECALL_ITEMS = 10_000
RECALL_QUERIES = 50
RECALL_CHUNK = 500
SEED = 20261


# -- the embedders (identical in every venv) -------------------------------------------------


def embed_text(text: str, dims: int = DIMS) -> list[float]:
    """Hashed bag of words: each word adds +-1 to one of ``dims`` coordinates; unit length."""
    v = [0.0] * dims
    for word in text.lower().split():
        h = hashlib.blake2b(word.encode(), digest_size=8).digest()
        v[int.from_bytes(h[:4], "little") % dims] += 1.0 if h[4] & 1 else -1.0
    norm = math.sqrt(sum(x * x for x in v))
    if norm == 0.0:
        v[0], norm = 1.0, 1.0
    return [x / norm for x in v]


def embed(texts: list[str]) -> list[list[float]]:
    return [embed_text(t) for t in texts]


def cosine(a: list[float], b: list[float]) -> float:
    na = math.sqrt(sum(x * x for x in a)) or 1.0
    nb = math.sqrt(sum(x * x for x in b)) or 1.0
    return sum(x * y for x, y in zip(a, b)) / (na * nb)


def documents() -> list[tuple[tuple[str, ...], str, dict[str, Any]]]:
    """The 1,000 documents: (namespace, key, value); deterministic."""
    rng = random.Random(SEED)
    out = []
    for i in range(DOCS):
        text = " ".join(rng.choice(VOCABULARY) for _ in range(WORDS_PER_DOC))
        value = {"text": text, "category": f"c{i % CATEGORIES}", "n": i}
        out.append((("bench", "docs", f"g{i % GROUPS}"), f"doc-{i}", value))
    return out


# -- counting ---------------------------------------------------------------------------------

TRIPS = {"n": 0}


def count_round_trips(impl: str) -> None:
    """Count each packed send of the client library's (sync) connections."""
    if impl == "redis":
        from redis.connection import AbstractConnection
    else:
        from valkey.connection import AbstractConnection  # type: ignore[no-redef]
    original = AbstractConnection.send_packed_command

    def send_packed_command(self: Any, *args: Any, **kwargs: Any) -> Any:
        TRIPS["n"] += 1
        return original(self, *args, **kwargs)

    AbstractConnection.send_packed_command = send_packed_command  # type: ignore[method-assign]


class Meter:
    """Round trips of this process and server commands (INFO commandstats over a raw socket)."""

    def __init__(self, url: str) -> None:
        parsed = urlparse(url)
        self.sock = socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 6379), timeout=30)
        self.reader = self.sock.makefile("rb")
        self._trips, self._commands = TRIPS["n"], self._server_commands()

    def _server_commands(self) -> int:
        self.sock.sendall(b"*2\r\n$4\r\nINFO\r\n$12\r\ncommandstats\r\n")
        head = self.reader.readline()
        if not head.startswith(b"$"):
            raise RuntimeError(f"unexpected INFO reply {head[:80]!r}")
        body = self.reader.read(int(head[1:]) + 2).decode()
        total = 0
        for line in body.splitlines():
            if line.startswith("cmdstat_") and not line.startswith("cmdstat_info:"):
                fields = dict(kv.split("=", 1) for kv in line.split(":", 1)[1].split(","))
                total += int(fields["calls"])
        return total

    def take(self) -> tuple[int, int]:
        """(round trips, server commands) since the last call."""
        trips, commands = TRIPS["n"], self._server_commands()
        out = (trips - self._trips, commands - self._commands)
        self._trips, self._commands = trips, commands
        return out

    def close(self) -> None:
        self.reader.close()
        self.sock.close()


def describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {' '.join(str(exc).split())[:200]}"


def measure(meter: Meter, fn: Callable[[int], Any], repeat: int, check: Optional[Callable[[Any], str]] = None,
            warm: int = 1) -> dict[str, Any]:
    """Run ``fn(i)`` ``warm`` times untimed then ``repeat`` times: median latency and client CPU
    (``time.process_time``, all threads of this process), mean round trips and server commands per call."""
    try:
        for i in range(warm):
            fn(-1 - i)
    except Exception as exc:  # noqa: BLE001 - reported as "failed"
        traceback.print_exc(file=sys.stderr)
        return {"error": describe(exc)}
    latencies: list[float] = []
    cpu: list[float] = []
    trips: list[int] = []
    commands: list[int] = []
    note = ""
    for i in range(repeat):
        meter.take()
        c0, t0 = time.process_time(), time.perf_counter()
        try:
            out = fn(i)
        except Exception as exc:  # noqa: BLE001
            traceback.print_exc(file=sys.stderr)
            return {"error": f"call {i + 1}: {describe(exc)}"}
        latencies.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
        t, c = meter.take()
        trips.append(t)
        commands.append(c)
        if check is not None and i == 0:
            note = check(out)
    return {
        "median_ms": statistics.median(latencies),
        "cpu_ms": statistics.median(cpu),
        "trips": statistics.mean(trips),
        "trips_max": max(trips),
        "commands": statistics.mean(commands),
        "calls": repeat,
        "check": note,
    }


# -- the implementations ----------------------------------------------------------------------


def index_config(impl: str, dims: int, embedder: Callable[[list[str]], list[list[float]]], kind: str,
                 name: str) -> dict[str, Any]:
    """The same index everywhere: ``dims``, field ``text``, cosine, FLAT (or HNSW 16/200/10)."""
    config: dict[str, Any] = {"dims": dims, "embed": embedder, "fields": ["text"]}
    if impl == "ours":
        config.update(index_type=kind, distance_metric="cosine")
    elif impl == "published":
        config.update(collection_name=name, index_type=kind, distance_metric="COSINE")
    elif impl == "redis":
        config["distance_type"] = "cosine"
        if kind == "hnsw":
            config["ann_index_config"] = {"algorithm": "hnsw", "m": 16, "ef_construction": 200, "ef_runtime": 10}
    return config


def open_store(impl: str, url: str, index: dict[str, Any], prefix: str) -> Any:
    """A context manager yielding a store of ``impl`` (call ``setup()`` on it)."""
    if impl == "ours":
        from langgraph_checkpoint_aws import ValkeyStore

        return ValkeyStore.from_conn_string(url, index=index, prefix=prefix)
    if impl == "published":
        # 1.2.6: ValkeyStore.from_conn_string(conn_string, *, index, ttl, pool_size, pool_timeout); no prefix.
        from langgraph_checkpoint_aws import ValkeyStore

        return ValkeyStore.from_conn_string(url, index=index)
    if impl == "redis":
        from langgraph.store.redis import RedisStore

        return RedisStore.from_conn_string(url.replace("valkey://", "redis://", 1), index=index)
    raise ValueError(f"unknown implementation {impl!r}")


def versions(impl: str) -> dict[str, str]:
    packages = ["langgraph", "langgraph-checkpoint"] + {
        "ours": ["langgraph-checkpoint-aws-hex", "valkey", "libvalkey"],
        "published": ["langgraph-checkpoint-aws", "valkey"],
        "redis": ["langgraph-checkpoint-redis", "redis", "redisvl"],
    }[impl]
    out = {"python": platform.python_version()}
    for p in packages:
        try:
            out[p] = metadata.version(p)
        except metadata.PackageNotFoundError:
            out[p] = "-"
    return out


# -- part 1: the store ------------------------------------------------------------------------


def store_part(impl: str, url: str, repeat: int) -> dict[str, Any]:
    from langgraph.store.base import GetOp, PutOp

    docs = documents()
    vectors = {key: embed_text(value["text"]) for _, key, value in docs}
    by_key = {key: (ns, value) for ns, key, value in docs}
    index = index_config(impl, DIMS, embed, "flat", "bench_store_idx")
    rows: dict[str, Any] = {}
    meter = Meter(url)
    with open_store(impl, url, index, "bench:store:") as store:
        store.setup()

        # Load the 1,000 documents (10 batches of 100 puts), measured once.
        def load(i: int) -> None:
            if i < 0:
                return
            for start in range(0, DOCS, 100):
                store.batch([PutOp(ns, key, value) for ns, key, value in docs[start : start + 100]])

        rows["load 1,000 items (10 batches of 100)"] = measure(meter, load, 1)
        time.sleep(0.5)  # let the index catch up, if it indexes in the background

        def put_one(i: int) -> None:
            store.put(("bench", "puts"), f"p-{i}", {"text": f"w{i % 200} w{(i * 7) % 200} w3", "category": "c1"})

        rows["put 1 item"] = measure(meter, put_one, repeat)

        def put_batch(i: int) -> None:
            store.batch([
                PutOp(("bench", "batch"), f"b-{i}-{j}", {"text": f"w{j} w{i % 200} w9", "category": "c2"})
                for j in range(20)
            ])

        rows["batch put 20 items"] = measure(meter, put_batch, repeat)

        def check_get(item: Any) -> str:
            if item is None:
                return "returned None"
            ns, value = by_key[item.key]
            return "ok" if item.value == value and tuple(item.namespace) == ns else "wrong item"

        def get_one(i: int) -> Any:
            ns, key, _ = docs[(i * 37) % DOCS]
            return store.get(ns, key)

        rows["get 1 item"] = measure(meter, get_one, repeat, check_get)

        def check_batch_get(items: Any) -> str:
            got = [check_get(x) for x in items]
            bad = [g for g in got if g != "ok"]
            return "ok" if len(got) == 20 and not bad else f"{len(got) - len(bad)}/20 ok ({bad[0] if bad else ''})"

        def get_batch(i: int) -> Any:
            picked = [docs[(i * 131 + j * 17) % DOCS] for j in range(20)]
            return store.batch([GetOp(ns, key) for ns, key, _ in picked])

        rows["batch get 20 items"] = measure(meter, get_batch, repeat, check_batch_get)

        def check_query(results: Any, query: str) -> str:
            """Hits among the exact top 10 (ties with the 10th count), and the score order."""
            if not results:
                return "0 hits"
            q = embed_text(query)
            exact = sorted((cosine(q, v) for v in vectors.values()), reverse=True)
            tenth = exact[9]
            good = sum(1 for r in results if r.key in vectors and cosine(q, vectors[r.key]) >= tenth - 1e-6)
            notes = [f"{good}/10 of exact top 10"] if len(results) == 10 else [f"{len(results)} hits, {good} in exact top 10"]
            sims = [cosine(q, vectors[r.key]) for r in results if r.key in vectors]
            if any(a < b - 1e-6 for a, b in zip(sims, sims[1:])):
                notes.append("not best-first")
            scores = [r.score for r in results if r.score is not None]
            if len(scores) > 1 and scores[0] < scores[-1]:
                notes.append("scores ascending")
            return ", ".join(notes)

        def search_query(i: int) -> Any:
            return store.search(("bench", "docs"), query=QUERIES[i % len(QUERIES)], limit=10)

        rows["search with query (limit 10, 1,000 vectors)"] = measure(
            meter, search_query, repeat, lambda r: check_query(r, QUERIES[0])
        )

        def check_filter(results: Any) -> str:
            if len(results) != 10:
                return f"{len(results)} hits (expected 10)"
            wrong = sum(1 for r in results if r.value.get("category") != "c3")
            return "ok" if not wrong else f"{wrong}/10 fail the filter"

        def search_filter(i: int) -> Any:
            return store.search(("bench", "docs"), filter={"category": "c3"}, limit=10)

        rows["search without query, filter (limit 10)"] = measure(meter, search_filter, repeat, check_filter)

        expected_ns = {("bench", "docs", f"g{g}") for g in range(GROUPS)} | {("bench", "puts"), ("bench", "batch")}

        def check_namespaces(found: Any) -> str:
            got = {tuple(n) for n in found}
            if got == expected_ns:
                return "ok"
            return f"{len(got & expected_ns)}/{len(expected_ns)} expected, {len(got - expected_ns)} unexpected"

        def list_ns(i: int) -> Any:
            return store.list_namespaces(prefix=("bench",), limit=100)

        rows["list_namespaces(prefix, limit 100)"] = measure(meter, list_ns, repeat, check_namespaces)
    meter.close()
    return rows


# -- part 2: recall (ours) --------------------------------------------------------------------


def gaussian_table(count: int, dims: int, seed: int) -> list[list[float]]:
    rng = random.Random(seed)
    return [[rng.gauss(0.0, 1.0) for _ in range(dims)] for _ in range(count)]


def _unit(v: list[float]) -> list[float]:
    norm = math.sqrt(sum(x * x for x in v)) or 1.0
    return [x / norm for x in v]


def _raw_knn(store: Any, name: str, vector: list[float], k: int) -> list[str]:
    """Ids of a bare ``FT.SEARCH ... KNN k`` on our index ``name`` (the item's suffix after ``x:``)."""
    blob = struct.pack(f"<{len(vector)}f", *vector)
    reply = store.client.execute_command(
        "FT.SEARCH", name, f"*=>[KNN {k} @vec $B AS dist]", "PARAMS", 2, "B", blob,
        "RETURN", 1, "dist", "LIMIT", 0, k, "DIALECT", 2,
    )  # fmt: skip
    ids = reply[1::2] if isinstance(reply, list) else [r.get("id") for r in reply.get(b"results", [])]
    return [(i.decode() if isinstance(i, bytes) else str(i)).split("x:", 1)[-1] for i in ids]


def recall_part(impl: str, url: str, dims_list: list[int], exact_queries: int) -> dict[str, Any]:
    """Recall@10 of HNSW against FLAT through ``store.search`` (with and without a namespace prefix) and
    through a bare KNN 10 on the index; FLAT's hits against exact cosine on the first ``exact_queries``."""
    from langgraph.store.base import PutOp

    if impl != "ours":
        raise ValueError("the recall part runs our store only")
    out: dict[str, Any] = {}
    for dims in dims_list:
        t0 = time.perf_counter()
        items = gaussian_table(RECALL_ITEMS, dims, SEED + dims)
        queries = gaussian_table(RECALL_QUERIES, dims, SEED + 1000 + dims)
        table = {f"v{i}": v for i, v in enumerate(items)} | {f"q{i}": v for i, v in enumerate(queries)}

        def lookup(texts: list[str], table: dict[str, list[float]] = table) -> list[list[float]]:
            return [table[t] for t in texts]

        row: dict[str, Any] = {"vectors_s": time.perf_counter() - t0}
        hits: dict[str, list[list[str]]] = {}
        for kind in ("flat", "hnsw"):
            prefix = f"bench:recall:{kind}:{dims}:"
            index = index_config(impl, dims, lookup, kind, "")
            with open_store(impl, url, index, prefix) as store:
                store.setup()
                t0 = time.perf_counter()
                for start in range(0, RECALL_ITEMS, RECALL_CHUNK):
                    store.batch([
                        PutOp(("recall",), f"v{i}", {"text": f"v{i}"})
                        for i in range(start, min(start + RECALL_CHUNK, RECALL_ITEMS))
                    ])
                row[f"{kind}_load_s"] = time.perf_counter() - t0
                time.sleep(0.5)
                # Three ways to ask: under the namespace prefix (the query carries a TAG filter), over the
                # whole store (no filter: a pure KNN), and a bare FT.SEARCH KNN 10 on the index.
                for way, ns in (("ns", ("recall",)), ("all", ())):
                    latencies = []
                    hits[f"{way}-{kind}"] = []
                    for q in range(RECALL_QUERIES):
                        t0 = time.perf_counter()
                        results = store.search(ns, query=f"q{q}", limit=10)
                        latencies.append((time.perf_counter() - t0) * 1000)
                        hits[f"{way}-{kind}"].append([r.key for r in results])
                    row[f"{way}_{kind}_median_ms"] = statistics.median(latencies)
                hits[f"raw-{kind}"] = [_raw_knn(store, f"{prefix}idx", queries[q], 10) for q in range(RECALL_QUERIES)]
        for way in ("ns", "all", "raw"):
            pairs = zip(hits[f"{way}-hnsw"], hits[f"{way}-flat"])
            row[f"{way}_recall"] = statistics.mean(len(set(h) & set(f)) / 10 for h, f in pairs)
            row[f"{way}_hits"] = statistics.mean(len(h) for h in hits[f"{way}-hnsw"])
        # FLAT is the ground truth: check it against exact cosine on the first queries (pure Python).
        units = [_unit(v) for v in items]
        agree = []
        for q in range(min(exact_queries, RECALL_QUERIES)):
            uq = _unit(queries[q])
            sims = [sum(map(operator.mul, uq, u)) for u in units]
            top = sorted(range(RECALL_ITEMS), key=sims.__getitem__, reverse=True)[:10]
            agree.append(len({f"v{j}" for j in top} & set(hits["ns-flat"][q])) / 10)
        row["flat_vs_exact"] = statistics.mean(agree) if agree else None
        row["exact_queries"] = len(agree)
        out[str(dims)] = row
    return out


# -- part 3: the cache ------------------------------------------------------------------------


def cache_part(impl: str, url: str, repeat: int) -> dict[str, Any]:
    if impl == "ours":
        from langgraph_checkpoint_aws import ValkeyCache
    elif impl == "published":
        from langgraph_checkpoint_aws import ValkeyCache  # type: ignore[no-redef]
    else:
        raise ValueError("no cache for this implementation")
    entries = {
        (("bench", "cache"), f"k{i}"): ({"i": i, "text": " ".join(VOCABULARY[i % 190 : i % 190 + 10])}, 3600)
        for i in range(CACHE_ENTRIES)
    }
    keys = list(entries)
    rows: dict[str, Any] = {}
    meter = Meter(url)
    with ValkeyCache.from_conn_string(url) as cache:

        def cache_set(i: int) -> None:
            cache.set(entries)

        rows[f"set {CACHE_ENTRIES} entries (one call)"] = measure(meter, cache_set, repeat)

        def check_get(got: Any) -> str:
            ok = sum(1 for k in keys if k in got and got[k] == entries[k][0])
            return "ok" if ok == CACHE_ENTRIES else f"{ok}/{CACHE_ENTRIES} returned intact"

        def cache_get(i: int) -> Any:
            return cache.get(keys)

        rows[f"get {CACHE_ENTRIES} entries (one call)"] = measure(meter, cache_get, repeat, check_get)
    meter.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--impl", required=True, choices=IMPLS)
    parser.add_argument("--part", required=True, choices=PARTS)
    parser.add_argument("--url", default="valkey://127.0.0.1:6379")
    parser.add_argument("--repeat", type=int, default=30, help="timed calls per operation")
    parser.add_argument("--dims", default="64,384", help="recall part: comma-separated dimensions")
    parser.add_argument("--exact-queries", type=int, default=10, help="recall part: queries checked by brute force")
    args = parser.parse_args()
    result: dict[str, Any] = {"impl": args.impl, "part": args.part, "versions": versions(args.impl)}
    count_round_trips(args.impl)
    try:
        if args.part == "store":
            result["rows"] = store_part(args.impl, args.url, args.repeat)
        elif args.part == "cache":
            result["rows"] = cache_part(args.impl, args.url, args.repeat)
        else:
            dims = [int(d) for d in args.dims.split(",") if d.strip()]
            result["recall"] = recall_part(args.impl, args.url, dims, args.exact_queries)
    except Exception as exc:  # noqa: BLE001 - a set-up failure (import, connect, index)
        traceback.print_exc(file=sys.stderr)
        result["error"] = describe(exc)
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
