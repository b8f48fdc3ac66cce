"""Fakes the unit tests share."""
from __future__ import annotations


class Clock:
    """A clock the test moves; counts how often it is read."""

    def __init__(self, now: float = 0.0) -> None:
        self.now = now
        self.reads = 0

    def __call__(self) -> float:
        self.reads += 1
        return self.now
