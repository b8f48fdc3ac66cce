"""A grid's --check function is user code: whatever it does (raise anything, take other
arguments, hang, return something odd) is shown as "check error: …", counted apart from ✗, and
never costs the run its record; Ctrl-C ends a hanging check at once. Through `%%opus --each`
against the simulator over real HTTP."""
from __future__ import annotations

import math
import os
import signal
import threading
import time

import numpy as np
import pytest

import opus_magic
from opus_magic.core.ab.verdict import summarize
from opus_magic.core.grid.checks import CHECK_ERROR, Check, all_passed
from opus_magic.core.grid.summary import from_history


def boom(answer, row):
    raise ValueError("no such label")


def interrupts(answer, row):
    raise KeyboardInterrupt


def exits(answer, row):
    raise SystemExit(3)


def one_argument(answer):
    return True


BROKEN = {"boom": (boom, "ValueError: no such label"),
          "interrupts": (interrupts, "KeyboardInterrupt"),
          "exits": (exits, "SystemExit: 3"),
          "one_argument": (one_argument, "TypeError: one_argument() takes 1 positional argument"),
          "says_yes": (lambda answer, row: "yes", "returned str, not True/False or a score"),
          "forgets": (lambda answer, row: None, "returned NoneType"),
          "nan": (lambda answer, row: math.nan, "returned float")}


def test_every_way_a_check_can_fail_is_a_check_error_counted_apart(ip, simulator, capsys) -> None:
    ip.user_ns.update({name: fn for name, (fn, _) in BROKEN.items()}, rows=["a", "b"],
                      fine=lambda answer, row: True)
    checks = " ".join(f"--check {name}" for name in ("fine", *BROKEN))
    ip.run_cell_magic("opus", f"--each rows -m haiku --max-tokens 20 -o out {checks}",
                      "Say {item}.")
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err and err == ""
    frame = ip.user_ns["out"]
    assert list(frame["status"]) == ["ok", "ok"] and list(frame["check fine"]) == [True, True]
    for name, (_, said) in BROKEN.items():
        assert all(v.startswith(CHECK_ERROR) and said in v for v in frame[f"check {name}"]), name
    assert list(frame["passed"]) == [None, None]              # neither ✓ nor ✗
    assert "✗" not in out.split("row")[-1].split("Reused")[0]   # the table shows no ✗ ...
    assert out.count("check error: ValueError: no such label") >= 2  # ... but the error, per cell
    assert "Checks that failed themselves, counted apart from ✗ (14)" in out
    assert "pass rate" in out and "0%" not in out              # not counted as failing
    runs = opus_magic.history(limit=None)
    assert len(runs) == 2 and all(r.grid_id and r.checks["fine"] is True for r in runs)
    assert all(r.checks["boom"] == "check error: ValueError: no such label" for r in runs)


def test_a_hanging_check_times_out_and_the_grid_goes_on(ip, simulator, capsys) -> None:
    release = threading.Event()
    ip.user_ns.update(rows=["a", "b", "c"], hangs=lambda answer, row: release.wait(60))
    ip.run_line_magic("opus", "config check_timeout_s=0.2")
    began = time.monotonic()
    ip.run_cell_magic("opus", "--each rows -m haiku --max-tokens 20 --concurrency 1 -o out "
                      "--check hangs", "Say {item}.")
    release.set()
    assert time.monotonic() - began < 20
    frame = ip.user_ns["out"]
    assert list(frame["status"]) == ["ok"] * 3
    assert set(frame["check hangs"]) == {
        "check error: took longer than 0.2 s (check_timeout_s)"}
    assert len(opus_magic.history(limit=None)) == 3


def test_ctrl_c_during_a_hanging_check_ends_the_cell_at_once(ip, simulator, capsys) -> None:
    started, release = threading.Event(), threading.Event()

    def hangs(answer, row):
        started.set()
        release.wait(120)
        return True

    ip.user_ns.update(rows=["a"], hangs=hangs)
    ip.run_line_magic("opus", "config check_timeout_s=100 view=text")

    def interrupt() -> None:
        if started.wait(30):
            os.kill(os.getpid(), signal.SIGINT)

    watcher = threading.Thread(target=interrupt, daemon=True)
    watcher.start()
    began = time.monotonic()
    ip.run_cell_magic("opus", "--each rows -m haiku --max-tokens 20 -o out --check hangs",
                      "Say {item}.")
    elapsed = time.monotonic() - began
    release.set()
    watcher.join()
    assert started.is_set() and elapsed < 20                    # not the 100 s of the timeout
    [run] = opus_magic.history(limit=None)
    assert run.status == "ok" and run.grid_id and run.row == 0 and run.variant == "cell"


def test_a_run_has_its_grid_fields_before_its_checks_run(ip, simulator) -> None:
    seen: list[list[object]] = []

    def peek(answer, row):  # what the history holds while the check runs
        seen.append([(r.grid_id, r.row, r.cell_key) for r in opus_magic.history(limit=None)])
        raise RuntimeError("a check that fails")

    ip.user_ns.update(rows=["a"], peek=peek)
    ip.run_cell_magic("opus", "--each rows -m haiku --max-tokens 20 --check peek", "Say {item}.")
    [[(grid_id, row, key)]] = seen
    assert grid_id and row == 0 and key
    assert opus_magic.history(limit=None)[0].grid_id == grid_id


def test_a_rerun_without_check_keeps_the_stored_check_results(ip, simulator) -> None:
    ip.user_ns["rows"] = ["x marks", "y marks"]
    line = "--each rows -m haiku --max-tokens 20 -o out"
    ip.run_cell_magic("opus", f"{line} --check contains:marks", "Repeat: {item}.")
    first = {r.id: r.checks for r in opus_magic.history(limit=None)}
    ip.run_cell_magic("opus", line, "Repeat: {item}.")
    frame = ip.user_ns["out"]
    assert list(frame["status"]) == ["reused", "reused"]
    assert list(frame["check contains:marks"]) == [first[i]["contains:marks"]
                                                   for i in frame["run_id"]]
    assert {r.id: r.checks for r in opus_magic.history(limit=None)} == first


@pytest.mark.parametrize("value, expected", [
    (True, True), (False, False), (np.bool_(True), True), (0.75, 0.75), (np.float64(0.2), 0.2),
    (1, 1.0), (math.inf, CHECK_ERROR), ("no", CHECK_ERROR), ([True], CHECK_ERROR)])
def test_what_a_check_may_return(value, expected) -> None:
    result = Check("c", lambda answer, row: value).run("answer", {})
    if expected == CHECK_ERROR:
        assert isinstance(result, str) and result.startswith(CHECK_ERROR)
        assert all_passed({"c": result}) is None
    else:
        assert result == expected and type(result) is type(expected)


def test_a_check_stopped_with_its_grid_says_so() -> None:
    cancel = threading.Event()
    cancel.set()
    hangs = Check("hangs", lambda answer, row: threading.Event().wait(30))
    began = time.monotonic()
    assert hangs.run("a", {}, 30, cancel) == CHECK_ERROR + "stopped with the grid"
    assert time.monotonic() - began < 5


def test_the_live_grid_shows_check_errors_in_its_cells_and_summary(ip, simulator) -> None:
    from opus_magic.notebook.present import last_view
    from opus_magic.view.grid.widget import GridView

    ip.run_line_magic("config", "OpusMagics.view = 'widget'")
    ip.user_ns.update(rows=["a"], boom=boom)
    ip.run_cell_magic("opus", "--each rows -m haiku --max-tokens 20 --check boom", "Say {item}.")
    view = last_view()
    assert isinstance(view, GridView)
    assert "check error: ValueError: no such label" in view.table.value
    assert "Checks that failed themselves, counted apart from ✗ (1)" in view.summary.value


def test_a_check_that_raises_fills_the_error_column_and_is_counted_in_the_summary(
        ip, simulator, capsys) -> None:
    ip.user_ns.update(boom=boom, tickets=[{"subject": "Charged twice", "label": "billing"},
                                          {"subject": "Export crashes", "label": "bug"},
                                          {"subject": "Hello", "label": "other"}])
    ip.run_cell_magic("opus", "--each tickets -m haiku,sonnet --max-tokens 5 --check boom "
                      "-o out", "Answer with one of: billing, bug, other.\n{subject}")
    out = capsys.readouterr().out
    frame = ip.user_ns["out"]
    assert list(frame["status"]) == ["ok"] * 6
    assert list(frame["error"]) == ["check error: ValueError: no such label"] * 6
    summary = out.split("variant")[1].split("row")[0]
    assert summary.count("– (3 check errors)") == 2, summary   # per variant × model, not 0 %
    rows = summarize(from_history(opus_magic.history(limit=None)[::-1])).rows
    assert sorted((r.model, r.check_errors, r.pass_rate) for r in rows) == [
        ("haiku", 3, None), ("sonnet", 3, None)]
    assert list(opus_magic.summary()["check_errors"]) == [3, 3]
