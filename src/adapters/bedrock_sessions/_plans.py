"""What each repository operation asks of Bedrock sessions, round by round, written once for the sync and the async client.

A plan is a generator that yields a *round* (a list of requests that do not
depend on each other: the driver sends them in parallel) and receives the list
of their answers; everything between rounds is pure. The sync repository
(``checkpoints``) drives plans on a thread pool over a boto3 client, the async
one (``aio``) with ``asyncio.gather`` over an aiobotocore client, so both send
exactly the same calls in the same rounds (the figures in the module docstring
of ``checkpoints`` hold for both).

A round holds ``Req`` (one API call: its answer, or its error code when that
code is one of ``ok``, a normal outcome) and ``Lock``/``Unlock`` (a lock of the
driver's kind, held across rounds: a thread lock or an asyncio lock). A driver
releases every lock a plan still holds when the plan ends, however it ends.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import threading
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Collection, Hashable, Mapping, Sequence
from typing import Any, Optional, TypeVar

import attrs

from ...domain.errors import NotFoundError, UnsupportedOperationError
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
from ..aws.plans import Plan, in_parallel
from . import _layout as L

__all__ = ["Req", "Lock", "Unlock", "Plan", "SessionPlans", "REGISTRY_LOCK", "in_parallel", "Round", "LockBook"]

T = TypeVar("T")


_PAGE = 1000
_MAX_METADATA_KEYS = 50
_MAX_METADATA_VALUE = 5000
_CACHE_SIZE = 512
_GONE = "ResourceNotFoundException"
_CONFLICT = "ConflictException"
_REGISTRIES: dict[tuple[Optional[str], Optional[str]], str] = {}
"""The registry session created per (endpoint, region) in this process."""
REGISTRY_LOCK = ("registry",)
"""The ``Lock`` key that guards ``_REGISTRIES`` (drivers map it to one lock per process or loop)."""


@attrs.frozen(eq=False)
class Req:
    """One ``bedrock-agent-runtime`` call: ``operation`` (boto3 method name) with ``params``.

    ``session`` names the resource in errors. The answer is the response, or the
    error code when it is one of ``ok``; any other error is raised, translated.
    """

    operation: str
    session: str
    params: Mapping[str, Any]
    ok: tuple[str, ...] = ()


@attrs.frozen
class Lock:
    """Acquire the driver's lock ``key`` (answer None)."""

    key: Hashable


@attrs.frozen
class Unlock:
    """Release the driver's lock ``key`` (answer None; nothing when not held)."""

    key: Hashable


class LockBook:
    """The locks one plan holds, counted (re-entrant within the plan): what a driver acquires and releases.

    Both drivers (threads and asyncio) keep only the lock objects; this says
    which keys to acquire before a round, which to release after it, and which
    are still held when the plan ends, however it ends.
    """

    def __init__(self) -> None:
        self._held: dict[Hashable, int] = {}

    def to_acquire(self, ops: Sequence[Any]) -> list[Hashable]:
        """Keys of the round's ``Lock``s not held yet (count every one)."""
        fresh = []
        for op in ops:
            if isinstance(op, Lock):
                if not self._held.get(op.key):
                    fresh.append(op.key)
                self._held[op.key] = self._held.get(op.key, 0) + 1
        return fresh

    def to_release(self, ops: Sequence[Any]) -> list[Hashable]:
        """Keys of the round's ``Unlock``s whose count drops to zero."""
        done = []
        for op in ops:
            if isinstance(op, Unlock) and self._held.get(op.key):
                self._held[op.key] -= 1
                if not self._held[op.key]:
                    del self._held[op.key]
                    done.append(op.key)
        return done

    def held(self) -> list[Hashable]:
        """Keys still held (to release when the plan ends early)."""
        return list(self._held)


class Round:
    """The API calls of one round and where their answers go among the round's answers."""

    def __init__(self, ops: Sequence[Any]) -> None:
        self.answers: list[Any] = [None] * len(ops)
        self._slots = [i for i, op in enumerate(ops) if isinstance(op, Req)]
        self.calls: list[Req] = [ops[i] for i in self._slots]

    def answer(self, results: Sequence[Any]) -> list[Any]:
        """The round's answers, with ``results`` (one per call, in order) in place."""
        for i, result in zip(self._slots, results):
            self.answers[i] = result
        return self.answers


def op_names(ops: Sequence[Any]) -> list[str]:
    """The API calls of a round (locks left out), for observers."""
    return [op.operation for op in ops if isinstance(op, Req)]


def _call(operation: str, session: str, **params: Any) -> Plan[Any]:
    (out,) = yield [Req(operation, session, params)]
    return out


def _try(operation: str, session: str, ok: tuple[str, ...], **params: Any) -> Plan[Any]:
    (out,) = yield [Req(operation, session, params, ok)]
    return out


def _hint(thread_id: str) -> str:
    return (
        f"thread_id {thread_id!r} is not an existing Bedrock session: create one with "
        "`session_client.create_session()` and use its session_id as thread_id, or construct the saver "
        "with create_missing_sessions=True to map any thread id to a session of its own"
    )


class SessionGone(Exception):
    """The thread's session was deleted or ended under us."""


class InvocationGone(Exception):
    """The checkpoint's invocation does not exist (writes before their checkpoint)."""


class SessionPlans:
    """The plans of one saver (see the module docstring of ``checkpoints`` for the layout and the costs).

    Holds what the repository remembers between calls (thread -> session, the
    version refs of recent checkpoints, invocations known to exist), guarded by a
    thread lock that is never held across a round.

    Args:
        create_missing_sessions: map any thread id to a session of its own.
        registry_session_id: the registry session (created on first need when None).
        max_step_bytes: the most text one step holds.
    """

    def __init__(self, *, create_missing_sessions: bool, registry_session_id: Optional[str],
                 max_step_bytes: int) -> None:
        self.create_missing_sessions = create_missing_sessions
        self.registry_session_id = registry_session_id
        self.max_step_bytes = max_step_bytes
        self.endpoint_key: tuple[Optional[str], Optional[str]] = (None, None)
        """(endpoint url, region) of the client: the registry created for it is reused (set by the driver)."""
        self._lock = threading.RLock()
        self._sessions: OrderedDict[ThreadKey, str] = OrderedDict()
        self._refs: OrderedDict[tuple[str, str, str], dict[str, Any]] = OrderedDict()
        self._invocations: OrderedDict[tuple[str, str], bool] = OrderedDict()

    def _remember(self, cache: OrderedDict[Any, Any], key: Any, value: Any) -> None:
        with self._lock:
            cache[key] = value
            cache.move_to_end(key)
            while len(cache) > _CACHE_SIZE:
                cache.popitem(last=False)

    # -- sessions and the registry ------------------------------------------------------
    def _registry(self) -> Plan[str]:
        if self.registry_session_id is not None:
            return self.registry_session_id
        key = self.endpoint_key
        yield [Lock(REGISTRY_LOCK)]
        found = _REGISTRIES.get(key)
        out = None
        if found is not None:
            out = yield from _try("get_session", found, (_GONE,), sessionIdentifier=found)
        if found is None or out == _GONE:
            created = yield from _call("create_session", "(new registry)",
                                       sessionMetadata={"langgraph-checkpoint-aws-hex": "thread-registry"})
            found = _REGISTRIES[key] = str(created["sessionId"])
        yield [Unlock(REGISTRY_LOCK)]
        self.registry_session_id = found
        return found

    def _registry_entries(self, thread_id: str) -> Plan[Optional[list[str]]]:
        registry = yield from self._registry()
        out = yield from _try("list_invocation_steps", registry, (_GONE,), sessionIdentifier=registry,
                              invocationIdentifier=L.registry_invocation(thread_id), maxResults=_PAGE)
        if out == _GONE:
            return None
        return [s["invocationStepId"] for s in out["invocationStepSummaries"]]

    def _lookup(self, thread: ThreadKey, listed: Optional[list[str]]) -> Plan[tuple[Optional[str], int]]:
        """The session of ``thread`` recorded in the registry, and its generation (0: none)."""
        if not listed:
            return None, 0
        present = set(listed)
        generation = 0
        while L.registry_step(thread, generation + 1) in present:
            generation += 1
        if generation == 0:
            return None, 0
        registry = yield from self._registry()
        step = yield from _call("get_invocation_step", registry, sessionIdentifier=registry,
                                invocationIdentifier=L.registry_invocation(thread.thread_id),
                                invocationStepId=L.registry_step(thread, generation))
        record = L.decode_record(b["text"] for b in step["invocationStep"]["payload"]["contentBlocks"])
        return str(record["session"]), generation

    def session(self, thread: ThreadKey, *, create: bool, dead: Optional[str] = None) -> Plan[Optional[str]]:
        """The session of a thread; None when it has none (and ``create`` is False).

        ``dead``: a session found gone; if the registry still names it, the thread
        gets a new session (the next generation)."""
        if not self.create_missing_sessions:
            tid = thread.thread_id
            if not (L.UUID_RE.fullmatch(tid) or L.SESSION_ARN_RE.fullmatch(tid)):
                raise NotFoundError(_hint(tid))
            return tid
        with self._lock:
            cached = self._sessions.get(thread)
        if cached is not None and cached != dead:
            return cached
        listed = yield from self._registry_entries(thread.thread_id)
        session, generation = yield from self._lookup(thread, listed)
        if session is not None and session == dead:
            session = None
        if session is None and create:
            session = yield from self._new_session(thread, generation)
        if session is not None:
            self._remember(self._sessions, thread, session)
        return session

    def _new_session(self, thread: ThreadKey, generation: int) -> Plan[str]:
        registry = yield from self._registry()
        inv = L.registry_invocation(thread.thread_id)
        yield from _try("create_invocation", registry, (_CONFLICT,), sessionIdentifier=registry, invocationId=inv)
        created = yield from _call("create_session", "(new)",
                                   sessionMetadata={"langgraph-thread": thread.thread_id[:4000]})
        session = str(created["sessionId"])
        record = {"k": "thread", "thread": thread.thread_id, "actor": thread.actor_id, "session": session}
        step_id = L.registry_step(thread, generation + 1)
        ((_, text),) = L.encode_steps(L.REGISTRY, step_id, record, 8192)
        answer = yield from _try("put_invocation_step", registry, (_CONFLICT,), sessionIdentifier=registry,
                                 invocationIdentifier=inv, invocationStepId=step_id,
                                 invocationStepTime=_now(), payload={"contentBlocks": [{"text": text}]})
        if answer == _CONFLICT:  # another process mapped it first: use theirs, drop ours
            yield from self._drop_session(session)
            listed = yield from self._registry_entries(thread.thread_id)
            found, _ = yield from self._lookup(thread, listed)
            if found is None:
                raise NotFoundError(f"the registry entry of thread {thread.thread_id!r} vanished while creating it")
            return found
        return session

    def _forget(self, thread: ThreadKey) -> None:
        with self._lock:
            self._sessions.pop(thread, None)

    def _drop_session(self, session: str) -> Plan[None]:
        yield from _try("end_session", session, (_CONFLICT, _GONE), sessionIdentifier=session)
        yield from _try("delete_session", session, (_GONE,), sessionIdentifier=session)

    def _missing(self, thread: ThreadKey, session: str) -> NotFoundError:
        return NotFoundError(f"Bedrock session {session!r} does not exist; " + _hint(thread.thread_id))

    # -- the index in the session metadata ----------------------------------------------
    def _metadata(self, thread: ThreadKey, session: str) -> Plan[Optional[dict[str, str]]]:
        """The session's metadata; None when the session is gone (registry mode) or unusable."""
        out = yield from _try("get_session", session, (_GONE,), sessionIdentifier=session)
        if out == _GONE:
            if not self.create_missing_sessions:
                raise self._missing(thread, session)
            self._forget(thread)
            return None
        return dict(out.get("sessionMetadata") or {})

    @staticmethod
    def _index(metadata: Mapping[str, str]) -> dict[str, tuple[list[str], bool]]:
        """Namespace -> (newest checkpoint ids, whether that is every checkpoint of it)."""
        out: dict[str, tuple[list[str], bool]] = {}
        for key, value in metadata.items():
            if key.startswith(L.INDEX_PREFIX) and key != L.OVERFLOW_KEY:
                try:
                    entry = json.loads(value)
                    out[str(entry["ns"])] = ([str(i) for i in entry["ids"]], int(entry["n"]) <= len(entry["ids"]))
                except (ValueError, KeyError, TypeError):
                    continue
        return out

    @staticmethod
    def _indexed(metadata: dict[str, str], ns: str, checkpoint_id: str) -> dict[str, str]:
        key = L.index_key(ns)
        entry: dict[str, Any] = {"ns": ns, "ids": [], "n": 0}
        if key in metadata:
            try:
                entry = json.loads(metadata[key])
            except ValueError:
                pass
        ids = [str(i) for i in entry.get("ids", [])]
        count = int(entry.get("n", len(ids)))
        if checkpoint_id not in ids:
            ids.append(checkpoint_id)
            count += 1
        ids = sorted(set(ids), reverse=True)[: L.WINDOW]
        out = dict(metadata)
        while True:
            value = json.dumps({"ns": ns, "ids": ids, "n": count}, separators=(",", ":"))
            if len(value) <= _MAX_METADATA_VALUE or not ids:
                break
            ids = ids[:-1]
        fits = len(value) <= _MAX_METADATA_VALUE and ids and (key in out or len(out) < _MAX_METADATA_KEYS - 1)
        if fits:
            out[key] = value
        else:
            out.pop(key, None)
            out[L.OVERFLOW_KEY] = "1"
        return out

    # -- reading records ----------------------------------------------------------------
    def _get_steps(self, session: str, refs: Sequence[tuple[str, str]]) -> Plan[dict[str, str]]:
        """Text of each ``(invocation, step)``, fetched in one round; missing steps are absent."""
        unique = list(dict.fromkeys(refs))
        if not unique:
            return {}
        answers = yield [Req("get_invocation_step", session,
                             {"sessionIdentifier": session, "invocationIdentifier": inv, "invocationStepId": step},
                             (_GONE,)) for inv, step in unique]
        out: dict[str, str] = {}
        for (_inv, step), answer in zip(unique, answers):
            if answer == _GONE:
                continue
            blocks = answer["invocationStep"]["payload"].get("contentBlocks") or []
            out[step] = "".join(b.get("text", "") for b in blocks)
        return out

    def _list_steps(self, session: str, invocation: Optional[str] = None) -> Plan[Optional[list[dict[str, Any]]]]:
        """Every step summary of the session (or of one invocation); None when the invocation does not exist."""
        params: dict[str, Any] = {"sessionIdentifier": session, "maxResults": _PAGE}
        if invocation is not None:
            params["invocationIdentifier"] = invocation
        found: list[dict[str, Any]] = []
        while True:
            out = yield from _try("list_invocation_steps", session, (_GONE,), **params)
            if out == _GONE:
                return None
            found.extend(out["invocationStepSummaries"])
            token = out.get("nextToken")
            if not token:
                return found
            params = {**params, "nextToken": token}

    def _list_many(self, session: str, invocations: Sequence[str]) -> Plan[list[Optional[list[dict[str, Any]]]]]:
        listings: list[Optional[list[dict[str, Any]]]] = yield from in_parallel(
            [self._list_steps(session, inv) for inv in invocations])
        return listings

    @staticmethod
    def _records(texts: Mapping[str, str]) -> list[dict[str, Any]]:
        by_record: dict[str, list[str]] = defaultdict(list)
        for text in texts.values():
            by_record[L.record_id_of(text)].append(text)
        return [L.decode_record(parts) for parts in by_record.values()]

    def _fetch(self, thread: ThreadKey, session: str, keys: Sequence[tuple[str, str]],
               headers_only: bool = False) -> Plan[dict[tuple[str, str], CheckpointRecord]]:
        """Records of ``(ns, checkpoint id)`` pairs, in three rounds whatever the session's length."""
        invs = [L.checkpoint_invocation(ns, cid) for ns, cid in keys]
        listings = yield from self._list_many(session, invs)
        wanted: list[tuple[str, str]] = []
        for inv, listing in zip(invs, listings):
            for s in listing or []:
                if headers_only and L.kind_of(s["invocationStepId"]) != L.HEADER:
                    continue
                wanted.append((inv, s["invocationStepId"]))
        texts = yield from self._get_steps(session, wanted)
        found: dict[tuple[str, str], tuple[dict[str, Any], list[dict[str, Any]]]] = {}
        for key, _inv, listing in zip(keys, invs, listings):
            mine = {s["invocationStepId"]: texts[s["invocationStepId"]] for s in listing or []
                    if s["invocationStepId"] in texts}
            records = self._records(mine)
            headers = [r for r in records if r.get("k") == "cp"]
            if headers:
                header = max(headers, key=lambda r: str(r.get("seq", "")))
                found[key] = (header, [r for r in records if r.get("k") == "w"])
        assembled = yield from self._assemble(thread, session, found, headers_only)
        return assembled

    def _assemble(self, thread: ThreadKey, session: str,
                  found: Mapping[tuple[str, str], tuple[dict[str, Any], list[dict[str, Any]]]],
                  headers_only: bool) -> Plan[dict[tuple[str, str], CheckpointRecord]]:
        """Records from header and writes records, fetching blobs held by older checkpoints (one round)."""
        elsewhere: list[tuple[str, str]] = []
        if not headers_only:
            for (ns, _cid), (header, _) in found.items():
                own = L.blobs_from(header)
                for ch, ver in (header.get("versions") or {}).items():
                    ref = (header.get("refs") or {}).get(ch)
                    if (ch, str(ver)) in own or not ref or ref[0] != str(ver) or (ns, ref[1]) in found:
                        continue  # held by this checkpoint or by one fetched in the same batch
                    elsewhere.append((L.checkpoint_invocation(ns, ref[1]), str(ref[2])))
        texts: dict[str, str] = {}
        if elsewhere:
            texts = yield from self._older_records(session, elsewhere)
        older = {str(r.get("ns")) + "\x00" + str(r.get("id")): L.blobs_from(r) for r in self._records(texts)}
        older.update({ns + "\x00" + cid: L.blobs_from(header) for (ns, cid), (header, _) in found.items()})
        out: dict[tuple[str, str], CheckpointRecord] = {}
        for (ns, cid), (header, writes) in found.items():
            cp = L.checkpoint_from(header, thread)
            self._remember(self._refs, (session, ns, cid), dict(header.get("refs") or {}))
            if headers_only:
                out[(ns, cid)] = CheckpointRecord(cp)
                continue
            own = L.blobs_from(header)
            blobs: list[ChannelBlob] = []
            for ch, ver in cp.channel_versions.items():
                blob = own.get((ch, str(ver)))
                if blob is None:
                    ref = (header.get("refs") or {}).get(ch)
                    if ref and ref[0] == str(ver):
                        blob = older.get(ns + "\x00" + ref[1], {}).get((ch, str(ver)))
                if blob is not None:
                    blobs.append(blob)
            out[(ns, cid)] = CheckpointRecord(cp, blobs, L.writes_from(writes, thread, ns, cid))
        return out

    def _older_records(self, session: str, records: Sequence[tuple[str, str]]) -> Plan[dict[str, str]]:
        """Texts of every step of the given header records (``(invocation, record id)``): part 0 first,
        which names the part count, then the other parts of those that span several steps."""
        firsts = [(inv, L.step_ids(L.HEADER, rid, 1)[0]) for inv, rid in dict.fromkeys(records)]
        texts = yield from self._get_steps(session, firsts)
        rest: list[tuple[str, str]] = []
        for inv, rid in dict.fromkeys(records):
            first = texts.get(L.step_ids(L.HEADER, rid, 1)[0])
            count = int(first.partition("\n")[0].split(" ")[2]) if first else 1
            rest.extend((inv, step) for step in L.step_ids(L.HEADER, rid, count)[1:])
        if rest:
            texts.update((yield from self._get_steps(session, rest)))
        return texts

    def _scan(self, session: str) -> Plan[tuple[dict[tuple[str, str], dict[str, Any]], dict[str, list[str]]]]:
        """Every header of the session, and the writes steps of each invocation (a full scan)."""
        listing = yield from self._list_steps(session)
        if listing is None:
            return {}, {}
        headers: list[tuple[str, str]] = []
        writes: dict[str, list[str]] = defaultdict(list)
        for s in listing:
            kind = L.kind_of(s["invocationStepId"])
            if kind == L.HEADER:
                headers.append((s["invocationId"], s["invocationStepId"]))
            elif kind == L.WRITES:
                writes[s["invocationId"]].append(s["invocationStepId"])
        best: dict[tuple[str, str], dict[str, Any]] = {}
        texts = yield from self._get_steps(session, headers)
        for record in self._records(texts):
            if record.get("k") != "cp":
                continue
            key = (str(record["ns"]), str(record["id"]))
            if key not in best or str(record.get("seq", "")) > str(best[key].get("seq", "")):
                best[key] = record
        return best, writes

    # -- the core port -----------------------------------------------------------------
    def put_checkpoint(self, checkpoint: StoredCheckpoint, blobs: Sequence[ChannelBlob]) -> Plan[None]:
        thread, ns, cid = checkpoint.thread, checkpoint.checkpoint_ns, checkpoint.checkpoint_id
        dead: Optional[str] = None
        for _attempt in range(2):
            session = yield from self.session(thread, create=True, dead=dead)
            assert session is not None
            try:
                yield from self._put_checkpoint(thread, session, checkpoint, blobs)
                return
            except SessionGone:
                if not self.create_missing_sessions:
                    raise self._missing(thread, session) from None
                self._forget(thread)
                dead = session
        raise NotFoundError(f"could not write checkpoint {cid!r} of thread {thread.thread_id!r} in {ns!r}: "
                            "its session keeps disappearing")

    def _parent_refs(self, thread: ThreadKey, session: str, ns: str, parent: Optional[str]) -> Plan[dict[str, Any]]:
        with self._lock:
            cached = self._refs.get((session, ns, parent)) if parent else {}
        if cached is not None:
            return cached
        yield from self._fetch(thread, session, [(ns, parent or "")], headers_only=True)  # caches its refs
        with self._lock:
            return self._refs.get((session, ns, parent or ""), {})

    def _put_checkpoint(self, thread: ThreadKey, session: str, checkpoint: StoredCheckpoint,
                        blobs: Sequence[ChannelBlob]) -> Plan[None]:
        ns, cid = checkpoint.checkpoint_ns, checkpoint.checkpoint_id
        inv = L.checkpoint_invocation(ns, cid)
        lock = ("session", session)
        yield [Lock(lock)]
        try:
            created, info, refs_of_parent = yield from in_parallel([
                self._create_invocation(session, inv),
                _try("get_session", session, (_GONE,), sessionIdentifier=session),
                self._parent_refs(thread, session, ns, checkpoint.parent_checkpoint_id),
            ])
            if info == _GONE or created == "gone":
                raise SessionGone()
            record_id = L.new_seq() + "-" + L.uid("0", "rid", ns, cid)[-12:]
            mine = {(b.channel, b.version) for b in blobs}
            refs: dict[str, Any] = {}
            pending_self: list[str] = []
            for ch, ver in checkpoint.channel_versions.items():
                if (ch, str(ver)) in mine:
                    pending_self.append(ch)
                elif ch in (refs_of_parent or {}) and refs_of_parent[ch][0] == str(ver):
                    refs[ch] = refs_of_parent[ch]
            # A version this checkpoint wrote is found through its record id (part 0 names the part count).
            for ch in pending_self:
                refs[ch] = [str(checkpoint.channel_versions[ch]), cid, record_id]
            record = L.header_record(checkpoint, blobs, refs, L.new_seq())
            steps = L.encode_steps(L.HEADER, record_id, record, self.max_step_bytes)
            yield from self._put_steps(session, inv, steps)
            self._remember(self._refs, (session, ns, cid), refs)
            updated = self._indexed(dict(info.get("sessionMetadata") or {}), ns, cid)
            answer = yield from _try("update_session", session, (_GONE, _CONFLICT),
                                     sessionIdentifier=session, sessionMetadata=updated)
            if answer in (_GONE, _CONFLICT):
                raise SessionGone()
        except SessionGone:
            yield [Unlock(lock)]
            raise
        yield [Unlock(lock)]

    def _create_invocation(self, session: str, inv: str) -> Plan[str]:
        with self._lock:
            if (session, inv) in self._invocations:
                return "exists"
        out = yield from _try("create_invocation", session, (_CONFLICT, _GONE), sessionIdentifier=session,
                              invocationId=inv)
        if out == _GONE:
            return "gone"
        if out == _CONFLICT:
            # An existing invocation, or a session that was ended: tell them apart.
            probe = yield from _try("list_invocation_steps", session, (_GONE,), sessionIdentifier=session,
                                    invocationIdentifier=inv, maxResults=1)
            if probe == _GONE:
                return "gone"
        self._remember(self._invocations, (session, inv), True)
        return "created"

    def _put_step(self, session: str, inv: str, step_id: str, text: str, now: datetime.datetime) -> Plan[None]:
        out = yield from _try("put_invocation_step", session, (_CONFLICT, _GONE), sessionIdentifier=session,
                              invocationIdentifier=inv, invocationStepId=step_id, invocationStepTime=now,
                              payload={"contentBlocks": [{"text": text}]})
        if out == _GONE:
            raise InvocationGone()
        if out == _CONFLICT:
            # The step exists (a retry of a lost answer), or the session was ended.
            status = yield from _try("get_session", session, (_GONE,), sessionIdentifier=session)
            if status == _GONE or status.get("sessionStatus") != "ACTIVE":
                raise SessionGone()

    def _put_steps(self, session: str, inv: str, steps: Sequence[tuple[str, str]]) -> Plan[None]:
        now = _now()
        yield from in_parallel([self._put_step(session, inv, step_id, text, now) for step_id, text in steps])

    def put_writes(self, writes: Sequence[StoredWrite]) -> Plan[None]:
        if not writes:
            return
        first = writes[0]
        thread, ns, cid = first.thread, first.checkpoint_ns, first.checkpoint_id
        inv = L.checkpoint_invocation(ns, cid)
        digest = hashlib.sha256(repr([(w.task_id, w.task_path, w.idx, w.channel, w.payload.type_tag, w.payload.data)
                                      for w in writes]).encode()).hexdigest()[:24]
        dead: Optional[str] = None
        for _attempt in range(2):
            session = yield from self.session(thread, create=True, dead=dead)
            assert session is not None
            record = L.writes_record(writes, L.new_seq())
            steps = L.encode_steps(L.WRITES, f"w{digest}", record, self.max_step_bytes)
            try:
                try:
                    yield from self._put_steps(session, inv, steps)
                except InvocationGone:
                    created = yield from self._create_invocation(session, inv)
                    if created == "gone":
                        raise SessionGone() from None
                    yield from self._put_steps(session, inv, steps)
                return
            except (SessionGone, InvocationGone):
                if not self.create_missing_sessions:
                    raise self._missing(thread, session) from None
                self._forget(thread)
                dead = session
        raise NotFoundError(f"could not write to thread {thread.thread_id!r}: its session keeps disappearing")

    def get_checkpoint(self, key: CheckpointKey) -> Plan[Optional[CheckpointRecord]]:
        thread = key.thread
        session = yield from self.session(thread, create=False)
        if session is None:
            return None
        cid = key.checkpoint_id
        if cid is None:
            metadata = yield from self._metadata(thread, session)
            if metadata is None:
                return None
            index = self._index(metadata)
            if key.checkpoint_ns in index:
                ids = index[key.checkpoint_ns][0]
                cid = ids[0] if ids else None
            elif L.OVERFLOW_KEY in metadata:
                query = CheckpointQuery(thread=thread, checkpoint_ns=key.checkpoint_ns, limit=1)
                records = yield from self.list_checkpoints(query)
                return records[0] if records else None
            if cid is None:
                return None
        found = yield from self._fetch(thread, session, [(key.checkpoint_ns, cid)])
        record = found.get((key.checkpoint_ns, cid))
        if record is None and key.checkpoint_id is not None and not self.create_missing_sessions:
            yield from self._metadata(thread, session)  # an unknown session is an error, a missing checkpoint is None
        return record

    def list_checkpoints(self, query: CheckpointQuery) -> Plan[list[CheckpointRecord]]:
        if query.thread is not None:
            threads = [query.thread]
        else:
            threads = yield from self.list_threads()
        out: list[CheckpointRecord] = []
        for thread in threads:
            out.extend((yield from self._list_thread(thread, query)))
        return out

    def _list_thread(self, thread: ThreadKey, query: CheckpointQuery) -> Plan[list[CheckpointRecord]]:
        session = yield from self.session(thread, create=False)
        if session is None:
            return []
        ns = query.checkpoint_ns
        if query.checkpoint_id is not None and ns is not None:
            found = yield from self._fetch(thread, session, [(ns, query.checkpoint_id)], query.headers_only)
            record = found.get((ns, query.checkpoint_id))
            return [record] if record is not None and _matches(record.checkpoint, query) else []
        if query.limit is not None and not query.metadata_filter and query.checkpoint_id is None:
            metadata = yield from self._metadata(thread, session)
            if metadata is None:
                return []
            keys = self._window(metadata, ns, query.before_id, query.limit)
            if keys is not None:
                found = yield from self._fetch(thread, session, keys, query.headers_only)
                return [found[k] for k in keys if k in found]
        headers, writes = yield from self._scan(session)
        selected = sorted((k for k, r in headers.items() if _matches(L.checkpoint_from(r, thread), query)),
                          key=lambda k: k[1], reverse=True)
        if query.limit is not None:
            selected = selected[: query.limit]
        if query.headers_only:
            return [CheckpointRecord(L.checkpoint_from(headers[k], thread)) for k in selected]
        out: list[CheckpointRecord] = []
        for start in range(0, len(selected), 50):
            chunk = selected[start : start + 50]
            wanted = [(L.checkpoint_invocation(*k), s) for k in chunk for s in writes.get(L.checkpoint_invocation(*k), [])]
            texts = yield from self._get_steps(session, wanted)
            parts: dict[tuple[str, str], tuple[dict[str, Any], list[dict[str, Any]]]] = {}
            for k in chunk:
                inv = L.checkpoint_invocation(*k)
                mine = {s: texts[s] for s in writes.get(inv, []) if s in texts}
                parts[k] = (headers[k], [r for r in self._records(mine) if r.get("k") == "w"])
            assembled = yield from self._assemble(thread, session, parts, False)
            out.extend(assembled[k] for k in chunk)
        return out

    def _window(self, metadata: Mapping[str, str], ns: Optional[str], before: Optional[str],
                limit: int) -> Optional[list[tuple[str, str]]]:
        """The newest ``limit`` checkpoints from the index, or None when the index cannot tell."""
        index = self._index(metadata)
        if ns is None:
            if L.OVERFLOW_KEY in metadata:
                return None
            spaces = list(index)
        elif ns in index:
            spaces = [ns]
        elif L.OVERFLOW_KEY in metadata:
            return None
        else:
            return []
        keys: list[tuple[str, str]] = []
        for space in spaces:
            ids, complete = index[space]
            below = [i for i in ids if before is None or i < before]
            if len(below) < limit and not complete:
                return None
            keys.extend((space, i) for i in below)
        keys.sort(key=lambda k: k[1], reverse=True)
        return keys[:limit]

    def delete_thread(self, thread_id: str, actor_id: Optional[str] = None) -> Plan[None]:
        if not self.create_missing_sessions:
            session = yield from self.session(ThreadKey(thread_id), create=False)
            assert session is not None
            yield from self._drop_session(session)
            return
        listed = yield from self._registry_entries(thread_id)
        if not listed:
            return
        registry = yield from self._registry()
        texts = yield from self._get_steps(registry, [(L.registry_invocation(thread_id), s) for s in listed])
        for record in self._records(texts):
            if actor_id is not None and record.get("actor") != actor_id:
                continue
            self._forget(ThreadKey(thread_id, record.get("actor")))
            yield from self._drop_session(str(record["session"]))

    # -- pruning: a thread is rewritten into a new session ---------------------------------
    def _rewrite(self, thread: ThreadKey, keep: Callable[[StoredCheckpoint], bool],
                 drop_blobs: Sequence[tuple[str, str, str]] = ()) -> Plan[None]:
        """Copy what ``keep`` keeps into a new session of the thread, then delete the old one.

        Steps cannot be deleted one by one, so removing checkpoints means rewriting the
        thread: only with ``create_missing_sessions`` (the registry can point the thread
        at its new session; a session id chosen by the app cannot change).
        """
        if not self.create_missing_sessions:
            raise UnsupportedOperationError(
                "deleting single checkpoints (prune, delete_for_runs) rewrites the thread into a new session, "
                "which needs create_missing_sessions=True; with sessions you created, use delete_thread"
            )
        old = yield from self.session(thread, create=False)
        if old is None:
            return
        data = yield from self.export_thread(thread)
        kept = [c for c in data.checkpoints if keep(c)]
        if len(kept) == len(data.checkpoints) and not drop_blobs:
            return
        dropped = set(drop_blobs)
        kept_ids = {(c.checkpoint_ns, c.checkpoint_id) for c in kept}
        listed = yield from self._registry_entries(thread.thread_id)
        _, generation = yield from self._lookup(thread, listed)
        self._forget(thread)
        new = yield from self._new_session(thread, generation)
        self._remember(self._sessions, thread, new)
        yield from self.import_thread(ThreadData(
            thread=thread,
            checkpoints=tuple(kept),
            blobs=tuple((ns, b) for ns, b in data.blobs if (ns, b.channel, b.version) not in dropped),
            writes=tuple(w for w in data.writes if (w.checkpoint_ns, w.checkpoint_id) in kept_ids),
        ))
        yield from self._drop_session(old)

    def prune(self, thread: ThreadKey, checkpoint_ns: str, keep_ids: Collection[str]) -> Plan[None]:
        survivors = set(keep_ids)
        yield from self._rewrite(thread, lambda c: c.checkpoint_ns != checkpoint_ns or c.checkpoint_id in survivors)

    def delete_checkpoints(self, thread: ThreadKey, checkpoint_ns: str, checkpoint_ids: Sequence[str]) -> Plan[None]:
        doomed = set(checkpoint_ids)
        yield from self._rewrite(thread, lambda c: c.checkpoint_ns != checkpoint_ns or c.checkpoint_id not in doomed)

    def delete_blobs(self, thread: ThreadKey, checkpoint_ns: str, refs: Sequence[BlobRef]) -> Plan[None]:
        yield from self._rewrite(thread, lambda c: True, [(checkpoint_ns, ch, ver) for ch, ver in refs])

    # -- capabilities ------------------------------------------------------------------
    def list_threads(self) -> Plan[list[ThreadKey]]:
        """Every thread: the registry's entries, or every session of the account (default mode)."""
        found: list[ThreadKey] = []
        if self.create_missing_sessions:
            registry = yield from self._registry()
            listing = (yield from self._list_steps(registry)) or []
            texts = yield from self._get_steps(registry, [(s["invocationId"], s["invocationStepId"]) for s in listing])
            seen: set[ThreadKey] = set()
            for record in self._records(texts):
                key = ThreadKey(str(record["thread"]), record.get("actor"))
                if key not in seen:
                    seen.add(key)
                    found.append(key)
            return found
        params: dict[str, Any] = {"maxResults": _PAGE}
        while True:
            out = yield from _call("list_sessions", "(all)", **params)
            found.extend(ThreadKey(str(s["sessionId"])) for s in out["sessionSummaries"])
            if not out.get("nextToken"):
                return found
            params = {**params, "nextToken": out["nextToken"]}

    def scan_checkpoints(self, thread: ThreadKey, checkpoint_ns: Optional[str] = None) -> Plan[list[StoredCheckpoint]]:
        session = yield from self.session(thread, create=False)
        if session is None:
            return []
        headers, _ = yield from self._scan(session)
        return [L.checkpoint_from(r, thread) for (ns, _), r in headers.items() if checkpoint_ns is None or ns == checkpoint_ns]

    def get_blobs(self, thread: ThreadKey, checkpoint_ns: str, refs: Sequence[BlobRef]) -> Plan[dict[BlobRef, ChannelBlob]]:
        session = yield from self.session(thread, create=False)
        if session is None or not refs:
            return {}
        headers, _ = yield from self._scan(session)
        wanted = set(refs)
        out: dict[BlobRef, ChannelBlob] = {}
        for (ns, _), record in headers.items():
            if ns == checkpoint_ns:
                out.update({k: b for k, b in L.blobs_from(record).items() if k in wanted})
        return out

    def get_writes(self, thread: ThreadKey, checkpoint_ns: str,
                   checkpoint_ids: Sequence[str]) -> Plan[dict[str, list[StoredWrite]]]:
        session = yield from self.session(thread, create=False)
        out: dict[str, list[StoredWrite]] = {cid: [] for cid in checkpoint_ids}
        if session is None:
            return out
        invs = [L.checkpoint_invocation(checkpoint_ns, cid) for cid in checkpoint_ids]
        listings = yield from self._list_many(session, invs)
        wanted = [(inv, s["invocationStepId"]) for inv, listing in zip(invs, listings) for s in listing or []
                  if L.kind_of(s["invocationStepId"]) == L.WRITES]
        texts = yield from self._get_steps(session, wanted)
        for cid, listing in zip(checkpoint_ids, listings):
            mine = {s["invocationStepId"]: texts[s["invocationStepId"]] for s in listing or [] if s["invocationStepId"] in texts}
            out[cid] = L.writes_from(self._records(mine), thread, checkpoint_ns, cid)
        return out

    def export_thread(self, thread: ThreadKey) -> Plan[ThreadData]:
        """Every checkpoint with the blobs it reads, in checkpoint order (``import_thread`` reads them back
        per checkpoint, so a copy reads exactly as its source, even where two checkpoints disagree on a version)."""
        records = yield from self.list_checkpoints(CheckpointQuery(thread=thread))
        blobs: list[tuple[str, ChannelBlob]] = []
        writes: list[StoredWrite] = []
        for r in records:
            order = {ch: i for i, ch in enumerate(sorted(r.checkpoint.channel_versions))}
            blobs.extend((r.checkpoint.checkpoint_ns, b) for b in sorted(r.blobs, key=lambda b: order.get(b.channel, -1)))
            writes.extend(r.writes)
        return ThreadData(thread=thread, checkpoints=tuple(r.checkpoint for r in records),
                          blobs=tuple(blobs), writes=tuple(writes))

    @staticmethod
    def _blobs_per_checkpoint(data: ThreadData) -> list[list[ChannelBlob]]:
        """The blobs of each checkpoint: aligned as ``export_thread`` writes them, else by (ns, channel, version)."""
        aligned: list[list[ChannelBlob]] = []
        position = 0
        for cp in data.checkpoints:
            mine: list[ChannelBlob] = []
            for ch in sorted(cp.channel_versions):
                if position < len(data.blobs):
                    ns, blob = data.blobs[position]
                    if (ns, blob.channel, blob.version) == (cp.checkpoint_ns, ch, str(cp.channel_versions[ch])):
                        mine.append(blob)
                        position += 1
            aligned.append(mine)
        if position == len(data.blobs):
            return aligned
        by_key = {(ns, b.channel, b.version): b for ns, b in data.blobs}
        return [[by_key[(cp.checkpoint_ns, ch, str(v))] for ch, v in cp.channel_versions.items()
                 if (cp.checkpoint_ns, ch, str(v)) in by_key] for cp in data.checkpoints]

    def import_thread(self, data: ThreadData) -> Plan[None]:
        # Each checkpoint carries every blob it reads: imported checkpoints need not be a chain.
        pairs = list(zip(data.checkpoints, self._blobs_per_checkpoint(data)))
        for cp, mine in sorted(pairs, key=lambda p: (p[0].checkpoint_ns, p[0].checkpoint_id)):
            yield from self.put_checkpoint(cp, mine)
        by_task: dict[tuple[str, str, str], list[StoredWrite]] = defaultdict(list)
        for w in data.writes:
            by_task[(w.checkpoint_ns, w.checkpoint_id, w.task_id)].append(w)
        for group in by_task.values():
            yield from self.put_writes(group)


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def _matches(cp: StoredCheckpoint, query: CheckpointQuery) -> bool:
    if query.checkpoint_ns is not None and cp.checkpoint_ns != query.checkpoint_ns:
        return False
    if query.checkpoint_id is not None and cp.checkpoint_id != query.checkpoint_id:
        return False
    if query.before_id is not None and not cp.checkpoint_id < query.before_id:
        return False
    for k, v in query.metadata_filter.items():
        if k not in cp.metadata or not _same_json(cp.metadata[k], v):
            return False
    return True


def _same_json(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if type(a) is not type(b) and not (isinstance(a, str) and isinstance(b, str)):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same_json(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same_json(x, y) for x, y in zip(a, b))
    return bool(a == b)
