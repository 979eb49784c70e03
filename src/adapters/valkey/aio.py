"""Async Valkey checkpoint repository: the sync one's keys, scripts and round trips, awaited.

It takes the user's ``valkey.asyncio.Valkey`` or ``valkey.asyncio.ValkeyCluster``
as given (no sync twin, no worker threads). Layout, records, script arguments
and reply parsing are shared with ``ValkeyCheckpointRepository`` through
``_base`` and ``_records``; this module only awaits the client. See
``checkpoints`` for the key layout.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Collection, Sequence
from typing import Any, Optional

from valkey.exceptions import NoScriptError

from ...domain.models import (
    ChannelBlob,
    CheckpointKey,
    CheckpointQuery,
    CheckpointRecord,
    StoredCheckpoint,
    StoredWrite,
    ThreadData,
    ThreadKey,
)
from ...domain.ports import BlobRef
from . import _records as rec
from . import _scripts
from ._base import RepositoryCore, check_raw_bytes
from ._errors import translate
from .layout import PLAIN_LAYOUT, KeyLayout, encode_id

__all__ = ["AsyncValkeyCheckpointRepository"]

_BATCH = 100  # threads per pipeline (or per gather on a cluster) when one script runs on many threads


class AsyncValkeyCheckpointRepository(RepositoryCore):
    """``ValkeyCheckpointRepository`` on a valkey.asyncio client: one round trip per operation.

    Implements AsyncCheckpointRepository, AsyncAncestryReader,
    AsyncCheckpointPruner, AsyncThreadTransfer, AsyncThreadLister,
    AsyncActorLister and AsyncResourceProvisioner, on the same keys as the sync repository, so
    either reads what the other wrote. Errors are translated into
    PersistenceError subclasses; nothing is retried here.

    Args:
        client: a ``valkey.asyncio.Valkey`` or ``valkey.asyncio.ValkeyCluster``
            with ``decode_responses=False`` (payloads are raw bytes).
        layout: ``PLAIN_LAYOUT`` (ValkeySaver) or ``AGENTCORE_LAYOUT``.
        ttl_seconds: lifetime of every key of a thread, refreshed by each write
            to the thread (None: keys never expire).

    Raises:
        ConfigurationError: the client decodes responses, or ``ttl_seconds`` is not positive.
    """

    def __init__(self, client: Any, *, layout: KeyLayout = PLAIN_LAYOUT, ttl_seconds: Optional[float] = None) -> None:
        super().__init__(client, layout=layout, ttl_seconds=ttl_seconds)

    # -- plumbing -----------------------------------------------------------------------
    async def _eval(self, what: str, name: str, enc_thread: str, args: Sequence[Any]) -> Any:
        """Run one script on a thread's slot (EVALSHA; scripts are loaded when the server lacks them)."""
        cmd = self._script(name, enc_thread, args)
        with translate(self._where, what):
            try:
                return await self.client.execute_command(*cmd)
            except NoScriptError:
                await self._load_scripts()
                return await self.client.execute_command(*cmd)

    async def _eval_many(self, what: str, name: str, threads: Sequence[str], args: Sequence[Any]) -> list[Any]:
        """The same script on many threads: one pipeline on a standalone server, concurrent calls on a cluster."""
        if self._cluster:
            return list(await asyncio.gather(*(self._eval(what, name, enc, args) for enc in threads)))
        with translate(self._where, what):
            return await self._pipeline([self._script(name, enc, args) for enc in threads])

    async def _pipeline(self, commands: Sequence[tuple[Any, ...]]) -> list[Any]:
        """Commands in one round trip; loads the scripts and resends once on NOSCRIPT."""
        try:
            return await self._send(commands)
        except NoScriptError:
            await self._load_scripts()
            return await self._send(commands)

    async def _send(self, commands: Sequence[tuple[Any, ...]]) -> list[Any]:
        pipe = self.client.pipeline(transaction=False)
        for cmd in commands:
            pipe.execute_command(*cmd)
        return list(await pipe.execute())

    async def _load_scripts(self) -> None:
        """Load every script (after a restart or on a new server) so later calls are one EVALSHA."""
        if self._cluster:
            for src in _scripts.ALL.values():
                await self.client.script_load(src)  # valkey-py sends it to every primary
        else:
            await self._send([("SCRIPT LOAD", src) for src in _scripts.ALL.values()])

    # -- writes -----------------------------------------------------------------------
    async def put_checkpoint(self, checkpoint: StoredCheckpoint, blobs: Sequence[ChannelBlob]) -> None:
        args = rec.checkpoint_args(self._ttl_arg, checkpoint, blobs)
        await self._eval("put_checkpoint", "WRITE", encode_id(checkpoint.thread.thread_id), args)

    async def put_writes(self, writes: Sequence[StoredWrite]) -> None:
        if not writes:
            return
        enc, args = rec.writes_args(self._ttl_arg, writes)
        await self._eval("put_writes", "WRITE", enc, args)

    # -- reads ------------------------------------------------------------------------
    async def get_checkpoint(self, key: CheckpointKey) -> Optional[CheckpointRecord]:
        if key.checkpoint_id == "":
            return None
        enc = encode_id(key.thread.thread_id)
        args = rec.get_args(key.thread, key.checkpoint_ns, key.checkpoint_id)
        row = await self._eval("get_checkpoint", "GET", enc, args)
        return None if row is None else rec.parse_records(enc, (row,))[0]

    async def list_checkpoints(self, query: CheckpointQuery) -> AsyncIterator[CheckpointRecord]:
        """Records matching ``query``, newest checkpoint id first (one round trip for one thread)."""
        if query.limit is not None and query.limit <= 0 or query.checkpoint_id == "":
            return
        if query.thread is not None:
            enc = encode_id(query.thread.thread_id)
            rows = await self._eval("list_checkpoints", "LIST", enc, rec.list_args(query, query.thread))
            records = rec.parse_records(enc, rows)
        else:
            records = await self._list_all_threads(query)
        for record in records:
            yield record

    async def _list_all_threads(self, query: CheckpointQuery) -> list[CheckpointRecord]:
        """List across threads: the threads' registry keys found by SCAN MATCH, one LIST per thread."""
        threads = await self._all_threads("list_checkpoints")
        args = rec.list_args(query, None)
        records: list[CheckpointRecord] = []
        for start in range(0, len(threads), _BATCH):
            batch = threads[start : start + _BATCH]
            for enc, rows in zip(batch, await self._eval_many("list_checkpoints", "LIST", batch, args)):
                records.extend(rec.parse_records(enc, rows))
        return rec.merge_listed(records, query.limit)

    async def _all_threads(self, what: str) -> list[str]:
        """The encoded threads that hold data, each once (SCAN may repeat a key)."""
        with translate(self._where, what):
            found = [
                self.layout.thread_of(rec.text(k))
                async for k in self.client.scan_iter(match=self.layout.registry_pattern, count=1000)
            ]
        return list(dict.fromkeys(found))

    async def scan_checkpoints(self, thread: ThreadKey, checkpoint_ns: Optional[str] = None) -> list[StoredCheckpoint]:
        query = CheckpointQuery(thread=thread, checkpoint_ns=checkpoint_ns, headers_only=True)
        return [r.checkpoint async for r in self.list_checkpoints(query)]

    async def get_blobs(
        self, thread: ThreadKey, checkpoint_ns: str, refs: Sequence[BlobRef]
    ) -> dict[BlobRef, ChannelBlob]:
        if not refs:
            return {}
        key = self._blobs_key(encode_id(thread.thread_id), rec.member(thread.actor_id, checkpoint_ns))
        fields = [rec.blob_field(ch, str(v)) for ch, v in refs]
        with translate(self._where, "get_blobs"):
            raws = await self.client.hmget(key, fields)
        return rec.parse_blobs(thread, refs, fields, raws)

    async def get_writes(
        self, thread: ThreadKey, checkpoint_ns: str, checkpoint_ids: Sequence[str]
    ) -> dict[str, list[StoredWrite]]:
        if not checkpoint_ids:
            return {}
        enc = encode_id(thread.thread_id)
        args = rec.member_ids_args(thread, checkpoint_ns, checkpoint_ids)
        rows = await self._eval("get_writes", "GET_WRITES", enc, args)
        return rec.parse_writes_by_checkpoint(thread, checkpoint_ns, checkpoint_ids, rows)

    # -- deletes ----------------------------------------------------------------------
    async def delete_thread(self, thread_id: str, actor_id: Optional[str] = None) -> None:
        await self._eval("delete_thread", "DELETE_THREAD", encode_id(thread_id), rec.delete_thread_args(actor_id))

    async def delete_checkpoints(self, thread: ThreadKey, checkpoint_ns: str, checkpoint_ids: Sequence[str]) -> None:
        """Delete checkpoints and their writes (their blobs stay: see ``prune``)."""
        if not checkpoint_ids:
            return
        args = rec.member_ids_args(thread, checkpoint_ns, checkpoint_ids)
        await self._eval("delete_checkpoints", "DELETE_CHECKPOINTS", encode_id(thread.thread_id), args)

    async def delete_blobs(self, thread: ThreadKey, checkpoint_ns: str, refs: Sequence[BlobRef]) -> None:
        """Delete channel blobs; missing ones are ignored."""
        if not refs:
            return
        key = self._blobs_key(encode_id(thread.thread_id), rec.member(thread.actor_id, checkpoint_ns))
        with translate(self._where, "delete_blobs"):
            await self.client.hdel(key, *[rec.blob_field(ch, str(v)) for ch, v in refs])

    async def prune(self, thread: ThreadKey, checkpoint_ns: str, keep_ids: Collection[str]) -> None:
        """See ``ValkeyCheckpointRepository.prune``: a headers scan, then one PRUNE script."""
        enc = encode_id(thread.thread_id)
        rows = await self._eval("prune", "LIST", enc, rec.prune_scan_args(thread, checkpoint_ns))
        args = rec.prune_plan(thread, checkpoint_ns, enc, rows, keep_ids)
        if args is not None:
            await self._eval("prune", "PRUNE", enc, args)

    # -- bulk -------------------------------------------------------------------------
    async def export_thread(self, thread: ThreadKey) -> ThreadData:
        enc = encode_id(thread.thread_id)
        return rec.parse_export(thread, await self._eval("export_thread", "EXPORT", enc, rec.export_args(thread)))

    async def import_thread(self, data: ThreadData) -> None:
        enc = encode_id(data.thread.thread_id)
        for args in rec.import_args(self._ttl_arg, data):
            await self._eval("import_thread", "WRITE", enc, args)

    async def list_threads(self) -> AsyncIterator[ThreadKey]:
        """See ``ValkeyCheckpointRepository.list_threads``."""
        threads = await self._all_threads("list_threads")
        for start in range(0, len(threads), _BATCH):
            batch = threads[start : start + _BATCH]
            for enc, actors in zip(batch, await self._eval_many("list_threads", "ACTORS", batch, ())):
                for key in rec.thread_actor_keys(actors, enc):
                    yield key

    async def list_actors(self, thread_id: str) -> list[ThreadKey]:
        """See ``ValkeyCheckpointRepository.list_actors``."""
        enc = encode_id(thread_id)
        return rec.thread_actor_keys(await self._eval("list_actors", "ACTORS", enc, ()), enc)

    # -- resources --------------------------------------------------------------------
    async def setup(self) -> None:
        """Load the Lua scripts (idempotent; they are also loaded on first use)."""
        with translate(self._where, "setup"):
            await self._load_scripts()

    async def verify(self) -> None:
        """PING the server.

        Raises:
            ConfigurationError: the client decodes responses.
            BackendError / TransientBackendError: the server refused or is unreachable.
        """
        check_raw_bytes(self.client)
        with translate(self._where, "verify"):
            await self.client.ping()

    # -- inspection -------------------------------------------------------------------
    async def thread_keys(self, thread_id: str) -> list[str]:
        """Every key holding data of a thread (for inspection tools and tests)."""
        enc = encode_id(thread_id)
        with translate(self._where, "thread_keys"):
            members = await self.client.smembers(self.layout.registry_key(enc))
        return self._thread_keys(enc, members)
