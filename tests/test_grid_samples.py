"""`--repeat N` and `--judge RUBRIC` on a grid, through the magic against the simulator over
real HTTP."""
from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import opus_magic
from opus_magic.view.format import money

CLASSIFY = "Answer with one of: billing, bug, other.\n{body}"
TICKETS = [{"body": "The billing page charged me twice.", "label": "billing"},
           {"body": "Found a bug: export crashes.", "label": "bug"},
           {"body": "Some other question about the team.", "label": "other"}]
RUBRIC = "Mentions 'cache'"


def said(capsys: Any) -> str:
    captured = capsys.readouterr()
    return captured.out + captured.err


def judge_requests(simulator: Any) -> list[Any]:
    return [r for r in simulator.requests() if "Rubric:" in str(r.messages[-1]["content"])]


def test_repeat_samples_each_cell_and_reuses_each_sample(ip, simulator, capsys) -> None:
    ip.user_ns["tickets"] = TICKETS
    line = "--each tickets -m haiku --max-tokens 5 --check equals:label -o out --repeat 3"
    ip.run_cell_magic("opus", line, CLASSIFY)
    frame = ip.user_ns["out"]
    assert len(simulator.requests()) == 9 and len(frame) == 9
    assert sorted(frame["repeat"]) == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    assert frame["passed"].all() and (frame["agreement"] == 1.0).all()
    out = capsys.readouterr().out
    assert out.count("3/3 agree · 3/3 ✓") == 3  # one per row, the samples counted together
    assert "100 % (70–100 %) 9/9" in out  # every sample counted, clustered by row
    runs = opus_magic.history(limit=50)
    assert sorted((r.row, r.repeat) for r in runs) == [
        (row, n) for row in range(3) for n in range(3)]
    assert len({r.cell_key for r in runs}) == 9  # each sample its own reuse key

    ip.run_cell_magic("opus", line, CLASSIFY)  # again: every sample comes from history
    assert len(simulator.requests()) == 9
    assert "Reused 9 cells, $0.00; ran 0" in capsys.readouterr().out

    ip.run_cell_magic("opus", line.replace("--repeat 3", "--repeat 4"), CLASSIFY)
    assert len(simulator.requests()) == 12  # only the fourth sample of each row is sent
    out = capsys.readouterr().out
    assert "Reused 9 cells, $0.00; ran 3" in out and out.count("4/4 agree") == 3
    assert sorted(ip.user_ns["out"]["repeat"]) == [0] * 3 + [1] * 3 + [2] * 3 + [3] * 3


def test_repeat_dry_run_counts_the_samples_and_bad_values_are_refused(ip, simulator,
                                                                       capsys) -> None:
    ip.user_ns["tickets"] = TICKETS
    ip.run_cell_magic("opus", "--each tickets -m haiku --repeat 2 --dry-run", CLASSIFY)
    assert "6 cells (1 variants × 1 models × 3 rows × 2 samples)" in capsys.readouterr().out
    for value in ("0", "x", "101"):
        ip.run_cell_magic("opus", f"--each tickets -m haiku --repeat {value}", CLASSIFY)
        assert f"--repeat {value}: use a whole number from 1 to 100" in said(capsys)
    ip.run_cell_magic("opus", "-m haiku --repeat 3", "hi")
    assert "need --each VAR" in said(capsys)
    assert simulator.requests() == []


def test_judge_scores_each_answer_as_a_check_with_its_cost_apart(ip, simulator, capsys) -> None:
    ip.user_ns["words"] = ["cache", "stream"]
    line = f'--each words -m haiku --max-tokens 40 --judge "{RUBRIC}" --check max_words:500 -o out'
    ip.run_cell_magic("opus", line, "Define {item} in one line.")
    frame = ip.user_ns["out"]
    judged = judge_requests(simulator)
    assert len(simulator.requests()) == 4 and len(judged) == 2
    assert {r.model for r in judged} == {"claude-haiku-5-5"}  # the cheapest current model
    assert list(frame["check judge"]) == [1.0, 0.0]  # the simulator's judge: quoted words found
    assert list(frame["check max_words:500"]) == [True, True]
    assert list(frame["passed"]) == [True, False]
    assert list(frame["judge_reason"]) == ["The answer mentions cache.",
                                           "The answer lacks cache."]
    assert (frame["judge_cost"] > 0).all()
    runs = opus_magic.history(limit=10)
    judges = [r for r in runs if r.judge_of]
    answers = {r.id: r for r in runs if not r.judge_of}
    assert {j.judge_of for j in judges} == set(frame["run_id"])
    assert all(j.grid_id == answers[j.judge_of].grid_id and j.row == answers[j.judge_of].row
               for j in judges)
    total = sum((j.cost for j in judges), Decimal(0))
    out = capsys.readouterr().out
    assert f"Judge claude-haiku-5-5 scored 2 answers: {money(total)}, apart from" in out
    assert "50 % (" in out  # the judge's score is a check like any other in the pass rate

    ip.run_cell_magic("opus", line, "Define {item} in one line.")  # answers and judgements reused
    assert len(simulator.requests()) == 4
    assert list(ip.user_ns["out"]["check judge"]) == [1.0, 0.0]
    capsys.readouterr()
    ip.run_line_magic("opus", "grid")  # from history: the judge's cost still apart
    shown = capsys.readouterr().out
    assert f"Judge runs: {money(total)}, apart from the answers'" in shown and "50 % (" in shown

    ip.run_cell_magic("opus", line + " --fresh", "Define {item} in one line.")  # all sent again
    assert len(simulator.requests()) == 8 and len(judge_requests(simulator)) == 4


def test_the_judge_prompt_is_shown_by_a_dry_run(ip, simulator, capsys) -> None:
    ip.user_ns["words"] = ["cache"]
    ip.run_cell_magic("opus", f'--each words -m haiku --judge "{RUBRIC}" --judge-model sonnet '
                      f'--dry-run', "Define {item} in one line.")
    out = capsys.readouterr().out
    assert "Judge: claude-sonnet" in out
    assert f"  | Rubric: {RUBRIC}" in out and "  | Define cache in one line." in out
    assert "<the answer>" in out and simulator.requests() == []
    assert re.search(r"worst case ≈\$0\.\d+ over 1 answers, shown apart", out)


def test_an_unreadable_judgement_is_a_check_error(ip, simulator, capsys) -> None:
    simulator.configure(answer_tokens=1)  # every reply one token: the judge's has no score
    ip.user_ns["words"] = ["cache"]
    ip.run_cell_magic("opus", f'--each words -m haiku --judge "{RUBRIC}" -o out',
                      "Define {item} in one line.")
    frame = ip.user_ns["out"]
    assert frame["check judge"][0].startswith("check error: the judge gave no score from 0 to 1")
    assert frame["passed"][0] is None and frame["status"][0] == "ok"
    assert "Checks that failed themselves" in capsys.readouterr().out


def test_judge_flags_are_checked(ip, simulator, capsys) -> None:
    ip.user_ns["words"] = ["cache"]
    ip.run_cell_magic("opus", '--each words --judge-model haiku', "Define {item}.")
    assert '--judge-model needs --judge "RUBRIC"' in said(capsys)
    ip.run_cell_magic("opus", '--each words --judge "x" --batch', "Define {item}.")
    assert "--judge go with requests sent from here" in said(capsys)
    assert simulator.requests() == []


def test_the_widget_shows_samples_agreeing_and_the_judges_cost(ip, simulator) -> None:
    from opus_magic.notebook.present import last_view

    ip.run_line_magic("config", "OpusMagics.view = 'widget'")
    ip.user_ns["tickets"] = TICKETS[:2]
    ip.run_cell(f'%%opus --each tickets -m haiku --max-tokens 5 --repeat 2 --check equals:label '
                f'--judge "{RUBRIC}"\n{CLASSIFY}')
    view = last_view()
    assert "× 2 samples" in view.title.value and view.bar.value == view.bar.max == 4
    assert view.table.value.count("2/2 agree · 0/2 ✓") == 2  # the judge fails every answer
    assert "Judge claude-haiku-5-5 scored 4 answers" in view.summary.value
