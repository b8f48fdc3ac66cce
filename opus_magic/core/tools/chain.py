"""A tool loop as data: its steps (one model call each, with the calls it made and their
results), why it stopped early, and its records taken together (a grid counts a chain once, in
full: one cell, the cost of every step)."""
from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from opus_magic.core.run.live import LiveRun
from opus_magic.core.run.plan import Plan
from opus_magic.core.tools.runner import ToolCall, ToolResult
from opus_magic.core.tools.toolbox import LoopSettings
from opus_magic.records import RunRecord, Usage


@dataclass
class Step:
    """One model call of a loop: its plan, the run while it streams, its record once it ended,
    the calls it asked for and what they returned."""

    number: int
    plan: Plan
    live: LiveRun | None = None
    record: RunRecord | None = None
    calls: list[ToolCall] = field(default_factory=list)
    results: list[ToolResult] = field(default_factory=list)


@dataclass
class Chain:
    """A tool loop: its id, settings, steps so far, and (once over) why it stopped before an
    answer, if it did."""

    id: str
    settings: LoopSettings
    steps: list[Step] = field(default_factory=list)
    stop: str | None = None

    @property
    def records(self) -> list[RunRecord]:
        return [step.record for step in self.steps if step.record is not None]

    @property
    def final(self) -> RunRecord | None:
        """The last model call's record: its text is the loop's answer."""
        records = self.records
        return records[-1] if records else None


def total_cost(records: Sequence[RunRecord]) -> Decimal | None:
    costs = [record.cost for record in records]
    return None if not costs or None in costs else sum(costs, Decimal(0))  # type: ignore[arg-type]


def total_usage(records: Sequence[RunRecord]) -> Usage:
    """Every step's usage added up."""
    names = [f.name for f in dataclasses.fields(Usage)]
    return Usage(**{name: sum(getattr(r.usage, name) for r in records) for name in names})


def combined(records: Sequence[RunRecord]) -> RunRecord:
    """A chain's steps as one record: the last step's (its id, text, status), with the usage,
    cost, time, tool calls and results of every step."""
    last = records[-1]
    if len(records) == 1:
        return last
    durations = [r.duration_s for r in records if r.duration_s is not None]
    return last.replace(
        usage=total_usage(records), cost=total_cost(records),
        cost_exact=all(r.cost_exact for r in records), ttft_s=records[0].ttft_s,
        duration_s=sum(durations) if durations else None,
        tool_calls=[call for r in records for call in r.tool_calls],
        tool_results=[result for r in records for result in r.tool_results])


def combine_chains(records: Sequence[RunRecord]) -> list[RunRecord]:
    """Records (oldest first) with each chain's steps as one record, where its last step was."""
    steps: dict[str, list[RunRecord]] = {}
    for record in records:
        if record.chain_id:
            steps.setdefault(record.chain_id, []).append(record)
    out = []
    for record in records:
        chain = steps.get(record.chain_id or "")
        if chain is None:
            out.append(record)
        elif record is chain[-1]:
            out.append(combined(sorted(chain, key=lambda r: r.step or 0)))
    return out
