"""Seeded resampling of rows, shared by every bootstrap in this package.

A resample draws n of the n rows with replacement (numpy's PCG64 seeded with `seed`). With c_i
the number of times row i was drawn, every column's resampled mean is Σ_i c_i·x_i / n, so one
matrix product serves all columns at once and columns resampled together stay paired: the
same rows are drawn for arm A and arm B, for cost and for passes.

- Percentile interval at `level`: the (1 − level)/2 and (1 + level)/2 quantiles of the B
  resampled statistics (linear interpolation).
- Two-sided p-value of "the true statistic is 0" from B resampled statistics d*:
  p = min(1, 2·min(1 + #{d* ≤ 0}, 1 + #{d* ≥ 0}) / (B + 1)), the smallest α at which the
  percentile interval would leave 0 out (the +1s keep p above 0 with finitely many resamples).

numpy is imported on first use: importing `opus_magic.stats` costs nothing until a bootstrap runs.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

RESAMPLES = 2000
CHUNK_CELLS = 500_000  # rows × resamples drawn per step: counts stay small enough for the cache


def resampled_means(columns: Sequence[Sequence[float]], seed: int,
                    resamples: int = RESAMPLES) -> np.ndarray:
    """The mean of each column (all of one length n > 0) in each of `resamples` seeded
    resamples of the rows, drawn jointly for all columns: shape (resamples, columns)."""
    import numpy as np

    matrix = np.asarray(columns, dtype=np.float64).T
    n = matrix.shape[0]
    rng = np.random.default_rng(seed)
    means = np.empty((resamples, matrix.shape[1]))
    step = max(1, CHUNK_CELLS // n)
    for start in range(0, resamples, step):
        size = min(step, resamples - start)
        drawn = rng.integers(0, n, size=(size, n))
        drawn += (np.arange(size) * n)[:, None]
        counts = np.bincount(drawn.ravel(), minlength=size * n).reshape(size, n)
        means[start:start + size] = counts.astype(np.float64) @ matrix
    means /= n
    return means


def percentile_interval(draws: np.ndarray | Sequence[float], level: float) -> tuple[float, float]:
    """The central `level` range of resampled statistics; +inf where infinities meet."""
    import numpy as np

    with np.errstate(invalid="ignore"):
        low, high = np.quantile(draws, [(1 - level) / 2, (1 + level) / 2])
    # inf − inf in the interpolation is nan: both neighbours were unbounded
    return (float(np.inf if np.isnan(low) else low), float(np.inf if np.isnan(high) else high))


def p_value_of_zero(draws: np.ndarray) -> float:
    """Two-sided bootstrap p-value that the statistic is 0 (formula in the module docstring)."""
    import numpy as np

    below = int(np.count_nonzero(draws <= 0))
    above = int(np.count_nonzero(draws >= 0))
    return min(1.0, 2 * min(1 + below, 1 + above) / (len(draws) + 1))


def ratio_draws(numerators: np.ndarray, denominators: np.ndarray) -> np.ndarray:
    """Resampled ratios, +inf where a resample's denominator is 0."""
    import numpy as np

    safe = np.where(denominators > 0, denominators, 1.0)
    return np.where(denominators > 0, numerators / safe, np.inf)
