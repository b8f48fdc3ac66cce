"""A grid's summary per variant × model with intervals, and whether the rows name a winner.

Each arm (variant × model) is summarised over the rows it answered: pass rate with its Wilson
interval (clustered by row when cells were repeated), mean score, cost per call, cost per
correct answer and latency, each with a seeded bootstrap interval. With two arms or more and
checks, the arms are compared pairwise on the rows they share (`stats.compare_arms`: McNemar's
exact test, Holm-corrected; paired bootstrap differences) and the verdict says whether the best
arm wins, how many rows would tell, and which cheaper arm is as good within noise.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal

from opus_magic.core.ab.arms import (
    arm_name,
    arms_of,
    clustered_rates,
    per_correct_over_samples,
    row_samples,
)
from opus_magic.core.grid.summary import CellResult, percentile
from opus_magic.stats import ArmSummary, ClusteredRate, Interval, Verdict, compare_arms
from opus_magic.stats.resample import RESAMPLES

SEED = 0  # every bootstrap of a summary: the same grid always shows the same intervals
LEVEL = 0.95


@dataclass(frozen=True, kw_only=True)
class SummaryRow:
    """One variant × model: cells answered, and each figure with its 95 % interval."""

    variant: str
    model: str
    cells: int
    answered: int
    passes: int
    tries: int
    pass_rate: Interval[float] | None
    score: Interval[float] | None
    cost_per_call: Interval[Decimal] | None
    cost_per_correct: Interval[Decimal] | None
    total_cost: Decimal
    latency_s: Interval[float] | None
    p95_s: float | None
    best: bool = False
    winner: bool = False
    judge_cost: Decimal = Decimal(0)  # what the judge's runs cost, apart from `total_cost`
    check_errors: int = 0  # answered cells whose checks failed themselves: not in the pass rate

    @property
    def name(self) -> str:
        return arm_name(self.variant, self.model)


@dataclass(frozen=True, kw_only=True)
class GridSummary:
    """The rows of the summary, the verdict (None with one arm or no checks), how it was drawn."""

    rows: list[SummaryRow]
    verdict: Verdict | None
    checked: bool
    repeated: bool
    seed: int = SEED
    resamples: int = RESAMPLES


def summarize(results: Sequence[CellResult], seed: int = SEED) -> GridSummary:
    """A row per (variant, model) in first-seen order and the pairwise verdict; the best arm is
    marked when there is more than one and checks were run."""
    checked = any(cell.checks for cell in results)
    repeated = any(cell.repeat > 0 for cell in results)
    arms = arms_of(results)
    rates = clustered_rates(results) if repeated else {}
    samples = row_samples(results) if repeated else {}
    groups = grouped(results)
    verdict = compare_arms(arms, seed=seed) if checked and len(arms) > 1 else None
    # every arm on the same rows: the verdict's own summaries are each arm's (one resampling)
    shared = {a.name: a for a in verdict.arms} if verdict and not verdict.unpaired_rows else {}
    rows = [arm_row(groups[arm.name],
                    shared.get(arm.name) or compare_arms([arm], seed=seed).arms[0],
                    checked, rates.get(arm.name),
                    per_correct_over_samples(samples[arm.name], seed, LEVEL) if repeated
                    else None)
            for arm in arms]
    if verdict is not None and verdict.best is not None:
        rows = [replace(r, best=r.name == verdict.best, winner=r.name == verdict.winner)
                for r in rows]
    return GridSummary(rows=rows, verdict=verdict, checked=checked, repeated=repeated, seed=seed)


def grouped(results: Sequence[CellResult]) -> dict[str, list[CellResult]]:
    groups: dict[str, list[CellResult]] = {}
    for cell in results:
        groups.setdefault(arm_name(cell.variant, cell.model), []).append(cell)
    return groups


def arm_row(cells: Sequence[CellResult], alone: ArmSummary, checked: bool,
            clustered: ClusteredRate | None, per_correct: Interval[Decimal] | None
            ) -> SummaryRow:
    """One arm's figures: intervals over the rows it answered (all samples when repeated)."""
    answered = [c for c in cells if c.record is not None and c.status in ("ok", "reused")]
    spent = [c.record.cost for c in cells if c.record and c.record.cost is not None]
    latencies = [c.record.duration_s for c in answered
                 if c.record and c.record.duration_s is not None]
    pass_rate, passes, tries = alone.pass_rate, alone.passes, alone.rows
    cost_per_correct = alone.cost_per_correct
    if clustered is not None:
        pass_rate, passes, tries = clustered.interval, clustered.passes, clustered.tries
        cost_per_correct = per_correct
    return SummaryRow(
        variant=cells[0].variant, model=cells[0].model, cells=len(cells), answered=len(answered),
        passes=passes if checked else 0, tries=tries if checked else 0,
        pass_rate=pass_rate if checked else None, score=alone.mean_score,
        cost_per_call=alone.cost_per_call,
        cost_per_correct=cost_per_correct if checked else None,
        total_cost=sum(spent, Decimal(0)) + sum((c.retried_cost for c in cells), Decimal(0)),
        latency_s=alone.latency_s, p95_s=percentile(latencies, 0.95),
        judge_cost=sum((c.judge.cost for c in cells if c.judge is not None
                        and c.judge.cost is not None), Decimal(0)),
        check_errors=sum(1 for c in answered if c.check_error))


def summary_records(summary: GridSummary) -> list[dict[str, object]]:
    """One dict per arm for a DataFrame: each figure beside its interval's bounds."""
    out = []
    for row in summary.rows:
        shown: dict[str, object] = {
            "variant": row.variant, "model": row.model, "cells": row.cells,
            "answered": row.answered, "passes": row.passes, "tries": row.tries}
        for name, interval in (("pass_rate", row.pass_rate), ("score", row.score),
                               ("cost_per_call", row.cost_per_call),
                               ("cost_per_correct", row.cost_per_correct),
                               ("latency_s", row.latency_s)):
            shown[name] = interval.estimate if interval else None
            shown[f"{name}_low"] = interval.low if interval else None
            shown[f"{name}_high"] = interval.high if interval else None
        shown.update(total_cost=row.total_cost, judge_cost=row.judge_cost,
                     check_errors=row.check_errors, p95_s=row.p95_s,
                     best=row.best, winner=row.winner)
        out.append(shown)
    return out


def pair_records(summary: GridSummary) -> list[dict[str, object]]:
    """Every pair of arms compared on their shared rows (b − a): McNemar's counts and p-values,
    Holm-adjusted, and the paired gap in pass rate with its interval."""
    if summary.verdict is None:
        return []
    return [{"a": p.a, "b": p.b, "rows": p.rows, "only_a_passed": p.only_a_passed,
             "only_b_passed": p.only_b_passed, "p_value": p.p_value, "p_adjusted": p.p_adjusted,
             "significant": p.significant,
             "pass_rate_gap": p.pass_rate.estimate if p.pass_rate else None,
             "pass_rate_gap_low": p.pass_rate.low if p.pass_rate else None,
             "pass_rate_gap_high": p.pass_rate.high if p.pass_rate else None}
            for p in summary.verdict.pairs]
