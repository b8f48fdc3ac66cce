"""`--continue` after a comparison says which run it continues; `--continue MODEL` picks one."""
from __future__ import annotations

from typing import Any

import pytest

import opus_magic


def test_continue_after_a_comparison_says_which_run_and_a_model_picks_another(
        ip: Any, simulator: Any, capsys: pytest.CaptureFixture[str]) -> None:
    ip.run_cell_magic("opus", "-m opus,sonnet,haiku --max-tokens 20 --tag three",
                      "Name three uses of a bloom filter.")
    runs = {run.model: run for run in opus_magic.history(tag="three")}
    last = opus_magic.last_run()
    others = [model for model in ("opus", "sonnet", "haiku") if model != last.model]
    capsys.readouterr()
    ip.run_cell_magic("opus", "--continue --max-tokens 20", "Which needs the least memory?")
    out = capsys.readouterr().out
    assert opus_magic.last_run().parent_id == last.id
    said = out.replace("\n", " ")
    assert any(f"Continues run {last.id} ({last.response_model}), one of comparison "
               f"{last.comparison_id}: --continue {one} or --continue {other} picks another."
               in said for one, other in (others, others[::-1]))   # runs started the same ms

    # a model the continuation above did not answer with: its latest run is the comparison's
    other = others[0]
    ip.run_cell_magic("opus", f"--continue {other} --max-tokens 20",
                      "Which needs the least memory?")
    picked = opus_magic.last_run()
    assert picked.status == "ok" and picked.parent_id == runs[other].id
    assert picked.model == other and picked.messages[-2]["content"] == runs[other].text
    assert (f"Continues run {runs[other].id} ({runs[other].response_model})"
            in capsys.readouterr().out)


def test_continue_a_model_never_run_is_one_line(ip: Any, simulator: Any,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    ip.run_cell_magic("opus", "-m haiku --max-tokens 10", "Hello")
    ip.run_cell_magic("opus", "--continue gpt-4.1", "And then?")
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "No run 'gpt-4.1' in history to continue" in err
    assert "--continue MODEL" in err
