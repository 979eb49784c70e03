"""Checkpoints in Amazon Bedrock sessions (``bedrock-agent-runtime``): one session per thread.

Layout (ids in ``_layout``):

- A thread is a session. By default the thread id *is* a session id (or ARN) the
  app created with ``session_client.create_session()``. With
  ``create_missing_sessions`` any thread id works: a *registry* session maps it to a
  session of its own (below).
- Checkpoint ``X`` of namespace ``ns`` owns one invocation, ``C(ns, X)``, a UUID
  derived from ``(ns, X)``. It holds the header record of ``X`` (the checkpoint,
  its metadata, the blobs of the channels it changed, and for every channel version
  the steps that hold its blob) and one writes record per ``put_writes`` call
  (one per task), so sibling tasks' writes are all kept.
- A record is JSON split into steps of at most ``max_step_bytes`` of text (large
  payloads span several steps); step ids derive from the record id and the part,
  and carry the record's kind, so a listing tells headers from writes.
- The session metadata holds the index: per namespace, the ``WINDOW`` (16) newest
  checkpoint ids (one key per namespace, ``lgcp:<hash>``; the service allows 50
  keys of 5,000 characters). Namespaces that do not fit set ``lgcp:overflow`` and
  are found by a full scan instead.

Bounded reads (calls are API calls; rounds run their calls in parallel):

- ``get_checkpoint`` by id: 1 ListInvocationSteps of ``C(ns, X)``, then 1
  GetInvocationStep per step of it (header parts and one per task's writes), then
  1 GetInvocationStep per older step holding one of its channel versions (at most
  one per channel). Latest: 1 GetSession (the index) first. Nothing depends on
  how long the session is, nor on the order of any listing.
- ``list_checkpoints`` with a limit within the window and no metadata filter:
  1 GetSession, then each listed checkpoint as above (in parallel).
- Anything else (metadata filters, ``before`` past the window, whole threads):
  a full scan: ListInvocationSteps of the session, 1 page per 1,000 steps, then
  1 GetInvocationStep per header step; writes and blobs only for what is returned.
- ``put_checkpoint``: CreateInvocation ``C(ns, X)`` and GetSession in parallel,
  PutInvocationStep per part of the header, then UpdateSession (the index): 4
  calls; the index is written last, so a crash leaves an unlisted step, never an
  index entry without its checkpoint. The parent's version map is cached; on a
  miss it costs one read of the parent.
- ``put_writes``: 1 PutInvocationStep per part (2 more when the checkpoint's
  invocation does not exist yet).
- ``delete_thread``: EndSession + DeleteSession (steps cannot be deleted one by one).

Sessions have no conditional update: two processes writing the same thread at the
same moment may lose an index entry (the data stays, found by a full scan).

Registry (``create_missing_sessions``): a session that maps thread ids to sessions.
Thread id ``t`` owns registry invocation ``R(t)``; the session of ``(t, actor)`` at
generation ``g`` is recorded in step ``S(t, actor, g)``. Finding it: 1
ListInvocationSteps of ``R(t)`` and 1 GetInvocationStep (cached afterwards in the
process), however many threads exist: no listing of sessions. A thread whose
session was deleted gets generation ``g + 1``. The registry session is
``registry_session_id`` when given; otherwise one is created per endpoint and
process (give its id to other processes so they find the same sessions).
"""

from __future__ import annotations

import datetime
import hashlib
import json
import threading
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Optional, TypeVar

from botocore.exceptions import ClientError

from ...domain.errors import ConfigurationError, NotFoundError, UnsupportedOperationError
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
from ..aws import AwsResource, ServiceErrors, error_code, translate_errors
from . import _layout as L

__all__ = ["BedrockSessionCheckpointRepository", "BEDROCK_SESSION_ERRORS", "DEFAULT_MAX_STEP_BYTES"]

T = TypeVar("T")

BEDROCK_SESSION_ERRORS = ServiceErrors(
    service="Bedrock session management",
    kind="session",
    not_found=frozenset(),
    transient=frozenset({"ServiceQuotaExceededException"}),
    too_large=frozenset({("ValidationException", "at most")}),
    too_large_hint="lower max_step_bytes",
)
"""ResourceNotFoundException is handled by the repository (a missing step or invocation is data, not an error)."""

DEFAULT_MAX_STEP_BYTES = 512 * 1024
"""Text per step; the service documents no limit for text (images: 3.75 MB, 20 per step)."""

_PAGE = 1000
_MAX_METADATA_KEYS = 50
_MAX_METADATA_VALUE = 5000
_REGISTRIES: dict[tuple[Optional[str], Optional[str]], str] = {}
_REGISTRIES_LOCK = threading.Lock()
_CACHE_SIZE = 512


def _hint(thread_id: str) -> str:
    return (
        f"thread_id {thread_id!r} is not an existing Bedrock session: create one with "
        "`session_client.create_session()` and use its session_id as thread_id, or construct the saver "
        "with create_missing_sessions=True to map any thread id to a session of its own"
    )


class BedrockSessionCheckpointRepository:
    """``CheckpointRepository`` (with ``AncestryReader``, ``ThreadTransfer`` and ``ThreadLister``) on Bedrock sessions.

    Args:
        client: a boto3 ``bedrock-agent-runtime`` client.
        create_missing_sessions: map any thread id to a session of its own (through
            a registry session) instead of requiring thread ids to be session ids.
        registry_session_id: the registry session (created on first need when None).
        max_step_bytes: the most text one step holds; larger records span steps.
        max_workers: calls of one round sent in parallel.
    """

    def __init__(
        self,
        *,
        client: Any,
        create_missing_sessions: bool = False,
        registry_session_id: Optional[str] = None,
        max_step_bytes: int = DEFAULT_MAX_STEP_BYTES,
        max_workers: int = 10,
    ) -> None:
        if max_step_bytes < 1024:
            raise ConfigurationError(f"bedrock_sessions.max_step_bytes must be at least 1024, got {max_step_bytes}")
        self.client = client
        self.create_missing_sessions = create_missing_sessions
        self.registry_session_id = registry_session_id
        self.max_step_bytes = max_step_bytes
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="lgaws-bedrock")
        self._lock = threading.RLock()
        self._session_locks: dict[str, threading.Lock] = defaultdict(threading.Lock)
        self._sessions: OrderedDict[ThreadKey, str] = OrderedDict()
        self._refs: OrderedDict[tuple[str, str, str], dict[str, Any]] = OrderedDict()
        self._invocations: OrderedDict[tuple[str, str], bool] = OrderedDict()

    def close(self) -> None:
        self._pool.shutdown(wait=True)

    # -- calls ------------------------------------------------------------------------
    def _resource(self, name: str) -> AwsResource:
        return AwsResource.of(self.client, BEDROCK_SESSION_ERRORS, name)

    def _call(self, operation: str, session: str, **params: Any) -> Any:
        with translate_errors(self._resource(session), operation):
            return getattr(self.client, operation)(**params)

    def _try(self, operation: str, session: str, *, ok: Sequence[str] = (), **params: Any) -> Any:
        """The call's answer, or the error code when it is one of ``ok`` (a normal outcome)."""
        try:
            return getattr(self.client, operation)(**params)
        except ClientError as exc:
            code = error_code(exc)
            if code in ok:
                return code
            with translate_errors(self._resource(session), operation):
                raise

    def _parallel(self, fn: Callable[..., T], items: Sequence[Any]) -> list[T]:
        if len(items) <= 1:
            return [fn(item) for item in items]
        return list(self._pool.map(fn, items))

    @staticmethod
    def _remember(cache: OrderedDict[Any, Any], key: Any, value: Any) -> None:
        cache[key] = value
        cache.move_to_end(key)
        while len(cache) > _CACHE_SIZE:
            cache.popitem(last=False)

    # -- sessions and the registry ------------------------------------------------------
    def _registry(self) -> str:
        if self.registry_session_id is not None:
            return self.registry_session_id
        meta = self.client.meta
        key = (meta.endpoint_url, meta.region_name)
        with _REGISTRIES_LOCK:
            found = _REGISTRIES.get(key)
            if found is None or self._try("get_session", found, ok=("ResourceNotFoundException",),
                                          sessionIdentifier=found) == "ResourceNotFoundException":
                created = self._call("create_session", "(new registry)",
                                     sessionMetadata={"langgraph-checkpoint-aws-hex": "thread-registry"})
                found = _REGISTRIES[key] = created["sessionId"]
        self.registry_session_id = found
        return found

    def _registry_entries(self, thread_id: str) -> Optional[list[str]]:
        registry = self._registry()
        out = self._try("list_invocation_steps", registry, ok=("ResourceNotFoundException",),
                        sessionIdentifier=registry, invocationIdentifier=L.registry_invocation(thread_id),
                        maxResults=_PAGE)
        if out == "ResourceNotFoundException":
            return None
        return [s["invocationStepId"] for s in out["invocationStepSummaries"]]

    def _lookup(self, thread: ThreadKey, listed: Optional[list[str]]) -> tuple[Optional[str], int]:
        """The session of ``thread`` recorded in the registry, and its generation (0: none)."""
        if not listed:
            return None, 0
        present = set(listed)
        generation = 0
        while L.registry_step(thread, generation + 1) in present:
            generation += 1
        if generation == 0:
            return None, 0
        registry = self._registry()
        step = self._call("get_invocation_step", registry, sessionIdentifier=registry,
                          invocationIdentifier=L.registry_invocation(thread.thread_id),
                          invocationStepId=L.registry_step(thread, generation))
        record = L.decode_record(b["text"] for b in step["invocationStep"]["payload"]["contentBlocks"])
        return str(record["session"]), generation

    def _session(self, thread: ThreadKey, *, create: bool, dead: Optional[str] = None) -> Optional[str]:
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
        session, generation = self._lookup(thread, self._registry_entries(thread.thread_id))
        if session is not None and session == dead:
            session = None
        if session is None and create:
            session = self._new_session(thread, generation)
        if session is not None:
            with self._lock:
                self._remember(self._sessions, thread, session)
        return session

    def _new_session(self, thread: ThreadKey, generation: int) -> str:
        registry = self._registry()
        inv = L.registry_invocation(thread.thread_id)
        self._try("create_invocation", registry, ok=("ConflictException",), sessionIdentifier=registry, invocationId=inv)
        created = self._call("create_session", "(new)", sessionMetadata={"langgraph-thread": thread.thread_id[:4000]})
        session = str(created["sessionId"])
        record = {"k": "thread", "thread": thread.thread_id, "actor": thread.actor_id, "session": session}
        step_id = L.registry_step(thread, generation + 1)
        ((_, text),) = L.encode_steps(L.REGISTRY, step_id, record, 8192)
        answer = self._try("put_invocation_step", registry, ok=("ConflictException",), sessionIdentifier=registry,
                           invocationIdentifier=inv, invocationStepId=step_id,
                           invocationStepTime=_now(), payload={"contentBlocks": [{"text": text}]})
        if answer == "ConflictException":  # another process mapped it first: use theirs, drop ours
            self._drop_session(session)
            found, _ = self._lookup(thread, self._registry_entries(thread.thread_id))
            if found is None:
                raise NotFoundError(f"the registry entry of thread {thread.thread_id!r} vanished while creating it")
            return found
        return session

    def _forget(self, thread: ThreadKey) -> None:
        with self._lock:
            self._sessions.pop(thread, None)

    def _drop_session(self, session: str) -> None:
        self._try("end_session", session, ok=("ConflictException", "ResourceNotFoundException"),
                  sessionIdentifier=session)
        self._try("delete_session", session, ok=("ResourceNotFoundException",), sessionIdentifier=session)

    def _missing(self, thread: ThreadKey, session: str) -> NotFoundError:
        return NotFoundError(f"Bedrock session {session!r} does not exist; " + _hint(thread.thread_id))

    # -- the index in the session metadata ----------------------------------------------
    def _metadata(self, thread: ThreadKey, session: str) -> Optional[dict[str, str]]:
        """The session's metadata; None when the session is gone (registry mode) or unusable."""
        out = self._try("get_session", session, ok=("ResourceNotFoundException",), sessionIdentifier=session)
        if out == "ResourceNotFoundException":
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
    def _get_steps(self, session: str, refs: Sequence[tuple[str, str]]) -> dict[str, str]:
        """Text of each ``(invocation, step)``, fetched in parallel; missing steps are absent."""

        def one(ref: tuple[str, str]) -> tuple[str, Optional[str]]:
            inv, step = ref
            out = self._try("get_invocation_step", session, ok=("ResourceNotFoundException",),
                            sessionIdentifier=session, invocationIdentifier=inv, invocationStepId=step)
            if out == "ResourceNotFoundException":
                return step, None
            blocks = out["invocationStep"]["payload"].get("contentBlocks") or []
            return step, "".join(b.get("text", "") for b in blocks)

        return {step: text for step, text in self._parallel(one, list(dict.fromkeys(refs))) if text is not None}

    def _list_steps(self, session: str, invocation: Optional[str] = None) -> Optional[list[dict[str, Any]]]:
        """Every step summary of the session (or of one invocation); None when the invocation does not exist."""
        params: dict[str, Any] = {"sessionIdentifier": session, "maxResults": _PAGE}
        if invocation is not None:
            params["invocationIdentifier"] = invocation
        found: list[dict[str, Any]] = []
        while True:
            out = self._try("list_invocation_steps", session, ok=("ResourceNotFoundException",), **params)
            if out == "ResourceNotFoundException":
                return None
            found.extend(out["invocationStepSummaries"])
            token = out.get("nextToken")
            if not token:
                return found
            params["nextToken"] = token

    @staticmethod
    def _records(texts: Mapping[str, str]) -> list[dict[str, Any]]:
        by_record: dict[str, list[str]] = defaultdict(list)
        for text in texts.values():
            by_record[L.record_id_of(text)].append(text)
        return [L.decode_record(parts) for parts in by_record.values()]

    def _fetch(self, thread: ThreadKey, session: str, keys: Sequence[tuple[str, str]],
               headers_only: bool = False) -> dict[tuple[str, str], CheckpointRecord]:
        """Records of ``(ns, checkpoint id)`` pairs, in three parallel rounds whatever the session's length."""
        invs = [L.checkpoint_invocation(ns, cid) for ns, cid in keys]
        listings = self._parallel(lambda inv: self._list_steps(session, inv), invs)
        wanted: list[tuple[str, str]] = []
        for inv, listing in zip(invs, listings):
            for s in listing or []:
                if headers_only and L.kind_of(s["invocationStepId"]) != L.HEADER:
                    continue
                wanted.append((inv, s["invocationStepId"]))
        texts = self._get_steps(session, wanted)
        found: dict[tuple[str, str], tuple[dict[str, Any], list[dict[str, Any]]]] = {}
        for key, _inv, listing in zip(keys, invs, listings):
            mine = {s["invocationStepId"]: texts[s["invocationStepId"]] for s in listing or []
                    if s["invocationStepId"] in texts}
            records = self._records(mine)
            headers = [r for r in records if r.get("k") == "cp"]
            if headers:
                header = max(headers, key=lambda r: str(r.get("seq", "")))
                found[key] = (header, [r for r in records if r.get("k") == "w"])
        return self._assemble(thread, session, found, headers_only)

    def _assemble(self, thread: ThreadKey, session: str,
                  found: Mapping[tuple[str, str], tuple[dict[str, Any], list[dict[str, Any]]]],
                  headers_only: bool) -> dict[tuple[str, str], CheckpointRecord]:
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
        texts = self._older_records(session, elsewhere) if elsewhere else {}
        older = {str(r.get("ns")) + "\x00" + str(r.get("id")): L.blobs_from(r) for r in self._records(texts)}
        older.update({ns + "\x00" + cid: L.blobs_from(header) for (ns, cid), (header, _) in found.items()})
        out: dict[tuple[str, str], CheckpointRecord] = {}
        for (ns, cid), (header, writes) in found.items():
            cp = L.checkpoint_from(header, thread)
            with self._lock:
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

    def _older_records(self, session: str, records: Sequence[tuple[str, str]]) -> dict[str, str]:
        """Texts of every step of the given header records (``(invocation, record id)``): part 0 first,
        which names the part count, then the other parts of those that span several steps."""
        firsts = [(inv, L.step_ids(L.HEADER, rid, 1)[0]) for inv, rid in dict.fromkeys(records)]
        texts = self._get_steps(session, firsts)
        rest: list[tuple[str, str]] = []
        for inv, rid in dict.fromkeys(records):
            first = texts.get(L.step_ids(L.HEADER, rid, 1)[0])
            count = int(first.partition("\n")[0].split(" ")[2]) if first else 1
            rest.extend((inv, step) for step in L.step_ids(L.HEADER, rid, count)[1:])
        if rest:
            texts.update(self._get_steps(session, rest))
        return texts

    def _scan(self, thread: ThreadKey, session: str) -> tuple[dict[tuple[str, str], dict[str, Any]], dict[str, list[str]]]:
        """Every header of the session, and the writes steps of each invocation (a full scan)."""
        listing = self._list_steps(session)
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
        for record in self._records(self._get_steps(session, headers)):
            if record.get("k") != "cp":
                continue
            key = (str(record["ns"]), str(record["id"]))
            if key not in best or str(record.get("seq", "")) > str(best[key].get("seq", "")):
                best[key] = record
        return best, writes

    # -- the core port -----------------------------------------------------------------
    def put_checkpoint(self, checkpoint: StoredCheckpoint, blobs: Sequence[ChannelBlob]) -> None:
        thread, ns, cid = checkpoint.thread, checkpoint.checkpoint_ns, checkpoint.checkpoint_id
        dead: Optional[str] = None
        for _attempt in range(2):
            session = self._session(thread, create=True, dead=dead)
            assert session is not None
            try:
                self._put_checkpoint(thread, session, checkpoint, blobs)
                return
            except _SessionGone:
                if not self.create_missing_sessions:
                    raise self._missing(thread, session) from None
                self._forget(thread)
                dead = session
        raise NotFoundError(f"could not write checkpoint {cid!r} of thread {thread.thread_id!r} in {ns!r}: "
                            "its session keeps disappearing")

    def _put_checkpoint(self, thread: ThreadKey, session: str, checkpoint: StoredCheckpoint,
                        blobs: Sequence[ChannelBlob]) -> None:
        ns, cid = checkpoint.checkpoint_ns, checkpoint.checkpoint_id
        inv = L.checkpoint_invocation(ns, cid)
        parent = checkpoint.parent_checkpoint_id
        with self._lock:
            parent_refs = self._refs.get((session, ns, parent)) if parent else {}

        def create(_: object) -> Any:
            return self._create_invocation(session, inv)

        def metadata(_: object) -> Any:
            return self._try("get_session", session, ok=("ResourceNotFoundException",), sessionIdentifier=session)

        def parent_header(_: object) -> Any:
            if parent_refs is not None:
                return parent_refs
            self._fetch(thread, session, [(ns, parent or "")], headers_only=True)  # caches its refs
            with self._lock:
                return self._refs.get((session, ns, parent or ""), {})

        lock = self._session_locks[session]
        with lock:
            created, info, refs_of_parent = self._parallel(lambda f: f(None), [create, metadata, parent_header])
            if info == "ResourceNotFoundException" or created == "gone":
                raise _SessionGone()
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
            self._put_steps(session, inv, steps)
            with self._lock:
                self._remember(self._refs, (session, ns, cid), refs)
            updated = self._indexed(dict(info.get("sessionMetadata") or {}), ns, cid)
            answer = self._try("update_session", session, ok=("ResourceNotFoundException", "ConflictException"),
                               sessionIdentifier=session, sessionMetadata=updated)
            if answer in ("ResourceNotFoundException", "ConflictException"):
                raise _SessionGone()

    def _create_invocation(self, session: str, inv: str) -> Any:
        with self._lock:
            if (session, inv) in self._invocations:
                return "exists"
        out = self._try("create_invocation", session, ok=("ConflictException", "ResourceNotFoundException"),
                        sessionIdentifier=session, invocationId=inv)
        if out == "ResourceNotFoundException":
            return "gone"
        if out == "ConflictException":
            # An existing invocation, or a session that was ended: tell them apart.
            probe = self._try("list_invocation_steps", session, ok=("ResourceNotFoundException",),
                              sessionIdentifier=session, invocationIdentifier=inv, maxResults=1)
            if probe == "ResourceNotFoundException":
                return "gone"
        with self._lock:
            self._remember(self._invocations, (session, inv), True)
        return "created"

    def _put_steps(self, session: str, inv: str, steps: Sequence[tuple[str, str]]) -> None:
        now = _now()

        def put(step: tuple[str, str]) -> None:
            step_id, text = step
            out = self._try("put_invocation_step", session, ok=("ConflictException", "ResourceNotFoundException"),
                            sessionIdentifier=session, invocationIdentifier=inv, invocationStepId=step_id,
                            invocationStepTime=now, payload={"contentBlocks": [{"text": text}]})
            if out == "ResourceNotFoundException":
                raise _InvocationGone()
            if out == "ConflictException":
                # The step exists (a retry of a lost answer), or the session was ended.
                status = self._try("get_session", session, ok=("ResourceNotFoundException",), sessionIdentifier=session)
                if status == "ResourceNotFoundException" or status.get("sessionStatus") != "ACTIVE":
                    raise _SessionGone()

        self._parallel(put, list(steps))

    def put_writes(self, writes: Sequence[StoredWrite]) -> None:
        if not writes:
            return
        first = writes[0]
        thread, ns, cid = first.thread, first.checkpoint_ns, first.checkpoint_id
        inv = L.checkpoint_invocation(ns, cid)
        digest = hashlib.sha256(repr([(w.task_id, w.task_path, w.idx, w.channel, w.payload.type_tag, w.payload.data)
                                      for w in writes]).encode()).hexdigest()[:24]
        dead: Optional[str] = None
        for _attempt in range(2):
            session = self._session(thread, create=True, dead=dead)
            assert session is not None
            record = L.writes_record(writes, L.new_seq())
            steps = L.encode_steps(L.WRITES, f"w{digest}", record, self.max_step_bytes)
            try:
                try:
                    self._put_steps(session, inv, steps)
                except _InvocationGone:
                    if self._create_invocation(session, inv) == "gone":
                        raise _SessionGone() from None
                    self._put_steps(session, inv, steps)
                return
            except (_SessionGone, _InvocationGone):
                if not self.create_missing_sessions:
                    raise self._missing(thread, session) from None
                self._forget(thread)
                dead = session
        raise NotFoundError(f"could not write to thread {thread.thread_id!r}: its session keeps disappearing")

    def get_checkpoint(self, key: CheckpointKey) -> Optional[CheckpointRecord]:
        thread = key.thread
        session = self._session(thread, create=False)
        if session is None:
            return None
        cid = key.checkpoint_id
        if cid is None:
            metadata = self._metadata(thread, session)
            if metadata is None:
                return None
            index = self._index(metadata)
            if key.checkpoint_ns in index:
                ids = index[key.checkpoint_ns][0]
                cid = ids[0] if ids else None
            elif L.OVERFLOW_KEY in metadata:
                records = list(self.list_checkpoints(CheckpointQuery(thread=thread, checkpoint_ns=key.checkpoint_ns, limit=1)))
                return records[0] if records else None
            if cid is None:
                return None
        found = self._fetch(thread, session, [(key.checkpoint_ns, cid)])
        record = found.get((key.checkpoint_ns, cid))
        if record is None and key.checkpoint_id is not None and not self.create_missing_sessions:
            self._metadata(thread, session)  # an unknown session is an error, a missing checkpoint is None
        return record

    def list_checkpoints(self, query: CheckpointQuery) -> Iterator[CheckpointRecord]:
        threads = [query.thread] if query.thread is not None else list(self.list_threads())
        for thread in threads:
            yield from self._list_thread(thread, query)

    def _list_thread(self, thread: ThreadKey, query: CheckpointQuery) -> Iterator[CheckpointRecord]:
        session = self._session(thread, create=False)
        if session is None:
            return
        ns = query.checkpoint_ns
        if query.checkpoint_id is not None and ns is not None:
            record = self._fetch(thread, session, [(ns, query.checkpoint_id)], query.headers_only).get((ns, query.checkpoint_id))
            if record is not None and _matches(record.checkpoint, query):
                yield record
            return
        if query.limit is not None and not query.metadata_filter and query.checkpoint_id is None:
            metadata = self._metadata(thread, session)
            if metadata is None:
                return
            keys = self._window(metadata, ns, query.before_id, query.limit)
            if keys is not None:
                found = self._fetch(thread, session, keys, query.headers_only)
                yield from (found[k] for k in keys if k in found)
                return
        headers, writes = self._scan(thread, session)
        selected = sorted((k for k, r in headers.items() if _matches(L.checkpoint_from(r, thread), query)),
                          key=lambda k: k[1], reverse=True)
        if query.limit is not None:
            selected = selected[: query.limit]
        if query.headers_only:
            for k in selected:
                yield CheckpointRecord(L.checkpoint_from(headers[k], thread))
            return
        for start in range(0, len(selected), 50):
            chunk = selected[start : start + 50]
            wanted = [(L.checkpoint_invocation(*k), s) for k in chunk for s in writes.get(L.checkpoint_invocation(*k), [])]
            texts = self._get_steps(session, wanted)
            parts: dict[tuple[str, str], tuple[dict[str, Any], list[dict[str, Any]]]] = {}
            for k in chunk:
                inv = L.checkpoint_invocation(*k)
                mine = {s: texts[s] for s in writes.get(inv, []) if s in texts}
                parts[k] = (headers[k], [r for r in self._records(mine) if r.get("k") == "w"])
            assembled = self._assemble(thread, session, parts, False)
            yield from (assembled[k] for k in chunk)

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

    def delete_thread(self, thread_id: str, actor_id: Optional[str] = None) -> None:
        if not self.create_missing_sessions:
            session = self._session(ThreadKey(thread_id), create=False)
            assert session is not None
            self._drop_session(session)
            return
        listed = self._registry_entries(thread_id)
        if not listed:
            return
        registry = self._registry()
        texts = self._get_steps(registry, [(L.registry_invocation(thread_id), s) for s in listed])
        for record in self._records(texts):
            if actor_id is not None and record.get("actor") != actor_id:
                continue
            self._forget(ThreadKey(thread_id, record.get("actor")))
            self._drop_session(str(record["session"]))

    # -- pruning: a thread is rewritten into a new session ---------------------------------
    def _rewrite(self, thread: ThreadKey, keep: Callable[[StoredCheckpoint], bool],
                 drop_blobs: Sequence[tuple[str, str, str]] = ()) -> None:
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
        old = self._session(thread, create=False)
        if old is None:
            return
        data = self.export_thread(thread)
        kept = [c for c in data.checkpoints if keep(c)]
        if len(kept) == len(data.checkpoints) and not drop_blobs:
            return
        dropped = set(drop_blobs)
        kept_ids = {(c.checkpoint_ns, c.checkpoint_id) for c in kept}
        _, generation = self._lookup(thread, self._registry_entries(thread.thread_id))
        self._forget(thread)
        new = self._new_session(thread, generation)
        with self._lock:
            self._remember(self._sessions, thread, new)
        self.import_thread(ThreadData(
            thread=thread,
            checkpoints=tuple(kept),
            blobs=tuple((ns, b) for ns, b in data.blobs if (ns, b.channel, b.version) not in dropped),
            writes=tuple(w for w in data.writes if (w.checkpoint_ns, w.checkpoint_id) in kept_ids),
        ))
        self._drop_session(old)

    def prune(self, thread: ThreadKey, checkpoint_ns: str, keep_ids: Collection[str]) -> None:
        """Keep only ``keep_ids`` in ``checkpoint_ns`` (the thread moves to a new session)."""
        survivors = set(keep_ids)
        self._rewrite(thread, lambda c: c.checkpoint_ns != checkpoint_ns or c.checkpoint_id in survivors)

    def delete_checkpoints(self, thread: ThreadKey, checkpoint_ns: str, checkpoint_ids: Sequence[str]) -> None:
        """Delete checkpoints and their writes (the thread moves to a new session)."""
        doomed = set(checkpoint_ids)
        self._rewrite(thread, lambda c: c.checkpoint_ns != checkpoint_ns or c.checkpoint_id not in doomed)

    def delete_blobs(self, thread: ThreadKey, checkpoint_ns: str, refs: Sequence[BlobRef]) -> None:
        """Delete channel blobs (the thread moves to a new session)."""
        self._rewrite(thread, lambda c: True, [(checkpoint_ns, ch, ver) for ch, ver in refs])

    # -- capabilities ------------------------------------------------------------------
    def list_threads(self) -> Iterator[ThreadKey]:
        """Every thread: the registry's entries, or every session of the account (default mode)."""
        if self.create_missing_sessions:
            registry = self._registry()
            listing = self._list_steps(registry) or []
            texts = self._get_steps(registry, [(s["invocationId"], s["invocationStepId"]) for s in listing])
            seen: set[ThreadKey] = set()
            for record in self._records(texts):
                key = ThreadKey(str(record["thread"]), record.get("actor"))
                if key not in seen:
                    seen.add(key)
                    yield key
            return
        params: dict[str, Any] = {"maxResults": _PAGE}
        while True:
            out = self._call("list_sessions", "(all)", **params)
            for s in out["sessionSummaries"]:
                yield ThreadKey(str(s["sessionId"]))
            if not out.get("nextToken"):
                return
            params["nextToken"] = out["nextToken"]

    def scan_checkpoints(self, thread: ThreadKey, checkpoint_ns: Optional[str] = None) -> Iterable[StoredCheckpoint]:
        session = self._session(thread, create=False)
        if session is None:
            return []
        headers, _ = self._scan(thread, session)
        return [L.checkpoint_from(r, thread) for (ns, _), r in headers.items() if checkpoint_ns is None or ns == checkpoint_ns]

    def get_blobs(self, thread: ThreadKey, checkpoint_ns: str, refs: Sequence[BlobRef]) -> dict[BlobRef, ChannelBlob]:
        session = self._session(thread, create=False)
        if session is None or not refs:
            return {}
        headers, _ = self._scan(thread, session)
        wanted = set(refs)
        out: dict[BlobRef, ChannelBlob] = {}
        for (ns, _), record in headers.items():
            if ns == checkpoint_ns:
                out.update({k: b for k, b in L.blobs_from(record).items() if k in wanted})
        return out

    def get_writes(self, thread: ThreadKey, checkpoint_ns: str, checkpoint_ids: Sequence[str]) -> dict[str, list[StoredWrite]]:
        session = self._session(thread, create=False)
        out: dict[str, list[StoredWrite]] = {cid: [] for cid in checkpoint_ids}
        if session is None:
            return out
        invs = [L.checkpoint_invocation(checkpoint_ns, cid) for cid in checkpoint_ids]
        listings = self._parallel(lambda inv: self._list_steps(session, inv), invs)
        wanted = [(inv, s["invocationStepId"]) for inv, listing in zip(invs, listings) for s in listing or []
                  if L.kind_of(s["invocationStepId"]) == L.WRITES]
        texts = self._get_steps(session, wanted)
        for cid, _inv, listing in zip(checkpoint_ids, invs, listings):
            mine = {s["invocationStepId"]: texts[s["invocationStepId"]] for s in listing or [] if s["invocationStepId"] in texts}
            out[cid] = L.writes_from(self._records(mine), thread, checkpoint_ns, cid)
        return out

    def export_thread(self, thread: ThreadKey) -> ThreadData:
        """Every checkpoint with the blobs it reads, in checkpoint order (``import_thread`` reads them back
        per checkpoint, so a copy reads exactly as its source, even where two checkpoints disagree on a version)."""
        records = list(self.list_checkpoints(CheckpointQuery(thread=thread)))
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

    def import_thread(self, data: ThreadData) -> None:
        # Each checkpoint carries every blob it reads: imported checkpoints need not be a chain.
        pairs = list(zip(data.checkpoints, self._blobs_per_checkpoint(data)))
        for cp, mine in sorted(pairs, key=lambda p: (p[0].checkpoint_ns, p[0].checkpoint_id)):
            self.put_checkpoint(cp, mine)
        by_task: dict[tuple[str, str, str], list[StoredWrite]] = defaultdict(list)
        for w in data.writes:
            by_task[(w.checkpoint_ns, w.checkpoint_id, w.task_id)].append(w)
        for group in by_task.values():
            self.put_writes(group)


class _SessionGone(Exception):
    """The thread's session was deleted or ended under us."""


class _InvocationGone(Exception):
    """The checkpoint's invocation does not exist (writes before their checkpoint)."""


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
