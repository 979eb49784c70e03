"""One loop for batch calls that return an unprocessed remainder (BatchWriteItem, BatchGetItem, DeleteObjects).

Resubmitting the part of a batch the service left unprocessed is progress
within one call, not a retry of it: whole calls are retried once, by the use
cases, with the same ``RetryPolicy``. Here the policy only paces the rounds
(``backoff(n)`` before round n + 1), and the loop keeps going while rounds
make progress; after ``MAX_STALLED_ROUNDS`` consecutive rounds that process
nothing it gives up with ``UnprocessedItemsError``, a transient error, so the
use case's retry may still try the whole call again.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Callable, TypeVar

from ...domain.errors import TransientBackendError
from ...domain.policies import RetryPolicy

__all__ = ["drain", "UnprocessedItemsError", "MAX_STALLED_ROUNDS"]

T = TypeVar("T")

MAX_STALLED_ROUNDS = 8
"""Consecutive rounds without progress after which a batch call gives up."""


class UnprocessedItemsError(TransientBackendError):
    """A batch call kept leaving items unprocessed: no progress in ``MAX_STALLED_ROUNDS`` rounds."""


def drain(
    send: Callable[[list[T]], Sequence[T]],
    items: Sequence[T],
    *,
    call: str,
    backoff: RetryPolicy,
    max_stalled_rounds: int = MAX_STALLED_ROUNDS,
) -> None:
    """Submit ``items`` with ``send`` and resubmit what it returns as unprocessed until nothing is left.

    Args:
        send: one round: submits a list of items, returns the ones left
            unprocessed (the same kind of items, ready to resubmit).
        items: the items of one batch (at most what one request takes).
        call: names the call in the error, e.g. ``"DynamoDB table 't' ...: BatchWriteItem"``.
        backoff: paces the rounds (``backoff.backoff(n)`` seconds before round
            n + 1, slept with ``backoff.sleep`` or ``time.sleep``).
        max_stalled_rounds: consecutive rounds without progress before giving up.

    Raises:
        UnprocessedItemsError: ``max_stalled_rounds`` consecutive rounds processed nothing.
    """
    sleep: Callable[[float], object] = backoff.sleep if backoff.sleep is not None else time.sleep
    pending = list(items)
    rounds = stalled = 0
    while pending:
        left = list(send(pending))
        if not left:
            return
        rounds += 1
        stalled = stalled + 1 if len(left) >= len(pending) else 0
        if stalled >= max_stalled_rounds:
            raise UnprocessedItemsError(
                f"{call}: {len(left)} of {len(items)} items still unprocessed after "
                f"{stalled} rounds without progress"
            )
        sleep(backoff.backoff(rounds))
        pending = left
