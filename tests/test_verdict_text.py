"""How a grid's figures read: intervals, cost shares and projected durations."""
from __future__ import annotations

from decimal import Decimal

import pytest

from opus_magic.stats import Interval, wilson
from opus_magic.view.grid.forecast_text import duration
from opus_magic.view.grid.verdict_text import money, rate, seconds, share


def test_a_pass_rate_reads_with_its_wilson_interval_and_counts() -> None:
    assert rate(wilson(28, 30), 28, 30) == "93 % (79–98 %) 28/30"
    assert rate(wilson(5, 5), 5, 5) == "100 % (57–100 %) 5/5"  # 56.6–100 %, as FACTS.md says
    assert rate(None, 0, 0) == "–"


def test_money_and_seconds_with_their_intervals() -> None:
    amount = Interval(Decimal("0.0012"), Decimal("0.0010"), Decimal("0.0014"))
    assert money(amount) == "$0.0012 (0.0010–0.0014)"
    assert money(None) == "unknown"  # an unknown price is never $0
    unbounded = Interval(Decimal("0.5"), Decimal("0.2"), Decimal("Infinity"))
    assert money(unbounded) == "$0.5000 (0.2000–∞)"  # no correct answer in some resamples
    assert seconds(Interval(1.2, 1.05, 1.384)) == "1.20 s (1.05–1.38)"


@pytest.mark.parametrize(("ratio", "shown"), [(1 / 18, "1/18"), (0.5, "1/2"), (0.62, "62 %")])
def test_a_cost_share(ratio: float, shown: str) -> None:
    assert share(ratio) == shown


@pytest.mark.parametrize(("seconds_", "shown"), [(45, "45 s"), (720, "12 min"),
                                                 (14 * 3600, "14.0 h"), (4 * 86400, "4.0 days")])
def test_a_projected_duration(seconds_: float, shown: str) -> None:
    assert duration(seconds_) == shown
