"""A grid's cells as arms for the statistics: repeats averaged per row for the paired test, the
pass rate over every sample clustered by row, cost per correct answer over every sample."""
from __future__ import annotations

from decimal import Decimal

import pytest

from opus_magic.core.ab.verdict import summarize
from opus_magic.core.grid.summary import CellResult
from opus_magic.records import RunRecord
from opus_magic.stats import wilson, wilson_clustered
from opus_magic.view.grid.verdict_text import verdict_lines


def cell(variant: str, row: int, passed: bool, cost: str = "0.001", repeat: int = 0,
         status: str = "ok") -> CellResult:
    record = RunRecord(id=f"{variant}-{row}-{repeat}", created_at="2026-12-06T00:00:00Z",
                       model="haiku", prompt="p", cost=Decimal(cost), duration_s=0.5 + row / 100)
    return CellResult(variant, "haiku", row, status, record, {"equals:label": passed},
                      repeat=repeat)


def test_repeats_count_every_sample_with_the_interval_clustered_by_row() -> None:
    # a passes 2 of 3 samples on rows 0-5 and 3 of 3 on rows 6-9; b passes 1 of 3 everywhere
    cells = [cell("a", row, repeat < (2 if row < 6 else 3), repeat=repeat)
             for row in range(10) for repeat in range(3)]
    cells += [cell("b", row, repeat == 0, repeat=repeat) for row in range(10) for repeat in range(3)]
    summary = summarize(cells)
    a, b = summary.rows
    expected = wilson_clustered([2] * 6 + [3] * 4, [3] * 10)
    assert expected is not None and a.pass_rate == expected.interval
    assert (a.passes, a.tries) == (24, 30) and (b.passes, b.tries) == (10, 30)
    # the clustered interval is wider than 30 independent tries would give
    plain = wilson(24, 30)
    assert plain is not None and a.pass_rate.high - a.pass_rate.low >= plain.high - plain.low
    # cost per correct answer over every sample: 30 × $0.001 / 24 passes
    assert a.cost_per_correct is not None
    assert a.cost_per_correct.estimate == (Decimal("0.030") / 24).quantize(Decimal("1e-9"))
    assert a.cost_per_correct.low <= a.cost_per_correct.estimate <= a.cost_per_correct.high
    # paired on rows: a's majority passes all 10 rows, b's none of them
    assert summary.verdict is not None and summary.verdict.winner == "a/haiku"
    pair = summary.verdict.pairs[0]
    assert (pair.only_a_passed, pair.only_b_passed) == (10, 0)
    assert "(clustered by row over repeats)" in verdict_lines(summary)[-1]
    assert a.score is not None and a.score.estimate == pytest.approx(24 / 30)  # share passed


def test_cells_that_did_not_answer_or_whose_check_failed_itself_are_left_out() -> None:
    cells = [cell("a", row, True) for row in range(8)]
    cells += [cell("b", row, row % 2 == 0) for row in range(6)]
    cells += [cell("b", 6, True, status="error")]
    broken = cell("b", 7, True)
    cells.append(CellResult("b", "haiku", 7, "ok", broken.record, {"f": "check error: boom"}))
    summary = summarize(cells)
    a, b = summary.rows
    assert (a.passes, a.tries, b.passes, b.tries) == (8, 8, 3, 6)
    assert b.answered == 7 and b.cells == 8
    assert summary.verdict is not None and summary.verdict.rows == 6
    assert summary.verdict.unpaired_rows == 2
    assert any("2 rows not answered by every arm" in line for line in verdict_lines(summary))


def test_an_unknown_price_is_unknown_never_zero() -> None:
    cells = [cell("a", row, True) for row in range(4)]
    unpriced = RunRecord(id="x", created_at="2026-12-06T00:00:00Z", model="mystery", prompt="p",
                         cost=None, duration_s=0.3)
    cells.append(CellResult("a", "haiku", 4, "ok", unpriced, {"equals:label": True}))
    [row] = summarize(cells).rows
    assert row.cost_per_call is None and row.cost_per_correct is None
    assert row.pass_rate is not None and row.passes == 5
