"""Grids as provider batches (`%%opus --each ... --batch`) through the magic and the CLI,
against the simulator over real HTTP: submit, watch and collect, cancel from the view, a new
process collecting, resubmitting failures, and costs at the batch price worked by hand."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
from decimal import Decimal
from typing import Any

import pytest

import opus_magic
from opus_magic.core.batch import submit as batch
from opus_magic.core.session import default_session
from opus_magic.notebook.grid.batch import BatchWatch, latest_watch, poll_intervals, stop_watching
from opus_magic.notebook.state import STATE
from tests.test_grid import TICKETS, VARIANTS

# Haiku 4.5 by name: its prices ($1/$5) are what the costs below are worked from.
GRID = "--each tickets --variants prompts -m haiku-4.5 --max-tokens 20 --check equals:label"


@pytest.fixture(autouse=True)
def watching(simulator: Any, capsys: pytest.CaptureFixture[str]) -> Any:
    """Batches a test submitted are no longer watched once it ends, before its simulator is
    reset and its output closed."""
    yield
    stop_watching()


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "opus_magic.cli.main", *args], text=True,
                          capture_output=True, timeout=120, env=os.environ.copy())


def grid_runs(grid_id: str) -> list[Any]:
    """The runs of a grid, oldest first."""
    return [r for r in reversed(opus_magic.history(limit=None)) if r.grid_id == grid_id]


def submitted(ip: Any, line: str, cell: str = "#") -> BatchWatch:
    before = latest_watch()
    ip.run_cell_magic("opus", line, cell)
    watch = latest_watch()
    assert watch is not None and watch is not before
    return watch


def live_then_batch(ip: Any, simulator: Any, capsys: Any) -> tuple[Any, Any]:
    """The grid run interactively, then the same grid submitted as a batch and collected by
    this kernel's watch: (the interactive DataFrame, the watch)."""
    ip.user_ns.update(tickets=TICKETS, prompts=VARIANTS)
    ip.user_ns["short"] = lambda answer, row: len(answer.split()) == 1
    ip.run_cell_magic("opus", f"{GRID} --check short --tag live -o live", "#")
    sent = len(simulator.requests())
    capsys.readouterr()
    simulator.batches(delay_s=3600)
    watch = submitted(ip, f"{GRID} --check short --tag nightly --fresh --batch -o nightly")
    out = capsys.readouterr().out
    assert "Batch: 6 cells to submit (0 reused from history)" in out
    assert "in progress" in out and "6 processing" in out and "%opus batches collect" in out
    assert len(simulator.requests()) == sent and "nightly" not in ip.user_ns  # nothing streamed
    simulator.batches(end_now=True)
    assert watch.done.wait(60) and not watch.errors
    out = capsys.readouterr().out
    assert "collected" in out and "6 succeeded" in out and "pass rate" in out
    return ip.user_ns.pop("live"), watch


def test_a_batch_grid_is_collected_into_runs_of_the_grid_at_half_the_price(ip, simulator,
                                                                         capsys) -> None:
    live, watch = live_then_batch(ip, simulator, capsys)
    runs = grid_runs(watch.grid_id)
    assert len(runs) == 6 and {r.tag for r in runs} == {"nightly"}
    assert {(r.variant, r.row) for r in runs} == {(v, i) for v in VARIANTS for i in range(3)}
    assert all(r.batch_id in watch.rows and r.cost_exact and r.cost_source == "batch price"
               for r in runs)
    full = [r for r in runs if r.variant == "full"]
    assert all(r.checks == {"equals:label": True, "short": True} for r in full)
    assert [r.text for r in sorted(full, key=lambda r: r.row)] == ["billing", "bug", "other"]
    for run in runs:  # Haiku 4.5: $1/M input, $5/M output, half of both in a batch
        usage = run.usage
        assert run.cost == (usage.input_tokens * 1 + usage.output_tokens * 5) / Decimal(2_000_000)
        same = live[(live["variant"] == run.variant) & (live["row"] == run.row)]
        assert run.cost * 2 == same["cost"].iloc[0]  # the same cell, interactively
    frame = ip.user_ns.pop("nightly")
    assert len(frame) == 6 and set(frame["run_id"]) == {r.id for r in runs}
    ip.run_line_magic("opus", f"grid {watch.grid_id}")
    assert f"Grid {watch.grid_id}" in capsys.readouterr().out


def test_a_collected_batch_grid_is_recorded_and_counted_once(ip, simulator, capsys) -> None:
    _, watch = live_then_batch(ip, simulator, capsys)
    ip.run_line_magic("opus", "batches collect")
    assert "No batches waiting to be collected." in capsys.readouterr().out
    [row] = watch.rows
    ip.run_line_magic("opus", f"batches collect {row}")
    assert "nothing new, already collected" in capsys.readouterr().out
    assert len(grid_runs(watch.grid_id)) == 6
    ip.run_line_magic("opus", "batches")  # the listing names the grid each batch ran
    listed = capsys.readouterr().out
    assert [line for line in listed.splitlines() if line.startswith(row)][0].split()[1] == \
        watch.grid_id
    ip.run_line_magic("opus", "budget")  # the batch's runs count as spent, once
    assert "spent over 12 runs" in capsys.readouterr().out
    assert default_session().budget.spent == sum(r.cost for r in opus_magic.history(limit=None))


def test_dry_run_and_preflight_put_the_batch_price_beside_the_interactive_one(ip, simulator,
                                                                             capsys) -> None:
    ip.user_ns.update(tickets=TICKETS, prompts=VARIANTS)
    ip.run_cell_magic("opus", f"{GRID} --max-tokens 1000 --batch --dry-run", "#")
    out = capsys.readouterr().out
    assert "Grid dry run: 6 cells" in out and "nothing was sent" in out
    # Haiku: 6 cells × 1,000 max_tokens × $5/M = $0.03 of output at worst; half in a batch.
    line = next(x for x in out.splitlines() if x.startswith("Batch:"))
    assert "6 cells to submit (0 reused from history)" in line
    # Plus 24 input tokens a cell at $1/M: $0.030144 interactively, $0.015072 in a batch.
    assert "≈$0.01507 at the batch price, ≈$0.03014 interactively" in line  # 4 digits
    assert simulator.requests() == [] and batch.poll(default_session())[0] == []
    ip.run_cell_magic("opus", GRID, "#")  # interactively: the batch then reuses every cell
    capsys.readouterr()
    ip.run_cell_magic("opus", f"{GRID} --batch --dry-run", "#")
    assert "0 cells to submit (6 reused from history)" in capsys.readouterr().out
    ip.run_cell_magic("opus", f"{GRID} --batch", "#")
    out = capsys.readouterr().out
    assert "Every cell came from history: nothing was submitted." in out and "pass rate" in out
    assert batch.poll(default_session())[0] == []


def test_the_budget_admits_the_batch_at_the_batch_price(ip, simulator, capsys) -> None:
    ip.user_ns.update(tickets=TICKETS, prompts=VARIANTS)
    simulator.batches(delay_s=3600)
    ip.run_line_magic("opus", "budget 0.02")  # under the interactive worst case, over the batch's
    ip.run_cell_magic("opus", f"{GRID} --max-tokens 1000 --batch --dry-run", "#")
    assert "Worst case of the whole grid: ≈$0.0301" in capsys.readouterr().out
    watch = submitted(ip, f"{GRID} --max-tokens 1000 --batch")  # ≈$0.0151 at the batch price
    assert len(watch.rows) == 1
    ip.run_cell_magic("opus", f"{GRID} --max-tokens 1000 --batch", "#")  # the same grid again
    [row] = watch.rows
    assert f"is already in batch {row}, not collected yet" in capsys.readouterr().err
    ip.run_cell_magic("opus", f"{GRID} --max-tokens 1000 --fresh --batch --tag more", "#")
    err = capsys.readouterr().err
    assert "Over the session budget: the batch could cost up to" in err
    assert "Nothing was submitted" in err and "Traceback" not in err
    assert len(batch.poll(default_session())[0]) == 1


def test_cancel_from_the_views_button_ends_the_batch_not_billed(ip, simulator,
                                                                monkeypatch) -> None:
    from opus_magic.view.grid.batch_widget import BatchView

    ip.run_line_magic("config", "OpusMagics.view = 'widget'")
    ip.user_ns.update(tickets=TICKETS, prompts=VARIANTS)
    simulator.batches(delay_s=3600)
    shown: list[BatchView] = []
    ready = threading.Event()
    monkeypatch.setattr(STATE, "remember",
                        lambda view, live=False: (shown.append(view), ready.set()))
    cell = threading.Thread(target=ip.run_cell_magic, args=("opus", f"{GRID} --batch", "#"))
    cell.start()  # a headless kernel waits in the cell for the results: the view is live
    assert ready.wait(60)
    [view] = shown
    bundle = view._bundle()
    assert "in progress" in bundle["text/plain"] and "6 processing" in bundle["text/plain"]
    view.cancel.click()
    cell.join(60)
    assert not cell.is_alive() and view.cancel.disabled
    watch = latest_watch()
    runs = grid_runs(watch.grid_id)
    assert len(runs) == 6 and all(r.status == "stopped" and r.cost == 0 for r in runs)
    assert all(r.cost_source == "not billed" and r.checks is None for r in runs)
    assert "6 canceled" in view.status.value and "pass rate" in view.summary.value
    # said as what happened, not "collected · 6 canceled"; nothing left to cancel
    assert "canceled before any answer, nothing billed" in view.status.value
    assert "collected" not in view.status.value and view.cancel.layout.display == "none"
    # nothing answered: no mean at all beside a total of $0, never "unknown" beside it
    assert "unknown" not in view.summary.value and "$0.00" in view.summary.value


SUBMIT = """
from IPython.testing.globalipapp import start_ipython
ip = start_ipython()
ip.run_line_magic("load_ext", "opus_magic")
ip.user_ns["tickets"] = {tickets!r}
ip.user_ns["short"] = lambda answer, row: True
ip.run_cell_magic("opus", "--each tickets -m haiku --max-tokens 20 --check equals:label "
                  "--check short --batch", "Answer with one of: billing, bug, other.\\n{{body}}")
"""


def test_a_new_process_collects_a_grid_batch_after_the_submitting_kernel_is_gone(
        ip, simulator, capsys) -> None:
    simulator.batches(delay_s=3600, fail=["g1"])
    kernel = subprocess.run([sys.executable, "-c", SUBMIT.format(tickets=TICKETS)], text=True,
                            capture_output=True, timeout=120, env=os.environ.copy())
    assert kernel.returncode == 0 and "3 processing" in kernel.stdout, kernel.stderr
    simulator.batches(end_now=True)
    first = cli("batches", "collect")
    assert "recorded 3 runs (1 error, 2 ok)" in first.stdout, first.stderr
    runs = {r.row: r for r in opus_magic.history(limit=None)}
    assert len(runs) == 3 and len({r.grid_id for r in runs.values()}) == 1
    # The built-in check is rebuilt by its name; the notebook function died with its kernel.
    assert runs[0].checks == {"equals:label": True} and runs[2].checks == {"equals:label": True}
    assert runs[1].status == "error" and runs[1].checks is None and "resubmit" in runs[1].error
    again = cli("batches", "collect")
    assert "No batches waiting to be collected." in again.stdout
    assert "nothing new, already collected" in cli("batches", "collect", runs[1].batch_id).stdout
    simulator.batches(fail=[])
    retry = cli("batches", "resubmit", runs[1].batch_id)
    assert "Resubmitted 1 errored or expired requests" in retry.stdout, retry.stderr
    simulator.batches(end_now=True)
    fixed = cli("batches", "collect")
    assert "recorded 1 run (1 ok)" in fixed.stdout
    newest = opus_magic.history(limit=1)[0]
    assert (newest.grid_id, newest.variant, newest.row) == (runs[1].grid_id, "cell", 1)
    assert newest.checks == {"equals:label": True} and newest.text == "bug"
    ip.run_line_magic("opus", f"grid {newest.grid_id}")
    out = capsys.readouterr().out
    assert "100 %" in out and "error" not in out  # the latest run of each cell counts


def test_batch_flags_need_a_grid(ip, simulator, capsys) -> None:
    ip.run_cell_magic("opus", "--batch", "Say hello.")
    err = capsys.readouterr().err
    assert "--batch need --each VAR" in err and "Traceback" not in err
    ip.user_ns.update(tickets=TICKETS, prompts=VARIANTS)
    ip.run_cell_magic("opus", f"{GRID} --batch --concurrency 2", "#")
    assert "a --batch runs on the provider's own engine" in capsys.readouterr().err
    assert simulator.requests() == []
    ip.run_line_magic("opus", "help")
    assert "--batch" in capsys.readouterr().out


def test_polling_starts_fast_and_backs_off_to_a_minute(ip, simulator) -> None:
    assert poll_intervals("http://127.0.0.1:8000/v1") == (0.05, 1.0)
    assert poll_intervals("https://api.anthropic.com/v1/") == (2.0, 60.0)
    simulator.batches(delay_s=3600)
    [row] = opus_magic.submit_batch(["Say hello."], model="haiku")
    waits: list[float] = []

    class Recording(threading.Event):
        def wait(self, timeout: float | None = None) -> bool:
            waits.append(timeout or 0)
            if len(waits) == 7:
                self.set()
            return self.is_set()

    batch.watch(default_session(), row.id, 2.0, None, Recording(), 60.0).join(60)
    assert waits == [2, 4, 8, 16, 32, 60, 60]


def test_claude_on_the_native_api_goes_through_message_batches_and_expired_cells_resubmit(
        ip, simulator, capsys) -> None:
    ip.run_line_magic("opus", "config api=anthropic")
    ip.user_ns.update(tickets=TICKETS, prompts=VARIANTS)
    simulator.batches(delay_s=3600)
    watch = submitted(ip, f"{GRID} --batch")
    [row] = watch.rows.values()
    assert row.api == "anthropic" and row.provider_batch_id.startswith("msgbatch_")
    simulator.batches(expire=True, end_now=True)
    assert watch.done.wait(60) and "6 expired" in capsys.readouterr().out
    expired = grid_runs(watch.grid_id)
    assert len(expired) == 6 and all(r.status == "error" and r.cost == 0 for r in expired)
    assert all("expired before this request ran" in r.error and r.checks is None
               for r in expired)
    simulator.batches(expire=False, delay_s=0)
    ip.run_line_magic("opus", f"batches resubmit {row.id}")
    assert "Resubmitted 6 errored or expired requests" in capsys.readouterr().out
    ip.run_line_magic("opus", "batches collect")
    assert "recorded 6 runs (6 ok)" in capsys.readouterr().out
    fixed = grid_runs(watch.grid_id)[6:]
    assert {(r.variant, r.row) for r in fixed} == {(r.variant, r.row) for r in expired}
    assert all(r.checks is not None and r.cost_source == "batch price" for r in fixed)
    assert all(r.checks == {"equals:label": True} for r in fixed if r.variant == "full")
    ip.run_line_magic("opus", f"grid {watch.grid_id}")
    out = capsys.readouterr().out
    assert "6/6" not in out and "3/3" in out and "error" not in out



def test_a_late_answer_does_not_undo_a_collected_batchs_final_state(ip, simulator) -> None:
    from opus_magic.store import batches as stored

    [row] = opus_magic.submit_batch(["Say hello."], model="haiku")
    assert len(opus_magic.collect_batches()) == 1
    session = default_session()
    store = session.store(session.settings())
    stored.update_status(store, row.id, "canceling", {"processing": 1})  # read before it ended
    final = stored.find_batch(store, row.id)
    assert final is not None and (final.status, final.counts["succeeded"]) == ("ended", 1)


def test_a_poll_read_before_a_cancel_landed_does_not_move_the_batch_back(ip, simulator) -> None:
    from opus_magic.store import batches as stored

    simulator.batches(delay_s=3600)
    [row] = opus_magic.submit_batch(["Say hello."], model="haiku")
    session = default_session()
    store = session.store(session.settings())
    canceled = batch.cancel(session, row.id)
    assert canceled.status in ("canceling", "ended")
    stored.update_status(store, row.id, "in_progress", {"processing": 9})  # the stale poll
    after = stored.find_batch(store, row.id)
    assert after is not None and (after.status, after.counts) == (canceled.status, canceled.counts)


def test_a_watch_polls_on_through_a_passing_failure_and_stops_at_a_lasting_one(
        ip, simulator, monkeypatch) -> None:
    from opus_magic.errors import ConfigError, RequestError

    [row] = opus_magic.submit_batch(["Say hello."], model="haiku")
    real, calls = batch.collect, []

    def flaky(*args: Any) -> Any:
        calls.append(args)
        if len(calls) == 1:
            raise RequestError("Could not reach the endpoint.", retryable=True)
        if len(calls) == 2:
            raise RequestError("HTTP 529: Overloaded", status=529)
        return real(*args)

    monkeypatch.setattr(batch, "collect", flaky)
    seen: list[Any] = []
    errors: list[str] = []
    batch.watch(default_session(), row.id, 0.001, seen.append, None, None, errors.append).join(60)
    assert len(calls) == 3 and errors == [] and seen[-1].collected_at is not None
    monkeypatch.setattr(batch, "collect", lambda *args: (_ for _ in ()).throw(
        ConfigError("Batch b-1 went to another endpoint.")))
    batch.watch(default_session(), row.id, 0.001, seen.append, None, None, errors.append).join(60)
    assert errors == ["Batch b-1 went to another endpoint."]
