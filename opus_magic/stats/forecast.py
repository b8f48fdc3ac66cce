"""What a full run will cost and take, projected from a seeded random sample of its rows.

A sample of n of the dataset's N rows (`sample_rows`: uniform, without replacement, seeded)
was run; each sampled row reports its cost, the seconds its calls took (summed), its number of
calls and tokens. With x̄ the sample mean per row:

- cost = N·x̄_cost (interactive prices), batch = cost·(1 − discount);
- time = max(N·x̄_busy / concurrency, N·x̄_calls / (requests per minute / 60),
  N·x̄_tokens / (tokens per minute / 60)): whichever of the concurrency or a rate limit binds,
  in steady state, without retries;
- intervals: the same formulas on seeded percentile-bootstrap resamples of the sample's rows
  (all columns resampled together), each half-width shrunk by the finite-population
  correction √(1 − n/N), so the interval closes on the exact total when every row was sampled.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Literal

from opus_magic.stats.intervals import Interval
from opus_magic.stats.money import NANO, to_money
from opus_magic.stats.resample import RESAMPLES, percentile_interval, resampled_means

if TYPE_CHECKING:
    import numpy as np

Bound = Literal["concurrency", "requests", "tokens"]


def sample_rows(n_total: int, n: int, seed: int) -> list[int]:
    """n distinct row indices of range(n_total), uniformly at random, sorted; same seed, same rows."""
    import numpy as np

    if n < 0 or n_total < 0:
        raise ValueError(f"row counts cannot be negative: n_total={n_total}, n={n}")
    chosen = np.random.default_rng(seed).choice(n_total, size=min(n, n_total), replace=False)
    return sorted(int(i) for i in chosen)


@dataclass(frozen=True, kw_only=True)
class SampledRow:
    """One sampled row as run: its cost, the seconds its calls took in all, calls and tokens."""

    cost: Decimal
    busy_s: float
    calls: int = 1
    tokens: int = 0


@dataclass(frozen=True, kw_only=True)
class Limits:
    """How fast requests may go: calls in flight at once, and the provider's rate limits."""

    concurrency: int = 1
    requests_per_minute: float | None = None
    tokens_per_minute: float | None = None


@dataclass(frozen=True, kw_only=True)
class Forecast:
    """A full run projected from a sample: cost interactive and batch, calls, and duration."""

    total_rows: int
    sampled_rows: int
    sample_seed: int | None
    seed: int
    cost: Interval[Decimal]
    batch_cost: Interval[Decimal]
    batch_discount: Decimal
    calls: int
    duration_s: Interval[float]
    limited_by: Bound


def forecast(sample: Sequence[SampledRow], *, total_rows: int, limits: Limits = Limits(),
             batch_discount: Decimal = Decimal("0.5"), seed: int = 0,
             sample_seed: int | None = None, resamples: int = RESAMPLES,
             level: float = 0.95) -> Forecast | None:
    """Project a run of total_rows rows from a sample of them; None for an empty sample."""
    if not sample:
        return None
    if limits.concurrency < 1:
        raise ValueError(f"concurrency is at least 1, not {limits.concurrency}")
    if len(sample) > total_rows:
        raise ValueError(f"a sample of {len(sample)} rows cannot come from {total_rows} rows")
    columns = [[float(r.cost) for r in sample], [r.busy_s for r in sample],
               [float(r.calls) for r in sample], [float(r.tokens) for r in sample]]
    draws = resampled_means(columns, seed, resamples)
    shrink = math.sqrt(1 - len(sample) / total_rows)
    cost = cost_interval(sample, total_rows, draws[:, 0], shrink, level)
    times = [seconds(total_rows, row, limits) for row in draws.tolist()]
    means = [math.fsum(column) / len(sample) for column in columns]
    estimate_s, bound = seconds(total_rows, means, limits), limited_by(means, limits)
    low_s, high_s = percentile_interval(times, level)
    return Forecast(
        total_rows=total_rows, sampled_rows=len(sample), sample_seed=sample_seed, seed=seed,
        cost=cost, batch_cost=scaled(cost, Decimal(1) - batch_discount),
        batch_discount=batch_discount, calls=round(total_rows * means[2]),
        duration_s=Interval(estimate_s, estimate_s - (estimate_s - low_s) * shrink,
                            estimate_s + (high_s - estimate_s) * shrink, level),
        limited_by=bound)


def cost_interval(sample: Sequence[SampledRow], total_rows: int, draws: np.ndarray, shrink: float,
                  level: float) -> Interval[Decimal]:
    """N × the sample's mean cost, exact in Decimal, with the corrected bootstrap interval."""
    estimate = (sum((r.cost for r in sample), Decimal(0)) * total_rows / len(sample))
    low, high = percentile_interval(draws, level)
    factor = Decimal(repr(shrink))
    return Interval(estimate.quantize(NANO),
                    (estimate - (estimate - to_money(low * total_rows)) * factor).quantize(NANO),
                    (estimate + (to_money(high * total_rows) - estimate) * factor).quantize(NANO),
                    level)


def scaled(amount: Interval[Decimal], factor: Decimal) -> Interval[Decimal]:
    """Every amount of an interval times factor, to the nano-dollar."""
    return Interval((amount.estimate * factor).quantize(NANO), (amount.low * factor).quantize(NANO),
                    (amount.high * factor).quantize(NANO), amount.level)


def rates(means: Sequence[float], limits: Limits) -> dict[Bound, float]:
    """Seconds per row under each limit that applies, from per-row means (cost, busy, calls, tokens)."""
    _, busy, calls, tokens = means
    per_row: dict[Bound, float] = {"concurrency": busy / limits.concurrency}
    if limits.requests_per_minute:
        per_row["requests"] = calls * 60 / limits.requests_per_minute
    if limits.tokens_per_minute:
        per_row["tokens"] = tokens * 60 / limits.tokens_per_minute
    return per_row


def seconds(total_rows: int, means: Sequence[float], limits: Limits) -> float:
    """How long total_rows rows take when the binding limit sets the pace."""
    return total_rows * max(rates(means, limits).values())


def limited_by(means: Sequence[float], limits: Limits) -> Bound:
    """Which limit sets the pace."""
    per_row = rates(means, limits)
    return max(per_row, key=lambda bound: per_row[bound])
