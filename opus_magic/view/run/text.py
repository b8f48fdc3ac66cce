"""Plain-text presentation of runs, for terminals, nbconvert and saved notebooks."""
from __future__ import annotations

import sys
from typing import TextIO

from opus_magic.core.run.engine import LiveRun, Observer
from opus_magic.core.run.outcome import outcome_lines
from opus_magic.core.run.preflight import preflight_lines
from opus_magic.records import RunRecord
from opus_magic.view import format as fmt

THINKING_PREVIEW = 160  # characters of the collapsed thinking line


def summary_line(record: RunRecord) -> str:
    """One line: model answered, tokens, cost, timings, how it ended, run id."""
    usage = record.usage
    cache = ""
    if usage.cache_read_tokens or usage.cache_write_tokens:
        cache = f" (cache read {usage.cache_read_tokens:,}, write {usage.cache_write_tokens:,})"
    tool_tokens = record.tool_tokens
    tools = f" (tools {tool_tokens:,})" if tool_tokens else ""
    cost = fmt.run_cost(record)
    if record.cost is not None and not record.cost_exact:
        cost += " estimated"  # the word too: a lone ≈ is easy to miss in a long line
    return (f"{fmt.model_label(record)} · {usage.input_tokens:,} in{tools} / "
            f"{usage.output_tokens:,} out{cache} · {cost}"
            f" · TTFT {fmt.seconds(record.ttft_s)} · {fmt.seconds(record.duration_s)}"
            f" · {fmt.end_state(record)} · run {record.id}")


class TextView(Observer):
    """Streams the answer as plain text and ends with the summary and any explanations."""

    def __init__(self, out: TextIO | None = None, show_text: bool = True) -> None:
        self.out = out or sys.stdout
        self.show_text = show_text
        self._wrote_text = False
        self._wait = ""

    def started(self, live: LiveRun) -> None:
        for line in preflight_lines(live.plan):
            self.out.write(f"{line}\n")
        for warning in live.plan.warnings:
            self.out.write(f"! {warning}\n")

    def delta(self, live: LiveRun, text: str) -> None:
        if self.show_text and live.plan.request.stream:
            self._thinking(live)
            self.out.write(text)
            self._wrote_text = True

    def _thinking(self, live: LiveRun) -> None:
        """Thinking, collapsed to one line before the answer: its size and how it begins."""
        if self._wrote_text or not live.thinking_text:
            return
        shown = live.thinking_counter.tokens if live.thinking_counter else 0
        start = " ".join(live.thinking_text.split())
        start = start if len(start) <= THINKING_PREVIEW else start[:THINKING_PREVIEW] + "…"
        self.out.write(f"▸ thinking: {shown:,} tokens shown (a summary): {start}\n\n")

    def waiting(self, live: LiveRun, seconds: float, reason: str) -> None:
        if reason != self._wait:  # a line per wait, not per second of it
            self._wait = reason
            self.out.write(f"… {reason}: retrying in {seconds:.1f} s\n")
            self.out.flush()

    def finished(self, live: LiveRun, record: RunRecord) -> None:
        if self.show_text and not self._wrote_text and record.text:
            self._thinking(live)
            self.out.write(record.text)
            self._wrote_text = True
        if self._wrote_text:
            self.out.write("\n\n")
        for line in outcome_lines(record, live.plan.info):
            self.out.write(f"! {line}\n")
        self.out.write(summary_line(record) + "\n")
        self.out.flush()
