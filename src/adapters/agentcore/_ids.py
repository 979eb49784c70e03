"""Injective encodings of arbitrary strings into the identifiers AgentCore Memory accepts.

The service refuses most strings: a ``sessionId`` is at most 100 characters of
``[a-zA-Z0-9][a-zA-Z0-9-_]*``, an ``actorId`` at most 255 of a similar
pattern, an event metadata value at most 256 characters of
``[a-zA-Z0-9\\s._:/=+@-]*`` and a record namespace label is limited likewise.

``service_id`` keeps an id that is already acceptable (and holds no ``__``)
as it is, so sessions read as their thread ids in the console. Any other id
becomes ``x__`` + lowercase base32 of its UTF-8 bytes (never holding ``__``
after the prefix), or, when that is too long, ``h__`` + the SHA-256 hex
digest. Plain ids never contain ``__`` and escaped ones always do, so the
mapping is injective up to SHA-256 collisions; readers also check the ids
stored inside every payload, so even a collision cannot mix two threads.

``metadata_value`` does the same for event metadata values: plain when the
string only uses ``[A-Za-z0-9._:/+@-]`` (no ``=``), else ``=`` + hex of its
UTF-8 bytes, or ``==`` + SHA-256 hex when that is over 256 characters.
"""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Optional

__all__ = ["service_id", "actor_key", "metadata_value", "NO_ACTOR", "SESSION_MAX", "ACTOR_MAX", "label_id"]

SESSION_MAX = 100
ACTOR_MAX = 255
METADATA_MAX = 256
NO_ACTOR = "n__"
"""The actor of threads without one (repositories used directly): never a plain or escaped id."""

_PLAIN_ID = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_-]*")
_PLAIN_VALUE = re.compile(r"[A-Za-z0-9._:/+@-]+")


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def service_id(value: str, limit: int = SESSION_MAX) -> str:
    """``value`` as a session id (or actor id, label) of at most ``limit`` characters, injectively."""
    if _PLAIN_ID.fullmatch(value) and "__" not in value and len(value) <= limit:
        return value
    escaped = "x__" + base64.b32encode(value.encode("utf-8")).decode("ascii").rstrip("=").lower()
    if len(escaped) <= limit:
        return escaped
    return "h__" + _digest(value)


def actor_key(actor_id: Optional[str]) -> str:
    """The service's actorId for a thread's actor (``NO_ACTOR`` when the thread has none)."""
    return NO_ACTOR if actor_id is None else service_id(actor_id, ACTOR_MAX)


def label_id(label: str) -> str:
    """A store namespace label as one segment of a record namespace (``/``-free, injective)."""
    return service_id(label, 200)


def metadata_value(value: str) -> str:
    """``value`` as an event metadata string value (exact EQUALS_TO matching), injectively."""
    if _PLAIN_VALUE.fullmatch(value) and len(value) <= METADATA_MAX:
        return value
    escaped = "=" + value.encode("utf-8").hex()
    if len(escaped) <= METADATA_MAX:
        return escaped
    return "==" + _digest(value)
