"""The cascade's pure parts: which answers are accepted, where a row goes next, its path, the
saving statistic, and the simulator's seeded accuracy."""
from __future__ import annotations

import sqlite3
from decimal import Decimal

import pytest

from opus_magic.core.cascade.policy import Attempt, RowPath, accepted, settled_shares, step
from opus_magic.sim.content.choices import TIERED, accuracy_of, choice_answer
from opus_magic.stats import saving
from opus_magic.store.migrations import migrate


@pytest.mark.parametrize(("checks", "accept", "expected"), [
    ({"json": True, "equals:label": True}, 0.5, True),
    ({"json": True, "equals:label": False}, 0.5, False),
    ({"judge": 0.6}, 0.5, True),
    ({"judge": 0.6}, 0.7, False),
    ({"judge": 0.3}, 0.3, True),
    ({"judge": 1.0, "f": "check error: ValueError: no"}, 0.5, None),
    ({"f": None}, 0.5, False),
])
def test_an_answer_is_accepted_when_every_check_is(checks, accept, expected) -> None:
    assert accepted(checks, accept) is expected


def attempt(stage: int, status: str = "ok", ok: bool | None = True,
            cost: str = "0.001", reason: str | None = None) -> Attempt:
    return Attempt(stage=stage, model=("haiku", "sonnet", "opus")[stage - 1], status=status,
                   accepted=ok, passed=ok, cost=Decimal(cost), reason=reason)


def test_a_row_goes_on_until_an_answer_is_accepted_and_the_last_answer_stands() -> None:
    path = RowPath(0)
    assert step(path, attempt(1, ok=False), 3) and step(path, attempt(2, ok=False), 3)
    assert not step(path, attempt(3, ok=False), 3)
    assert path.settled_at == 3 and path.passed is False and path.cost == Decimal("0.003")
    assert path.text() == "haiku ✗ → sonnet ✗ → opus ✗"
    settled = RowPath(1)
    assert not step(settled, attempt(1), 3)
    assert settled.settled_at == 1 and settled.passed and settled.text() == "haiku ✓"
    assert settled_shares([path, settled], 3) == [1, 0, 1]


def test_a_failed_call_goes_on_but_a_row_not_run_stays_unsettled_with_why() -> None:
    failed = RowPath(0)
    assert step(failed, attempt(1, "error", None), 3)
    assert not step(failed, attempt(2, "skipped", None, "0", "over the session budget"), 3)
    assert failed.settled_at is None and failed.passed is None
    assert failed.text() == "haiku ✗ error → sonnet – skipped (over the session budget)"
    last = RowPath(1)
    assert not step(last, attempt(1, "error", None), 1)
    assert last.unsettled == "failed"
    broken = RowPath(2)
    assert not step(broken, attempt(1, ok=None), 3)
    assert broken.unsettled == "a check failed itself"


def test_the_saving_is_one_minus_the_ratio_of_the_sums_with_a_seeded_interval() -> None:
    cascade = [Decimal("0.1"), Decimal("0.1"), Decimal("0.5"), Decimal("0.1")]
    alone = [Decimal("1")] * 4
    kept = saving(cascade, alone, seed=3)
    assert kept is not None and kept.estimate == pytest.approx(0.8)
    assert kept.low <= 0.8 <= kept.high and kept.high <= 0.9
    assert saving(cascade, alone, seed=3) == kept
    assert saving(alone, alone, seed=1).estimate == 0 and saving([], [], seed=1) is None
    assert saving([Decimal(1)], [Decimal(0)], seed=1) is None
    with pytest.raises(ValueError):
        saving(cascade, alone[:2], seed=1)


def test_simulated_accuracy_is_seeded_by_prompt_and_model() -> None:
    asks = [[{"role": "user", "content": f"Answer with one of: billing, bug, other.\n"
                                          f"Ticket {n}: the billing page."}] for n in range(200)]
    never = [choice_answer(m, "claude-haiku-5-5", {"haiku": 0.0}) for m in asks]
    always = [choice_answer(m, "claude-haiku-5-5", {"haiku": 1.0}) for m in asks]
    assert all(a != ["billing"] for a in never) and all(a == ["billing"] for a in always)
    half = [choice_answer(m, "claude-haiku-5-5", {"haiku": 0.5}) for m in asks]
    assert 70 < half.count(["billing"]) < 130
    assert half == [choice_answer(m, "claude-haiku-5-5", {"haiku": 0.5}) for m in asks]
    assert [choice_answer(m, "claude-opus-5-5", {"haiku": 0.0}) for m in asks] == always
    assert accuracy_of("claude-haiku-5-5", TIERED) < accuracy_of("claude-sonnet-5-5", TIERED) \
        < accuracy_of("claude-opus-5-5", TIERED)


def test_the_stage_is_a_column_of_its_own() -> None:
    db = sqlite3.connect(":memory:", isolation_level=None)
    migrate(db)
    columns = {row[1]: row[2] for row in db.execute("PRAGMA table_info(runs)")}
    assert columns["stage"] == "INTEGER"
