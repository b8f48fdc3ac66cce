"""A cascade against its last model alone, over the rows the cascade settled: cost per row and
per correct answer with seeded bootstrap intervals, pass rates with Wilson intervals, McNemar's
test on the paired rows, and the saving (1 − Σ cascade / Σ alone) with its interval.

Without the comparison the last model's pass rate is unknown and its cost is estimated (its
prices × each row's pre-flight input and answer length): the saving is then labelled an estimate.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from opus_magic.core.cascade import alone as alone_costs
from opus_magic.core.cascade.policy import Attempt, RowPath, settled_shares
from opus_magic.core.cascade.run import CascadeRun
from opus_magic.stats import Arm, ArmSummary, Interval, RowOutcome, compare_arms, saving
from opus_magic.stats.intervals import bootstrap_mean

ALPHA = 0.05  # McNemar's test decides a difference in quality below this p-value
SEED = 0  # every interval of a cascade's summary comes from resamples seeded with it
CASCADE = "cascade"


@dataclass(frozen=True, kw_only=True)
class Side:
    """One way of answering over the compared rows."""

    name: str
    rows: int
    passes: int | None  # None: not measured (the last model without --compare)
    pass_rate: Interval[float] | None
    cost_per_row: Interval[Decimal] | None
    cost_per_correct: Interval[Decimal] | None
    total: Decimal | None
    estimated: bool = False


@dataclass(frozen=True, kw_only=True)
class CascadeSummary:
    """What the cascade did, cost and kept of the last model's quality."""

    stages: tuple[str, ...]
    rows: int
    settled: tuple[int, ...]  # rows settled at each stage
    unsettled: tuple[tuple[int, str], ...]  # (row, why)
    cascade: Side
    alone: Side
    saving: Interval[float] | None
    p_value: float | None  # McNemar, cascade against the last model alone (with --compare)
    worse_rows: tuple[int, ...]  # the last model alone passed, the cascade did not
    better_rows: tuple[int, ...]

    @property
    def measured(self) -> bool:
        return self.alone.passes is not None

    @property
    def keeps_quality(self) -> bool | None:
        """The cascade's pass rate is not below the last model's interval and McNemar's test
        finds no difference against it; None without the comparison."""
        if not self.measured or self.cascade.pass_rate is None or self.alone.pass_rate is None:
            return None
        worse = self.cascade.pass_rate.estimate < self.alone.pass_rate.estimate
        significant = self.p_value is not None and self.p_value < ALPHA
        return (self.cascade.pass_rate.estimate >= self.alone.pass_rate.low
                and not (worse and significant))

    @property
    def above(self) -> bool:
        """The cascade's pass rate lies above the last model's interval."""
        rates = self.cascade.pass_rate, self.alone.pass_rate
        return rates[0] is not None and rates[1] is not None and rates[0].estimate > rates[1].high


Estimator = Callable[[RowPath], "Decimal | None"]  # the last model alone on a row it did not answer


def summarize(stages: Sequence[str], paths: Sequence[RowPath], alone: dict[int, Attempt],
              compared: bool, estimate: Estimator) -> CascadeSummary:
    """The summary over the rows the cascade settled (and, when `compared`, the last model alone
    answered too); the last model alone is estimated where it did not answer."""
    last = stages[-1]
    rows = [p for p in paths if p.settled_at is not None and (not compared or p.row in alone)]
    alone_cost = {p.row: ((alone[p.row].cost, False) if p.row in alone else (estimate(p), True))
                  for p in rows}
    cascade_arm = Arm(CASCADE, {p.row: RowOutcome(passed=bool(p.passed), cost=p.cost)
                                for p in rows})
    arms = [cascade_arm]
    if compared:
        arms.append(Arm(last, {p.row: RowOutcome(passed=bool(alone[p.row].passed),
                                                 cost=alone[p.row].cost) for p in rows}))
    verdict = compare_arms(arms, seed=SEED)
    cascade = _side(verdict.arm(CASCADE))
    if len(arms) == 2:
        side, pair = _side(verdict.arm(last)), verdict.pairs[0]
        p_value = pair.p_value
        worse = tuple(p.row for p in rows if alone[p.row].passed and not p.passed)
        better = tuple(p.row for p in rows if p.passed and not alone[p.row].passed)
    else:
        side, p_value, worse, better = _estimated_side(last, alone_cost), None, (), ()
    pairs = [(p.cost, alone_cost[p.row][0]) for p in rows]
    known = [(cost, other) for cost, other in pairs if cost is not None and other is not None]
    kept = (saving([c for c, _ in known], [o for _, o in known], SEED)
            if len(known) == len(pairs) else None)
    return CascadeSummary(
        stages=tuple(stages), rows=len(paths),
        settled=tuple(settled_shares(paths, len(stages))),
        unsettled=tuple((p.row, p.unsettled) for p in paths if p.unsettled is not None),
        cascade=cascade, alone=side, saving=kept, p_value=p_value, worse_rows=worse,
        better_rows=better)


def of_run(run: CascadeRun) -> CascadeSummary:
    """A cascade run's summary, the last model alone estimated at the price its stages paid
    (interactively, or as batches)."""
    def estimate(path: RowPath) -> Decimal | None:
        return alone_costs.estimate(run.last_plans.get(path.row),
                                    alone_costs.answer_tokens(path), run.price_mode)

    return summarize(run.stages, run.paths, run.alone,
                     run.compare and not run.cancel.is_set(), estimate)


def _side(arm: ArmSummary) -> Side:
    return Side(name=arm.name, rows=arm.rows, passes=arm.passes, pass_rate=arm.pass_rate,
                cost_per_row=arm.cost_per_call, cost_per_correct=arm.cost_per_correct,
                total=arm.total_cost)


def _estimated_side(name: str, costs: dict[int, tuple[Decimal | None, bool]]) -> Side:
    known = [amount for amount, _ in costs.values() if amount is not None]
    priced = bool(known) and len(known) == len(costs)
    return Side(name=name, rows=len(costs), passes=None, pass_rate=None,
                cost_per_row=bootstrap_mean(known, SEED) if priced else None,
                cost_per_correct=None, total=sum(known, Decimal(0)) if priced else None,
                estimated=True)


def as_rows(summary: CascadeSummary) -> list[dict[str, Any]]:
    """The two sides as plain rows (each estimate with its interval), the saving on both."""
    def bounds(name: str, value: Interval[Any] | None) -> dict[str, Any]:
        return {name: None if value is None else value.estimate,
                f"{name} low": None if value is None else value.low,
                f"{name} high": None if value is None else value.high}

    kept = summary.saving
    return [{"side": side.name, "rows": side.rows, "passes": side.passes,
             **bounds("pass rate", side.pass_rate), **bounds("cost per row", side.cost_per_row),
             **bounds("cost per correct", side.cost_per_correct), "total": side.total,
             "estimated": side.estimated, **bounds("saving", kept)}
            for side in (summary.cascade, summary.alone)]


def sentence(summary: CascadeSummary) -> str:
    """The verdict in one or two sentences, the rows where quality is lost listed."""
    last, kept = summary.alone.name, summary.saving
    money = "" if kept is None else _saving_words(kept, last, summary.alone.estimated)
    cascade_rate = summary.cascade.pass_rate
    if cascade_rate is None:
        return "No row was settled: nothing to compare."
    if not summary.measured:
        return (f"The cascade passes {_rate(cascade_rate)} of the rows it settled"
                f"{'; ' + money if money else ''}. Run it with --compare to measure {last} alone "
                f"and its pass rate.")
    alone_rate = summary.alone.pass_rate
    assert alone_rate is not None
    if summary.keeps_quality:
        where = "above" if summary.above else "within"
        text = (f"The cascade {money or 'costs an unknown amount'} at a pass rate {where} "
                f"{last}'s interval: {_pct(cascade_rate.estimate)} against "
                f"{_rate(alone_rate)}.")
        if summary.worse_rows:
            text += (f" Rows {last} alone got right and the cascade did not: "
                     f"{_rows(summary.worse_rows)}.")
        return text
    test = "" if summary.p_value is None else f" (McNemar p = {summary.p_value:.3g})"
    return (f"The cascade loses quality: {_pct(cascade_rate.estimate)} of rows pass against "
            f"{_rate(alone_rate)} for {last} alone{test}"
            f"{'; it ' + money if money else ''}. Rows {last} alone got right and the cascade did "
            f"not: {_rows(summary.worse_rows) or 'none'}.")


def _saving_words(kept: Interval[float], last: str, estimated: bool) -> str:
    approx = "≈" if estimated else ""
    if kept.estimate >= 0:
        return (f"saves {approx}{_pct(kept.estimate)} ({_span(kept.low, kept.high)})"
                f"{' against ' + last + ' alone (estimated from its prices)' if estimated else ''}")
    return (f"costs {approx}{_pct(-kept.estimate)} ({_span(-kept.high, -kept.low)}) more than "
            f"{last} alone{' (estimated from its prices)' if estimated else ''}")


def _number(value: float) -> str:
    if math.isinf(value):
        return "∞" if value > 0 else "−∞"
    return f"{value * 100:.0f}"


def _pct(value: float) -> str:
    """0.71 → '71 %'."""
    return f"{_number(value)} %"


def _span(low: float, high: float) -> str:
    """'64–77 %'."""
    return f"{_number(low)}–{_number(high)} %"


def _rate(interval: Interval[float]) -> str:
    """'87 % (78–95 %)'."""
    return f"{_pct(interval.estimate)} ({_span(interval.low, interval.high)})"


def _rows(rows: Sequence[int]) -> str:
    return ", ".join(str(r) for r in rows)
