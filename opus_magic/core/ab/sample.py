"""`--sample N --seed S`: which rows of a dataset a grid runs, and the key of the full run."""
from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from opus_magic.stats import sample_rows

DEFAULT_SEED = 0


@dataclass(frozen=True)
class RowSample:
    """Which rows of the dataset a grid runs: `rows` (indices) of `total_rows`, drawn with `seed`."""

    total_rows: int
    seed: int
    rows: tuple[int, ...]


def draw(total_rows: int, n: int, seed: int) -> RowSample:
    """n rows of total_rows, uniformly without replacement; the same seed draws the same rows."""
    return RowSample(total_rows, seed, tuple(sample_rows(total_rows, n, seed)))


def full_run_key(rows: Sequence[Mapping[str, Any]], variants: Sequence[tuple[str, str]],
                 flags: Mapping[str, Any]) -> str:
    """What identifies a grid over a whole dataset: its rows, its variants and its flags."""
    raw = json.dumps([list(rows), list(variants), dict(flags)], sort_keys=True, default=str)
    return hashlib.sha256(raw.encode()).hexdigest()[:16]
