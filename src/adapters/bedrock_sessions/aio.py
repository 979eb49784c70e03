"""The Bedrock sessions checkpoint repository on an aiobotocore client (the user's aioboto3 or aiobotocore session).

The same plans as the sync repository (``_plans``): the same calls in the same
rounds, each round's calls awaited together with ``asyncio.gather`` (at most
``max_concurrency`` in flight, the size of the client's connection pool), so
the costs in the module docstring of ``checkpoints`` hold here too, and both
repositories read and write one layout. aiobotocore is never imported here: the
client comes from the session the user passes (``aioboto3.Session`` or
``aiobotocore.session.AioSession``), so it stays an optional dependency (the
``bedrock-async`` extra) and boto3 users are not pinned to its botocore range.
The client is opened on first use, inside the running event loop, and closed
by ``aclose()``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Hashable
from typing import Any, Optional

from botocore.exceptions import ClientError

from ...domain.errors import ConfigurationError
from ..aws import AwsResource, translate_errors
from ..aws.clients import is_async_session, open_async_client
from ..aws.plans import AsyncPlanDrivenRepository
from ._plans import LockBook, Plan, Req, Round, SessionPlans, op_names
from .checkpoints import BEDROCK_SESSION_ERRORS, DEFAULT_MAX_STEP_BYTES, RoundObserver, check_step_bytes, expected_code

__all__ = ["AsyncBedrockSessionCheckpointRepository", "is_async_session", "SERVICE"]

SERVICE = "bedrock-agent-runtime"


class AsyncBedrockSessionCheckpointRepository(AsyncPlanDrivenRepository):
    """``AsyncCheckpointRepository`` (and its capability twins) on an aiobotocore ``bedrock-agent-runtime`` client.

    Args:
        session: an ``aioboto3.Session`` or an aiobotocore ``AioSession``.
        region_name: the client's region (None: the session's).
        endpoint_url: a custom endpoint (the local emulator).
        boto_config: a botocore Config merged over the library's defaults.
        create_missing_sessions: map any thread id to a session of its own.
        registry_session_id: the registry session (created on first need when None).
        max_step_bytes: the most text one step holds; larger records span steps.
        max_concurrency: most calls of one round in flight at once (the client's
            connection pool is sized to it).
        observer: called with the API names of each round (instrumentation).
    """

    def __init__(
        self,
        *,
        session: Any,
        region_name: Optional[str] = None,
        endpoint_url: Optional[str] = None,
        boto_config: Any = None,
        create_missing_sessions: bool = False,
        registry_session_id: Optional[str] = None,
        max_step_bytes: int = DEFAULT_MAX_STEP_BYTES,
        max_concurrency: int = 10,
        observer: Optional[RoundObserver] = None,
    ) -> None:
        if not is_async_session(session):
            raise ConfigurationError(
                f"session must be an aioboto3.Session or an aiobotocore session, got {type(session).__name__}"
            )
        check_step_bytes(max_step_bytes)
        self.session = session
        self.region_name = region_name
        self.endpoint_url = endpoint_url
        self.boto_config = boto_config
        self.create_missing_sessions = create_missing_sessions
        self.max_step_bytes = max_step_bytes
        self.max_concurrency = max_concurrency
        self.observer = observer
        self.plans = SessionPlans(create_missing_sessions=create_missing_sessions,
                                  registry_session_id=registry_session_id, max_step_bytes=max_step_bytes)
        self._client: Any = None
        self._client_cm: Any = None
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._open_lock: Optional[asyncio.Lock] = None
        self._locks: dict[Hashable, asyncio.Lock] = {}
        self._limiter: Optional[asyncio.Semaphore] = None

    @property
    def registry_session_id(self) -> Optional[str]:
        """The registry session (None until first needed, when not given)."""
        return self.plans.registry_session_id

    # -- the client ---------------------------------------------------------------------------
    def _bind(self) -> None:
        """Loop-bound primitives, made anew when the saver moves to another event loop."""
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            self._loop = loop
            self._open_lock = asyncio.Lock()
            self._locks = {}
            self._limiter = asyncio.Semaphore(self.max_concurrency)

    async def client(self) -> Any:
        """The aiobotocore client, created on first use in the running loop."""
        if self._client is not None:
            return self._client
        self._bind()
        assert self._open_lock is not None
        async with self._open_lock:
            if self._client is None:
                client, self._client_cm = await open_async_client(
                    self.session, SERVICE, region_name=self.region_name, endpoint_url=self.endpoint_url,
                    boto_config=self.boto_config, pool_size=self.max_concurrency,
                )
                meta = getattr(client, "meta", None)
                self.plans.endpoint_key = (getattr(meta, "endpoint_url", None), getattr(meta, "region_name", None))
                self._client = client
        return self._client

    async def aclose(self) -> None:
        """Close the client (a later call opens a new one)."""
        cm, self._client_cm, self._client = self._client_cm, None, None
        if cm is not None:
            await cm.__aexit__(None, None, None)

    # -- driving plans -----------------------------------------------------------------------------
    def _lock_of(self, key: Hashable) -> asyncio.Lock:
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        return lock

    async def _send(self, client: Any, req: Req) -> Any:
        assert self._limiter is not None
        async with self._limiter:
            with translate_errors(AwsResource.of(client, BEDROCK_SESSION_ERRORS, req.session), req.operation):
                try:
                    return await getattr(client, req.operation)(**req.params)
                except ClientError as exc:
                    return expected_code(req, exc)

    async def run(self, plan: Plan[Any]) -> Any:
        """Drive a plan: each round's calls awaited together, rounds one after another.

        Locks the plan takes are reentrant within it and released when it ends, however it ends."""
        client = await self.client()
        self._bind()
        book = LockBook()
        try:
            ops = next(plan)
            while True:
                for key in book.to_acquire(ops):
                    await self._lock_of(key).acquire()
                current = Round(ops)
                if current.calls:
                    if self.observer is not None:
                        self.observer(op_names(ops))
                    current.answer(await asyncio.gather(*(self._send(client, req) for req in current.calls)))
                for key in book.to_release(ops):
                    self._lock_of(key).release()
                ops = plan.send(current.answers)
        except StopIteration as done:
            return done.value
        finally:
            for key in book.held():
                self._lock_of(key).release()
