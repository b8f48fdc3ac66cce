"""Arms to compare, aligned on the rows they share, and what each arm did on them.

An arm is one way of answering (a variant × model); it maps row keys to row outcomes. Arms are
compared on the rows every arm has: a row some arm lacks cannot be paired and is left out, and
the number left out is reported. Every column of every arm is resampled in one seeded draw of
rows (`resample.py`), so all intervals and paired differences come from the same resamples.

Per arm, over the paired rows:
- pass rate: Wilson interval of passes / rows (`intervals.py`);
- mean score, latency and cost per call: means with percentile-bootstrap intervals;
- cost per correct answer = Σ cost / passes (what one right answer costs, failures included),
  its interval the same ratio in each resample, +∞ where a resample has no pass; None when no
  row passed.
A metric is summarised for an arm only when every one of its paired rows has a value.
"""
from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, cast

from opus_magic.stats.intervals import Interval, mean_interval, wilson
from opus_magic.stats.money import NANO, to_money
from opus_magic.stats.resample import percentile_interval, ratio_draws, resampled_means

if TYPE_CHECKING:
    import numpy as np

METRICS = ("score", "cost", "latency_s")


@dataclass(frozen=True, kw_only=True)
class RowOutcome:
    """One row of one arm: whether it passed its checks, and what it scored, cost and took."""

    passed: bool
    score: float | None = None
    cost: Decimal | None = None
    latency_s: float | None = None


@dataclass(frozen=True)
class Arm:
    """One variant × model: its outcome on each row key."""

    name: str
    rows: Mapping[Hashable, RowOutcome]


@dataclass(frozen=True, kw_only=True)
class ArmSummary:
    """One arm over the paired rows: pass rate, score, latency and cost, each with an interval."""

    name: str
    rows: int
    passes: int
    left_out: int
    pass_rate: Interval[float] | None
    mean_score: Interval[float] | None
    latency_s: Interval[float] | None
    cost_per_call: Interval[Decimal] | None
    cost_per_correct: Interval[Decimal] | None
    total_cost: Decimal | None


@dataclass(frozen=True, kw_only=True)
class Table:
    """The paired rows of every arm as columns, and their joint resampled means."""

    keys: tuple[Hashable, ...]
    unpaired_rows: int
    values: Mapping[tuple[str, str], Sequence[float] | Sequence[Decimal]]
    draws: Mapping[tuple[str, str], np.ndarray]


def align(arms: Sequence[Arm], seed: int, resamples: int) -> Table:
    """The rows every arm has (in the first arm's order) as columns, resampled jointly."""
    first = list(arms[0].rows) if arms else []
    keys = tuple(k for k in first if all(k in arm.rows for arm in arms[1:]))
    union = set().union(*(arm.rows.keys() for arm in arms)) if arms else set()
    values: dict[tuple[str, str], Sequence[float] | Sequence[Decimal]] = {}
    for arm in arms:
        outcomes = [arm.rows[k] for k in keys]
        values[(arm.name, "passed")] = [1.0 if o.passed else 0.0 for o in outcomes]
        for metric in METRICS:
            column = [getattr(o, metric) for o in outcomes]
            if keys and all(v is not None for v in column):
                values[(arm.name, metric)] = column
    draws: dict[tuple[str, str], np.ndarray] = {}
    if keys:
        means = resampled_means([[float(v) for v in c] for c in values.values()], seed, resamples)
        draws = {name: means[:, j] for j, name in enumerate(values)}
    return Table(keys=keys, unpaired_rows=len(union) - len(keys), values=values, draws=draws)


def summarize_arm(arm: Arm, table: Table, level: float) -> ArmSummary:
    """The arm's pass rate, score, latency and costs over the table's rows."""
    n = len(table.keys)
    passes = round(sum(table.values[(arm.name, "passed")]))
    costs = cast("Sequence[Decimal] | None", table.values.get((arm.name, "cost")))
    total = sum(costs, Decimal(0)) if costs is not None else None
    return ArmSummary(
        name=arm.name, rows=n, passes=passes, left_out=len(arm.rows) - n,
        pass_rate=wilson(passes, n),
        mean_score=cast("Interval[float] | None", column_mean(table, arm.name, "score", level)),
        latency_s=cast("Interval[float] | None", column_mean(table, arm.name, "latency_s", level)),
        cost_per_call=cast("Interval[Decimal] | None", column_mean(table, arm.name, "cost", level)),
        cost_per_correct=per_correct(arm.name, table, total, passes, level),
        total_cost=total)


def column_mean(table: Table, name: str, metric: str, level: float
                ) -> Interval[float] | Interval[Decimal] | None:
    """An arm's mean of one metric with its interval; None when the arm lacks the metric."""
    key = (name, metric)
    if key not in table.values:
        return None
    return mean_interval(table.values[key], table.draws[key], level)


def per_correct(name: str, table: Table, total: Decimal | None, passes: int,
                level: float) -> Interval[Decimal] | None:
    """Σ cost / passes with the interval of the same ratio over the resamples."""
    if total is None or passes == 0:
        return None
    draws = ratio_draws(table.draws[(name, "cost")], table.draws[(name, "passed")])
    low, high = percentile_interval(draws, level)
    return Interval((total / passes).quantize(NANO), to_money(low), to_money(high), level)
