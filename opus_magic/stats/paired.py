"""Paired comparisons of two arms on the same rows.

- McNemar's exact test on the discordant rows: b = rows A passes and B fails, c = the reverse.
  Under "no difference" each discordant row is a fair coin, so
  p = min(1, 2·BinomCDF(min(b, c); b + c, ½)) = min(1, 2·Σ_{i ≤ min(b,c)} C(b+c, i) / 2^(b+c)),
  summed in exact integers; b + c = 0 gives p = 1. Rows both pass or both fail say nothing.
- Paired bootstrap of mean(B) − mean(A): rows are resampled jointly (one draw serves both arms,
  `resample.py`); the estimate is the observed difference of means, the interval the percentile
  interval of the resampled differences, the p-value the two-sided bootstrap p-value of a zero
  difference. Decimal dollars in, Decimal dollars out.
- Holm–Bonferroni: for m p-values sorted p_(1) ≤ … ≤ p_(m),
  adjusted p_(i) = max_{j ≤ i} min(1, (m − j + 1)·p_(j)), returned in the input order; a
  hypothesis is rejected where adjusted p < α. Holds the family-wise error rate at α under any
  dependence between the tests.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Generic, cast, overload

from opus_magic.stats.intervals import Interval, T
from opus_magic.stats.money import NANO, is_money, to_money
from opus_magic.stats.resample import (
    RESAMPLES,
    p_value_of_zero,
    percentile_interval,
    resampled_means,
)

if TYPE_CHECKING:
    import numpy as np


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value for b rows only A passes and c rows only B passes."""
    if b < 0 or c < 0:
        raise ValueError(f"discordant counts cannot be negative: b={b}, c={c}")
    n = b + c
    if n == 0:
        return 1.0
    term = tail = 1  # C(n, 0)
    for i in range(1, min(b, c) + 1):
        term = term * (n - i + 1) // i
        tail += term
    return min(1.0, 2 * tail / (1 << n))


@dataclass(frozen=True, kw_only=True)
class PairedDifference(Generic[T]):
    """mean(B) − mean(A) over rows both arms have: the interval and a two-sided p-value."""

    difference: Interval[T]
    p_value: float
    rows: int


@overload
def paired_bootstrap(a: Sequence[Decimal], b: Sequence[Decimal], seed: int,
                     resamples: int = RESAMPLES, level: float = 0.95
                     ) -> PairedDifference[Decimal] | None: ...
@overload
def paired_bootstrap(a: Sequence[float], b: Sequence[float], seed: int,
                     resamples: int = RESAMPLES, level: float = 0.95
                     ) -> PairedDifference[float] | None: ...
def paired_bootstrap(a: Sequence[float] | Sequence[Decimal], b: Sequence[float] | Sequence[Decimal],
                     seed: int, resamples: int = RESAMPLES, level: float = 0.95
                     ) -> PairedDifference[float] | PairedDifference[Decimal] | None:
    """Seeded paired bootstrap of mean(b) − mean(a), a[i] and b[i] from the same row; None if empty."""
    if len(a) != len(b):
        raise ValueError(f"paired values need one value per row in each arm: {len(a)} ≠ {len(b)}")
    if not a:
        return None
    means = resampled_means([[float(v) for v in a], [float(v) for v in b]], seed, resamples)
    return paired_difference(a, b, means[:, 1] - means[:, 0], level)


def paired_difference(a: Sequence[float] | Sequence[Decimal], b: Sequence[float] | Sequence[Decimal],
                      draws: np.ndarray, level: float
                      ) -> PairedDifference[float] | PairedDifference[Decimal]:
    """The observed mean(b) − mean(a) beside the interval and p-value of its resampled draws."""
    low, high = percentile_interval(draws, level)
    p_value = p_value_of_zero(draws)
    if is_money(a):
        total_a = sum(cast(Sequence[Decimal], a), Decimal(0))
        total_b = sum(cast(Sequence[Decimal], b), Decimal(0))
        estimate = ((total_b - total_a) / len(a)).quantize(NANO)
        return PairedDifference(difference=Interval(estimate, to_money(low), to_money(high), level),
                                p_value=p_value, rows=len(a))
    floats_a, floats_b = cast(Sequence[float], a), cast(Sequence[float], b)
    estimate_f = (math.fsum(floats_b) - math.fsum(floats_a)) / len(a)
    return PairedDifference(difference=Interval(estimate_f, low, high, level),
                            p_value=p_value, rows=len(a))


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm–Bonferroni adjusted p-values, in the order given."""
    m = len(pvalues)
    adjusted = [0.0] * m
    running = 0.0
    for rank, index in enumerate(sorted(range(m), key=lambda i: pvalues[i])):
        running = max(running, min(1.0, (m - rank) * pvalues[index]))
        adjusted[index] = running
    return adjusted
