"""Which arm is best, and whether the rows can tell.

Arms (variant × model) are compared pairwise on the rows they share: McNemar's exact test on
pass/fail (`paired.py`), its p-values Holm-adjusted over all k(k−1)/2 pairs (a no-op for two
arms), and paired bootstrap differences of pass rate, score, cost and latency from one joint
resampling (their p-values are unadjusted: they describe, the McNemar test decides).

- The best arm has the highest pass rate (ties: the lower cost per correct answer, then the
  first given). It is the winner only when its adjusted p-value against every other arm is
  below α.
- Without a winner: about how many paired rows would detect a `gap` (5 points) at the given
  power (`power.py`), with ψ the largest discordance between the best arm and another, and α
  divided by the number of pairs (Holm's strictest step) when there are more than two arms.
- Cheaper within noise: among the other arms whose pass rate lies inside the best arm's Wilson
  interval and whose McNemar test against it is not significant, the one with the lowest cost
  per correct answer, when that is below the best's.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from itertools import combinations
from typing import cast

from opus_magic.stats.arms import Arm, ArmSummary, Table, align, summarize_arm
from opus_magic.stats.intervals import Interval
from opus_magic.stats.paired import PairedDifference, holm, mcnemar_exact, paired_difference
from opus_magic.stats.power import rows_to_detect
from opus_magic.stats.resample import RESAMPLES, percentile_interval


@dataclass(frozen=True, kw_only=True)
class PairComparison:
    """Arm b against arm a on their paired rows; every difference is b − a."""

    a: str
    b: str
    rows: int
    only_a_passed: int
    only_b_passed: int
    p_value: float
    p_adjusted: float
    significant: bool
    pass_rate: Interval[float] | None
    score: PairedDifference[float] | None
    cost: PairedDifference[Decimal] | None
    latency_s: PairedDifference[float] | None


@dataclass(frozen=True, kw_only=True)
class CheaperArm:
    """An arm as good as the best within noise that costs less per correct answer."""

    arm: str
    best: str
    pass_rate: float
    best_pass_rate: float
    cost_per_correct: Decimal
    best_cost_per_correct: Decimal
    p_adjusted: float

    @property
    def cost_ratio(self) -> float:
        """Its cost per correct answer as a share of the best's (1/18 → 0.056)."""
        return float(self.cost_per_correct / self.best_cost_per_correct)


@dataclass(frozen=True, kw_only=True)
class Verdict:
    """The comparison of all arms: the winner if the rows show one, else what it would take."""

    winner: str | None
    best: str | None
    rows: int
    unpaired_rows: int
    arms: tuple[ArmSummary, ...]
    pairs: tuple[PairComparison, ...]
    rows_to_detect_gap: int | None
    cheaper: CheaperArm | None
    gap: float
    alpha: float
    power: float
    seed: int
    resamples: int

    def arm(self, name: str) -> ArmSummary:
        """The summary of the arm called name (KeyError if there is none)."""
        for summary in self.arms:
            if summary.name == name:
                return summary
        raise KeyError(name)


def compare_arms(arms: Sequence[Arm], *, seed: int = 0, alpha: float = 0.05, gap: float = 0.05,
                 power: float = 0.8, resamples: int = RESAMPLES, level: float = 0.95) -> Verdict:
    """Compare arms pairwise on their shared rows and name a winner only where the rows show one."""
    names = [arm.name for arm in arms]
    if len(set(names)) != len(names):
        raise ValueError(f"arm names must differ: {names}")
    table = align(arms, seed, resamples)
    summaries = tuple(summarize_arm(arm, table, level) for arm in arms)
    tested = [compare_pair(table, a.name, b.name, level) for a, b in combinations(arms, 2)]
    pairs = tuple(replace(pair, p_adjusted=p, significant=p < alpha)
                  for pair, p in zip(tested, holm([pair.p_value for pair in tested])))
    best = pick_best(summaries) if table.keys else None
    against_best = [p for p in pairs if best is not None and best.name in (p.a, p.b)]
    winner = best.name if best and against_best and all(p.significant for p in against_best) else None
    needed = None
    if winner is None and against_best:
        discordance = max((p.only_a_passed + p.only_b_passed) / p.rows for p in against_best)
        needed = rows_to_detect(discordance, gap, alpha / len(pairs), power)
    return Verdict(winner=winner, best=best.name if best else None, rows=len(table.keys),
                   unpaired_rows=table.unpaired_rows, arms=summaries, pairs=pairs,
                   rows_to_detect_gap=needed, cheaper=cheaper_within_noise(best, summaries, pairs),
                   gap=gap, alpha=alpha, power=power, seed=seed, resamples=resamples)


def discordant(table: Table, a: str, b: str) -> tuple[int, int]:
    """(rows only a passed, rows only b passed)."""
    pairs = list(zip(cast("Sequence[float]", table.values[(a, "passed")]),
                     cast("Sequence[float]", table.values[(b, "passed")])))
    return (sum(1 for x, y in pairs if x > y), sum(1 for x, y in pairs if y > x))


def compare_pair(table: Table, a: str, b: str, level: float) -> PairComparison:
    """b against a: McNemar's test, then paired differences of every metric both arms have;
    p_adjusted and significant are filled in once every pair has been tested."""
    n = len(table.keys)
    only_a, only_b = discordant(table, a, b)
    p_value = mcnemar_exact(only_a, only_b)
    pass_rate = None
    if n:
        low, high = percentile_interval(table.draws[(b, "passed")] - table.draws[(a, "passed")],
                                        level)
        pass_rate = Interval((only_b - only_a) / n, low, high, level)

    def difference(metric: str) -> PairedDifference[float] | PairedDifference[Decimal] | None:
        ka, kb = (a, metric), (b, metric)
        if ka not in table.values or kb not in table.values:
            return None
        return paired_difference(table.values[ka], table.values[kb],
                                 table.draws[kb] - table.draws[ka], level)

    return PairComparison(
        a=a, b=b, rows=n, only_a_passed=only_a, only_b_passed=only_b,
        p_value=p_value, p_adjusted=p_value, significant=False, pass_rate=pass_rate,
        score=cast("PairedDifference[float] | None", difference("score")),
        cost=cast("PairedDifference[Decimal] | None", difference("cost")),
        latency_s=cast("PairedDifference[float] | None", difference("latency_s")))


def pick_best(summaries: Sequence[ArmSummary]) -> ArmSummary | None:
    """Most passes; then the lowest cost per correct answer; then the first given."""
    if not summaries:
        return None
    unknown = Decimal("Infinity")
    return min(summaries, key=lambda s: (
        -s.passes, s.cost_per_correct.estimate if s.cost_per_correct else unknown))


def cheaper_within_noise(best: ArmSummary | None, summaries: Sequence[ArmSummary],
                         pairs: Sequence[PairComparison]) -> CheaperArm | None:
    """The arm as good as the best within noise with the lowest cost per correct answer."""
    if best is None or best.pass_rate is None or best.cost_per_correct is None:
        return None
    tests = {p.b if p.a == best.name else p.a: p for p in pairs if best.name in (p.a, p.b)}
    candidates = [s for s in summaries if s.name in tests and not tests[s.name].significant
                  and s.pass_rate is not None and best.pass_rate.contains(s.pass_rate.estimate)
                  and s.cost_per_correct is not None
                  and s.cost_per_correct.estimate < best.cost_per_correct.estimate]
    if not candidates:
        return None
    cheapest = min(candidates, key=lambda s: cast(Interval[Decimal], s.cost_per_correct).estimate)
    return CheaperArm(
        arm=cheapest.name, best=best.name,
        pass_rate=cast(Interval[float], cheapest.pass_rate).estimate,
        best_pass_rate=best.pass_rate.estimate,
        cost_per_correct=cast(Interval[Decimal], cheapest.cost_per_correct).estimate,
        best_cost_per_correct=best.cost_per_correct.estimate,
        p_adjusted=tests[cheapest.name].p_adjusted)
