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

Sync and async: every operation is a plan (``_plans``) that yields rounds of
calls. ``BedrockSessionCheckpointRepository`` (here) drives plans over a boto3
client, each round's calls in parallel on its thread pool;
``AsyncBedrockSessionCheckpointRepository`` (``aio``) drives the same plans
over an aiobotocore client opened from the user's aioboto3 or aiobotocore
session, each round awaited with ``asyncio.gather``. Both make the same calls
in the same rounds, and read and write the same layout.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Optional

from botocore.exceptions import ClientError

from ...domain.errors import ConfigurationError
from ..aws import AwsResource, ServiceErrors, error_code, translate_errors
from ..aws.plans import PlanDrivenRepository
from ._plans import REGISTRY_LOCK, LockBook, Plan, Req, Round, SessionPlans, op_names

__all__ = [
    "BedrockSessionCheckpointRepository",
    "BEDROCK_SESSION_ERRORS",
    "DEFAULT_MAX_STEP_BYTES",
    "RoundObserver",
    "check_step_bytes",
    "expected_code",
]

BEDROCK_SESSION_ERRORS = ServiceErrors(
    service="Bedrock session management",
    kind="session",
    not_found=frozenset(),
    transient=frozenset({"ServiceQuotaExceededException"}),
    too_large=frozenset({("ValidationException", "at most")}),
    too_large_hint="lower max_step_bytes",
)
"""ResourceNotFoundException is handled by the plans (a missing step or invocation is data, not an error)."""

DEFAULT_MAX_STEP_BYTES = 512 * 1024
"""Text per step; the service documents no limit for text (images: 3.75 MB, 20 per step)."""

RoundObserver = Callable[[list[str]], None]
"""Called with the API names of each round of calls (instrumentation)."""

_REGISTRY_THREAD_LOCK = threading.Lock()


def check_step_bytes(max_step_bytes: int) -> None:
    if max_step_bytes < 1024:
        raise ConfigurationError(f"bedrock_sessions.max_step_bytes must be at least 1024, got {max_step_bytes}")


def expected_code(req: Req, exc: ClientError) -> str:
    """The error code of ``exc`` when ``req`` expects it (a normal outcome, its answer); else ``exc`` is raised.

    Both drivers call it inside ``translate_errors``, which translates what it raises."""
    code = error_code(exc)
    if code in req.ok:
        return code
    raise exc


class BedrockSessionCheckpointRepository(PlanDrivenRepository):
    """``CheckpointRepository`` (with ``AncestryReader``, ``ThreadTransfer`` and ``ThreadLister``) on Bedrock sessions.

    The port methods come from ``PlanDrivenRepository``: every one is a plan of
    ``SessionPlans`` run here, each round's calls on a thread pool. Pruning and
    deleting checkpoints or blobs rewrite the thread into a new session
    (``create_missing_sessions`` only). ``list_threads`` gives the registry's
    entries, or every session of the account in the default mode.
    ``export_thread`` gives every checkpoint with the blobs it reads, in
    checkpoint order, so ``import_thread`` reads a copy back exactly as its
    source, even where two checkpoints disagree on a version.

    Args:
        client: a boto3 ``bedrock-agent-runtime`` client.
        create_missing_sessions: map any thread id to a session of its own (through
            a registry session) instead of requiring thread ids to be session ids.
        registry_session_id: the registry session (created on first need when None).
        max_step_bytes: the most text one step holds; larger records span steps.
        max_workers: calls of one round sent in parallel.
        observer: called with the API names of each round (instrumentation).
    """

    def __init__(
        self,
        *,
        client: Any,
        create_missing_sessions: bool = False,
        registry_session_id: Optional[str] = None,
        max_step_bytes: int = DEFAULT_MAX_STEP_BYTES,
        max_workers: int = 10,
        observer: Optional[RoundObserver] = None,
    ) -> None:
        check_step_bytes(max_step_bytes)
        self.client = client
        self.plans = SessionPlans(create_missing_sessions=create_missing_sessions,
                                  registry_session_id=registry_session_id, max_step_bytes=max_step_bytes)
        meta = getattr(client, "meta", None)
        self.plans.endpoint_key = (getattr(meta, "endpoint_url", None), getattr(meta, "region_name", None))
        self.create_missing_sessions = create_missing_sessions
        self.max_step_bytes = max_step_bytes
        self.observer = observer
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="lgaws-bedrock")
        self._locks: dict[Hashable, threading.Lock] = {}
        self._locks_guard = threading.Lock()

    @property
    def registry_session_id(self) -> Optional[str]:
        """The registry session (None until first needed, when not given)."""
        return self.plans.registry_session_id

    def close(self) -> None:
        self._pool.shutdown(wait=True)

    # -- driving plans -------------------------------------------------------------------
    def _lock_of(self, key: Hashable) -> threading.Lock:
        if key == REGISTRY_LOCK:
            return _REGISTRY_THREAD_LOCK
        with self._locks_guard:
            lock = self._locks.get(key)
            if lock is None:
                lock = self._locks[key] = threading.Lock()
            return lock

    def _send(self, req: Req) -> Any:
        with translate_errors(AwsResource.of(self.client, BEDROCK_SESSION_ERRORS, req.session), req.operation):
            try:
                return getattr(self.client, req.operation)(**req.params)
            except ClientError as exc:
                return expected_code(req, exc)

    def run(self, plan: Plan[Any]) -> Any:
        """Drive a plan: each round's calls in parallel on the pool, rounds one after another.

        Locks the plan takes are reentrant within it and released when it ends, however it ends."""
        book = LockBook()
        try:
            ops = next(plan)
            while True:
                for key in book.to_acquire(ops):
                    self._lock_of(key).acquire()
                current = Round(ops)
                if current.calls:
                    if self.observer is not None:
                        self.observer(op_names(ops))
                    if len(current.calls) == 1:
                        current.answer([self._send(current.calls[0])])
                    else:
                        current.answer(list(self._pool.map(self._send, current.calls)))
                for key in book.to_release(ops):
                    self._lock_of(key).release()
                ops = plan.send(current.answers)
        except StopIteration as done:
            return done.value
        finally:
            for key in book.held():
                self._lock_of(key).release()
