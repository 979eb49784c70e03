"""Demo backend: the in-memory saver (nothing persists between runs)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Optional

from langgraph_checkpoint_aws import RepositorySaver, create_cache, create_container, create_store


class MemoryDemo:
    """The memory saver, with a look inside its repository for the storage table."""

    def __init__(self) -> None:
        self.container = create_container({"backend": "memory"})
        self.saver: Any = RepositorySaver.from_container(self.container)
        from demo.agent import INDEX

        self.store: Any = create_store({"backend": "memory", "store": {"index": INDEX}})
        self.cache: Any = create_cache({"backend": "memory"})

    def describe_storage(self) -> list[tuple[str, str]]:
        stats = self.container.checkpoint_repository().storage_stats()
        return [
            ("checkpoint headers", f"{stats['checkpoints']} ({stats['checkpoint_bytes']:,} bytes) in process memory"),
            ("channel blobs", f"{stats['blobs']} ({stats['blob_bytes']:,} bytes), one per changed channel version"),
            ("pending writes", f"{stats['writes']} ({stats['write_bytes']:,} bytes)"),
            ("persistence", "none: memory is gone when the process exits (make demo uses Valkey by default)"),
        ]


@contextmanager
def open_backend(data_dir: Path, port: Optional[int]) -> Iterator[MemoryDemo]:
    """The memory backend needs no server, folder or port."""
    demo = MemoryDemo()
    with demo.saver, demo.store:
        yield demo
    demo.cache.close()
