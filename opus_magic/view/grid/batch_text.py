"""A grid's batches as text: what was submitted, each batch's status line, how to collect and
re-show it; the same lines are the readable output a saved notebook keeps."""
from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Sequence
from typing import TextIO

from opus_magic.config import SIMULATOR
from opus_magic.core.grid.batch import BatchObserver
from opus_magic.records import BatchRow
from opus_magic.view.grid.batches import status_line
from opus_magic.view.tables import Rendered


def status_lines(rows: Sequence[BatchRow], errors: Sequence[str] = ()) -> list[str]:
    """One status line per batch (state, elapsed time, counts), then what went wrong."""
    now = dt.datetime.now(dt.timezone.utc)
    return [status_line(row, now) for row in rows] + [f"! {error}" for error in errors]


def next_steps(rows: Sequence[BatchRow], grid_id: str) -> str:
    """How to reach the results when this kernel is not the one collecting them."""
    ids = " ".join(row.id for row in rows)
    if any(row.profile == SIMULATOR for row in rows):
        return ("These batches went to this kernel's built-in simulator: they can be collected "
                "only while this kernel runs (it collects them itself), as the simulator ends "
                f"with it; `%opus batches collect` anywhere else marks them lost. Then "
                f"`%opus grid {grid_id}`.")
    return (f"Collected automatically while this kernel runs; from anywhere else: "
            f"`%opus batches collect {ids}` (or `opus-magic batches collect`), then "
            f"`%opus grid {grid_id}`.")


def readable(rows: Sequence[BatchRow], grid_id: str, errors: Sequence[str] = ()) -> str:
    """The status as plain text: lines per batch and how to collect."""
    return "\n".join([*status_lines(rows, errors), next_steps(rows, grid_id)])


class BatchTextView(BatchObserver):
    """Prints the status when the batches are submitted, and the grid once they are collected."""

    def __init__(self, out: TextIO | None = None) -> None:
        self.out = out or sys.stdout

    def submitted(self, preflight: str, rows: Sequence[BatchRow], grid_id: str) -> None:
        self.out.write(f"{preflight}\n{readable(rows, grid_id)}\n")
        self.out.flush()

    def changed(self, rows: Sequence[BatchRow], errors: Sequence[str]) -> None:
        """Polls are not printed: a terminal would fill with the same line."""

    def finished(self, rows: Sequence[BatchRow], errors: Sequence[str],
                 grid: Rendered | None) -> None:
        lines = status_lines(rows, errors)
        self.out.write("\n".join([*lines, grid.text if grid else ""]) + "\n")
        self.out.flush()
