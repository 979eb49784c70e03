"""What the sync and async Valkey repositories share besides records: settings, keys, commands.

``RepositoryCore`` holds no client calls: it validates the client, builds the
full EVALSHA commands of a thread's slot. ``ValkeyCheckpointRepository`` and
``AsyncValkeyCheckpointRepository`` add the I/O on top, one with plain calls
and one with awaits, so every key and argument is computed in one place.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from typing import Any, Optional

import valkey.asyncio
from valkey.cluster import ValkeyCluster

from ...domain.errors import ConfigurationError
from . import _scripts
from .layout import KeyLayout

__all__ = ["RepositoryCore", "describe_client", "connection_kwargs", "SHAS"]

SHAS = {name: hashlib.sha1(src.encode()).hexdigest() for name, src in _scripts.ALL.items()}
"""SHA1 of every script, as EVALSHA wants it."""

_KEY_CACHE = 4096  # threads whose key names are kept ready (cleared when full)


def connection_kwargs(client: Any) -> Mapping[str, Any]:
    """The connection options of a sync or async client, standalone or cluster."""
    pool = getattr(client, "connection_pool", None)
    if pool is not None:
        return getattr(pool, "connection_kwargs", {}) or {}
    return getattr(client, "get_connection_kwargs", lambda: {})() or {}


def _is_cluster(client: Any) -> bool:
    return isinstance(client, (ValkeyCluster, valkey.asyncio.ValkeyCluster))


def describe_client(client: Any) -> str:
    """``valkey at host:port`` (or the cluster's nodes) for error messages; never a password."""
    try:
        if _is_cluster(client):
            nodes = list(client.get_nodes()) or list(client.nodes_manager.startup_nodes.values())
            return "valkey cluster at " + ",".join(n.name for n in nodes[:3])
        kw = connection_kwargs(client)
        if kw.get("path"):
            return f"valkey at unix:{kw['path']}"
        return f"valkey at {kw.get('host', 'localhost')}:{kw.get('port', 6379)}"
    except Exception:  # noqa: BLE001 - a description must never fail
        return "valkey"


class RepositoryCore:
    """Settings, key names and commands common to the sync and async repositories.

    Args:
        client: the valkey-py client (sync or async, standalone or cluster).
        layout: the key layout.
        ttl_seconds: lifetime of every key of a thread, refreshed by writes.

    Raises:
        ConfigurationError: the client decodes responses, or the TTL is not positive.
    """

    def __init__(self, client: Any, *, layout: KeyLayout, ttl_seconds: Optional[float]) -> None:
        check_raw_bytes(client)
        if ttl_seconds is not None and ttl_seconds <= 0:
            raise ConfigurationError(f"ttl_seconds must be positive, got {ttl_seconds!r}")
        self.client = client
        self.layout = layout
        self.ttl_seconds = ttl_seconds
        self._ttl_arg = str(int(math.ceil(ttl_seconds))) if ttl_seconds else "0"
        self._cluster = _is_cluster(client)
        self._keys: dict[str, tuple[Any, ...]] = {}

    @property
    def where(self) -> str:
        """The server, for error messages (``valkey at host:port``)."""
        return describe_client(self.client)

    def _where(self) -> str:
        # Passed to translate() uncalled: the client is described only when an error occurs.
        return describe_client(self.client)

    # -- commands -------------------------------------------------------------------------
    def _slot_keys(self, enc_thread: str) -> tuple[Any, ...]:
        """``(2, registry key, metadata head, *five heads)``: what every script call of a thread
        starts with. The metadata head is declared as a key (it carries the thread's hash tag)."""
        keys = self._keys.get(enc_thread)
        if keys is None:
            if len(self._keys) >= _KEY_CACHE:
                self._keys.clear()
            keys = self._keys[enc_thread] = (
                2,
                self.layout.registry_key(enc_thread),
                self.layout.metadata_head(enc_thread),
                *self.layout.heads(enc_thread),
            )
        return keys

    def _script(self, name: str, enc_thread: str, args: Sequence[Any]) -> tuple[Any, ...]:
        """The EVALSHA command of script ``name`` on a thread's slot."""
        return ("EVALSHA", SHAS[name], *self._slot_keys(enc_thread), *args)

    def _blobs_key(self, enc_thread: str, member: str) -> str:
        return self.layout.heads(enc_thread)[2] + member

    def _thread_keys(self, enc_thread: str, members: Any) -> list[str]:
        """The registry key, then every key of each registry member (sorted)."""
        keys = [self.layout.registry_key(enc_thread)]
        for m in sorted(members):
            name = m.decode("utf-8", "surrogatepass")
            keys.extend(head + name for head in self.layout.heads(enc_thread))
            keys.append(self.layout.metadata_head(enc_thread) + name)
        return keys


def check_raw_bytes(client: Any) -> None:
    """Raise ConfigurationError when ``client`` decodes responses (records are raw bytes)."""
    if connection_kwargs(client).get("decode_responses"):
        raise ConfigurationError(
            "valkey client: decode_responses must be False (checkpoints are stored as raw bytes)"
        )
