"""The session clients: every session management operation, with typed (attrs) answers.

``BedrockAgentRuntimeSessionClient`` wraps a boto3 ``bedrock-agent-runtime``
client. The async clients offer the same operations as coroutines:
``NativeAsyncBedrockAgentRuntimeSessionClient`` awaits an aiobotocore client
(the one the async repository opened from the user's aioboto3 or aiobotocore
session); ``AsyncBedrockAgentRuntimeSessionClient`` runs each call of a boto3
client in an executor the saver owns (no async session given: aiobotocore stays
an optional dependency). All three build requests and typed answers with the
same functions (``request_params``, ``typed_answer``). Arguments are snake_case
keywords (``session_identifier=...``), or a request object with
``model_dump``/``dict`` (the published package's pydantic requests); errors are
the library's (``NotFoundError`` for a missing session, ``BackendError``...).
"""

from __future__ import annotations

import abc
import asyncio
import datetime
import functools
import re
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import Executor
from typing import Any, Optional

import attrs

from ..aws import AwsResource, translate_errors
from ..aws.errors import ServiceErrors

__all__ = [
    "BedrockAgentRuntimeSessionClient",
    "AsyncBedrockAgentRuntimeSessionClient",
    "NativeAsyncBedrockAgentRuntimeSessionClient",
    "request_params",
    "typed_answer",
    "SessionSummary",
    "CreateSessionResponse",
    "GetSessionResponse",
    "UpdateSessionResponse",
    "EndSessionResponse",
    "ListSessionsResponse",
    "CreateInvocationResponse",
    "InvocationSummary",
    "ListInvocationsResponse",
    "PutInvocationStepResponse",
    "InvocationStep",
    "InvocationStepSummary",
    "GetInvocationStepResponse",
    "ListInvocationStepsResponse",
]

SESSION_ERRORS = ServiceErrors(
    service="Bedrock session management",
    kind="session",
    not_found=frozenset({"ResourceNotFoundException"}),
    transient=frozenset({"ServiceQuotaExceededException"}),
    not_found_hint="create it with session_client.create_session()",
)


@attrs.frozen(kw_only=True)
class CreateSessionResponse:
    session_id: str
    session_arn: str
    session_status: str
    created_at: datetime.datetime


@attrs.frozen(kw_only=True)
class SessionSummary:
    session_id: str
    session_arn: str
    session_status: str
    created_at: datetime.datetime
    last_updated_at: datetime.datetime


@attrs.frozen(kw_only=True)
class GetSessionResponse(SessionSummary):
    session_metadata: dict[str, str] = attrs.field(factory=dict)
    encryption_key_arn: Optional[str] = None


@attrs.frozen(kw_only=True)
class UpdateSessionResponse(SessionSummary):
    pass


@attrs.frozen(kw_only=True)
class EndSessionResponse:
    session_id: str
    session_arn: str
    session_status: str


@attrs.frozen(kw_only=True)
class ListSessionsResponse:
    session_summaries: list[SessionSummary]
    next_token: Optional[str] = None


@attrs.frozen(kw_only=True)
class CreateInvocationResponse:
    invocation_id: str
    session_id: str
    created_at: datetime.datetime


@attrs.frozen(kw_only=True)
class InvocationSummary:
    invocation_id: str
    session_id: str
    created_at: datetime.datetime


@attrs.frozen(kw_only=True)
class ListInvocationsResponse:
    invocation_summaries: list[InvocationSummary]
    next_token: Optional[str] = None


@attrs.frozen(kw_only=True)
class PutInvocationStepResponse:
    invocation_step_id: str


@attrs.frozen(kw_only=True)
class InvocationStepSummary:
    invocation_id: str
    invocation_step_id: str
    invocation_step_time: datetime.datetime
    session_id: str


@attrs.frozen(kw_only=True)
class InvocationStep(InvocationStepSummary):
    payload: dict[str, Any]
    """``{"content_blocks": [{"text": ...} | {"image": {...}}]}``."""


@attrs.frozen(kw_only=True)
class GetInvocationStepResponse:
    invocation_step: InvocationStep


@attrs.frozen(kw_only=True)
class ListInvocationStepsResponse:
    invocation_step_summaries: list[InvocationStepSummary]
    next_token: Optional[str] = None


_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


def _snake(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {_CAMEL.sub("_", k).lower(): _snake(v) for k, v in value.items() if k != "ResponseMetadata"}
    if isinstance(value, list):
        return [_snake(v) for v in value]
    return value


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


def _camel_all(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {_camel(k): _camel_all(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_camel_all(v) for v in value]
    return value


def request_params(request: Any, kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """boto3 parameters from a request object and/or snake_case keywords."""
    merged: dict[str, Any] = {}
    if request is not None:
        if isinstance(request, str):
            merged["session_identifier"] = request
        elif hasattr(request, "model_dump"):
            merged.update(request.model_dump(exclude_none=True))
        elif attrs.has(type(request)):
            merged.update(attrs.asdict(request))
        elif isinstance(request, Mapping):
            merged.update(request)
        else:
            raise TypeError(f"unsupported request {type(request).__name__}: pass snake_case keywords")
    merged.update(kwargs)
    return _camel_all(merged)


def _build(cls: Any, answer: Mapping[str, Any]) -> Any:
    data = _snake(answer)
    fields = {f.name: f for f in attrs.fields(cls)}
    out = {}
    for name, value in data.items():
        if name not in fields:
            continue
        if name == "session_summaries":
            value = [_build(SessionSummary, _unsnake(v)) for v in value]
        elif name == "invocation_summaries":
            value = [_build(InvocationSummary, _unsnake(v)) for v in value]
        elif name == "invocation_step_summaries":
            value = [_build(InvocationStepSummary, _unsnake(v)) for v in value]
        elif name == "invocation_step":
            value = _build(InvocationStep, _unsnake(value))
        out[name] = value
    return cls(**out)


def _unsnake(value: Mapping[str, Any]) -> dict[str, Any]:
    return {_camel(k): v for k, v in value.items()}


_ANSWERS: dict[str, Any] = {
    "create_session": CreateSessionResponse,
    "get_session": GetSessionResponse,
    "update_session": UpdateSessionResponse,
    "end_session": EndSessionResponse,
    "delete_session": None,
    "list_sessions": ListSessionsResponse,
    "create_invocation": CreateInvocationResponse,
    "list_invocations": ListInvocationsResponse,
    "put_invocation_step": PutInvocationStepResponse,
    "get_invocation_step": GetInvocationStepResponse,
    "list_invocation_steps": ListInvocationStepsResponse,
}
"""The typed answer of each operation (None: nothing)."""


def typed_answer(method: str, answer: Mapping[str, Any]) -> Any:
    """The typed answer of ``method`` from the client's response."""
    cls = _ANSWERS[method]
    return None if cls is None else _build(cls, answer)


def _resource_name(params: Mapping[str, Any]) -> str:
    return str(params.get("sessionIdentifier", "(new)"))


class BedrockAgentRuntimeSessionClient:
    """Bedrock session management on a boto3 ``bedrock-agent-runtime`` client, with typed answers.

    Args:
        client: the boto3 client (the saver's own).
    """

    def __init__(self, client: Any) -> None:
        self.client = client

    def _call(self, method: str, request: Any, kwargs: Mapping[str, Any]) -> Any:
        params = request_params(request, kwargs)
        with translate_errors(AwsResource.of(self.client, SESSION_ERRORS, _resource_name(params)), method):
            answer = getattr(self.client, method)(**params)
        return typed_answer(method, answer)

    def create_session(self, request: Any = None, **kwargs: Any) -> CreateSessionResponse:
        """A new session (``session_metadata``, ``encryption_key_arn``, ``tags`` optional)."""
        return self._call("create_session", request, kwargs)

    def get_session(self, request: Any = None, **kwargs: Any) -> GetSessionResponse:
        """A session's status and metadata (``session_identifier``)."""
        return self._call("get_session", request, kwargs)

    def update_session(self, request: Any = None, **kwargs: Any) -> UpdateSessionResponse:
        """Replace a session's ``session_metadata``."""
        return self._call("update_session", request, kwargs)

    def end_session(self, request: Any = None, **kwargs: Any) -> EndSessionResponse:
        """End a session: still readable, nothing can be added."""
        return self._call("end_session", request, kwargs)

    def delete_session(self, request: Any = None, **kwargs: Any) -> None:
        """Delete an ended session and everything in it."""
        self._call("delete_session", request, kwargs)

    def list_sessions(self, request: Any = None, **kwargs: Any) -> ListSessionsResponse:
        """One page of sessions (``max_results``, ``next_token``)."""
        return self._call("list_sessions", request, kwargs)

    def create_invocation(self, request: Any = None, **kwargs: Any) -> CreateInvocationResponse:
        """A new invocation in a session (``invocation_id``, ``description`` optional)."""
        return self._call("create_invocation", request, kwargs)

    def list_invocations(self, request: Any = None, **kwargs: Any) -> ListInvocationsResponse:
        """One page of a session's invocations."""
        return self._call("list_invocations", request, kwargs)

    def put_invocation_step(self, request: Any = None, **kwargs: Any) -> PutInvocationStepResponse:
        """Add a step (``invocation_identifier``, ``invocation_step_time``, ``payload``)."""
        return self._call("put_invocation_step", request, kwargs)

    def get_invocation_step(self, request: Any = None, **kwargs: Any) -> GetInvocationStepResponse:
        """One step with its payload."""
        return self._call("get_invocation_step", request, kwargs)

    def list_invocation_steps(self, request: Any = None, **kwargs: Any) -> ListInvocationStepsResponse:
        """One page of step summaries (of the session, or of one ``invocation_identifier``)."""
        return self._call("list_invocation_steps", request, kwargs)


class _AsyncSessionOperations(abc.ABC):
    """Every session operation as a coroutine; subclasses say how one call runs (``_run``)."""

    @abc.abstractmethod
    async def _run(self, method: str, request: Any, kwargs: Mapping[str, Any]) -> Any:
        """Run one session operation and return its typed answer."""

    async def create_session(self, request: Any = None, **kwargs: Any) -> CreateSessionResponse:
        """A new session (``session_metadata``, ``encryption_key_arn``, ``tags`` optional)."""
        return await self._run("create_session", request, kwargs)

    async def get_session(self, request: Any = None, **kwargs: Any) -> GetSessionResponse:
        """A session's status and metadata (``session_identifier``)."""
        return await self._run("get_session", request, kwargs)

    async def update_session(self, request: Any = None, **kwargs: Any) -> UpdateSessionResponse:
        """Replace a session's ``session_metadata``."""
        return await self._run("update_session", request, kwargs)

    async def end_session(self, request: Any = None, **kwargs: Any) -> EndSessionResponse:
        """End a session: still readable, nothing can be added."""
        return await self._run("end_session", request, kwargs)

    async def delete_session(self, request: Any = None, **kwargs: Any) -> None:
        """Delete an ended session and everything in it."""
        await self._run("delete_session", request, kwargs)

    async def list_sessions(self, request: Any = None, **kwargs: Any) -> ListSessionsResponse:
        """One page of sessions (``max_results``, ``next_token``)."""
        return await self._run("list_sessions", request, kwargs)

    async def create_invocation(self, request: Any = None, **kwargs: Any) -> CreateInvocationResponse:
        """A new invocation in a session (``invocation_id``, ``description`` optional)."""
        return await self._run("create_invocation", request, kwargs)

    async def list_invocations(self, request: Any = None, **kwargs: Any) -> ListInvocationsResponse:
        """One page of a session's invocations."""
        return await self._run("list_invocations", request, kwargs)

    async def put_invocation_step(self, request: Any = None, **kwargs: Any) -> PutInvocationStepResponse:
        """Add a step (``invocation_identifier``, ``invocation_step_time``, ``payload``)."""
        return await self._run("put_invocation_step", request, kwargs)

    async def get_invocation_step(self, request: Any = None, **kwargs: Any) -> GetInvocationStepResponse:
        """One step with its payload."""
        return await self._run("get_invocation_step", request, kwargs)

    async def list_invocation_steps(self, request: Any = None, **kwargs: Any) -> ListInvocationStepsResponse:
        """One page of step summaries (of the session, or of one ``invocation_identifier``)."""
        return await self._run("list_invocation_steps", request, kwargs)


class AsyncBedrockAgentRuntimeSessionClient(_AsyncSessionOperations):
    """``BedrockAgentRuntimeSessionClient`` as coroutines: each call runs in ``executor``, off the event loop.

    Args:
        client: the boto3 client.
        executor: the thread pool the saver owns (None: the loop's default executor).
    """

    def __init__(self, client: Any, executor: Optional[Executor] = None) -> None:
        self.sync = BedrockAgentRuntimeSessionClient(client)
        self.executor = executor

    async def _run(self, method: str, request: Any, kwargs: Mapping[str, Any]) -> Any:
        fn = functools.partial(getattr(self.sync, method), request, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn)


class NativeAsyncBedrockAgentRuntimeSessionClient(_AsyncSessionOperations):
    """The session operations awaited on an aiobotocore ``bedrock-agent-runtime`` client.

    Args:
        client: a coroutine function giving the client (the async repository's
            ``client``: opened on first use in the running loop, closed with the saver).
    """

    def __init__(self, client: Callable[[], Awaitable[Any]]) -> None:
        self.client = client

    async def _run(self, method: str, request: Any, kwargs: Mapping[str, Any]) -> Any:
        params = request_params(request, kwargs)
        client = await self.client()
        with translate_errors(AwsResource.of(client, SESSION_ERRORS, _resource_name(params)), method):
            answer = await getattr(client, method)(**params)
        return typed_answer(method, answer)
