"""A fan-out in plain text: a progress line per model while it streams, each answer as it finishes,
then a summary table."""
from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from decimal import Decimal
from typing import TextIO

from opus_magic.core.comparison import RankedRun
from opus_magic.core.run.attach.report import plan_chips
from opus_magic.core.run.engine import Clock, LiveRun, Observer
from opus_magic.core.run.outcome import outcome_lines
from opus_magic.records import RunRecord
from opus_magic.view import format as fmt
from opus_magic.view.run.chips import chips_brief
from opus_magic.view.run.text import summary_line

PROGRESS_EVERY_S = 2.0  # a streaming model's progress line, at most this often


class ProgressLines(Observer):
    """Observer of one model: progress lines while it streams, its whole answer once it ends.

    Streams interleaved token by token would be unreadable, so each model writes whole lines,
    under a lock the models of one comparison share.
    """

    def __init__(self, out: TextIO, lock: threading.Lock, clock: Clock = time.monotonic) -> None:
        self.out, self.lock, self.clock = out, lock, clock
        self._next = 0.0
        self._wait = ""

    def _write(self, text: str) -> None:
        with self.lock:
            self.out.write(text + "\n")
            self.out.flush()

    def started(self, live: LiveRun) -> None:
        self._next = self.clock() + PROGRESS_EVERY_S
        attached = chips_brief(plan_chips(live.plan, thumbnails=0))
        if attached:
            self._write(f"  {live.plan.request.model}: {attached}")
        for warning in live.plan.warnings:
            self._write(f"! {live.plan.request.model}: {warning}")

    def delta(self, live: LiveRun, text: str) -> None:
        now = self.clock()
        if now < self._next:
            return
        self._next = now + PROGRESS_EVERY_S
        self._write(f"… {live.plan.request.model}: {live.counter.tokens:,} tokens so far, "
                    f"{fmt.seconds(now - live.started)}")

    def waiting(self, live: LiveRun, seconds: float, reason: str) -> None:
        if reason != self._wait:  # a line per wait, not per second of it
            self._wait = reason
            self._write(f"… {live.plan.request.model}: {reason}: retrying in {seconds:.1f} s")

    def finished(self, live: LiveRun, record: RunRecord) -> None:
        mark = "✓" if record.status == "ok" else "✗"
        legacy = f" ({live.plan.legacy})" if live.plan.legacy else ""
        lines = [f"{mark} {record.model}{legacy} {fmt.end_state(record)} · "
                 f"{record.usage.output_tokens:,} tokens · {fmt.seconds(record.duration_s)}",
                 f"── {fmt.model_label(record)} ──"]
        if record.text:
            lines.append(record.text)
        lines += [f"! {line}" for line in outcome_lines(record, live.plan.info)]
        self._write("\n".join([*lines, summary_line(record), ""]))


SUMMARY_HEADINGS = ["model", "ended", "in", "out", "cost", "× cheapest", "TTFT", "time", "tok/s",
                    ""]


def cheapest_cost(rows: Sequence[RankedRun]) -> Decimal | None:
    costs = [row.record.cost for row in rows if row.record.cost]
    return min(costs) if costs else None


def summary_cells(row: RankedRun, cheapest: Decimal | None) -> list[str]:
    """One model's figures in a comparison summary, as text (cheapest and fastest marked last)."""
    r = row.record
    times = fmt.NONE if not cheapest or r.cost is None else f"×{r.cost / cheapest:.1f}"
    marks = [name for name, on in (("cheapest", row.cheapest), ("fastest", row.fastest)) if on]
    return [fmt.model_label(r), fmt.end_state(r), f"{r.usage.input_tokens:,}",
            f"{r.usage.output_tokens:,}", fmt.run_cost(r), times, fmt.seconds(r.ttft_s),
            fmt.seconds(r.duration_s), fmt.speed(r.tokens_per_s),
            f"← {', '.join(marks)}" if marks else ""]


def summary_table(rows: Sequence[RankedRun]) -> str:
    """The comparison's numbers, one line per model, cheapest and fastest marked."""
    cheapest = cheapest_cost(rows)
    return fmt.text_table([SUMMARY_HEADINGS, *(summary_cells(row, cheapest) for row in rows)],
                          left={0, 1, 9})
