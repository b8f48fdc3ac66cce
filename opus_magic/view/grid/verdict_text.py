"""A grid's figures with their intervals, and its verdict, as the lines every grid view shows:
"93 % (79–98 %) 28/30", "$0.0012 (0.0010–0.0014)", "Winner: …" or "No detectable difference …"."""
from __future__ import annotations

from decimal import Decimal

from opus_magic.core.ab.verdict import GridSummary
from opus_magic.stats import CheaperArm, Interval, PairComparison, Verdict
from opus_magic.view import format as fmt


def percent(value: float) -> str:
    return f"{value * 100:.0f}"


def rate(interval: Interval[float] | None, passes: int, tries: int) -> str:
    """'93 % (79–98 %) 28/30'."""
    if interval is None:
        return fmt.NONE
    return (f"{percent(interval.estimate)} % ({percent(interval.low)}–{percent(interval.high)} %)"
            f" {passes}/{tries}")


def bound(amount: Decimal) -> str:
    return "∞" if amount.is_infinite() else fmt.money(amount).lstrip("$")


def money(interval: Interval[Decimal] | None) -> str:
    """'$0.0012 (0.0010–0.0014)', 'unknown' without a price."""
    if interval is None:
        return fmt.UNKNOWN
    return f"{fmt.money(interval.estimate)} ({bound(interval.low)}–{bound(interval.high)})"


def correct_money(interval: Interval[Decimal] | None, passes: int, checked: bool) -> str:
    """Cost per correct answer: – without checks or passes (nothing was correct), else money."""
    return money(interval) if checked and passes else fmt.NONE


def seconds(interval: Interval[float] | None) -> str:
    """'1.20 s (1.05–1.38)'."""
    if interval is None:
        return fmt.NONE
    return f"{interval.estimate:.2f} s ({interval.low:.2f}–{interval.high:.2f})"


def score(interval: Interval[float] | None) -> str:
    if interval is None:
        return fmt.NONE
    return f"{interval.estimate:.2f} ({interval.low:.2f}–{interval.high:.2f})"


def share(ratio: float) -> str:
    """A cost as a share of another: '1/18' when small, else '62 %'."""
    return f"1/{round(1 / ratio)}" if 0 < ratio <= 0.5 else f"{ratio * 100:.0f} %"


def verdict_line(verdict: Verdict) -> str:
    """Who wins, or that nothing is detectable yet and how many rows would tell."""
    pairs = len(verdict.pairs)
    holm = f", Holm-corrected over {pairs} pairs" if pairs > 1 else ""
    if verdict.winner is not None:
        worst = max(p.p_adjusted for p in verdict.pairs if verdict.winner in (p.a, p.b))
        return (f"Winner: {verdict.winner}, better than every other arm on the same "
                f"{verdict.rows:,} rows (McNemar exact p = {worst:.2g}{holm}).")
    if not verdict.rows:
        return "No rows answered by every arm: nothing to compare yet."
    needed = verdict.rows_to_detect_gap
    more = (f"; about {needed:,} rows would detect a {verdict.gap * 100:.0f}-point gap"
            if needed else "")
    close = [other for p in against_best(verdict) if not p.significant
             for other in (p.a, p.b) if other != verdict.best]
    return (f"No detectable difference on {verdict.rows:,} rows{more} (between {verdict.best}, "
            f"the best so far, and {', '.join(close)}; McNemar exact{holm}).")


def against_best(verdict: Verdict) -> list[PairComparison]:
    """The pairs that compare the best arm with another."""
    return [p for p in verdict.pairs if verdict.best in (p.a, p.b)]


def cheaper_line(cheaper: CheaperArm) -> str:
    """'haiku/terse is as good as opus/full within noise, at 1/18 the cost per correct answer.'"""
    return (f"{cheaper.arm} is as good as {cheaper.best} within noise, at "
            f"{share(cheaper.cost_ratio)} the cost per correct answer "
            f"({fmt.money(cheaper.cost_per_correct)} against "
            f"{fmt.money(cheaper.best_cost_per_correct)}).")


def pair_line(pair: PairComparison, adjusted: bool) -> str:
    """One pair on its shared rows: the rows only one passed, p (Holm-adjusted), the gap in
    pass rate and in cost per call, each b − a."""
    gap = pair.pass_rate
    gap_text = "" if gap is None else (f"; {gap.estimate * 100:+.0f} points "
                                       f"({gap.low * 100:+.0f} to {gap.high * 100:+.0f})")
    cost = pair.cost
    cost_text = "" if cost is None else (
        f"; cost per call {'+' if cost.difference.estimate >= 0 else '-'}"
        f"{fmt.money(abs(cost.difference.estimate))}")
    holm = f", adjusted {pair.p_adjusted:.2g}" if adjusted else ""
    return (f"  {pair.b} vs {pair.a}: {pair.only_b_passed} rows passed only by the first, "
            f"{pair.only_a_passed} only by the second, p = {pair.p_value:.2g}{holm}"
            f"{gap_text}{cost_text}")


def verdict_lines(summary: GridSummary) -> list[str]:
    """The verdict, the cheaper arm within noise, each pair, and how the intervals were drawn."""
    lines = []
    verdict = summary.verdict
    if verdict is not None:
        lines.append(verdict_line(verdict))
        if verdict.cheaper is not None:
            lines.append(cheaper_line(verdict.cheaper))
        lines.extend(pair_line(pair, len(verdict.pairs) > 1) for pair in against_best(verdict))
        if verdict.unpaired_rows:
            lines.append(f"{verdict.unpaired_rows:,} rows not answered by every arm are left "
                         f"out of the comparison.")
    clustered = " (clustered by row over repeats)" if summary.repeated else ""
    wilson = f"Wilson for pass rates{clustered}; " if summary.checked else ""
    lines.append(f"95 % intervals: {wilson}bootstrap for means ({summary.resamples:,} "
                 f"resamples, seed {summary.seed}).")
    return lines
