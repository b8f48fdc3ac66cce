"""Intervals around a pass rate and around a mean.

- Wilson score interval for k passes in n tries, p = k/n, z = 1.96 for 95 %:
  centre = (p + z²/2n) / (1 + z²/n), half-width = z·√(p(1−p)/n + z²/4n²) / (1 + z²/n).
  5/5 → 56.6–100 %; unlike p ± z·√(p(1−p)/n) it never collapses to a point at 0 or 100 %.
- Clustered by row (`--repeat N`: row i tried m_i times, passing k_i; M = Σm_i, p = Σk_i/M):
  the tries of one row are not independent, so Wilson uses the effective number of tries
  n_eff = M / deff with the design effect of the ratio estimator,
  deff = Σ_i (k_i − p·m_i)² / (M·p(1−p))   (≈ 1 + (m − 1)·ICC for equal m),
  floored at 1 (repeats never count as more than independent tries). deff = 1 when p is 0 or
  1 (the limit as the last disagreeing try vanishes); with a single row deff = M (the row
  counts once). Chosen over a cluster bootstrap because it is closed-form and seedless, costs
  O(rows), equals plain Wilson when repeats are independent (deff ≈ 1) and counts rows once when
  repeats always agree (deff = m), and keeps Wilson's sense at 0 and 100 %, where a bootstrap
  over rows that all pass returns the point [1, 1].
- Bootstrap mean: the estimate is the sample mean; the interval is the percentile interval of
  seeded resampled means (`resample.py`). Decimal dollars in, Decimal dollars out.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from statistics import NormalDist
from typing import TYPE_CHECKING, Generic, TypeVar, cast, overload

from opus_magic.stats.money import exact_mean, is_money, to_money
from opus_magic.stats.resample import RESAMPLES, percentile_interval, resampled_means

if TYPE_CHECKING:
    import numpy as np

T = TypeVar("T", float, Decimal)


@dataclass(frozen=True)
class Interval(Generic[T]):
    """A point estimate and the range that holds the true value at confidence `level`."""

    estimate: T
    low: T
    high: T
    level: float = 0.95

    def contains(self, value: T) -> bool:
        """Whether value lies within [low, high]."""
        return self.low <= value <= self.high


def confidence_of(z: float) -> float:
    """The two-sided confidence level of a normal quantile (1.96 → 0.95)."""
    return round(2 * NormalDist().cdf(z) - 1, 4)


def wilson_bounds(p: float, n: float, z: float) -> tuple[float, float]:
    """The Wilson interval of proportion p over n (possibly fractional) tries, n > 0."""
    z2n = z * z / n
    centre = (p + z2n / 2) / (1 + z2n)
    half = z * math.sqrt(p * (1 - p) / n + z2n / (4 * n)) / (1 + z2n)
    return max(0.0, centre - half), min(1.0, centre + half)


def wilson(k: int, n: int, z: float = 1.96) -> Interval[float] | None:
    """The Wilson score interval of k passes in n tries; None when n = 0."""
    if not 0 <= k <= n:
        raise ValueError(f"passes must be between 0 and the tries ({n}), not {k}")
    if n == 0:
        return None
    low, high = wilson_bounds(k / n, n, z)
    return Interval(k / n, low, high, confidence_of(z))


@dataclass(frozen=True, kw_only=True)
class ClusteredRate:
    """A pass rate over rows tried several times each, and how much the repeats were worth."""

    interval: Interval[float]
    rows: int
    tries: int
    passes: int
    design_effect: float
    effective_tries: float

    @property
    def intra_row_correlation(self) -> float | None:
        """ICC implied by the design effect, (deff − 1)/(m̄ − 1); None without repeats."""
        mean_tries = self.tries / self.rows
        return None if mean_tries <= 1 else (self.design_effect - 1) / (mean_tries - 1)


def wilson_clustered(passes: Sequence[int], tries: Sequence[int],
                     z: float = 1.96) -> ClusteredRate | None:
    """Wilson with the design effect of repeats within rows; None when nothing was tried."""
    if len(passes) != len(tries):
        raise ValueError("one pass count per row and one try count per row")
    kept = [(k, m) for k, m in zip(passes, tries) if m > 0]
    total = sum(m for _, m in kept)
    if total == 0:
        return None
    passed = sum(k for k, _ in kept)
    p = passed / total
    deff = design_effect(kept, p, total)
    low, high = wilson_bounds(p, total / deff, z)
    return ClusteredRate(interval=Interval(p, low, high, confidence_of(z)), rows=len(kept),
                         tries=total, passes=passed, design_effect=deff,
                         effective_tries=total / deff)


def design_effect(rows: Sequence[tuple[int, int]], p: float, total: int) -> float:
    """deff of the ratio estimator over (passes, tries) rows, as the module docstring says."""
    if len(rows) == 1:
        return float(total)
    if p in (0.0, 1.0):
        return 1.0
    spread = sum((k - p * m) ** 2 for k, m in rows)
    return max(1.0, spread / (total * p * (1 - p)))


@overload
def bootstrap_mean(values: Sequence[Decimal], seed: int, resamples: int = RESAMPLES,
                   level: float = 0.95) -> Interval[Decimal] | None: ...
@overload
def bootstrap_mean(values: Sequence[float], seed: int, resamples: int = RESAMPLES,
                   level: float = 0.95) -> Interval[float] | None: ...
def bootstrap_mean(values: Sequence[float] | Sequence[Decimal], seed: int,
                   resamples: int = RESAMPLES, level: float = 0.95
                   ) -> Interval[float] | Interval[Decimal] | None:
    """The mean with a seeded percentile-bootstrap interval; Decimal in, Decimal out; None if empty."""
    if not values:
        return None
    draws = resampled_means([[float(v) for v in values]], seed, resamples)[:, 0]
    return mean_interval(values, draws, level)


def mean_interval(values: Sequence[float] | Sequence[Decimal], draws: np.ndarray,
                  level: float) -> Interval[float] | Interval[Decimal]:
    """The mean of values beside the percentile interval of its resampled draws."""
    low, high = percentile_interval(draws, level)
    if is_money(values):
        amounts = cast(Sequence[Decimal], values)
        return Interval(exact_mean(amounts), to_money(low), to_money(high), level)
    numbers = cast(Sequence[float], values)
    return Interval(math.fsum(numbers) / len(numbers), low, high, level)
