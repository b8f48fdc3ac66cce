"""What one way of answering saves against another on the same rows, with an interval.

saving = 1 − Σ cost_a / Σ cost_b over the paired rows (a cascade against the last model alone:
0.71 means it pays 29 % of what the last model would). The interval is the percentile interval
of the same statistic over seeded joint resamples of the rows (`resample.py`): both columns are
drawn together, so a row's two costs stay paired. A resample whose Σ cost_b is 0 has no ratio
and counts as −∞ (saving nothing can be measured against nothing).
"""
from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from opus_magic.stats.intervals import Interval
from opus_magic.stats.resample import RESAMPLES, percentile_interval, ratio_draws, resampled_means


def saving(costs: Sequence[Decimal], against: Sequence[Decimal], seed: int,
           resamples: int = RESAMPLES, level: float = 0.95) -> Interval[float] | None:
    """1 − Σ costs / Σ against with a seeded bootstrap interval; None without rows or when
    `against` sums to 0."""
    if len(costs) != len(against):
        raise ValueError("one cost on each side per row")
    total = sum(against, Decimal(0))
    if not costs or total <= 0:
        return None
    estimate = float(1 - sum(costs, Decimal(0)) / total)
    draws = resampled_means([[float(c) for c in costs], [float(c) for c in against]], seed,
                            resamples)
    low, high = percentile_interval(1 - ratio_draws(draws[:, 0], draws[:, 1]), level)
    return Interval(estimate, low, high, level)
