"""A grid's cells as shown (from a running grid or from history alike), and as rows for a
DataFrame; `verdict.py` summarises them per variant × model."""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from opus_magic.core.grid.checks import all_passed, errored
from opus_magic.core.grid.judge import parse_verdict
from opus_magic.records import RunRecord


@dataclass(frozen=True, slots=True)
class CellResult:
    """One cell as shown: where it sits, its status, its run (if any) and its checks."""

    variant: str
    model: str
    row: int
    status: str
    record: RunRecord | None
    checks: Mapping[str, bool | float | None]
    reason: str | None = None
    retried_cost: Decimal = Decimal(0)  # earlier attempts at this cell, billed and run again
    repeat: int = 0  # which sample of the cell (`--repeat N`): 0 unless repeated
    source_cost: Decimal | None = None  # a copy reused from another run: what that run cost
    judge: RunRecord | None = None  # the judge's run that scored the answer (--judge)

    @property
    def passed(self) -> bool | None:
        return all_passed(self.checks) if self.checks else None

    @property
    def check_error(self) -> str | None:
        """The first check that failed itself ("check error: ValueError: …"), if one did."""
        return next((str(value) for value in self.checks.values() if errored(value)), None)

    @property
    def answer_cost(self) -> Decimal | None:
        """What the answer cost to make: its run's cost, or the run a reused copy took it from
        (the copy itself costs $0); None when unknown."""
        if self.record is None:
            return None
        return self.source_cost if self.record.reused_from else self.record.cost


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """The nearest-rank percentile (p50, p95) of a few latencies; None when there are none."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(max(math.ceil(fraction * len(ordered)) - 1, 0), len(ordered) - 1)]


def frame_rows(results: Sequence[CellResult], rows: Sequence[Mapping[str, Any]]
               ) -> list[dict[str, Any]]:
    """One dict per cell: the row's fields, variant, model, answer, checks, status, tokens, cost,
    latency and run id."""
    out = []
    for result in results:
        record = result.record
        usage = record.usage if record else None
        out.append({
            **(rows[result.row] if result.row < len(rows) else {}),
            "row": result.row, "repeat": result.repeat, "variant": result.variant,
            "model": result.model,
            "answer": record.text if record else None,
            **{f"check {name}": value for name, value in result.checks.items()},
            "passed": result.passed, "status": result.status,
            "input_tokens": usage.input_tokens if usage else None,
            "output_tokens": usage.output_tokens if usage else None,
            "cost": record.cost if record else None,
            "latency_s": record.duration_s if record else None,
            "run_id": record.id if record else None,
            "reused_from": _reused_from(result),
            **judged(result),
            "error": (record.error if record else None) or result.reason or result.check_error})
    return out


def judged(result: CellResult) -> dict[str, Any]:
    """The judge's reason and cost for a cell's DataFrame row (empty without --judge)."""
    judge = result.judge
    if judge is None:
        return {}
    verdict = parse_verdict(judge.text) if judge.status == "ok" else None
    return {"judge_reason": verdict.reason if verdict else judge.error or judge.text,
            "judge_cost": judge.cost}


def _reused_from(result: CellResult) -> str | None:
    """The run whose answer a reused cell took: the copy's source, or the cell's own earlier
    run when the same grid ran again."""
    record = result.record
    if record is None:
        return None
    return record.reused_from or (record.id if result.status == "reused" else None)


def _column_order(records: Sequence[RunRecord]) -> dict[tuple[str, str], int]:
    """Each (variant, model) column's place: as the grid's table showed it where the records
    keep their column, else (runs written before they did) in the order they were first seen."""
    seen: dict[tuple[str, str], tuple[int, int]] = {}
    for n, record in enumerate(records):
        place = (record.column if record.column is not None else len(records), n)
        column = (record.variant or "", record.model)
        seen[column] = min(seen.get(column, place), place)
    return {column: i for i, column in enumerate(sorted(seen, key=seen.__getitem__))}


def from_history(records: Sequence[RunRecord],
                 sources: Mapping[str, Decimal | None] | None = None) -> list[CellResult]:
    """The latest run of each cell (each sample) of a grid (records oldest first), in row order,
    with what the earlier runs of the cell cost, (`sources`, by run id) what the runs reused
    copies were taken from cost, and the judge's run of each answer."""
    judges = {r.judge_of: r for r in records if r.judge_of is not None}
    records = [r for r in records if r.judge_of is None]
    latest: dict[tuple[str, str, int, int], RunRecord] = {}
    spent: dict[tuple[str, str, int, int], Decimal] = {}
    for record in records:
        cell = (record.variant or "", record.model, record.row or 0, record.repeat or 0)
        earlier = latest.get(cell)
        if earlier is not None and earlier.cost is not None and earlier.id != record.id:
            spent[cell] = spent.get(cell, Decimal(0)) + earlier.cost
        latest[cell] = record
    columns = _column_order(records)
    ordered = sorted(latest.items(),
                     key=lambda item: (item[0][2], columns[item[0][:2]], item[0][3]))
    return [CellResult(variant, model, row,
                       "reused" if record.cost_source == "reused" else record.status,
                       record, record.checks or {},
                       retried_cost=spent.get((variant, model, row, repeat), Decimal(0)),
                       source_cost=(sources or {}).get(record.reused_from or ""),
                       repeat=repeat, judge=judges.get(record.id))
            for (variant, model, row, repeat), record in ordered]
