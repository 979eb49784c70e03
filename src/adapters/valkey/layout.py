"""Key layouts of the Valkey checkpoint repository and the injective encoding of ids."""

from __future__ import annotations

from typing import Optional
from urllib.parse import quote, unquote

import attrs

__all__ = ["KeyLayout", "PLAIN_LAYOUT", "AGENTCORE_LAYOUT", "encode_id", "decode_id", "encode_actor", "decode_actor"]


def encode_id(value: str) -> str:
    """Percent-encode everything but ``A-Za-z0-9_.-~``: no ``:``, ``{``, ``}``, ``*`` or ``%`` survives.

    The encoding is injective, so two distinct ids never share a key, and the
    result never contains a brace, so it can sit inside a hash tag.
    """
    return quote(value, safe="", encoding="utf-8", errors="surrogatepass")


def decode_id(value: str) -> str:
    """Inverse of :func:`encode_id`."""
    return unquote(value, encoding="utf-8", errors="surrogatepass")


def encode_actor(actor_id: Optional[str]) -> str:
    """``""`` for no actor, ``"%"`` for the empty actor (never produced by encode_id), else encode_id."""
    if actor_id is None:
        return ""
    return encode_id(actor_id) if actor_id else "%"


def decode_actor(value: str) -> Optional[str]:
    """Inverse of :func:`encode_actor`."""
    if value == "":
        return None
    return "" if value == "%" else decode_id(value)


@attrs.frozen
class KeyLayout:
    """Key names of one layout. ``{T}`` below is the encoded thread id as hash tag.

    Attributes:
        name: ``"plain"`` or ``"agentcore"``.
        registry: head of the per-thread set of members (``<actor>:<ns>``).
        index, headers, blobs, write_index, write_values: heads of the
            per-member keys; the full key is ``<head>{T}:<actor>:<ns>``.
        metadata: head of the per-member hash of each checkpoint's metadata
            JSON (a copy of the header's), which filtered listings scan
            instead of whole headers.
    """

    name: str
    registry: str
    index: str
    headers: str
    blobs: str
    write_index: str
    write_values: str
    metadata: str

    def tag(self, thread_id: str) -> str:
        """The hash tag of a thread: every key of the thread shares its slot."""
        return "{" + encode_id(thread_id) + "}"

    @property
    def registry_pattern(self) -> str:
        """SCAN MATCH pattern of every registry key (encoded ids never hold ``{``, ``}``, ``*``)."""
        return self.registry + "{*}"

    def thread_of(self, registry_key: str) -> str:
        """The encoded thread id inside a registry key."""
        return registry_key[len(self.registry) + 1 : -1]

    def registry_key(self, encoded_thread: str) -> str:
        """The registry key of an (already encoded) thread."""
        return f"{self.registry}{{{encoded_thread}}}"

    def heads(self, encoded_thread: str) -> list[str]:
        """The five key heads the scripts append a member to."""
        tag = f"{{{encoded_thread}}}:"
        return [h + tag for h in (self.index, self.headers, self.blobs, self.write_index, self.write_values)]

    def metadata_head(self, encoded_thread: str) -> str:
        """The head of the metadata hashes (``KEYS[2]`` of every script)."""
        return f"{self.metadata}{{{encoded_thread}}}:"


PLAIN_LAYOUT = KeyLayout(
    name="plain",
    registry="langgraph:checkpoint:thread:",
    index="langgraph:checkpoint:ids:",
    headers="langgraph:checkpoint:headers:",
    blobs="langgraph:checkpoint:blobs:",
    write_index="langgraph:checkpoint:write_ids:",
    write_values="langgraph:checkpoint:writes:",
    metadata="langgraph:checkpoint:metadata:",
)
"""Layout of ValkeySaver / AsyncValkeySaver."""

AGENTCORE_LAYOUT = KeyLayout(
    name="agentcore",
    registry="agentcore:session:",
    index="agentcore:checkpoints:",
    headers="agentcore:checkpoint:",
    blobs="agentcore:channel:",
    write_index="agentcore:write_ids:",
    write_values="agentcore:writes:",
    metadata="agentcore:metadata:",
)
"""Layout of AgentCoreValkeySaver (seed 002's ``agentcore:`` names, session = thread_id)."""
