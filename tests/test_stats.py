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
from statsmodels.stats.contingency_tables import mcnemar
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportion_confint

from opus_magic.stats import (
    bootstrap_mean,
    holm,
    mcnemar_exact,
    paired_bootstrap,
    rows_to_detect,
    wilson,
    wilson_clustered,
)


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


def test_mcnemar_by_hand() -> None:
    # b + c = 13, min 3: Σ C(13, 0..3) = 1 + 13 + 78 + 286 = 378; 2·378/2¹³ = 0.0922851...
    assert mcnemar_exact(3, 10) == 756 / 8192
    assert mcnemar_exact(10, 3) == 756 / 8192
    assert mcnemar_exact(0, 5) == 2 / 32
    # 2·(1 + 10 + 45 + 120 + 210 + 252)/2¹⁰ = 1.246 → capped at 1
    assert mcnemar_exact(5, 5) == 1.0
    assert mcnemar_exact(0, 0) == 1.0  # no discordant row: no evidence either way
    with pytest.raises(ValueError):
        mcnemar_exact(-1, 2)


@pytest.mark.parametrize("b, c", [(0, 1), (1, 0), (3, 10), (7, 8), (20, 45), (130, 90),
                                  (0, 40), (600, 700)])
def test_mcnemar_agrees_with_statsmodels(b: int, c: int) -> None:
    expected = mcnemar([[50, b], [c, 30]], exact=True).pvalue
    assert mcnemar_exact(b, c) == pytest.approx(expected, rel=1e-9, abs=1e-300)


def test_holm_by_hand_and_as_statsmodels_does() -> None:
    # sorted 0.01·4 = 0.04, 0.03·3 = 0.09, 0.04·2 = 0.08 → 0.09 (monotone), 0.2·1 = 0.2
    pvalues = [0.01, 0.04, 0.03, 0.2]
    assert holm(pvalues) == pytest.approx([0.04, 0.09, 0.09, 0.2])
    for seed in range(5):
        drawn = np.random.default_rng(seed).uniform(0, 0.2, 7).tolist()
        assert holm(drawn) == pytest.approx(multipletests(drawn, method="holm")[1].tolist())
    assert holm([]) == []
    assert holm([0.7, 0.9]) == [1.0, 1.0]


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


def test_paired_bootstrap_by_hand() -> None:
    # every row is 1 more in B: every resample's difference is exactly 1, and p = 2/2001
    same_gap = paired_bootstrap([1.0, 5.0, 2.0, 8.0], [2.0, 6.0, 3.0, 9.0], seed=0)
    assert same_gap is not None
    assert (same_gap.difference.low, same_gap.difference.high) == (1.0, 1.0)
    assert same_gap.p_value == 2 / 2001 and same_gap.rows == 4
    identical = paired_bootstrap([0.2, 0.9, 0.4], [0.2, 0.9, 0.4], seed=0)
    assert identical is not None and identical.p_value == 1.0
    assert (identical.difference.low, identical.difference.high) == (0.0, 0.0)
    assert paired_bootstrap([], [], seed=0) is None
    with pytest.raises(ValueError):
        paired_bootstrap([1.0], [1.0, 2.0], seed=0)


def test_paired_bootstrap_uses_the_pairing_and_agrees_with_scipy() -> None:
    rng = np.random.default_rng(8)
    difficulty = rng.normal(0, 3, 120)  # rows vary far more than the arms differ
    a, b = difficulty + rng.normal(0, 0.5, 120), difficulty + 0.3 + rng.normal(0, 0.5, 120)
    paired = paired_bootstrap(a.tolist(), b.tolist(), seed=4)
    assert paired is not None and paired.p_value < 0.01 and paired.difference.low > 0
    theirs = scipy_stats.bootstrap((a, b), lambda x, y: np.mean(y) - np.mean(x), paired=True,
                                   method="percentile", n_resamples=2000,
                                   random_state=np.random.default_rng(4)).confidence_interval
    width = paired.difference.high - paired.difference.low
    assert abs(paired.difference.low - theirs.low) < 0.1 * width
    assert abs(paired.difference.high - theirs.high) < 0.1 * width
    unpaired = bootstrap_mean(b.tolist(), seed=4)
    assert unpaired is not None and unpaired.high - unpaired.low > 3 * width


def test_paired_bootstrap_of_dollars_is_dollars() -> None:
    a = [Decimal("0.010"), Decimal("0.020"), Decimal("0.030")]
    b = [Decimal("0.001"), Decimal("0.002"), Decimal("0.004")]
    paired = paired_bootstrap(a, b, seed=2)
    assert paired is not None
    assert paired.difference.estimate == Decimal("-0.017666667")  # (0.007 − 0.060)/3
    assert isinstance(paired.difference.low, Decimal) and paired.difference.high < 0


def test_rows_to_detect_by_hand() -> None:
    # (1.959964·√0.2 + 0.841621·√(0.2 − 0.0025))² / 0.05² = 1.250578²/0.0025 = 625.58 → 626
    assert rows_to_detect(0.2) == 626
    # no discordance seen: ψ is floored at the gap, (1.959964·√0.05 + 0.841621·√0.0475)²/0.0025
    assert rows_to_detect(0.0) == rows_to_detect(0.05) == 155
    assert rows_to_detect(0.2, gap=0.10) < rows_to_detect(0.2) < rows_to_detect(0.2, alpha=0.01)
    with pytest.raises(ValueError):
        rows_to_detect(0.2, gap=0)


def test_rows_to_detect_gives_about_the_promised_power() -> None:
    """Simulated paired studies of the size asked for detect the gap about 80 % of the time."""
    rng = np.random.default_rng(21)
    psi, gap = 0.2, 0.05
    n = rows_to_detect(psi, gap)
    discordant = rng.binomial(n, psi, 2000)
    only_b = rng.binomial(discordant, (psi + gap) / (2 * psi))
    detected = sum(mcnemar_exact(int(d - c), int(c)) < 0.05 for d, c in zip(discordant, only_b))
    assert 0.72 * 2000 <= detected <= 0.88 * 2000  # the exact test is a little conservative


def test_importing_stats_loads_neither_numpy_nor_notebook_code() -> None:
    code = ("import json, sys, opus_magic.stats; print(json.dumps(sorted(m for m in sys.modules "
            "if m.split('.')[0] in ('numpy', 'IPython', 'ipywidgets'))))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout) == []
