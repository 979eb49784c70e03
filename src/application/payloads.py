"""Payload shaping: compression and offload to a blob store, applied before storage.

Stored type tags carry the shaping so that any adapter can store a payload as
an opaque ``(type_tag, bytes)`` pair:

- ``gz:<tag>``: the data is gzip-compressed;
- ``ref:<tag>``: the data is the UTF-8 key of a blob-store object holding the
  (possibly ``gz:``-shaped) bytes.
"""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Iterable
from typing import Any, Optional
from urllib.parse import quote

from ..domain.errors import CorruptRecordError, PayloadTooLargeError
from ..domain.models import Payload, ThreadKey
from ..domain.policies import PayloadPolicy
from .effects import Call, Program

__all__ = ["PayloadCodec", "thread_blob_prefix", "GZIP_PREFIX", "REF_PREFIX", "BLOB_STORE"]

GZIP_PREFIX = "gz:"
REF_PREFIX = "ref:"
BLOB_STORE = "blob_store"
"""The port name under which the codec's offload I/O is yielded (see ``effects``)."""


def thread_blob_prefix(thread: ThreadKey) -> str:
    """Blob-store key prefix of a thread; percent-encoding keeps distinct ids apart."""
    actor = "" if thread.actor_id is None else quote(thread.actor_id, safe="")
    return f"threads/{quote(thread.thread_id, safe='')}/{actor}/"


class PayloadCodec:
    """Applies a PayloadPolicy on the way in and undoes it on the way out.

    Compression is pure; offload I/O is yielded as ``Call("blob_store", ...)``
    so the same code serves the sync and the async API.

    Args:
        policy: thresholds and compression.
        blob_store: the offload store (a ``BlobStore`` or ``AsyncBlobStore``),
            or None when payloads stay inline.
        blob_ttl_days: lifecycle tag of offloaded objects.
    """

    def __init__(
        self,
        *,
        policy: PayloadPolicy,
        blob_store: Optional[Any] = None,
        blob_ttl_days: Optional[int] = None,
    ) -> None:
        self.policy = policy
        self.blob_store = blob_store
        self.blob_ttl_days = blob_ttl_days

    def shape(self, payload: Payload, *, thread: ThreadKey, what: str) -> tuple[Payload, Optional[tuple[str, bytes]]]:
        """Shape one payload for storage (pure).

        Args:
            payload: the serializer's output.
            thread: the owning thread (offloaded objects live under its prefix).
            what: a human description used in errors (e.g. "channel 'messages'").

        Returns:
            The payload to store, and the ``(key, data)`` object that must be
            offloaded before it (None when the payload stays inline).

        Raises:
            PayloadTooLargeError: too large for the backend and no blob store.
        """
        if payload.type_tag.startswith((GZIP_PREFIX, REF_PREFIX)):
            raise CorruptRecordError(f"{what}: type tag {payload.type_tag!r} uses a reserved prefix")
        shaped = self._maybe_compress(payload)
        if shaped.size > self.policy.offload_threshold_bytes and self.blob_store is not None:
            key = thread_blob_prefix(thread) + hashlib.sha256(shaped.data).hexdigest()
            return Payload(REF_PREFIX + shaped.type_tag, key.encode()), (key, shaped.data)
        limit = self.policy.max_inline_bytes
        if limit is not None and shaped.size > limit:
            raise PayloadTooLargeError(
                f"{what} serializes to {shaped.size} bytes, over the backend's {limit}-byte "
                "limit, and no offload store is configured (set s3_offload_config)"
            )
        return shaped, None

    def offload(self, objects: Iterable[tuple[str, bytes]]) -> Program[None]:
        """Store offloaded objects; callers run this BEFORE storing the pointers.

        A crash in between leaves an orphan object, never a dangling pointer.
        """
        for key, data in dict(objects).items():
            yield Call(BLOB_STORE, "put_object", (key, data), {"expires_in_days": self.blob_ttl_days})

    def encode(self, payload: Payload, *, thread: ThreadKey, what: str) -> Program[Payload]:
        """``shape`` one payload and offload it when needed (a program)."""
        stored, obj = self.shape(payload, thread=thread, what=what)
        if obj is not None:
            yield from self.offload([obj])
        return stored

    def _maybe_compress(self, payload: Payload) -> Payload:
        policy = self.policy
        if not policy.compress or len(payload.data) <= policy.compress_min_bytes:
            return payload
        packed = gzip.compress(payload.data, compresslevel=policy.compression_level, mtime=0)
        if len(packed) > len(payload.data) * (1 - policy.compress_min_saving):
            return payload
        return Payload(GZIP_PREFIX + payload.type_tag, packed)

    def decode_many(self, payloads: Iterable[Payload]) -> Program[list[Payload]]:
        """Undo shaping for many payloads, fetching offloaded objects in one call."""
        items = payloads if isinstance(payloads, list) else list(payloads)
        shaped = [p for p in items if p.type_tag.startswith((GZIP_PREFIX, REF_PREFIX))]
        if not shaped:
            return items  # the common case: nothing compressed or offloaded
        refs = [p.data.decode() for p in shaped if p.type_tag.startswith(REF_PREFIX)]
        fetched: dict[str, bytes] = {}
        if refs:
            if self.blob_store is None:
                raise CorruptRecordError(
                    f"a record points at offloaded object {refs[0]!r} but no blob store is configured"
                )
            fetched = yield Call(BLOB_STORE, "get_objects", (sorted(set(refs)),))
        return [self._decode_one(p, fetched) for p in items]

    @staticmethod
    def _decode_one(payload: Payload, fetched: dict[str, bytes]) -> Payload:
        tag, data = payload.type_tag, payload.data
        if tag.startswith(REF_PREFIX):
            key = data.decode()
            if key not in fetched:
                raise CorruptRecordError(f"offloaded object {key!r} is missing (dangling pointer)")
            tag, data = tag[len(REF_PREFIX):], fetched[key]
        if tag.startswith(GZIP_PREFIX):
            try:
                data = gzip.decompress(data)
            except (OSError, EOFError) as exc:
                raise CorruptRecordError(f"compressed payload ({tag}) is corrupt: {exc}") from exc
            tag = tag[len(GZIP_PREFIX):]
        return Payload(tag, data)

    def delete_thread_objects(self, thread_id: str, actor_id: Optional[str] = None) -> Program[None]:
        """Delete offloaded objects of a thread (of every actor when ``actor_id`` is None)."""
        if self.blob_store is None:
            return
        prefix = f"threads/{quote(thread_id, safe='')}/"
        if actor_id is not None:
            prefix += quote(actor_id, safe="") + "/"
        yield Call(BLOB_STORE, "delete_prefix", (prefix,))
