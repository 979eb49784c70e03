"""In-memory blob store (the S3 role), for tests and embedded use."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Optional

__all__ = ["InMemoryBlobStore"]


class InMemoryBlobStore:
    """A BlobStore in process memory; ``expires_in_days`` is recorded, not enforced."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.objects: dict[str, bytes] = {}
        self.expiry_days: dict[str, Optional[int]] = {}

    def put_object(self, key: str, data: bytes, *, expires_in_days: Optional[int] = None) -> None:
        with self._lock:
            self.objects[key] = bytes(data)
            self.expiry_days[key] = expires_in_days

    def get_objects(self, keys: Sequence[str]) -> dict[str, bytes]:
        with self._lock:
            return {k: self.objects[k] for k in keys if k in self.objects}

    def delete_objects(self, keys: Sequence[str]) -> None:
        with self._lock:
            for k in keys:
                self.objects.pop(k, None)
                self.expiry_days.pop(k, None)

    def delete_prefix(self, prefix: str) -> None:
        with self._lock:
            for k in [k for k in self.objects if k.startswith(prefix)]:
                del self.objects[k]
                self.expiry_days.pop(k, None)
