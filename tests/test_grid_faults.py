"""Grids under faults, through `%%opus --each` over real HTTP: every billed attempt is in the
grid's total and in `%opus stats --grid`; two kernels running one grid pay for each cell once;
an answer is never reused from another base URL; the text view says why a cell failed; bad
rows are refused in one line."""
from __future__ import annotations

import io
import threading
import warnings
from decimal import Decimal

import pandas as pd
import pytest
from echo_endpoint import PLANTED, STALL, chunk, echo_endpoint

import opus_magic
from opus_magic import sim
from opus_magic.core.grid.run import GridRun, results
from opus_magic.core.grid.spec import plan_grid
from opus_magic.core.run.request import CellInput
from opus_magic.core.session import Session
from opus_magic.notebook.grid.run import build_spec
from opus_magic.view import format as fmt
from opus_magic.view.grid.text import GridTextView

ELSEWHERE = "answered by another kernel running this grid"


def grid_total(out: str) -> str:
    """The '($0.000929 spent, of which …)' of a grid's footer."""
    return out.split("; ran ", 1)[1].split(") in ", 1)[0]


def stats_total(ip, capsys, grid_id: str) -> str:
    ip.run_line_magic("opus", f"stats --grid {grid_id[:8]}")
    line = next(line for line in capsys.readouterr().out.splitlines()
                if line.startswith("all runs"))
    return line.split()[3]


def test_every_billed_attempt_is_in_the_grids_total_and_in_stats(ip, simulator, capsys) -> None:
    ip.user_ns["items"] = ["one", "two", "three"]
    simulator.scenario("cut", after=4, times=2)  # the first two attempts break mid-answer
    ip.run_cell_magic("opus", "--each items -m haiku --max-tokens 30 --concurrency 1 -o out",
                      "Write about {item}.")
    out = capsys.readouterr().out
    runs = opus_magic.history(limit=None)
    retried = [r for r in runs if r.status == "interrupted"]
    assert len(runs) == len(simulator.requests()) == 5 and len(retried) == 2
    total = sum((r.cost for r in runs), Decimal(0))
    retried_cost = sum((r.cost for r in retried), Decimal(0))
    assert grid_total(out) == (f"3 ({fmt.money(total)} spent, of which "
                               f"{fmt.money(retried_cost)} on 2 attempts retried")
    assert stats_total(ip, capsys, runs[0].grid_id).lstrip("≈") == fmt.money(total)
    assert list(ip.user_ns["out"]["status"]) == ["ok"] * 3
    # the summary's total cost too: after pass rate (–), cost per call and its interval, and
    # cost per correct answer (–, no checks)
    summary = out.split("variant", 1)[1].splitlines()[1].split()
    assert summary[7] == fmt.money(total)
    ip.run_line_magic("opus", f"grid {runs[0].grid_id}")        # and the grid from history
    assert capsys.readouterr().out.split("variant", 1)[1].splitlines()[1].split()[7] == \
        fmt.money(total)


def test_a_stalled_attempt_is_billed_counted_and_retried(ip, capsys) -> None:
    stalled = (200, {}, [chunk({"role": "assistant", "content": "Stalled mid"}), STALL])
    good = (200, {}, [chunk({"role": "assistant", "content": "Whole answer."}, "stop"),
                      {**chunk({}), "choices": [], "usage": {"prompt_tokens": 9,
                                                             "completion_tokens": 3}}])
    with echo_endpoint() as root:
        PLANTED["stalls"] = [stalled, good]
        ip.run_line_magic("opus", f"config base_url={root}/stalls/v1 timeout_s=0.5")
        ip.user_ns["items"] = ["one"]
        ip.run_cell_magic("opus", "--each items -m gpt-4o -o out", "Say {item}.")
    PLANTED.clear()
    out = capsys.readouterr().out
    runs = opus_magic.history(limit=None)
    assert sorted(r.status for r in runs) == ["interrupted", "ok"]
    total = sum((r.cost for r in runs), Decimal(0))
    assert f"({fmt.money(total)} spent, of which" in out and "on 1 attempt retried" in out
    assert stats_total(ip, capsys, runs[0].grid_id).lstrip("≈") == fmt.money(total)


@pytest.fixture(params=["sqlite", "postgresql"])
def shared_history(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """One history two kernels share: a SQLite file, or a PostgreSQL server."""
    if request.param == "postgresql":
        monkeypatch.setenv("OPUS_MAGIC_HISTORY_URL", request.getfixturevalue("pg_url"))
    return str(request.param)


def test_two_kernels_running_one_grid_pay_for_each_cell_once(ip, simulator, capsys,
                                                            shared_history) -> None:
    simulator.configure(tokens_per_second=60)   # each answer takes most of a second
    items = [f"topic {i}" for i in range(4)]
    ip.user_ns["items"] = items
    other: dict[str, object] = {}

    def second_kernel() -> None:  # its own session, stores and connections: another process's
        while not simulator.requests():        # the first kernel has claimed and sent a cell
            threading.Event().wait(0.01)
        session = Session()
        spec = build_spec(CellInput(prompt="Write about {item}.", models=("haiku",),
                                    max_tokens="40"), {"items": items}, "items", None, [], "1",
                          False)
        run = GridRun(session, plan_grid(session, spec), 1)
        shown = io.StringIO()
        run.run(GridTextView(out=shown))
        other.update(run=run, out=shown.getvalue())

    thread = threading.Thread(target=second_kernel)
    thread.start()
    ip.run_cell_magic("opus", "--each items -m haiku --max-tokens 40 --concurrency 1 -o out",
                      "Write about {item}.")
    thread.join(120)
    first = ip.user_ns["out"]
    second = results(other["run"])                               # type: ignore[arg-type]
    assert len(simulator.requests()) == 4                        # not one cell sent twice
    assert list(first["answer"]) == [c.record.text for c in second]
    assert {c.status for c in second} <= {"ok", "reused"} and set(first["status"]) <= {
        "ok", "reused"}
    assert ELSEWHERE in str(other["out"]) + capsys.readouterr().out
    assert len([r for r in opus_magic.history(limit=None) if r.cost]) == 4


def test_an_answer_is_not_reused_from_another_base_url(ip, simulator, capsys) -> None:
    ip.user_ns["items"] = ["one", "two"]
    line = "--each items -m haiku --max-tokens 20 -o out"
    ip.run_cell_magic("opus", line, "Say {item}.")
    other = sim.start()                                     # the same answers at another URL
    try:
        ip.run_line_magic("opus", f"config base_url={other.base_url}")
        ip.run_cell_magic("opus", line, "Say {item}.")
        assert list(ip.user_ns["out"]["status"]) == ["ok", "ok"]
        assert len(other.requests()) == 2 and len(simulator.requests()) == 2
        ip.run_cell_magic("opus", line, "Say {item}.")     # the same URL again: reused
        assert list(ip.user_ns["out"]["status"]) == ["reused", "reused"]
    finally:
        other.stop()


def test_the_text_view_says_why_a_cell_is_an_error(ip, simulator, capsys) -> None:
    ip.user_ns["items"] = ["one", "two"]
    ip.run_line_magic("opus", "config max_retries=0")
    simulator.scenario("error", status=404)
    ip.run_cell_magic("opus", "--each items -m haiku --max-tokens 20 -o out", "Say {item}.")
    out = capsys.readouterr().out
    table = out.split("row", 1)[1]
    error = ip.user_ns["out"]["error"][0]
    assert error.startswith("HTTP 404")
    assert f"✗ error {error[:40]}" in table                      # in the cell itself
    assert "2 cells failed" in out and f"  ✗ {error[:60]}" in out   # and why, under the table


def test_a_dataframe_with_two_columns_of_one_name_is_refused_in_one_line(ip, simulator,
                                                                         capsys) -> None:
    ip.user_ns["df"] = pd.DataFrame([["a", "b"]], columns=["text", "text"])
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        ip.run_cell_magic("opus", "--each df -m haiku", "Say {text}.")
    err = capsys.readouterr().err
    assert "--each df: the DataFrame has more than one column named 'text'" in err
    assert len(err.strip().splitlines()) == 1 and simulator.requests() == []
    assert [str(w.message) for w in seen] == []                  # no pandas warning either


def test_an_interruption_and_the_summary_line_count_the_same_tokens(ip, simulator,
                                                                    capsys) -> None:
    for after in (1, 3):
        simulator.scenario("cut", after=after, times=1)
        ip.run_line_magic("opus", "config max_retries=0")
        ip.run_cell_magic("opus", "-m haiku --max-tokens 30", "Write a line.")
        out = capsys.readouterr().out
        record = opus_magic.last_run()
        produced = record.usage.output_tokens
        unit = "token" if produced == 1 else "tokens"
        assert f"after {produced:,} {unit}:" in record.error
        assert f" / {produced:,} out" in out
