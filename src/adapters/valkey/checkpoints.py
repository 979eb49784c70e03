"""Valkey checkpoint repository: one round trip per operation, cluster-safe.

Layout (``{T}`` is the thread id percent-encoded, used as the hash tag, so
every key of a thread lives in one slot; ``<member>`` is
``<actor>:<namespace>``, both percent-encoded, the actor empty when there is
none). Heads are given for the plain layout (ValkeySaver); the AgentCore
layout (AgentCoreValkeySaver) uses the same shapes under ``agentcore:``
names, with the session (thread) as hash tag and the actor in the member::

    plain                                     agentcore                         type
    langgraph:checkpoint:thread:{T}           agentcore:session:{T}             set of members
    langgraph:checkpoint:ids:{T}:<member>     agentcore:checkpoints:{T}:<m>     zset, score 0, checkpoint ids
    langgraph:checkpoint:headers:{T}:<member> agentcore:checkpoint:{T}:<m>      hash id -> header
    langgraph:checkpoint:blobs:{T}:<member>   agentcore:channel:{T}:<m>         hash blob field -> blob
    langgraph:checkpoint:write_ids:{T}:<m>    agentcore:write_ids:{T}:<m>       zset, score 0, write fields
    langgraph:checkpoint:writes:{T}:<member>  agentcore:writes:{T}:<m>          hash write field -> write

Values are raw bytes framed as ``<n>\\n<head of n bytes><body>``:

- header: head = JSON ``{"p": parent, "t": type tag, "n": payload length,
  "v": channel versions, "m": metadata, "bf": blob fields, "mt": metadata
  payload tag}``, body = checkpoint payload then the typed metadata payload;
- blob: head = type tag, body = data; one per (thread, namespace, channel,
  version), field ``<len(channel)>:<channel><version>``;
- write: head = JSON ``{"c": channel, "t": tag, "p": task path, "k": task id,
  "i": idx}``, body = data; field ``<len(cid)>:<cid>\\0<len(task)>:<task>\\0<idx>``
  so a checkpoint's writes are one ZRANGEBYLEX prefix range.

Checkpoint ids sort by bytes in the id zset (all scores 0), so latest,
``before`` and ``limit`` are range queries; metadata filters run in Lua
(cjson) next to the data. Multi-key work is done by the Lua scripts in
``_scripts`` (valkey-py refuses transactions on a cluster). Every key lives in
its thread's slot and nothing else is written: no global set of threads grows
with the threads ever created, and deleting a thread leaves nothing behind.
Operations across threads (``list(None)``, ``delete_for_runs``,
``list_threads``) find the threads' registry keys with a cursor SCAN MATCH on
every primary (never KEYS): a cost paid by those rare calls, not by every write.

Capabilities (see ``domain.ports``): AncestryReader, CheckpointPruner (a
headers scan, then one PRUNE script), ThreadTransfer, ThreadLister (SCAN MATCH of
the registry keys, then one ACTORS script per thread, pipelined), ActorLister (one
ACTORS script on the thread's slot), ResourceProvisioner.
Encoding and parsing live in ``_records``, keys and commands in ``_base``, so
``AsyncValkeyCheckpointRepository`` (``aio``) shares all of it and differs
only in awaiting the client. Errors are translated by ``_errors``; retries
belong to the use cases (RetryPolicy), never to this adapter.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
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
from ._base import RepositoryCore, check_raw_bytes, describe_client
from ._errors import translate
from .layout import PLAIN_LAYOUT, KeyLayout, encode_id

__all__ = ["ValkeyCheckpointRepository", "describe_client", "blob_field", "write_field"]

blob_field = rec.blob_field
write_field = rec.write_field

_BATCH = 100  # threads per pipeline when one script runs on many threads


class ValkeyCheckpointRepository(RepositoryCore):
    """A CheckpointRepository on Valkey (standalone or cluster), one round trip per operation.

    Implements CheckpointRepository, AncestryReader, CheckpointPruner,
    ThreadTransfer, ThreadLister and ResourceProvisioner. Errors are
    translated into PersistenceError subclasses; nothing is retried here
    (every operation is idempotent, so the use cases may retry whole calls).

    Args:
        client: a ``valkey.Valkey`` or ``valkey.cluster.ValkeyCluster`` with
            ``decode_responses=False`` (payloads are raw bytes).
        layout: ``PLAIN_LAYOUT`` (ValkeySaver) or ``AGENTCORE_LAYOUT``.
        ttl_seconds: lifetime of every key of a thread, refreshed by each write
            to the thread (None: keys never expire).

    Raises:
        ConfigurationError: the client decodes responses, or ``ttl_seconds`` is not positive.
    """

    def __init__(self, client: Any, *, layout: KeyLayout = PLAIN_LAYOUT, ttl_seconds: Optional[float] = None) -> None:
        super().__init__(client, layout=layout, ttl_seconds=ttl_seconds)

    # -- plumbing -----------------------------------------------------------------------
    def _eval(self, what: str, name: str, enc_thread: str, args: Sequence[Any]) -> Any:
        """Run one script on a thread's slot (EVALSHA; scripts are loaded when the server lacks them)."""
        cmd = self._script(name, enc_thread, args)
        with translate(self._where, what):
            try:
                return self.client.execute_command(*cmd)
            except NoScriptError:
                self._load_scripts()
                return self.client.execute_command(*cmd)

    def _eval_many(self, what: str, name: str, threads: Sequence[str], args: Sequence[Any]) -> list[Any]:
        """The same script on many threads: one pipeline on a standalone server, one call each on a cluster."""
        if self._cluster:
            return [self._eval(what, name, enc, args) for enc in threads]
        with translate(self._where, what):
            return self._pipeline([self._script(name, enc, args) for enc in threads])

    def _pipeline(self, commands: Sequence[tuple[Any, ...]]) -> list[Any]:
        """Commands in one round trip; loads the scripts and resends once on NOSCRIPT."""
        try:
            return self._send(commands)
        except NoScriptError:
            self._load_scripts()
            return self._send(commands)

    def _send(self, commands: Sequence[tuple[Any, ...]]) -> list[Any]:
        pipe = self.client.pipeline(transaction=False)
        for cmd in commands:
            pipe.execute_command(*cmd)
        return list(pipe.execute())

    def _load_scripts(self) -> None:
        """Load every script (after a restart or on a new server) so later calls are one EVALSHA."""
        if self._cluster:
            for src in _scripts.ALL.values():
                self.client.script_load(src)  # valkey-py sends it to every primary
        else:
            self._send([("SCRIPT LOAD", src) for src in _scripts.ALL.values()])

    # -- writes -----------------------------------------------------------------------
    def put_checkpoint(self, checkpoint: StoredCheckpoint, blobs: Sequence[ChannelBlob]) -> None:
        args = rec.checkpoint_args(self._ttl_arg, checkpoint, blobs)
        self._eval("put_checkpoint", "WRITE", encode_id(checkpoint.thread.thread_id), args)

    def put_writes(self, writes: Sequence[StoredWrite]) -> None:
        if not writes:
            return
        enc, args = rec.writes_args(self._ttl_arg, writes)
        self._eval("put_writes", "WRITE", enc, args)

    # -- reads ------------------------------------------------------------------------
    def get_checkpoint(self, key: CheckpointKey) -> Optional[CheckpointRecord]:
        if key.checkpoint_id == "":
            return None
        enc = encode_id(key.thread.thread_id)
        row = self._eval("get_checkpoint", "GET", enc, rec.get_args(key.thread, key.checkpoint_ns, key.checkpoint_id))
        return None if row is None else rec.parse_records(enc, (row,))[0]

    def list_checkpoints(self, query: CheckpointQuery) -> Iterator[CheckpointRecord]:
        if query.limit is not None and query.limit <= 0 or query.checkpoint_id == "":
            return iter(())
        if query.thread is not None:
            enc = encode_id(query.thread.thread_id)
            rows = self._eval("list_checkpoints", "LIST", enc, rec.list_args(query, query.thread))
            return iter(rec.parse_records(enc, rows))
        return iter(self._list_all_threads(query))

    def _list_all_threads(self, query: CheckpointQuery) -> list[CheckpointRecord]:
        """List across threads: the threads' registry keys found by SCAN MATCH, one LIST per thread."""
        threads = self._all_threads("list_checkpoints")
        args = rec.list_args(query, None)
        records: list[CheckpointRecord] = []
        for start in range(0, len(threads), _BATCH):
            batch = threads[start : start + _BATCH]
            for enc, rows in zip(batch, self._eval_many("list_checkpoints", "LIST", batch, args)):
                records.extend(rec.parse_records(enc, rows))
        return rec.merge_listed(records, query.limit)

    def _all_threads(self, what: str) -> list[str]:
        """The encoded threads that hold data, each once (SCAN may repeat a key)."""
        with translate(self._where, what):
            found = self.client.scan_iter(match=self.layout.registry_pattern, count=1000)
            return list(dict.fromkeys(self.layout.thread_of(rec.text(k)) for k in found))

    def scan_checkpoints(self, thread: ThreadKey, checkpoint_ns: Optional[str] = None) -> Iterator[StoredCheckpoint]:
        query = CheckpointQuery(thread=thread, checkpoint_ns=checkpoint_ns, headers_only=True)
        return (r.checkpoint for r in self.list_checkpoints(query))

    def get_blobs(self, thread: ThreadKey, checkpoint_ns: str, refs: Sequence[BlobRef]) -> dict[BlobRef, ChannelBlob]:
        if not refs:
            return {}
        key = self._blobs_key(encode_id(thread.thread_id), rec.member(thread.actor_id, checkpoint_ns))
        fields = [rec.blob_field(ch, str(v)) for ch, v in refs]
        with translate(self._where, "get_blobs"):
            raws = self.client.hmget(key, fields)
        return rec.parse_blobs(thread, refs, fields, raws)

    def get_writes(
        self, thread: ThreadKey, checkpoint_ns: str, checkpoint_ids: Sequence[str]
    ) -> dict[str, list[StoredWrite]]:
        if not checkpoint_ids:
            return {}
        enc = encode_id(thread.thread_id)
        args = rec.member_ids_args(thread, checkpoint_ns, checkpoint_ids)
        rows = self._eval("get_writes", "GET_WRITES", enc, args)
        return rec.parse_writes_by_checkpoint(thread, checkpoint_ns, checkpoint_ids, rows)

    # -- deletes ----------------------------------------------------------------------
    def delete_thread(self, thread_id: str, actor_id: Optional[str] = None) -> None:
        self._eval("delete_thread", "DELETE_THREAD", encode_id(thread_id), rec.delete_thread_args(actor_id))

    def delete_checkpoints(self, thread: ThreadKey, checkpoint_ns: str, checkpoint_ids: Sequence[str]) -> None:
        """Delete checkpoints and their writes (their blobs stay: see ``prune``)."""
        if not checkpoint_ids:
            return
        args = rec.member_ids_args(thread, checkpoint_ns, checkpoint_ids)
        self._eval("delete_checkpoints", "DELETE_CHECKPOINTS", encode_id(thread.thread_id), args)

    def delete_blobs(self, thread: ThreadKey, checkpoint_ns: str, refs: Sequence[BlobRef]) -> None:
        """Delete channel blobs; missing ones are ignored."""
        if not refs:
            return
        key = self._blobs_key(encode_id(thread.thread_id), rec.member(thread.actor_id, checkpoint_ns))
        with translate(self._where, "delete_blobs"):
            self.client.hdel(key, *[rec.blob_field(ch, str(v)) for ch, v in refs])

    def prune(self, thread: ThreadKey, checkpoint_ns: str, keep_ids: Collection[str]) -> None:
        """Delete the checkpoints of a namespace not in ``keep_ids``, their writes and orphaned blobs.

        Two round trips: a headers scan, then one PRUNE script. Blobs are
        deleted only if no checkpoint appeared or vanished in between (else
        they stay as orphans: never a checkpoint without its blobs).
        """
        enc = encode_id(thread.thread_id)
        rows = self._eval("prune", "LIST", enc, rec.prune_scan_args(thread, checkpoint_ns))
        args = rec.prune_plan(thread, checkpoint_ns, enc, rows, keep_ids)
        if args is not None:
            self._eval("prune", "PRUNE", enc, args)

    # -- bulk -------------------------------------------------------------------------
    def export_thread(self, thread: ThreadKey) -> ThreadData:
        enc = encode_id(thread.thread_id)
        return rec.parse_export(thread, self._eval("export_thread", "EXPORT", enc, rec.export_args(thread)))

    def import_thread(self, data: ThreadData) -> None:
        enc = encode_id(data.thread.thread_id)
        for args in rec.import_args(self._ttl_arg, data):
            self._eval("import_thread", "WRITE", enc, args)

    def list_threads(self) -> Iterator[ThreadKey]:
        """Every (thread, actor) holding a checkpoint, from the global thread set.

        One SSCAN walk, then the ACTORS script per thread (pipelined by 100 on
        a standalone server); threads whose keys are gone are skipped.
        """
        threads = self._all_threads("list_threads")
        for start in range(0, len(threads), _BATCH):
            batch = threads[start : start + _BATCH]
            for enc, actors in zip(batch, self._eval_many("list_threads", "ACTORS", batch, ())):
                yield from rec.thread_actor_keys(actors, enc)

    def list_actors(self, thread_id: str) -> list[ThreadKey]:
        """The (thread, actor) keys of one thread holding a checkpoint: one ACTORS script on its slot."""
        enc = encode_id(thread_id)
        return rec.thread_actor_keys(self._eval("list_actors", "ACTORS", enc, ()), enc)

    # -- resources --------------------------------------------------------------------
    def setup(self) -> None:
        """Load the Lua scripts (idempotent; they are also loaded on first use)."""
        with translate(self._where, "setup"):
            self._load_scripts()

    def verify(self) -> None:
        """PING the server.

        Raises:
            ConfigurationError: the client decodes responses.
            BackendError / TransientBackendError: the server refused or is unreachable.
        """
        check_raw_bytes(self.client)
        with translate(self._where, "verify"):
            self.client.ping()

    # -- inspection -------------------------------------------------------------------
    def thread_keys(self, thread_id: str) -> list[str]:
        """Every key holding data of a thread (for inspection tools and tests)."""
        enc = encode_id(thread_id)
        with translate(self._where, "thread_keys"):
            members = self.client.smembers(self.layout.registry_key(enc))
        return self._thread_keys(enc, members)

