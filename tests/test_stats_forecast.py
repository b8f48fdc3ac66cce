"""Forecasts: a seeded sample of rows, and the full run's cost and time projected from it."""
from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest

from opus_magic.stats import Limits, SampledRow, forecast, sample_rows

ROWS = 50_000
# a dataset whose full cost is known: per-row costs skewed like real prompts (a few long ones)
COSTS = [Decimal(f"{v:.7f}") for v in np.random.default_rng(5).lognormal(-7, 0.8, ROWS)]
TOTAL = sum(COSTS, Decimal(0))


def sampled(indices: list[int], busy_s: float = 2.0, tokens: int = 0) -> list[SampledRow]:
    return [SampledRow(cost=COSTS[i], busy_s=busy_s, tokens=tokens) for i in indices]


def test_sample_rows_is_seeded_distinct_and_sorted() -> None:
    rows = sample_rows(ROWS, 500, seed=7)
    assert rows == sample_rows(ROWS, 500, seed=7) != sample_rows(ROWS, 500, seed=8)
    assert len(set(rows)) == 500 and rows == sorted(rows)
    assert 0 <= rows[0] and rows[-1] < ROWS
    assert sample_rows(10, 50, seed=1) == list(range(10))  # asking for more takes them all
    assert sample_rows(0, 5, seed=1) == []
    with pytest.raises(ValueError):
        sample_rows(10, -1, seed=1)


def test_the_interval_covers_the_known_full_cost() -> None:
    result = forecast(sampled(sample_rows(ROWS, 500, seed=7)), total_rows=ROWS, sample_seed=7)
    assert result is not None
    assert result.cost.contains(TOTAL)
    assert (result.sampled_rows, result.sample_seed, result.total_rows) == (500, 7, ROWS)
    assert result.cost.low < result.cost.estimate < result.cost.high


def test_the_interval_covers_the_full_cost_at_about_the_nominal_rate() -> None:
    covered = 0
    for seed in range(60):
        result = forecast(sampled(sample_rows(ROWS, 500, seed)), total_rows=ROWS, seed=seed)
        assert result is not None
        covered += result.cost.contains(TOTAL)
    assert covered >= 0.88 * 60


def test_cost_by_hand_and_batch_at_a_discount() -> None:
    rows = [SampledRow(cost=Decimal("0.0008"), busy_s=1.0), SampledRow(cost=Decimal("0.0012"),
                                                                      busy_s=1.0)]
    result = forecast(rows, total_rows=50_000, batch_discount=Decimal("0.5"))
    assert result is not None
    # 50,000 rows × $0.0010 mean = $50; batch at half price $25
    assert result.cost.estimate == Decimal("50")
    assert result.batch_cost.estimate == Decimal("25")
    assert result.batch_cost.low == (result.cost.low * Decimal("0.5")).quantize(Decimal("1e-9"))
    assert result.cost.estimate.as_tuple().exponent == -9


def test_every_row_sampled_is_the_exact_total() -> None:
    small = COSTS[:200]
    result = forecast([SampledRow(cost=c, busy_s=1.0) for c in small], total_rows=200)
    assert result is not None
    exact = sum(small, Decimal(0)).quantize(Decimal("1e-9"))
    assert result.cost.estimate == result.cost.low == result.cost.high == exact


@pytest.mark.parametrize("limits, seconds, bound", [
    # 1,000 rows × 2 s busy / 4 at once = 500 s
    (Limits(concurrency=4), 500.0, "concurrency"),
    # 1,000 calls at 60 a minute = 1,000 s, slower than the 500 s the concurrency allows
    (Limits(concurrency=4, requests_per_minute=60), 1000.0, "requests"),
    # 1,000 rows × 1,000 tokens at 30,000 a minute = 2,000 s
    (Limits(concurrency=4, requests_per_minute=60, tokens_per_minute=30_000), 2000.0, "tokens"),
])
def test_time_is_set_by_the_binding_limit(limits: Limits, seconds: float, bound: str) -> None:
    rows = [SampledRow(cost=Decimal("0.001"), busy_s=2.0, tokens=1000)] * 10
    result = forecast(rows, total_rows=1000, limits=limits)
    assert result is not None
    assert result.duration_s.estimate == pytest.approx(seconds)
    assert (result.duration_s.low, result.duration_s.high) == pytest.approx((seconds, seconds))
    assert (result.limited_by, result.calls) == (bound, 1000)


def test_time_interval_follows_the_sample_latencies() -> None:
    busy = np.random.default_rng(2).uniform(1, 5, 300)
    rows = [SampledRow(cost=Decimal("0.001"), busy_s=float(b)) for b in busy]
    result = forecast(rows, total_rows=50_000, limits=Limits(concurrency=10), seed=3)
    assert result is not None
    assert result.duration_s.estimate == pytest.approx(50_000 * busy.mean() / 10)
    assert result.duration_s.low < result.duration_s.estimate < result.duration_s.high
    assert result == forecast(rows, total_rows=50_000, limits=Limits(concurrency=10), seed=3)


def test_edge_cases() -> None:
    assert forecast([], total_rows=100) is None
    with pytest.raises(ValueError):
        forecast([SampledRow(cost=Decimal(1), busy_s=1.0)] * 3, total_rows=2)
    with pytest.raises(ValueError):
        forecast([SampledRow(cost=Decimal(1), busy_s=1.0)], total_rows=2,
                 limits=Limits(concurrency=0))
