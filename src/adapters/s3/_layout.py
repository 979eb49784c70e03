"""Key layout of the S3 checkpoint repository: injective id encodings, newest-first checkpoint keys.

Pure functions, shared by the sync and the async repository. Under the root
``R`` (the user's prefix, normalised to end in ``/`` as langgraph-checkpoint-s3
does)::

    R checkpoints/{T}/{N}/{inv(checkpoint_id)}      checkpoint header
    R checkpoints/{T}/{N}/~head                     copy of the header put last in N
    R writes/{T}/{N}/{inv(checkpoint_id)}/{task}/r{i}   a task's regular writes (idx >= 0), i = lowest idx
    R writes/{T}/{N}/{inv(checkpoint_id)}/{task}/s{k}   one special write (idx = -k)
    R blobs/{T}/{N}/{channel}/{version}             one channel value per version

- ``T`` is the thread: ``comp(thread_id)``, plus ``@`` ``comp(actor_id)`` for
  threads with an actor (``@`` is percent-encoded inside ``comp``, so the
  separator is unambiguous).
- ``N`` is the namespace: ``__default__`` for ``""`` (seed 004's name), the
  literal namespace ``__default__`` as ``%5F_default__`` (``comp`` never
  writes ``%5F``), and ``comp(ns)`` otherwise.
- ``comp`` percent-encodes everything but ``A-Z a-z 0-9 _ . - ~`` (so ``/``
  never appears inside a segment), writes ``%`` for the empty string and
  ``%2E`` for each dot of an all-dots segment (``.``/``..`` are never path
  segments). It is injective, so deleting thread ``a`` lists ``…/a/`` and
  ``…/a@`` only and never touches ``ab`` or ``a/b``.
- ``inv`` maps a checkpoint id to the hex of its complemented UTF-8 bytes,
  terminated by ``~``: it reverses the ids' order (Python compares ``str``
  by code point, as UTF-8 bytes compare) and is prefix-free, so one ascending
  ListObjectsV2 returns a namespace's checkpoints newest first, and
  ``StartAfter=key(before)`` starts right after ``before``.
"""

from __future__ import annotations

import re
from typing import Optional
from urllib.parse import quote, unquote

from ...domain.errors import ConfigurationError, CorruptRecordError
from ...domain.models import ThreadKey

__all__ = [
    "DEFAULT_NS",
    "HEAD",
    "Layout",
    "comp",
    "decomp",
    "ns_segment",
    "ns_of_segment",
    "thread_segment",
    "thread_of_segment",
    "inv",
    "uninv",
    "MIGRATE_COMMAND",
    "published_format_error",
    "looks_published",
]

DEFAULT_NS = "__default__"
HEAD = "~head"
_LITERAL_DEFAULT = "%5F_default__"
_TERMINATOR = "~"
_INV = re.compile(r"(?:[0-9a-f]{2})*~")
MIGRATE_COMMAND = "langgraph-aws migrate"


def comp(value: str) -> str:
    """One key segment: injective, never contains ``/``, never ``.`` or ``..``."""
    if value == "":
        return "%"
    encoded = quote(value, safe="")
    if set(encoded) == {"."}:
        return encoded.replace(".", "%2E")
    return encoded


def decomp(segment: str) -> str:
    """Inverse of ``comp``."""
    return "" if segment == "%" else unquote(segment)


def ns_segment(ns: str) -> str:
    """The segment of a namespace (``__default__`` for the root namespace, as in seed 004)."""
    if ns == "":
        return DEFAULT_NS
    encoded = comp(ns)
    return _LITERAL_DEFAULT if encoded == DEFAULT_NS else encoded


def ns_of_segment(segment: str) -> str:
    """Inverse of ``ns_segment``."""
    if segment == DEFAULT_NS:
        return ""
    if segment == _LITERAL_DEFAULT:
        return DEFAULT_NS
    return decomp(segment)


def thread_segment(thread: ThreadKey) -> str:
    """The segment of a thread (and its actor)."""
    base = comp(thread.thread_id)
    return base if thread.actor_id is None else f"{base}@{comp(thread.actor_id)}"


def thread_of_segment(segment: str) -> ThreadKey:
    """Inverse of ``thread_segment``."""
    thread_id, sep, actor = segment.partition("@")
    return ThreadKey(decomp(thread_id), decomp(actor) if sep else None)


def inv(checkpoint_id: str) -> str:
    """Order-reversing, prefix-free encoding of a checkpoint id (see the module docstring)."""
    return "".join(f"{255 - b:02x}" for b in checkpoint_id.encode("utf-8")) + _TERMINATOR


def uninv(segment: str) -> Optional[str]:
    """Inverse of ``inv``; None when ``segment`` is not an encoded id."""
    if not _INV.fullmatch(segment):
        return None
    raw = bytes(255 - int(segment[i : i + 2], 16) for i in range(0, len(segment) - 1, 2))
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None


def looks_published(key_tail: str) -> bool:
    """Whether a key below ``checkpoints/`` or ``writes/`` was written by langgraph-checkpoint-s3 0.1.3."""
    return key_tail.endswith(".json")


def published_format_error(bucket: str, root: str, key: str) -> ConfigurationError:
    """The error for a prefix holding langgraph-checkpoint-s3 0.1.3 data (names the migration command)."""
    return ConfigurationError(
        f"S3 bucket {bucket!r} prefix {root!r} holds checkpoints written by langgraph-checkpoint-s3 0.1.3 "
        f"(e.g. {key!r}), which this saver does not read in place: migrate them with "
        f"`{MIGRATE_COMMAND}`, or use another prefix"
    )


class Layout:
    """The keys of one bucket prefix (see the module docstring).

    Args:
        prefix: the user's prefix; normalised to end with ``/`` (empty: the bucket's root).
    """

    def __init__(self, prefix: str) -> None:
        if not isinstance(prefix, str):
            raise ConfigurationError(f"prefix must be a string, got {prefix!r}")
        self.root = prefix.rstrip("/") + "/" if prefix.strip("/") else ""
        self.checkpoints = self.root + "checkpoints/"
        self.writes = self.root + "writes/"
        self.blobs = self.root + "blobs/"

    # -- prefixes ----------------------------------------------------------------------
    def thread_prefixes(self, tree: str, thread_id: str, actor_id: Optional[str]) -> list[str]:
        """Prefixes holding a thread's keys in one tree: every actor's when ``actor_id`` is None."""
        base = tree + comp(thread_id)
        if actor_id is None:
            return [base + "/", base + "@"]
        return [f"{base}@{comp(actor_id)}/"]

    def ns_prefix(self, tree: str, thread: ThreadKey, ns: Optional[str] = None) -> str:
        """``tree/T/`` or ``tree/T/N/``."""
        base = f"{tree}{thread_segment(thread)}/"
        return base if ns is None else f"{base}{ns_segment(ns)}/"

    # -- keys --------------------------------------------------------------------------
    def header(self, thread: ThreadKey, ns: str, checkpoint_id: str) -> str:
        return self.ns_prefix(self.checkpoints, thread, ns) + inv(checkpoint_id)

    def head(self, thread: ThreadKey, ns: str) -> str:
        return self.ns_prefix(self.checkpoints, thread, ns) + HEAD

    def writes_prefix(self, thread: ThreadKey, ns: str, checkpoint_id: Optional[str] = None) -> str:
        base = self.ns_prefix(self.writes, thread, ns)
        return base if checkpoint_id is None else f"{base}{inv(checkpoint_id)}/"

    def writes_key(self, thread: ThreadKey, ns: str, checkpoint_id: str, task_id: str, idx: int) -> str:
        """Regular writes of one call: ``r<lowest idx>``; a special write: ``s<-idx>``."""
        name = f"r{idx}" if idx >= 0 else f"s{-idx}"
        return f"{self.writes_prefix(thread, ns, checkpoint_id)}{comp(task_id)}/{name}"

    def blob(self, thread: ThreadKey, ns: str, channel: str, version: str) -> str:
        return f"{self.ns_prefix(self.blobs, thread, ns)}{comp(channel)}/{comp(version)}"

    # -- parsing -----------------------------------------------------------------------
    def parse(self, key: str) -> tuple[str, ThreadKey, str, list[str]]:
        """``(tree, thread, namespace, rest segments)`` of a key of this layout.

        Raises:
            CorruptRecordError: the key is not of this layout.
        """
        for tree in (self.checkpoints, self.writes, self.blobs):
            if key.startswith(tree):
                parts = key[len(tree) :].split("/")
                if len(parts) >= 3:
                    return tree, thread_of_segment(parts[0]), ns_of_segment(parts[1]), parts[2:]
        raise CorruptRecordError(f"S3 key {key!r} is not a checkpoint key under {self.root!r}")

    def header_id(self, key: str) -> Optional[str]:
        """The checkpoint id of a header key (None for the head object and foreign keys)."""
        return uninv(key.rsplit("/", 1)[-1])
