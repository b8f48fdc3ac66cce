"""Boundaries a plausible off-by-one would break: the calibration threshold and what it learns
from, the context window and the cacheable prefix exactly at their limits, ambiguous id prefixes."""
from __future__ import annotations

from pathlib import Path

import pytest

import opus_magic
from opus_magic.core.run.plan import Plan
from opus_magic.core.run.planner import build_request, plan_request
from opus_magic.core.session import default_session
from opus_magic.records import RunRecord

PROMPT = "Compare SQLite WAL mode with rollback journals for concurrent notebook kernels. " * 3


def plan_for(model: str, prompt: str = PROMPT, max_tokens: int = 400) -> Plan:
    session = default_session()
    settings = session.settings(model=model, max_tokens=max_tokens)
    return plan_request(session, build_request(settings, prompt), settings)


def test_calibration_needs_exactly_three_runs_and_learns_from_raw_counts(ip, simulator) -> None:
    simulator.configure(usage_scale=1.25)  # Haiku 4.5: no tokenizer ratio before history
    for take in range(2):
        ip.run_cell_magic("opus", "-m haiku-4.5 --max-tokens 20", f"{PROMPT} Take {take}.")
    assert plan_for("haiku-4.5").calibration is None                       # 2 runs: not yet
    ip.run_cell_magic("opus", "-m haiku-4.5 --max-tokens 20", f"{PROMPT} Take 2.")
    learned = plan_for("haiku-4.5").calibration
    assert learned is not None and learned.runs == 3                   # 3 runs: calibrated
    for take in range(3, 6):                                           # planned calibrated now
        ip.run_cell_magic("opus", "-m haiku-4.5 --max-tokens 20", f"{PROMPT} Take {take}.")
        assert "calibrated from" in opus_magic.last_run().calibration
    again = plan_for("haiku-4.5").calibration
    assert again is not None and again.runs == 6
    assert again.ratio == pytest.approx(learned.ratio, rel=0.01)      # not pulled towards 1.0


def write_model(isolated_dirs: Path, **fields: int) -> None:
    config = isolated_dirs / "config" / "opus_magic" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    body = "".join(f"{name} = {value}\n" for name, value in fields.items())
    config.write_text(f'[models."tiny-model"]\ninput = 1\noutput = 2\n{body}')


def test_the_context_window_boundary_is_inclusive(ip, simulator, isolated_dirs, capsys) -> None:
    write_model(isolated_dirs)
    input_tokens = plan_for("tiny-model", "Hello, boundary.", 1).input_tokens
    write_model(isolated_dirs, context_window=input_tokens + 10)
    ip.run_cell_magic("opus", "-m tiny-model --max-tokens 10", "Hello, boundary.")
    assert len(simulator.requests()) == 1 and capsys.readouterr().err == ""   # exactly the window
    ip.run_cell_magic("opus", "-m tiny-model --max-tokens 11", "Hello, boundary.")
    assert "Too long for tiny-model" in capsys.readouterr().err          # one token more
    assert len(simulator.requests()) == 1


def test_the_minimum_cacheable_prefix_is_inclusive(ip, simulator, isolated_dirs, capsys) -> None:
    write_model(isolated_dirs)
    input_tokens = plan_for("tiny-model", PROMPT, 1).input_tokens
    write_model(isolated_dirs, min_cache_prefix=input_tokens)
    ip.run_cell_magic("opus", "-m tiny-model --dry-run", PROMPT)
    assert f"yes (≥ {input_tokens})" in capsys.readouterr().out
    ip.run_cell_magic("opus", "-m tiny-model --max-tokens 5", PROMPT)
    assert "Caching: long enough to be cached" in capsys.readouterr().out
    write_model(isolated_dirs, min_cache_prefix=input_tokens + 1)
    ip.run_cell_magic("opus", "-m tiny-model --dry-run", PROMPT)
    assert f"too short (< {input_tokens + 1})" in capsys.readouterr().out
    ip.run_cell_magic("opus", "-m tiny-model --max-tokens 5", PROMPT)
    assert "Caching: too short to be cached" in capsys.readouterr().out


def test_an_id_prefix_shared_by_two_runs_is_ambiguous(ip, simulator, capsys) -> None:
    store = default_session().store(default_session().settings())
    for run_id in ("abc111000000", "abc222000000"):
        store.save(RunRecord(id=run_id, created_at="2026-11-30T10:00:00.000+00:00",
                             model="claude-opus-4-6", prompt="earlier", text="an answer",
                             messages=[{"role": "user", "content": "earlier"}]))
    for line in ("show abc", "compare abc abc111"):
        ip.run_line_magic("opus", line)
        err = capsys.readouterr().err
        assert "'abc' is the start of several run ids (abc111000000, abc222000000)" in err
    ip.run_cell_magic("opus", "--continue abc", "and then?")
    assert "start of several run ids" in capsys.readouterr().err and simulator.requests() == []
    ip.run_line_magic("opus", "show abc1")
    assert "earlier" in capsys.readouterr().out
