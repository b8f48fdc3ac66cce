"""Counts in words: one run, 2 runs; shared by every layer that writes a message."""
from __future__ import annotations


def plural(count: int, noun: str, many: str | None = None) -> str:
    """'1 run', '2 runs', '1,200 cells' ('many' for nouns whose plural is not noun + s)."""
    return f"{count:,} {noun if count == 1 else many or noun + 's'}"
