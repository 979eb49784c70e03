"""Read-only reader of langgraph-checkpoint-s3 0.1 ``S3CheckpointSaver`` buckets.

The layout (facts from 0.1.3, which this module does not import), under the
saver's prefix ``R`` (``"checkpoints/"`` by default, normalised to end in ``/``),
``T`` the thread id and ``N`` the namespace as given, ``__default__`` for ``""``:

- ``R checkpoints/T/N/<checkpoint_id>.json``: JSON ``{"checkpoint_type",
  "checkpoint": base64(serde bytes of the whole Checkpoint), "metadata":
  base64(serde.dumps(metadata))}``; ``serde.dumps`` is LangGraph's JSON (with
  ``{"lc": ...}`` constructor maps), read back with its reviver. 0.1.3 needs
  ``serde.dumps``, which JsonPlusSerializer lost in langgraph-checkpoint 3.0,
  so this data was written with langgraph-checkpoint 2.x;
- ``R writes/T/N/<checkpoint_id>/<task_id>_<idx>.json``: JSON ``{"channel",
  "value_type", "value": base64(serde bytes)}``.

The layout stores no parent id: as the published saver did, a checkpoint's
parent is ``metadata["parents"][N]`` when present, else none (so copied
threads read the same history, parents included).

Cost: ``get_checkpoint`` 1 GET (+1 LIST of the namespace for the latest) +
1 LIST of its writes + 1 GET per write; ``list_checkpoints`` 1 LIST per 1,000
checkpoints, then per checkpoint 1 GET, 1 LIST and 1 GET per write (GETs run
in parallel); ``list_threads`` 1 LIST with delimiter per 1,000 threads.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Optional

from ...domain.errors import ConfigurationError, InvalidInputError
from ...domain.models import (
    CheckpointRecord,
    Payload,
    StoredWrite,
    ThreadKey,
)
from ..aws import S3_ERRORS, S3_LIST_PAGES, AwsResource, error_code, pages, translate_errors
from ._common import (
    S3_FORMAT,
    IdPagedReader,
    decode_b64,
    decode_json,
    metadata_from_json,
    ordered,
    split_checkpoint,
    stored_checkpoint,
)

__all__ = ["LegacyS3Repository", "DEFAULT_NS", "normalise_prefix"]

DEFAULT_NS = "__default__"
_SUFFIX = ".json"


def normalise_prefix(prefix: Optional[str]) -> str:
    """The saver's prefix as 0.1.3 normalised it: ``"a/b"`` -> ``"a/b/"``, ``""`` stays ``""``."""
    return prefix.rstrip("/") + "/" if prefix else ""


def _ns_segment(ns: str) -> str:
    return ns if ns else DEFAULT_NS


def _ns_of(segment: str) -> str:
    return "" if segment == DEFAULT_NS else segment






class LegacyS3Repository(IdPagedReader):
    """Reads the threads a langgraph-checkpoint-s3 0.1 ``S3CheckpointSaver`` stored (read-only).

    Implements the read half of ``CheckpointRepository`` and ``ThreadLister``;
    the write methods raise ``UnsupportedOperationError``.

    Args:
        client: a boto3 S3 client.
        bucket_name: the saver's bucket.
        prefix: the saver's ``prefix`` (0.1.3's default is ``"checkpoints/"``).
        max_workers: parallel GETs.
    """

    source_name = "a langgraph-checkpoint-s3 0.1 S3CheckpointSaver bucket"
    page_size = 16  # checkpoints fetched in parallel per call
    format_name = S3_FORMAT

    def __init__(self, client: Any, bucket_name: str, *, prefix: str = "checkpoints/", max_workers: int = 8) -> None:
        if "/" in bucket_name or not bucket_name:
            raise ConfigurationError(f"bucket_name must be a bucket name, got {bucket_name!r}")
        self.client = client
        self.bucket_name = bucket_name
        self.prefix = normalise_prefix(prefix)
        self.max_workers = max_workers
        self.resource = AwsResource.of(client, S3_ERRORS, bucket_name)

    # -- calls ----------------------------------------------------------------------------
    def _list(self, **params: Any) -> Any:
        with translate_errors(self.resource, "ListObjectsV2"):
            return self.client.list_objects_v2(**params)

    def _listing(self, prefix: str, delimiter: Optional[str] = None) -> Iterator[Mapping[str, Any]]:
        params: dict[str, Any] = {"Bucket": self.bucket_name, "Prefix": prefix}
        if delimiter:
            params["Delimiter"] = delimiter
        yield from pages(self._list, params, S3_LIST_PAGES)

    def _keys(self, prefix: str) -> list[str]:
        return [o["Key"] for page in self._listing(prefix) for o in page.get("Contents", [])]

    def _children(self, prefix: str) -> list[str]:
        """The next path segments under ``prefix`` (ListObjectsV2 with delimiter ``/``)."""
        return [
            p["Prefix"][len(prefix) : -1]
            for page in self._listing(prefix, "/")
            for p in page.get("CommonPrefixes", [])
        ]

    def _get(self, key: str) -> Optional[bytes]:
        with translate_errors(self.resource, "GetObject"):
            try:
                response = self.client.get_object(Bucket=self.bucket_name, Key=key)
            except Exception as exc:
                if error_code(exc) in ("NoSuchKey", "404"):
                    return None
                raise
            return bytes(response["Body"].read())

    def _get_many(self, keys: Sequence[str]) -> list[Optional[bytes]]:
        if len(keys) <= 1:
            return [self._get(k) for k in keys]
        with concurrent.futures.ThreadPoolExecutor(max_workers=min(self.max_workers, len(keys))) as pool:
            return list(pool.map(self._get, keys))

    # -- keys -------------------------------------------------------------------------------
    def _thread_dir(self, kind: str, thread: ThreadKey) -> str:
        if thread.actor_id is not None:
            raise InvalidInputError("S3CheckpointSaver (langgraph-checkpoint-s3 0.1) threads have no actor_id")
        return f"{self.prefix}{kind}/{thread.thread_id}/"

    def _checkpoint_key(self, thread: ThreadKey, ns: str, checkpoint_id: str) -> str:
        return f"{self._thread_dir('checkpoints', thread)}{_ns_segment(ns)}/{checkpoint_id}{_SUFFIX}"

    def _ids(self, thread: ThreadKey, ns: str) -> list[str]:
        head = f"{self._thread_dir('checkpoints', thread)}{_ns_segment(ns)}/"
        ids = []
        for key in self._keys(head):
            name = key[len(head) :]
            if "/" not in name and name.endswith(_SUFFIX):
                ids.append(name[: -len(_SUFFIX)])
        return ids

    def _namespaces(self, thread: ThreadKey) -> list[str]:
        return [_ns_of(s) for s in self._children(self._thread_dir("checkpoints", thread))]

    # -- records ----------------------------------------------------------------------------
    def _writes(self, thread: ThreadKey, ns: str, checkpoint_id: str) -> list[StoredWrite]:
        head = f"{self._thread_dir('writes', thread)}{_ns_segment(ns)}/{checkpoint_id}/"
        named = []
        for key in self._keys(head):
            name = key[len(head) :]
            if "/" in name or not name.endswith(_SUFFIX):
                continue
            task_id, sep, number = name[: -len(_SUFFIX)].rpartition("_")
            if not sep or not number.lstrip("-").isdigit():
                continue  # not a write of this layout; the published saver skipped these too
            named.append((key, task_id, int(number)))
        writes = []
        for (key, task_id, idx), raw in zip(named, self._get_many([k for k, _, _ in named])):
            if raw is None:
                continue
            doc = decode_json(raw, f"s3://{self.bucket_name}/{key}")
            writes.append(
                StoredWrite(
                    thread=thread,
                    checkpoint_ns=ns,
                    checkpoint_id=checkpoint_id,
                    task_id=task_id,
                    idx=idx,
                    channel=str(doc["channel"]),
                    payload=Payload(str(doc["value_type"]), decode_b64(doc["value"], key)),
                )
            )
        return list(ordered(writes))

    def _fetch(self, thread: ThreadKey, pairs: Sequence[tuple[str, str]], with_writes: bool) -> list[CheckpointRecord]:
        keys = [self._checkpoint_key(thread, ns, cid) for ns, cid in pairs]
        records = []
        for (ns, cid), key, raw in zip(pairs, keys, self._get_many(keys)):
            if raw is None:
                continue
            what = f"s3://{self.bucket_name}/{key}"
            doc = decode_json(raw, what)
            split = split_checkpoint(str(doc.get("checkpoint_type")), decode_b64(doc.get("checkpoint"), what), what)
            metadata, typed = metadata_from_json(decode_b64(doc.get("metadata") or "", what), what, revived=True)
            parents = metadata.get("parents")
            parent = parents.get(ns) if isinstance(parents, dict) else None
            header = stored_checkpoint(
                thread, ns, cid, parent if isinstance(parent, str) else None, split, metadata, typed
            )
            if not with_writes:
                records.append(CheckpointRecord(header))
                continue
            records.append(CheckpointRecord(header, split.blobs, self._writes(thread, ns, cid)))
        return records

    def list_threads(self) -> Iterator[ThreadKey]:
        """Every thread directory under ``checkpoints/``: ListObjectsV2 with delimiter, 1,000 a call."""
        for name in self._children(f"{self.prefix}checkpoints/"):
            yield ThreadKey(name)
