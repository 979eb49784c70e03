"""A settable clock so TTL tests never sleep."""

from __future__ import annotations


class FakeClock:
    """A settable clock so TTL tests never sleep."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
