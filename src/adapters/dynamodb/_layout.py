"""Key encoding and attribute-value marshalling of the DynamoDB checkpoint table."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Optional

from ...domain.errors import InvalidInputError

__all__ = [
    "enc",
    "esc",
    "partition_key",
    "actor_prefix",
    "header_prefix",
    "header_sk",
    "writes_sk",
    "blob_sk",
    "to_av",
    "from_av",
    "SK_MAX",
]

SK_MAX = "\U0010ffff"
"""Sorts after every character: the open end of a key range."""

_TERMINATOR = "!"
_ESCAPE = '"'
_INT = re.compile(r"-?\d+")


def esc(value: str) -> str:
    """Order-preserving escape: characters up to ``"`` become ``"`` + one printable char.

    Every escaped or raw character sorts above the terminator ``!``, so
    ``esc(a) + "!"`` compares like ``a`` and no encoded component is a prefix
    of another: concatenations are injective and keep tuple order.
    """
    if not isinstance(value, str):
        raise InvalidInputError(f"key components must be strings, got {value!r}")
    return "".join(_ESCAPE + chr(0x30 + ord(c)) if ord(c) <= 0x22 else c for c in value)


def enc(value: str) -> str:
    """One key component: escaped and terminated."""
    return esc(value) + _TERMINATOR


def partition_key(thread_id: str) -> str:
    """The partition of a thread (every actor and namespace of it)."""
    return "T#" + thread_id


def actor_prefix(actor_id: Optional[str]) -> str:
    """Sort-key prefix of an actor's items; empty for threads without an actor."""
    return "" if actor_id is None else "@" + enc(actor_id)


def header_prefix(actor_id: Optional[str], ns: Optional[str] = None) -> str:
    """Prefix of the checkpoint groups of a thread (one namespace or all)."""
    base = actor_prefix(actor_id) + "C!"
    return base if ns is None else base + enc(ns)


def header_sk(actor_id: Optional[str], ns: str, checkpoint_id: str) -> str:
    """Sort key of a checkpoint header; its write items extend it."""
    return header_prefix(actor_id, ns) + enc(checkpoint_id)


def writes_sk(actor_id: Optional[str], ns: str, checkpoint_id: str, task_id: str, idx: Optional[int] = None) -> str:
    """Sort key of the item holding a task's writes (or one spilled write when ``idx`` is given)."""
    sk = header_sk(actor_id, ns, checkpoint_id) + "W" + enc(task_id)
    return sk if idx is None else sk + enc(str(idx))


def blob_sk(actor_id: Optional[str], ns: str, channel: str, version: str) -> str:
    """Sort key of one channel value at one version."""
    return actor_prefix(actor_id) + "B!" + enc(ns) + enc(channel) + enc(version)


def to_av(value: Any) -> dict[str, Any]:
    """A JSON value (or bytes) as a DynamoDB attribute value."""
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int):
        return {"N": str(value)}
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise InvalidInputError(f"DynamoDB cannot store the number {value!r}")
        return {"N": repr(value)}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"B": bytes(value)}
    if isinstance(value, Mapping):
        return {"M": {str(k): to_av(v) for k, v in value.items()}}
    if isinstance(value, (list, tuple)):
        return {"L": [to_av(v) for v in value]}
    raise InvalidInputError(f"cannot store {type(value).__name__} values in DynamoDB metadata")


def from_av(av: Mapping[str, Any]) -> Any:
    """The Python value of a DynamoDB attribute value."""
    (kind, raw), = av.items()
    if kind == "S":
        return raw
    if kind == "N":
        return int(raw) if _INT.fullmatch(raw) else float(raw)
    if kind == "NULL":
        return None
    if kind == "BOOL":
        return bool(raw)
    if kind == "B":
        return bytes(raw)
    if kind == "M":
        return {k: from_av(v) for k, v in raw.items()}
    if kind == "L":
        return [from_av(v) for v in raw]
    if kind in ("SS", "NS", "BS"):
        return [from_av({kind[0]: v}) for v in raw]
    raise ValueError(f"unknown attribute type {kind!r}")
