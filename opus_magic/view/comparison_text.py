"""A fan-out in plain text: a progress line per model while they run, then answers and a summary."""
from __future__ import annotations

import sys
import threading
from collections.abc import Sequence
from typing import TextIO

from opus_magic.core.engine import LiveRun
from opus_magic.core.fanout import Comparison, SummaryRow, execute_all, summarize
from opus_magic.core.outcome import outcome_lines
from opus_magic.core.session import Session
from opus_magic.cost.pricing import format_usd
from opus_magic.records import RunRecord
from opus_magic.view.text import fmt_seconds, summary_line


def model_label(record: RunRecord) -> str:
    name = record.response_model or record.model
    return f"{name} (simulator)" if record.params.get("simulator") else name


class ProgressLine:
    """Observer writing a line when a model waits or finishes (interleaved streams are unreadable)."""

    def __init__(self, out: TextIO, lock: threading.Lock) -> None:
        self.out, self.lock = out, lock

    def _write(self, line: str) -> None:
        with self.lock:
            self.out.write(line + "\n")
            self.out.flush()

    def started(self, live: LiveRun) -> None:
        for warning in live.plan.warnings:
            self._write(f"! {live.plan.request.model}: {warning}")

    def delta(self, live: LiveRun, text: str) -> None:
        pass

    def waiting(self, live: LiveRun, seconds: float, reason: str) -> None:
        self._write(f"… {live.plan.request.model}: {reason}: retrying in {seconds:.1f} s")

    def finished(self, live: LiveRun, record: RunRecord) -> None:
        mark = "✓" if record.status == "ok" else "✗"
        self._write(f"{mark} {record.model} {record.finish_reason or record.status}"
                    f" · {record.usage.output_tokens:,} tokens · {fmt_seconds(record.duration_s)}")


def summary_table(rows: Sequence[SummaryRow]) -> str:
    """The comparison's numbers, one line per model, cheapest and fastest marked."""
    lines = [f"{'model':<32} {'finish':<13} {'in':>7} {'out':>7} {'cost':>11} {'TTFT':>8} "
             f"{'time':>8} {'tok/s':>7}"]
    for row in rows:
        r = row.record
        rate = "–" if row.tokens_per_s is None else f"{row.tokens_per_s:.0f}"
        marks = [name for name, on in (("cheapest", row.cheapest), ("fastest", row.fastest)) if on]
        lines.append(
            f"{model_label(r)[:32]:<32} {(r.finish_reason or r.status)[:13]:<13} "
            f"{r.usage.input_tokens:>7,} {r.usage.output_tokens:>7,} "
            f"{format_usd(r.cost, not r.cost_exact):>11} {fmt_seconds(r.ttft_s):>8} "
            f"{fmt_seconds(r.duration_s):>8} {rate:>7}"
            + (f"  ← {', '.join(marks)}" if marks else ""))
    return "\n".join(lines)


def present_comparison_text(session: Session, runs: Comparison,
                            out: TextIO | None = None) -> list[RunRecord]:
    """Run a fan-out showing compact progress, then each model's answer and the summary table."""
    out = out or sys.stdout
    models = ", ".join(plan.request.model for plan, _ in runs)
    out.write(f"Comparing {len(runs)} models at once (comparison {runs.comparison_id}): {models}\n")
    for line in runs.refused:
        out.write(f"! not run: {line}\n")
    lock = threading.Lock()
    records = execute_all(session, runs, [ProgressLine(out, lock) for _ in runs])
    infos = {plan.request.model: plan.info for plan, _ in runs}
    for record in records:
        out.write(f"\n── {model_label(record)} ──\n")
        if record.text:
            out.write(record.text + "\n")
        if record.error:
            out.write(f"! {record.error}\n")
        for line in outcome_lines(record, infos.get(record.model)):
            out.write(f"! {line}\n")
        out.write(summary_line(record) + "\n")
    out.write("\n" + summary_table(summarize(records)) + "\n")
    out.flush()
    return records
