"""Statistics, pure parts: hand-worked intervals and tests, agreement with statsmodels and scipy,
and the coverage a seeded bootstrap promises on simulated data."""
from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal

import numpy as np
import pytest
from scipy import stats as scipy_stats
from statsmodels.stats.proportion import proportion_confint

from opus_magic.stats import bootstrap_mean, wilson, wilson_clustered


@pytest.mark.parametrize("k, n, low, high", [
    # p = 1, z²/n = 3.8416/5 = 0.76832: centre (1 + 0.38416)/1.76832 = 0.782755,
    # half 1.96·√(3.8416/100)/1.76832 = 0.38416/1.76832 = 0.217245 → 1/1.76832 = 0.565508–1
    (5, 5, 0.565508, 1.0),
    # p = 0.85, z²/n = 0.19208: centre 0.94604/1.19208 = 0.793604,
    # half 1.96·√(0.006375 + 0.0024010)/1.19208 = 0.154028 → 0.639577–0.947632
    (17, 20, 0.639577, 0.947632),
    # p = 0, z²/n = 0.38416: centre 0.19208/1.38416 = 0.138770 = half → 0–0.277540
    (0, 10, 0.0, 0.277540),
])
def test_wilson_by_hand(k: int, n: int, low: float, high: float) -> None:
    interval = wilson(k, n)
    assert interval is not None
    assert (interval.estimate, interval.level) == (k / n, 0.95)
    assert interval.low == pytest.approx(low, abs=1e-6)
    assert interval.high == pytest.approx(high, abs=1e-6)


@pytest.mark.parametrize("k, n", [(0, 1), (1, 1), (3, 7), (17, 20), (850, 1000), (0, 400),
                                  (400, 400), (1, 10_000)])
def test_wilson_agrees_with_statsmodels(k: int, n: int) -> None:
    interval = wilson(k, n)
    assert interval is not None
    low, high = proportion_confint(k, n, alpha=0.05, method="wilson")
    assert (interval.low, interval.high) == pytest.approx((low, high), abs=1e-4)  # z 1.96 vs 1.95996
    assert wilson(k, n, z=2.5758).high == pytest.approx(
        proportion_confint(k, n, alpha=0.01, method="wilson")[1], abs=1e-4)


def test_wilson_without_tries_is_none_and_impossible_counts_are_refused() -> None:
    assert wilson(0, 0) is None
    with pytest.raises(ValueError):
        wilson(6, 5)


def test_clustered_rows_that_always_agree_count_once() -> None:
    # p = 0.6; Σ(k − 6)² = 16 + 36 + 16 + 36 + 16 = 120; M·p(1−p) = 50·0.24 = 12 → deff 10
    rate = wilson_clustered([10, 0, 10, 0, 10], [10] * 5)
    assert rate is not None
    assert (rate.design_effect, rate.effective_tries, rate.intra_row_correlation) == (10, 5, 1)
    assert rate.interval == wilson(3, 5)


def test_clustered_without_repeats_or_disagreement_is_plain_wilson() -> None:
    single = wilson_clustered([1, 0, 1, 1], [1, 1, 1, 1])
    assert single is not None and single.interval == wilson(3, 4)
    assert single.intra_row_correlation is None
    # every try passed: nothing to estimate the correlation from, deff 1 (the limit)
    assert wilson_clustered([3, 3], [3, 3]).interval == wilson(6, 6)  # type: ignore[union-attr]


def test_clustered_edge_cases() -> None:
    assert wilson_clustered([], []) is None
    assert wilson_clustered([0], [0]) is None
    one_row = wilson_clustered([7], [10])  # one row says nothing of other rows: it counts once
    assert one_row is not None and one_row.effective_tries == 1
    with pytest.raises(ValueError):
        wilson_clustered([1, 2], [3])


def test_clustered_interval_keeps_its_coverage_where_plain_wilson_loses_it() -> None:
    """40 rows × 5 repeats, each row's own pass rate from Beta(½, ½) (true rate 0.5)."""
    covered = {"clustered": 0, "plain": 0}
    for seed in range(200):
        rng = np.random.default_rng(seed)
        passes = rng.binomial(5, rng.beta(0.5, 0.5, 40))
        clustered = wilson_clustered(passes.tolist(), [5] * 40)
        assert clustered is not None
        covered["clustered"] += clustered.interval.contains(0.5)
        covered["plain"] += wilson(int(passes.sum()), 200).contains(0.5)  # type: ignore[union-attr]
    assert covered["clustered"] >= 0.9 * 200
    assert covered["plain"] <= 0.85 * 200


def test_bootstrap_mean_is_reproducible_and_agrees_with_scipy() -> None:
    values = np.random.default_rng(3).exponential(2.0, 80).tolist()
    interval = bootstrap_mean(values, seed=11)
    assert interval is not None and interval == bootstrap_mean(values, seed=11)
    assert interval != bootstrap_mean(values, seed=12)
    assert interval.estimate == pytest.approx(sum(values) / 80)
    theirs = scipy_stats.bootstrap((values,), np.mean, method="percentile", n_resamples=2000,
                                   random_state=np.random.default_rng(11)).confidence_interval
    width = interval.high - interval.low
    assert abs(interval.low - theirs.low) < 0.1 * width  # Monte Carlo noise of 2,000 resamples
    assert abs(interval.high - theirs.high) < 0.1 * width


def test_bootstrap_mean_covers_the_true_mean_at_about_the_nominal_rate() -> None:
    covered = sum(
        bootstrap_mean(np.random.default_rng(1000 + s).exponential(2.0, 60).tolist(),
                       seed=s).contains(2.0)  # type: ignore[union-attr]
        for s in range(200))
    assert 0.88 * 200 <= covered <= 0.99 * 200  # percentile intervals run a little narrow


def test_bootstrap_mean_of_dollars_is_dollars() -> None:
    costs = [Decimal("0.001"), Decimal("0.002"), Decimal("0.0035")]
    interval = bootstrap_mean(costs, seed=1)
    assert interval is not None
    assert interval.estimate == Decimal("0.002166667")  # 0.0065/3 to the nano-dollar
    assert all(isinstance(v, Decimal) and v.as_tuple().exponent == -9
               for v in (interval.estimate, interval.low, interval.high))
    assert (interval.low, interval.high) == (Decimal("0.001"), Decimal("0.0035"))
    assert bootstrap_mean([], seed=1) is None
    assert bootstrap_mean([4.0], seed=1) == bootstrap_mean([4.0, 4.0], seed=2)


def test_importing_stats_loads_neither_numpy_nor_notebook_code() -> None:
    code = ("import json, sys, opus_magic.stats; print(json.dumps(sorted(m for m in sys.modules "
            "if m.split('.')[0] in ('numpy', 'IPython', 'ipywidgets'))))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout) == []
