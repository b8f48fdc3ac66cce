"""A grid's cells as the arms the statistics compare: one arm per variant × model, its outcome
on each row it answered.

A cell counts once it answered (`ok` or `reused`) and its checks ran without failing
themselves. With repeats (`--repeat N`) a row's samples are averaged for pairing: it passes
when at least half its samples passed, its cost, latency and score are their means; the arm's
pass rate over every sample comes from Wilson clustered by row (`stats.wilson_clustered`).
A row's score is the mean of its checks' numeric scores (a judge's, a function's float), or
its share of samples passed when it was repeated and no check scores.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from opus_magic.core.grid.checks import errored
from opus_magic.core.grid.summary import CellResult
from opus_magic.stats import Arm, ClusteredRate, Interval, RowOutcome, wilson_clustered
from opus_magic.stats.money import NANO, to_money
from opus_magic.stats.resample import percentile_interval, ratio_draws, resampled_means

ANSWERED = ("ok", "reused")


@dataclass(frozen=True)
class Samples:
    """What one arm's cells did on one row: each sample's pass, cost, latency and score."""

    passed: list[bool]
    costs: list[Decimal]
    latencies: list[float]
    scores: list[float]

    def outcome(self, repeated: bool) -> RowOutcome:
        """The row as one outcome: samples averaged (the median pass) for paired tests."""
        tries = len(self.passed)
        score = (math.fsum(self.scores) / len(self.scores) if self.scores
                 else sum(self.passed) / tries if repeated else None)
        return RowOutcome(
            passed=2 * sum(self.passed) >= tries, score=score,
            cost=(sum(self.costs, Decimal(0)) / len(self.costs)).quantize(NANO)
            if len(self.costs) == tries else None,
            latency_s=math.fsum(self.latencies) / tries if len(self.latencies) == tries else None)


def arm_name(variant: str, model: str) -> str:
    return f"{variant}/{model}"


def scores_of(cell: CellResult) -> list[float]:
    """The numeric scores among a cell's check results (booleans are passes, not scores)."""
    return [float(v) for v in cell.checks.values()
            if not isinstance(v, bool) and isinstance(v, (int, float))]


def row_samples(results: Sequence[CellResult]) -> dict[str, dict[int, Samples]]:
    """Per arm, per row: the samples of the cells that answered and whose checks ran (a grid
    without checks passes nothing: its pass figures are not shown)."""
    arms: dict[str, dict[int, Samples]] = {}
    for cell in results:
        arms.setdefault(arm_name(cell.variant, cell.model), {})
    for cell in results:
        if cell.record is None or cell.status not in ANSWERED:
            continue
        if any(errored(v) for v in cell.checks.values()):
            continue
        rows = arms[arm_name(cell.variant, cell.model)]
        samples = rows.setdefault(cell.row, Samples([], [], [], []))
        samples.passed.append(bool(cell.passed))
        cost = cell.answer_cost  # a reused copy counts as the run it copies
        if cost is not None:
            samples.costs.append(cost)
        if cell.record.duration_s is not None:
            samples.latencies.append(cell.record.duration_s)
        samples.scores.extend(scores_of(cell))
    return arms


def arms_of(results: Sequence[CellResult]) -> list[Arm]:
    """One arm per variant × model (first-seen order), outcomes keyed by row."""
    repeated = any(cell.repeat > 0 for cell in results)
    return [Arm(name, {row: samples.outcome(repeated) for row, samples in rows.items()})
            for name, rows in row_samples(results).items()]


def clustered_rates(results: Sequence[CellResult]) -> dict[str, ClusteredRate | None]:
    """Per arm, the pass rate over every sample with its interval clustered by row."""
    return {name: wilson_clustered([sum(s.passed) for s in rows.values()],
                                   [len(s.passed) for s in rows.values()])
            for name, rows in row_samples(results).items()}


def per_correct_over_samples(rows: dict[int, Samples], seed: int, level: float
                             ) -> Interval[Decimal] | None:
    """Σ cost / Σ passes over every sample, its interval from rows resampled whole."""
    kept = list(rows.values())
    if not kept or any(len(s.costs) != len(s.passed) for s in kept):
        return None
    passes = sum(sum(s.passed) for s in kept)
    if passes == 0:
        return None
    spent = [sum(s.costs, Decimal(0)) for s in kept]
    draws = resampled_means([[float(c) for c in spent], [float(sum(s.passed)) for s in kept]],
                            seed)
    low, high = percentile_interval(ratio_draws(draws[:, 0], draws[:, 1]), level)
    return Interval((sum(spent, Decimal(0)) / passes).quantize(NANO), to_money(low),
                    to_money(high), level)
