"""A grid live: one progress bar (cells, ETA, cost against the worst case, retries), Stop, the
table of cells (click one for the whole answer) and, at the end, the summary per variant × model.

The view observes the run: cells only mark it changed, and one ticker thread redraws at most
`REDRAWS_PER_S` times a second, so the frontend gets a bounded number of updates however many
cells stream. Each redraw takes one snapshot of the cells for the bar, the progress line and the
table alike, so the table never lags the count it sits under; the end is always drawn exactly.
"""
from __future__ import annotations

import html
import threading
import time
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from opus_magic.core.ab.agreement import by_cell
from opus_magic.core.ab.forecast import Projection
from opus_magic.core.ab.verdict import summarize
from opus_magic.core.grid.run import GridObserver, GridRun, results
from opus_magic.core.grid.summary import CellResult
from opus_magic.view import format as fmt
from opus_magic.view.grid.cell import border_colour, details_html
from opus_magic.view.grid.forecast_text import forecast_lines
from opus_magic.view.grid.table import END_ROWS, cell_text, columns_of
from opus_magic.view.grid.text import (
    judge_line,
    problem_lines,
    progress_line,
    readable,
    summary_html,
)
from opus_magic.view.run.widget import VIEW_MIME, part

REDRAWS_PER_S = 2
IDLE_EVERY = 2  # redraws of an unchanged grid (the ETA and the clock move on) per this many ticks
STREAM_PREVIEW = 60
LIVE_ROWS = 30  # rows redrawn while a grid runs


class LiveFrame:
    """The frame a live grid or cascade is drawn in: a title, a progress bar beside Stop, a
    status line, the table and the summary, and the events its redraw thread waits on."""

    def _frame(self, css: str, summary_css: str, total: int, on_stop: Callable[[], None],
               title: str) -> None:
        import ipywidgets as w

        self.title = part(w.HTML, f"{css}-title", value=title)
        self.bar = part(w.IntProgress, f"{css}-progress", min=0, max=total, value=0)
        self.label = part(w.HTML, f"{css}-label", value="")
        self.stop = part(w.Button, "opus-stop", description="Stop", icon="stop",
                         button_style="danger")
        self.table = part(w.HTML, f"{css}-table", value="")
        self.summary = part(w.HTML, summary_css, value="")
        self.box = part(w.VBox, css, children=[
            self.title, part(w.HBox, "opus-controls", children=[self.bar, self.stop]),
            self.label, self.table, self.summary])
        self.stop.on_click(lambda _: (on_stop(), setattr(self.stop, "disabled", True)))
        self.pushes = 0
        self._dirty = threading.Event()
        self._over = threading.Event()
        self._handle: Any = None


class GridView(GridObserver, LiveFrame):
    """The live grid; `changed` and `finished` are called from worker threads."""

    def __init__(self, run: GridRun, on_stop: Callable[[], None],
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.run, self.clock = run, clock
        grid = run.grid
        self._frame("opus-grid", "opus-grid-summary", len(grid.cells), on_stop, (
            f"<b>Grid {grid.id}</b>: {len(grid.cells)} cells ({len(grid.spec.variants)} variants "
            f"× {len(grid.models)} models × {len(grid.spec.rows)} rows"
            f"{f' × {grid.spec.repeats} samples' if grid.spec.repeats > 1 else ''})"))
        self._drawing = threading.Lock()  # the ticker and the end draw one at a time
        self._rows = [cell.row for cell in grid.cells]
        self.saved: dict[str, str] = {}  # the readable text a saved notebook keeps

    def show(self) -> None:
        """Display the grid; at the end the display also carries the summary and table as text."""
        from IPython.display import display

        bundle = self.box._repr_mimebundle_()
        bundle["text/plain"] = f"Grid {self.run.grid.id} (the summary appears here at the end)"
        self._handle = display(bundle, raw=True, display_id=True)
        threading.Thread(target=self._tick, name="opus-grid-view", daemon=True).start()

    def started(self, run: GridRun) -> None:
        worst = run.grid.worst_case
        notes = "".join(f"<br>! {html.escape(note)}" for note in run.grid.notes())
        self.title.value += (f" · worst case "
                             f"{'unknown' if worst is None else fmt.money(worst, estimated=True)}"
                             f"{notes}")

    def changed(self, run: GridRun, index: int) -> None:
        if not self._dirty.is_set():  # told on every token of every cell: set once per redraw
            self._dirty.set()

    def finished(self, run: GridRun) -> None:
        self._over.set()
        self.render(table=True)
        self.stop.disabled = True
        self.stop.layout.display = "none"  # nothing is left to stop
        problems = "".join(f"<div class='opus-grid-problem'>{html.escape(line)}</div>"
                           for line in judge_line(run) + problem_lines(run))
        cells = results(run)
        summary = summarize(cells)
        self.summary.value = summary_html(summary) + problems
        self.saved = readable(run, summary, cells)
        self._update()

    def projected(self, projection: Projection | None, excess: Decimal | None) -> None:
        """A --sample run's projection for the whole dataset, under the summary."""
        lines = forecast_lines(projection, excess)
        self.summary.value += "".join(f"<div class='opus-grid-forecast'>{html.escape(line)}</div>"
                                      for line in lines)
        text = "\n".join(lines)
        self.saved = {"text/plain": f"{self.saved['text/plain']}\n\n{text}",
                          "text/markdown": f"{self.saved['text/markdown']}\n\n{text}",
                          "text/html": self.saved["text/html"]
                          + f"<pre>{html.escape(text)}</pre>"}
        self._update()

    def _update(self) -> None:
        """The display's widget and its readable text, as a saved notebook keeps them."""
        if self._handle is not None:
            self._handle.update({VIEW_MIME: self.box._repr_mimebundle_()[VIEW_MIME],
                                 **self.saved}, raw=True)

    def _tick(self) -> None:
        ticks = 0
        while not self._over.wait(1 / REDRAWS_PER_S):
            ticks += 1
            if self._dirty.is_set() or ticks % IDLE_EVERY == 0:
                self._dirty.clear()
                self.render(table=True)

    def render(self, table: bool) -> None:
        """Push what changed, from one snapshot of the cells: the table, then the bar and the
        progress line (so a count on screen is never ahead of the cells shown under it). While
        the grid runs only the window of rows drawn is read, so a redraw costs the same for ten
        cells as for ten thousand."""
        run = self.run
        with self._drawing:
            statuses = [state.status for state in run.states]
            done = sum(status not in ("pending", "running") for status in statuses)
            line = html.escape(progress_line(run, run.clock(), statuses))
            pushed: list[tuple[Any, Any]] = []
            if table:
                window, caption = shown_rows(self._rows, statuses, live=not self._over.is_set())
                drawn = set(window)
                indices = [i for i, row in enumerate(self._rows) if row in drawn]
                pushed.append((self.table, caption + table_html(
                    results(run, indices), indices, run, window)))
            for widget, value in (*pushed, (self.bar, done), (self.label, line)):
                if widget.value != value:
                    widget.value = value
                    self.pushes += 1


def shown_rows(rows: Sequence[int], statuses: Sequence[str], live: bool
               ) -> tuple[list[int], str]:
    """The rows to draw, given each cell's row and status. While running, a window from the
    first row still running, so a large grid does not resend its whole table every redraw; at
    the end every row, up to `END_ROWS` (the rest are in `-o`'s frame and `%opus grid`)."""
    distinct = sorted(set(rows))
    if live and len(distinct) > LIVE_ROWS:
        active = [row for row, status in zip(rows, statuses) if status in ("running", "pending")]
        start = max(distinct.index(min(active)) - 2, 0) if active else 0
        window = distinct[start:start + LIVE_ROWS]
        return window, (f"<div class='opus-grid-window'>rows {window[0]}–{window[-1]} of "
                        f"{len(distinct)} while the grid runs; the whole table at the end</div>")
    if live or len(distinct) <= END_ROWS:
        return distinct, ""
    return distinct[:END_ROWS], (
        f"<div class='opus-grid-window'>the first {END_ROWS:,} rows of {len(distinct):,}; every "
        f"row is in the frame <code>-o NAME</code> keeps and in <code>%opus grid</code></div>")


def table_html(cells: Sequence[CellResult], indices: Sequence[int], run: GridRun,
               rows: Sequence[int]) -> str:
    """`rows` × variant/model columns, from `cells` (the cells at `indices` of the run); a
    finished cell opens to its whole answer when clicked; a cell sampled several times shows its
    first sample and how many samples agree."""
    columns = columns_of(cells)
    by: dict[tuple[int, str, str], tuple[CellResult, int]] = {}
    for i, c in zip(indices, cells):
        by.setdefault((c.row, c.variant, c.model), (c, i))
    agreed = by_cell(cells)
    head = "".join(f"<th style='padding:0 0.5em'>{html.escape(v)}/{html.escape(m)}</th>"
                   for v, m in columns)
    body = []
    for row in rows:
        tds = []
        for v, m in columns:
            found = by.get((row, v, m))
            agreement = agreed.get((row, v, m))
            tds.append("<td></td>" if found is None else _cell_html(
                found[0], run, found[1], agreement.label() if agreement else ""))
        body.append(f"<tr><td>{row}</td>{''.join(tds)}</tr>")
    return (f"<table class='opus-grid-cells' style='font-size:0.9em'>"
            f"<tr><th>row</th>{head}</tr>{''.join(body)}</table>")


def _cell_html(cell: CellResult, run: GridRun, index: int, agreement: str = "") -> str:
    """A cell: its status in its border (a failed check in red), its start; once it ended, a
    click opens the row it answered, what the checks expected and why one failed, the answer."""
    style = f"padding:0 0.5em;border-left:3px solid {border_colour(cell)};vertical-align:top"
    if cell.status == "running":
        text = run.states[index].text.replace("\n", " ")
        return f"<td style='{style}'>▸ {html.escape(text[-STREAM_PREVIEW:])}</td>"
    short = html.escape(cell_text(cell) + (f" · {agreement}" if agreement else ""))
    if cell.status in ("pending", "not run", "skipped"):
        return f"<td style='{style}'>{short}</td>"
    rows = run.grid.spec.rows
    row = rows[cell.row] if cell.row < len(rows) else {}
    return (f"<td class='opus-grid-td' style='{style}'><details class='opus-grid-cell'>"
            f"<summary>{short}</summary>{details_html(cell, row)}</details></td>")
