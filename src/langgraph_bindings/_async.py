"""Running blocking use cases from async code without blocking the event loop."""

from __future__ import annotations

import asyncio
import functools
from typing import Any, Callable, TypeVar

T = TypeVar("T")

__all__ = ["run_blocking"]


async def run_blocking(fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """Run ``fn`` in the default executor (context variables carried over)."""
    return await asyncio.to_thread(functools.partial(fn, *args, **kwargs))
