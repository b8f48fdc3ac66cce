"""A grid's results per variant × model (pass rate, cost, latency, the best marked), and as rows
for a DataFrame; from a running grid or from history alike."""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from opus_magic.core.grid.checks import all_passed, errored
from opus_magic.records import RunRecord

MEAN_DIGITS = Decimal("1e-9")  # a mean cost is shown to the nano-dollar, not to 28 digits


@dataclass(frozen=True)
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

    @property
    def passed(self) -> bool | None:
        return all_passed(self.checks) if self.checks else None

    @property
    def check_error(self) -> str | None:
        """The first check that failed itself ("check error: ValueError: …"), if one did."""
        return next((str(value) for value in self.checks.values() if errored(value)), None)


@dataclass(frozen=True)
class SummaryRow:
    """One variant × model: how many cells answered, passed, cost and took."""

    variant: str
    model: str
    cells: int
    answered: int
    pass_rate: float | None
    mean_cost: Decimal | None
    total_cost: Decimal
    p50_s: float | None
    p95_s: float | None
    best: bool = False
    check_errors: int = 0  # answered cells whose checks failed themselves: not in the pass rate


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """The nearest-rank percentile (p50, p95) of a few latencies; None when there are none."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(max(math.ceil(fraction * len(ordered)) - 1, 0), len(ordered) - 1)]


def summarize(results: Sequence[CellResult]) -> list[SummaryRow]:
    """A row per (variant, model) in first-seen order; the best pass rate (then the lowest mean
    cost) is marked when there is more than one row and checks were run."""
    groups: dict[tuple[str, str], list[CellResult]] = {}
    for result in results:
        groups.setdefault((result.variant, result.model), []).append(result)
    rows = [_row(variant, model, cells) for (variant, model), cells in groups.items()]
    rated = [r for r in rows if r.pass_rate is not None]
    if len(rows) > 1 and rated:
        best = max(rated, key=lambda r: (r.pass_rate, -(r.mean_cost or Decimal("Infinity"))))
        rows = [SummaryRow(**{**r.__dict__, "best": r is best}) for r in rows]
    return rows


def _row(variant: str, model: str, cells: Sequence[CellResult]) -> SummaryRow:
    answered = [c for c in cells if c.record is not None and c.status in ("ok", "reused")]
    costs = [c.record.cost for c in answered if c.record and c.record.cost is not None]
    spent = [c.record.cost for c in cells if c.record and c.record.cost is not None]
    spent += [c.retried_cost for c in cells]
    checked = [c.passed for c in answered if c.passed is not None]
    latencies = [c.record.duration_s for c in answered
                 if c.record and c.record.duration_s is not None]
    return SummaryRow(
        variant, model, len(cells), len(answered),
        sum(checked) / len(checked) if checked else None,
        (sum(costs, Decimal(0)) / len(costs)).quantize(MEAN_DIGITS) if costs else None,
        sum(spent, Decimal(0)),
        percentile(latencies, 0.5), percentile(latencies, 0.95),
        check_errors=sum(1 for c in answered if c.check_error))


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
            "row": result.row, "variant": result.variant, "model": result.model,
            "answer": record.text if record else None,
            **{f"check {name}": value for name, value in result.checks.items()},
            "passed": result.passed, "status": result.status,
            "input_tokens": usage.input_tokens if usage else None,
            "output_tokens": usage.output_tokens if usage else None,
            "cost": record.cost if record else None,
            "latency_s": record.duration_s if record else None,
            "run_id": record.id if record else None,
            "reused_from": _reused_from(result),
            "error": (record.error if record else None) or result.reason or result.check_error})
    return out


def _reused_from(result: CellResult) -> str | None:
    """The run whose answer a reused cell took: the copy's source, or the cell's own earlier
    run when the same grid ran again."""
    record = result.record
    if record is None:
        return None
    return record.reused_from or (record.id if result.status == "reused" else None)


def from_history(records: Sequence[RunRecord]) -> list[CellResult]:
    """The latest run of each cell of a grid (records oldest first), in row order, with what
    the earlier runs of the cell cost."""
    latest: dict[tuple[str, str, int], RunRecord] = {}
    spent: dict[tuple[str, str, int], Decimal] = {}
    for record in records:
        cell = (record.variant or "", record.model, record.row or 0)
        earlier = latest.get(cell)
        if earlier is not None and earlier.cost is not None and earlier.id != record.id:
            spent[cell] = spent.get(cell, Decimal(0)) + earlier.cost
        latest[cell] = record
    columns: dict[tuple[str, str], int] = {}
    for record in records:
        columns.setdefault((record.variant or "", record.model), len(columns))
    ordered = sorted(latest.items(), key=lambda item: (item[0][2], columns[item[0][:2]]))
    return [CellResult(variant, model, row,
                       "reused" if record.cost_source == "reused" else record.status,
                       record, record.checks or {}, retried_cost=spent.get((variant, model, row),
                                                                           Decimal(0)))
            for (variant, model, row), record in ordered]
