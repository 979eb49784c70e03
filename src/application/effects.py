"""Use cases written once for the sync and the async API.

A use case is a generator ("program") that yields a ``Call`` for every port
operation it needs and receives the result; everything else in it is pure.
``run_sync`` drives a program over sync adapters, ``run_async`` over async
adapters (awaited on the event loop, the user's async client used as given)
or, for a sync adapter, in the executor the caller owns. Both apply the one
``RetryPolicy`` around each call, and nowhere else.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
from collections.abc import Generator, Mapping
from concurrent.futures import Executor
from typing import Any, Optional, TypeVar

import attrs

from ..domain.policies import RetryPolicy

__all__ = ["Call", "Program", "run_sync", "run_async", "is_async_method"]

T = TypeVar("T")


@attrs.frozen
class Call:
    """One port operation a use case asks for: ``ports[port].method(*args, **kwargs)``."""

    port: str
    method: str
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = attrs.field(factory=dict)
    collect: bool = False
    """The result is an (async) iterable: the driver materializes it into a list
    where the call ran (in the executor for a sync adapter), never on the loop."""


Program = Generator[Call, Any, T]
"""A use case: yields Calls, receives their results, returns its value."""

_NATIVE: dict[tuple[type, str], bool] = {}


def is_async_method(target: object, method: str) -> bool:
    """Whether ``target.method`` is a coroutine or async generator function (cached per class)."""
    key = (type(target), method)
    found = _NATIVE.get(key)
    if found is None:
        fn = getattr(target, method)
        found = inspect.iscoroutinefunction(fn) or inspect.isasyncgenfunction(fn)
        _NATIVE[key] = found
    return found


def _call_sync(fn: Any, call: Call, retry: RetryPolicy) -> Any:
    if call.collect:
        def collected() -> list[Any]:
            return list(fn(*call.args, **call.kwargs))

        return collected() if retry.attempts == 1 else retry.retrying()(collected)
    if retry.attempts == 1:
        return fn(*call.args, **call.kwargs)
    return retry.retrying()(fn, *call.args, **call.kwargs)


def run_sync(program: Program[T], ports: Mapping[str, Any], retry: RetryPolicy) -> T:
    """Drive ``program`` over sync adapters and return its value."""
    try:
        call = next(program)
        while True:
            fn = getattr(ports[call.port], call.method)
            call = program.send(_call_sync(fn, call, retry))
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]


async def _native(fn: Any, call: Call) -> Any:
    result = fn(*call.args, **call.kwargs)
    if inspect.isawaitable(result):
        result = await result
    if call.collect and hasattr(result, "__aiter__"):
        return [item async for item in result]
    return result


async def _call_async(
    target: Any, call: Call, retry: RetryPolicy, executor: Optional[Executor], limiter: Optional[asyncio.Semaphore]
) -> Any:
    fn = getattr(target, call.method)
    if is_async_method(target, call.method):
        if limiter is not None:
            async with limiter:  # no more calls in flight than the client has connections
                return await _call_async(target, call, retry, None, None)
        if retry.attempts == 1:
            return await _native(fn, call)
        return await retry.async_retrying()(_native, fn, call)
    # A sync adapter: its blocking call runs in the executor the caller owns,
    # never on the event loop and never in asyncio's shared default executor.
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(executor, functools.partial(_call_sync, fn, call, retry))


async def run_async(
    program: Program[T],
    ports: Mapping[str, Any],
    retry: RetryPolicy,
    executor: Optional[Executor] = None,
    limiter: Optional[asyncio.Semaphore] = None,
) -> T:
    """Drive ``program`` over async adapters (or sync ones in ``executor``) and return its value.

    ``limiter`` caps the native async calls in flight (a client's connections).
    """
    try:
        call = next(program)
        while True:
            result = await _call_async(ports[call.port], call, retry, executor, limiter)
            call = program.send(result)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
