"""Deciding between arms: a winner only where the rows show one, what it would take otherwise,
cost per correct answer, the cheaper arm within noise, and the edge cases of real grids."""
from __future__ import annotations

import time
from collections.abc import Sequence
from decimal import Decimal

import numpy as np
import pytest

from opus_magic.stats import Arm, RowOutcome, compare_arms, rows_to_detect, wilson


def arm(name: str, passed: Sequence[bool], cost: str | None = None,
        keys: Sequence[int] | None = None) -> Arm:
    rows = keys if keys is not None else range(len(passed))
    return Arm(name, {k: RowOutcome(passed=p, cost=Decimal(cost) if cost else None)
                      for k, p in zip(rows, passed)})


def simulated_pair(seed: int, gap: float, rows: int = 400, base: float = 0.7) -> list[Arm]:
    """Two arms on the same rows; on half the rows both face the same luck (a shared draw)."""
    rng = np.random.default_rng(seed)
    shared = rng.random(rows) < 0.5
    common = rng.random(rows)
    a = np.where(shared, common, rng.random(rows)) < base
    b = np.where(shared, common, rng.random(rows)) < base + gap
    return [arm("a", a.tolist()), arm("b", b.tolist())]


def three_arms() -> list[Arm]:
    """opus passes all 20 rows, haiku rows 0–18, weak rows 0–9."""
    return [arm("opus/full", [True] * 20, "0.018"),
            arm("haiku/terse", [i < 19 for i in range(20)], "0.001"),
            arm("weak", [i < 10 for i in range(20)], "0.002")]


def test_three_arms_by_hand() -> None:
    verdict = compare_arms(three_arms(), seed=1)
    opus_haiku, opus_weak, haiku_weak = verdict.pairs
    assert (opus_haiku.only_a_passed, opus_haiku.only_b_passed) == (1, 0)
    assert (opus_weak.only_a_passed, haiku_weak.only_a_passed) == (10, 9)
    # McNemar: 2·1/2¹ → 1; 2/2¹⁰ = 0.001953125; 2/2⁹ = 0.00390625
    assert [p.p_value for p in verdict.pairs] == [1.0, 2 / 1024, 2 / 512]
    # Holm: 0.001953125·3 = 0.005859375, 0.00390625·2 = 0.0078125, 1·1 = 1
    assert [p.p_adjusted for p in verdict.pairs] == [1.0, 0.005859375, 0.0078125]
    assert [p.significant for p in verdict.pairs] == [False, True, True]
    assert opus_weak.pass_rate is not None and opus_weak.pass_rate.estimate == -0.5
    assert (verdict.best, verdict.winner, verdict.rows, verdict.unpaired_rows) == (
        "opus/full", None, 20, 0)
    # ψ = max(1/20, 10/20) = 0.5 against the best; α = 0.05/3 pairs:
    # (2.39398·√0.5 + 0.841621·√0.4975)² / 0.0025 = 2.286445² / 0.0025 = 2091.1 → 2092
    assert verdict.rows_to_detect_gap == rows_to_detect(0.5, 0.05, 0.05 / 3) == 2092


def test_cost_per_correct_answer_and_the_cheaper_arm_within_noise() -> None:
    verdict = compare_arms(three_arms(), seed=1)
    opus, haiku = verdict.arm("opus/full"), verdict.arm("haiku/terse")
    assert opus.cost_per_call is not None and opus.cost_per_call.estimate == Decimal("0.018")
    assert opus.cost_per_correct is not None and haiku.cost_per_correct is not None
    # 20 × $0.018 / 20 passes; every resample is the same
    assert (opus.cost_per_correct.low, opus.cost_per_correct.high) == (Decimal("0.018"),) * 2
    # 20 × $0.001 / 19 passes = $0.001052631578… → to the nano-dollar
    assert haiku.cost_per_correct.estimate == Decimal("0.001052632")
    assert haiku.total_cost == Decimal("0.020")
    cheaper = verdict.cheaper
    assert cheaper is not None
    assert (cheaper.arm, cheaper.best, cheaper.pass_rate, cheaper.best_pass_rate) == (
        "haiku/terse", "opus/full", 0.95, 1.0)
    # 0.95 lies inside opus's Wilson interval for 20/20 (0.839–1) and McNemar says p = 1
    assert wilson(20, 20).contains(0.95)  # type: ignore[union-attr]
    assert cheaper.p_adjusted == 1.0
    assert cheaper.cost_per_correct == Decimal("0.001052632")
    assert 1 / cheaper.cost_ratio == pytest.approx(0.018 / 0.001052632)  # ≈ 1/17 the cost


def test_paired_differences_of_cost_stay_in_dollars() -> None:
    verdict = compare_arms(three_arms(), seed=1)
    cost = verdict.pairs[0].cost
    assert cost is not None
    assert cost.difference.estimate == Decimal("-0.017")  # $0.001 − $0.018 on every row
    assert isinstance(cost.difference.low, Decimal) and cost.rows == 20
    assert verdict.pairs[0].score is None and verdict.pairs[0].latency_s is None


def test_identical_arms_rarely_produce_a_winner() -> None:
    """Same pass rate, 50 seeded repeats of 400 rows: a winner in at most 5 % of them plus one
    standard deviation of the count (2.5 + √(50·0.05·0.95) = 4.0); 3 of these 50 name one."""
    # pass/fail is decided by McNemar's test alone: few resamples leave the verdict as it is
    winners = [compare_arms(simulated_pair(seed, gap=0.0), seed=seed, resamples=200).winner
               for seed in range(50)]
    assert sum(w is not None for w in winners) <= 4


def test_the_false_positive_rate_stays_at_five_percent_over_many_repeats() -> None:
    """400 repeats of 100 rows: at most 20 + √(400·0.05·0.95) = 24.4 winners (15 here)."""
    winners = [compare_arms(simulated_pair(seed, gap=0.0, rows=100), seed=seed,
                            resamples=200).winner for seed in range(400)]
    assert sum(w is not None for w in winners) <= 24


def test_a_real_ten_point_gap_on_400_rows_is_named() -> None:
    verdicts = [compare_arms(simulated_pair(seed, gap=0.10), seed=seed, resamples=200)
                for seed in range(50)]
    assert sum(v.winner == "b" for v in verdicts) >= 45
    assert all(v.winner in ("b", None) for v in verdicts)
    assert all(v.rows_to_detect_gap is None for v in verdicts if v.winner)


def test_more_arms_need_stronger_evidence() -> None:
    """Holm: the same two arms beside a third (a copy of a) face a stricter threshold."""
    pair = simulated_pair(3, gap=0.10)
    two = compare_arms(pair)
    three = compare_arms([*pair, Arm("c", pair[0].rows)])
    assert three.pairs[0].p_value == two.pairs[0].p_value == two.pairs[0].p_adjusted
    # a–b and c–b are the smaller two of three p-values: a–b's is multiplied by 3 (or 2)
    assert three.pairs[0].p_adjusted >= 2 * two.pairs[0].p_value


def test_identical_arms_have_no_discordance_and_no_winner() -> None:
    everything = compare_arms([arm("a", [True] * 30, "0.01"), arm("b", [True] * 30, "0.02")])
    assert everything.pairs[0].p_value == 1.0 and everything.winner is None
    assert everything.best == "a"  # equal passes: the cheaper per correct answer
    assert everything.rows_to_detect_gap == 155  # ψ = 0 floored at the 5-point gap
    assert everything.cheaper is None
    nothing = compare_arms([arm("a", [False] * 30, "0.01"), arm("b", [False] * 30, "0.02")])
    assert nothing.winner is None and nothing.cheaper is None
    assert nothing.arm("a").cost_per_correct is None  # no correct answer to divide by
    assert nothing.arm("a").pass_rate.high == pytest.approx(0.1135, abs=1e-4)  # type: ignore[union-attr]


def test_one_arm_and_no_arm_name_no_winner() -> None:
    alone = compare_arms([arm("a", [True, False, True])])
    assert (alone.winner, alone.best, alone.pairs, alone.rows_to_detect_gap) == (None, "a", (), None)
    empty = compare_arms([])
    assert (empty.winner, empty.best, empty.rows, empty.arms) == (None, None, 0, ())


def test_only_rows_every_arm_has_are_paired_and_the_rest_are_counted() -> None:
    verdict = compare_arms([arm("a", [True, True, False, True], keys=[1, 2, 3, 4]),
                            arm("b", [False, True, True], keys=[2, 3, 5])])
    assert (verdict.rows, verdict.unpaired_rows) == (2, 3)  # rows 2 and 3 paired; 1, 4, 5 not
    assert [(s.rows, s.left_out) for s in verdict.arms] == [(2, 2), (2, 1)]
    assert (verdict.pairs[0].only_a_passed, verdict.pairs[0].only_b_passed) == (1, 1)
    apart = compare_arms([arm("a", [True], keys=[1]), arm("b", [True], keys=[2])])
    assert (apart.rows, apart.unpaired_rows, apart.winner, apart.best) == (0, 2, None, None)
    assert apart.arms[0].pass_rate is None and apart.rows_to_detect_gap is None


def test_a_metric_some_row_lacks_is_not_summarised() -> None:
    partial = Arm("a", {0: RowOutcome(passed=True, latency_s=1.0), 1: RowOutcome(passed=False)})
    verdict = compare_arms([partial])
    assert verdict.arms[0].latency_s is None and verdict.arms[0].cost_per_call is None


def test_arm_names_must_differ() -> None:
    with pytest.raises(ValueError):
        compare_arms([arm("a", [True]), arm("a", [False])])


def test_the_same_seed_gives_the_same_verdict() -> None:
    arms = simulated_pair(5, gap=0.05)
    assert compare_arms(arms, seed=9) == compare_arms(arms, seed=9)


def test_ten_thousand_cells_are_summarised_well_under_a_second() -> None:
    rng = np.random.default_rng(0)
    arms = [Arm(f"variant {j}", {i: RowOutcome(passed=bool(rng.random() < 0.7),
                                               score=float(rng.random()),
                                               cost=Decimal("0.0012"),
                                               latency_s=float(rng.random()))
                                 for i in range(2500)}) for j in range(4)]
    timings = []
    for _ in range(2):
        start = time.perf_counter()
        verdict = compare_arms(arms)
        timings.append(time.perf_counter() - start)
    assert verdict.rows == 2500 and len(verdict.pairs) == 6
    assert min(timings) < 1.0
