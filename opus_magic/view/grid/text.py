"""A grid as text: a progress line while it runs, then the summary per variant × model and the
table of cells; the same tables as Markdown and HTML for saved notebooks."""
from __future__ import annotations

import html
import sys
import threading
import time
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import TextIO

from opus_magic.core.ab.forecast import Projection
from opus_magic.core.ab.verdict import GridSummary, SummaryRow, summarize
from opus_magic.core.grid.checks import errored
from opus_magic.core.grid.run import GridObserver, GridRun, results
from opus_magic.core.grid.summary import CellResult
from opus_magic.core.run.outcome import not_recorded_line
from opus_magic.view import format as fmt
from opus_magic.view.grid import verdict_text as vt
from opus_magic.view.grid.forecast_text import forecast_lines
from opus_magic.view.grid.table import END_ROWS, cell_rows, more_rows
from opus_magic.wording import plural

MAX_REASONS = 3  # distinct reasons cells failed, listed under the table
REASON_CHARS = 160
PROGRESS_EVERY_S = 2.0


def progress_line(run: GridRun, now: float, statuses: Sequence[str] | None = None) -> str:
    """Cells done of total, ETA, money so far against the worst case, retries and 429s; counted
    from `statuses` when given (a view's snapshot of the cells), else from the run as it is."""
    statuses = [s.status for s in run.states] if statuses is None else statuses
    total = len(statuses)
    done = sum(s in ("ok", "error", "interrupted", "stopped", "reused", "skipped", "not run")
               for s in statuses)
    ran = sum(s in ("ok", "error", "interrupted", "stopped") for s in statuses)
    to_run = total - done
    elapsed = now - run.started
    eta = "–" if not ran or not to_run else f"{elapsed / ran * to_run:,.0f} s"
    worst = run.grid.worst_case
    pacing = "".join(f" · {pacer.describe()}" for pacer in run.pacers.values()
                     if done < total)
    return (f"Grid {run.grid.id}: {done}/{total} cells · ETA {eta} · "
            f"{fmt.money(run.spent, estimated=True)} of worst case "
            f"{fmt.money(worst, estimated=True)} · {run.retries} retries absorbed · "
            f"{run.throttled} rate-limited{pacing}")


def spent_text(run: GridRun) -> str:
    """'$0.000929 spent, of which $0.000129 on 7 attempts retried': every billed attempt."""
    attempts, cost = run.retried
    retried = (f", of which {fmt.money(cost)} on {attempts} attempt{'' if attempts == 1 else 's'}"
               f" retried" if attempts else "")
    return f"{fmt.money(run.spent)} spent{retried}"


def footer(run: GridRun) -> str:
    """'Reused 180 cells, $0.00; ran 20 ($0.0123 spent)', what could not run and why, what
    failed and why, and what the history could not record."""
    ran = run.count("ok", "error", "interrupted", "stopped")
    lines = [f"Reused {plural(run.count('reused'), 'cell')}, $0.00; ran {ran} "
             f"({spent_text(run)}) in {(run.ended or run.clock()) - run.started:,.1f} s; "
             f"{run.retries} retries absorbed; {run.throttled} rate-limited (429) responses"
             + (f"; {plural(run.reruns, 'cell')} run again after a cut stream." if run.reruns
                else ".")]
    lines += judge_line(run) + problem_lines(run)
    reasons = [s.reason for s in run.states if s.status == "skipped" and s.reason]
    if reasons:
        lines.append(f"{plural(len(reasons), 'cell')} not run: {reasons[0].rstrip('.')}.")
    stopped = run.count("not run", "stopped")
    if stopped:
        lines.append(f"{plural(stopped, 'cell')} stopped or not run: run the cell again to "
                     f"continue.")
    return "\n".join(lines)


def judge_line(run: GridRun) -> list[str]:
    """'Judge claude-haiku-5-5 scored 12 answers: $0.0012, apart from the answers' cost.'"""
    if run.judging is None:
        return []
    judged = sum(1 for s in run.states if s.judge is not None)
    return [f"Judge {run.judging.model} scored {judged} answers: {fmt.money(run.judge_spent)}, "
            f"apart from the answers' cost (--dry-run shows its prompt)."]


def judged_cost_line(rows: Sequence[SummaryRow]) -> list[str]:
    """'Judge runs: $0.0003, apart from the answers' $0.0120.' (none without a judge)."""
    judged = sum((r.judge_cost for r in rows), Decimal(0))
    if not judged:
        return []
    answers = sum((r.total_cost for r in rows), Decimal(0))
    return [f"Judge runs: {fmt.money(judged)}, apart from the answers' {fmt.money(answers)}."]


def problem_lines(run: GridRun) -> list[str]:
    """Why cells failed (each reason once), check errors, cells another kernel answered, and
    runs the history could not record yet."""
    lines = []
    failed = [s for s in run.states if s.status in ("error", "interrupted")]
    if failed:
        lines.append(f"{plural(len(failed), 'cell')} failed: run the cell again to retry only "
                     f"those.")
        reasons = dict.fromkeys(_why(s.record.error if s.record else s.reason) for s in failed)
        lines += [f"  ✗ {reason}" for reason in list(reasons)[:MAX_REASONS]]
    erred = [error for s in run.states for error in s.checks.values() if errored(error)]
    if erred:
        lines.append(f"Checks that failed themselves, counted apart from ✗ ({len(erred)}): "
                     f"{erred[0]}")
    elsewhere = sum(s.elsewhere for s in run.states)
    if elsewhere:
        lines.append(f"{plural(elsewhere, 'cell')} answered by another kernel running this grid "
                     f"meanwhile: reused, not paid twice.")
    unsaved = run.unsaved
    if unsaved:
        lines.append(not_recorded_line(str(unsaved[-1].not_recorded), len(unsaved)))
    return lines


def _why(error: str | None) -> str:
    text = " ".join((error or "no reason given").split())
    return text if len(text) <= REASON_CHARS else text[:REASON_CHARS - 1] + "…"


def pass_rate(row: SummaryRow) -> str:
    """The pass rate with its interval, and the cells whose checks failed themselves, counted
    apart: '75 % (41–93 %) 6/8 (2 check errors)'."""
    rate = vt.rate(row.pass_rate, row.passes, row.tries)
    errors = row.check_errors
    return rate + (f" ({plural(errors, 'check error')})" if errors else "")


def summary_columns(summary: GridSummary) -> list[tuple[str, Callable[[SummaryRow], str]]]:
    """The summary's columns, each figure with its 95 % interval (– where no check ran); a score
    only when a check gave one."""
    columns: list[tuple[str, Callable[[SummaryRow], str]]] = [
        ("variant", lambda r: r.variant), ("model", lambda r: r.model),
        ("answered", lambda r: f"{r.answered}/{r.cells}"),
        ("pass rate (95 % CI)", pass_rate)]
    if any(r.score is not None for r in summary.rows):
        columns.append(("mean score", lambda r: vt.score(r.score)))
    columns += [("cost per call", per_call_text),
                ("cost per correct", lambda r: vt.correct_money(r.cost_per_correct, r.passes,
                                                                summary.checked)),
                ("total cost", total_text),
                ("latency", lambda r: vt.seconds(r.latency_s)),
                ("p95", lambda r: fmt.seconds(r.p95_s)),
                ("", lambda r: "best" if r.best else "")]
    return columns


def per_call_text(row: SummaryRow) -> str:
    """No cost per call where nothing answered (the figure does not exist), else with its
    interval, unknown without a price."""
    return vt.money(row.cost_per_call) if row.answered else fmt.NONE


def total_text(row: SummaryRow) -> str:
    """Unknown where answers came back but none has a price: never an unknown cost per call
    beside a total of $0."""
    return fmt.money(None if row.answered and row.cost_per_call is None else row.total_cost)


def summary_table(summary: GridSummary) -> list[list[str]]:
    """The headings, then one row of figures per variant × model."""
    columns = summary_columns(summary)
    return [[name for name, _ in columns],
            *([shown(row) for _, shown in columns] for row in summary.rows)]


def summary_text(summary: GridSummary) -> str:
    """The table, then the verdict and how its intervals were drawn."""
    return "\n".join([fmt.text_table(summary_table(summary)), *vt.verdict_lines(summary)])


def markdown(summary: GridSummary, cells: Sequence[CellResult]) -> str:
    def line(values: Sequence[str]) -> str:
        return "| " + " | ".join(v.replace("|", "\\|") for v in values) + " |"

    table = cell_rows(cells, END_ROWS)
    figures = summary_table(summary)
    parts = [line(figures[0]), line(["---"] * len(figures[0])), *(line(r) for r in figures[1:]),
             "", *vt.verdict_lines(summary), "",
             line(table[0]), line(["---"] * len(table[0])), *(line(r) for r in table[1:]),
             *(f"\n{more}" for more in more_rows(cells))]
    return "\n".join(parts)


def summary_html(summary: GridSummary) -> str:
    """The summary table (the best arm marked) and the verdict under it."""
    figures = summary_table(summary)
    head = "".join(f"<th style='padding:0 0.6em'>{html.escape(h)}</th>" for h in figures[0])
    body = "".join(
        "<tr>" + "".join(f"<td style='padding:0 0.6em'>{html.escape(c)}</td>" for c in row[:-1])
        + ("<td><span class='opus-best' style='color:#2da44e'>best</span></td>" if row[-1]
           else "<td></td>") + "</tr>" for row in figures[1:])
    verdict = "".join(f"<div class='opus-grid-verdict'>{html.escape(line)}</div>"
                      for line in vt.verdict_lines(summary))
    return f"<table class='opus-grid-summary'><tr>{head}</tr>{body}</table>{verdict}"


def readable(run: GridRun, summary: GridSummary | None = None,
             cells: Sequence[CellResult] | None = None) -> dict[str, str]:
    """The summary (made here unless given) and the table as text/plain, text/markdown and
    text/html, from the run's cells (read here unless given)."""
    cells = results(run) if cells is None else cells
    summary = summary or summarize(cells)
    table = "\n".join([fmt.text_table(cell_rows(cells, END_ROWS)), *more_rows(cells)])
    end = footer(run)
    return {"text/plain": "\n\n".join([summary_text(summary), table, end]),
            "text/markdown": markdown(summary, cells) + "\n\n" + end,
            "text/html": summary_html(summary) + f"<pre>{html.escape(end)}</pre>"}


class GridTextView(GridObserver):
    """Prints a progress line every few seconds, then the summary and the table of cells."""

    def __init__(self, out: TextIO | None = None, every_s: float = PROGRESS_EVERY_S) -> None:
        self.out = out or sys.stdout
        self.every_s = every_s
        self._last = 0.0
        self._lock = threading.Lock()

    def started(self, run: GridRun) -> None:
        worst = run.grid.worst_case
        self.out.write(f"Grid {run.grid.id}: {plural(len(run.states), 'cell')}; worst case "
                       f"{'unknown' if worst is None else fmt.money(worst, estimated=True)}.\n")
        for note in run.grid.notes():
            self.out.write(f"! {note}\n")

    def changed(self, run: GridRun, index: int) -> None:
        now = time.monotonic()
        if now - self._last < self.every_s:
            return
        with self._lock:
            if now - self._last >= self.every_s:
                self._last = now
                self.out.write(progress_line(run, run.clock()) + "\n")
                self.out.flush()

    def finished(self, run: GridRun) -> None:
        text = readable(run)["text/plain"]
        self.out.write(f"{progress_line(run, run.clock())}\n\n{text}\n")
        self.out.flush()

    def projected(self, projection: Projection | None, excess: Decimal | None) -> None:
        """A --sample run's projection for the whole dataset, after the grid."""
        self.out.write("\n" + "\n".join(forecast_lines(projection, excess)) + "\n")
        self.out.flush()

