"""`--sample N`: a grid run on N rows drawn at random (seeded) from its dataset, and what the
whole dataset would cost and take, projected from them (`stats.forecast`).

Each sampled row counts every cell it has (variants × models): what they cost, the seconds they
took, their calls and tokens; a cell reused from history counts as the run it copies. The time
is projected per endpoint (its own concurrency and the rate limits its last answer reported) and
the slowest endpoint sets it; the batch price is the sample's own batch price (each model's
batch discount). The notebook keeps a projection under the full run's key (`sample.py`), so the
full run is refused before sending when its projected cost crosses the budget.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from opus_magic.cost.pricing import BATCH, format_usd, usage_cost
from opus_magic.errors import UsageError
from opus_magic.records import RunRecord
from opus_magic.stats import Forecast, Limits, SampledRow, forecast

if TYPE_CHECKING:
    from opus_magic.core.grid.run import GridRun
    from opus_magic.core.session import Session


@dataclass(frozen=True, kw_only=True)
class Projection:
    """The whole dataset's grid, projected from a sample: cost, batch cost, time, and how."""

    forecast: Forecast
    cells: int
    endpoint: str
    limits: Limits


def original(record: RunRecord, session: Session, run: GridRun) -> RunRecord:
    """The run a reused cell copies (its cost and time are what the full run would pay)."""
    if record.reused_from is None:
        return record
    found = session.store(run.grid.settings).get(record.reused_from)
    return found if found is not None else record


def sampled_rows(run: GridRun, endpoint: str | None = None) -> list[SampledRow] | None:
    """Each row's cells (on one endpoint, or all) as one sampled row; None when a cell did not
    answer or its price is unknown (the projection would be wrong)."""
    by_row: dict[int, list[RunRecord]] = {}
    for cell, state in zip(run.grid.cells, run.states):
        if cell.plan is None or (endpoint and cell.plan.endpoint.base_url != endpoint):
            continue
        record = state.shown
        if record is None or state.status not in ("ok", "reused"):
            return None
        by_row.setdefault(cell.row, []).append(original(record, run.session, run))
    rows = []
    for records in by_row.values():
        if any(r.cost is None for r in records):
            return None
        rows.append(SampledRow(
            cost=sum((r.cost for r in records if r.cost is not None), Decimal(0)),
            busy_s=sum(r.duration_s or 0.0 for r in records), calls=len(records),
            tokens=sum(r.usage.input_tokens + r.usage.output_tokens for r in records)))
    return rows


def limits_of(run: GridRun, endpoint: str) -> Limits:
    """The endpoint's concurrency and the per-minute limits its latest answer reported."""
    reported: Mapping[str, Any] = {}
    for cell, state in zip(run.grid.cells, run.states):
        record = state.shown
        if cell.plan and cell.plan.endpoint.base_url == endpoint and record and record.rate_limits:
            reported = record.rate_limits
    requests = (reported.get("requests") or {}).get("limit")
    tokens = (reported.get("tokens") or {}).get("limit")
    return Limits(concurrency=run.concurrency, requests_per_minute=requests,
                  tokens_per_minute=tokens)


def batch_discount(rows: Sequence[RunRecord], session: Session, run: GridRun) -> Decimal:
    """1 − (the sample's cost at the batch price) / (its cost), 0 when a batch price is unknown."""
    catalog = session.catalog(run.grid.settings)
    full = batch = Decimal(0)
    for record in rows:
        source = original(record, session, run)
        priced = usage_cost(source.usage, catalog.get(source.model), BATCH)
        if priced is None or source.cost is None:
            return Decimal(0)
        full += source.cost
        batch += priced
    return Decimal(1) - batch / full if full else Decimal(0)


def project(run: GridRun) -> Projection | None:
    """The whole dataset projected from a sampled grid; None without a sample or an answer."""
    sample = run.grid.spec.sample
    rows = sampled_rows(run) if sample is not None else None
    if sample is None or not rows:
        return None
    records = [s.shown for s in run.states if s.shown is not None]
    discount = batch_discount(records, run.session, run)
    total = forecast(rows, total_rows=sample.total_rows, batch_discount=discount,
                     sample_seed=sample.seed)
    paced: list[tuple[Forecast, str, Limits]] = []
    for endpoint in sorted({c.plan.endpoint.base_url for c in run.grid.cells if c.plan}):
        limits = limits_of(run, endpoint)
        alone = forecast(sampled_rows(run, endpoint) or [], total_rows=sample.total_rows,
                         limits=limits, sample_seed=sample.seed)
        if alone is not None:
            paced.append((alone, endpoint, limits))
    if total is None or not paced:
        return None
    slowest, endpoint, limits = max(paced, key=lambda found: found[0].duration_s.estimate)
    timed = dataclasses.replace(total, duration_s=slowest.duration_s,
                                limited_by=slowest.limited_by)
    cells = len(run.grid.cells) * sample.total_rows // max(len(sample.rows), 1)
    return Projection(forecast=timed, cells=cells, endpoint=endpoint, limits=limits)


def over_budget(projection: Projection | None, committed: Decimal, cap: Decimal | None
                ) -> Decimal | None:
    """By how much the projected cost crosses what is left of the budget; None if it fits."""
    if cap is None or projection is None:
        return None
    left = max(cap - committed, Decimal(0))
    excess = projection.forecast.cost.estimate - left
    return excess if excess > 0 else None


def refuse_over_budget(projection: Projection | None, committed: Decimal,
                       cap: Decimal | None) -> None:
    """Refuse a full run whose projection (kept from its --sample run) crosses the budget."""
    excess = over_budget(projection, committed, cap)
    if excess is None or projection is None or cap is None:
        return
    left = max(cap - committed, Decimal(0))
    cost = projection.forecast.cost
    raise UsageError(
        f"Not sent: the full grid is projected at {format_usd(cost.estimate, estimated=True)} "
        f"({format_usd(cost.low)}–{format_usd(cost.high)}), {format_usd(excess)} more than the "
        f"{format_usd(left)} left of the session budget; raise it (%opus budget "
        f"{format_usd(cap + excess).lstrip('$')}) or run it on fewer rows.")
