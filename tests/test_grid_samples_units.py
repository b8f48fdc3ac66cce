"""Pure parts of repeats and judges: the judge's reply read back, the simulator's judge,
agreement between samples, the judge's default model and each sample's reuse key."""
from __future__ import annotations

import pytest

from opus_magic.core.ab.agreement import Agreement, agreement, by_cell
from opus_magic.core.grid.judge import Judge, Verdict, parse_verdict
from opus_magic.core.grid.spec import sample_key
from opus_magic.core.grid.summary import CellResult
from opus_magic.cost.catalog import default_catalog
from opus_magic.cost.lineup import cheapest_current
from opus_magic.records import RunRecord
from opus_magic.sim.content.judge_answer import judge_reply


@pytest.mark.parametrize(("text", "expected"), [
    ("SCORE: 0.8\nREASON: Names the department.", Verdict(0.8, "Names the department.")),
    ("score = 1\nreason: perfect", Verdict(1.0, "perfect")),
    ("**Score:** 80%\n**Reason:** close", Verdict(0.8, "close")),
    ("Score: 7/10 because it misses the date.", Verdict(0.7, "because it misses the date.")),
    ("SCORE: .25", Verdict(0.25, "")),
    ("SCORE: 0\nREASON: " + "x" * 300, Verdict(0.0, "x" * 199 + "…")),
])
def test_a_judges_reply_is_read_as_a_score_and_a_reason(text: str, expected: Verdict) -> None:
    assert parse_verdict(text) == expected


@pytest.mark.parametrize("text", [
    "", "The answer is good.", "SCORE", "SCORE: 8", "SCORE: 120%", "SCORE: 3/0", "SCORE: -1",
    "REASON: fine, but no score",
])
def test_a_reply_without_a_score_from_0_to_1_is_unreadable(text: str) -> None:
    assert parse_verdict(text) is None


def test_the_simulators_judge_counts_the_rubrics_quoted_words_and_parses() -> None:
    judge = Judge("Mentions 'cache' and \"price\"")
    both = judge.prompt("Q?", "The cache lowers the PRICE.")
    one = judge.prompt("Q?", "The cache helps.")
    assert parse_verdict(judge_reply(both, 1) or "") == Verdict(
        1.0, "The answer mentions cache, price.")
    assert parse_verdict(judge_reply(one, 1) or "") == Verdict(
        0.5, "The answer mentions cache but lacks price.")
    assert judge_reply("Define cache.", 1) is None


def test_without_quoted_words_the_simulators_judge_is_seeded() -> None:
    prompt = Judge("Is it helpful?").prompt("Q?", "A.")
    scores = {seed: parse_verdict(judge_reply(prompt, seed) or "") for seed in range(20)}
    assert scores == {seed: parse_verdict(judge_reply(prompt, seed) or "") for seed in range(20)}
    assert {v.score for v in scores.values() if v} <= {0.0, 0.25, 0.5, 0.75, 1.0}
    assert len({v.score for v in scores.values() if v}) > 1


def test_agreement_counts_samples_matching_the_most_common_answer() -> None:
    assert agreement(["Billing", "billing.", " billing ", "bug"]) == (4, 3)
    assert agreement([]) == (0, 0)

    def cell(row: int, text: str, passed: bool, repeat: int) -> CellResult:
        record = RunRecord(id=f"{row}{repeat}", created_at="", model="m", prompt="p", text=text)
        return CellResult("v", "m", row, "ok", record, {"c": passed}, repeat=repeat)

    cells = [cell(0, "a", True, 0), cell(0, "a", True, 1), cell(0, "b", False, 2),
             cell(1, "x", True, 0)]
    found = by_cell(cells)
    assert found == {(0, "v", "m"): Agreement(3, 2, 2, 3)}  # row 1 has one sample: nothing
    assert found[(0, "v", "m")].label() == "2/3 agree · 2/3 ✓"


def test_the_default_judge_is_the_cheapest_current_model() -> None:
    models = default_catalog().models.values()
    chosen = cheapest_current(models)
    assert chosen is not None and not (chosen.legacy or chosen.retired)
    total = chosen.prices.input + chosen.prices.output
    assert all(m.prices.input + m.prices.output >= total for m in models
               if not (m.legacy or m.retired) and m.prices.input is not None
               and m.prices.output is not None)


def test_each_sample_has_its_own_key_and_the_first_keeps_the_cells() -> None:
    assert sample_key("k", 0) == "k"
    assert len({sample_key("k", n) for n in range(5)}) == 5
    assert sample_key("k", 2) == sample_key("k", 2) != sample_key("j", 2)


def test_a_judge_grading_a_classification_is_not_answered_as_one() -> None:
    from opus_magic.sim.content.choices import choice_answer

    question = "Answer with one of: billing, bug, other.\nThe billing page charged me twice."
    prompt = Judge("Names 'billing'").prompt(question, "billing")
    assert choice_answer([{"role": "user", "content": question}], "m") == ["billing"]
    assert choice_answer([{"role": "user", "content": prompt}], "m") is None
