"""A cascade as text: a progress line while it runs (stage, rows settled at each stage, the cost
so far against the last model alone), then the summary and each row's path; the same as
Markdown and HTML for saved notebooks."""
from __future__ import annotations

import html
import sys
import threading
from collections.abc import Sequence
from decimal import Decimal
from typing import TextIO

from opus_magic.core.cascade import alone
from opus_magic.core.cascade.history import Recorded
from opus_magic.core.cascade.policy import RowPath
from opus_magic.core.cascade.progress import Progress, phase, progress, row_texts
from opus_magic.core.cascade.run import CascadeObserver, CascadeRun
from opus_magic.core.cascade.summary import CascadeSummary, Side, of_run, sentence
from opus_magic.cost.model_info import ModelInfo
from opus_magic.stats import Interval
from opus_magic.view import format as fmt
from opus_magic.view.tables import Rendered

SUMMARY_HEADINGS = ("", "rows", "pass rate", "cost per row", "cost per correct", "total")
PREVIEW = 40
MAX_ROWS = 20  # rows listed for one reason they were not settled


def settled_text(stages: Sequence[str], settled: Sequence[int], rows: int) -> str:
    """'haiku 18 (60 %) · sonnet 8 (27 %) · opus 4 (13 %)'."""
    return " · ".join(f"{model} {count} ({count / rows * 100:.0f} %)" if rows else f"{model} 0"
                      for model, count in zip(stages, settled))


def opening(run: CascadeRun) -> str:
    """What the cascade is, its worst case, and the last model alone priced before running."""
    worst = run.grid.worst_case
    priced = alone.before(run.grid, run.last_model, run.price_mode)
    last = ("unknown (no price)" if priced is None else
            f"{fmt.money(priced[0], estimated=True)} … {fmt.money(priced[1], estimated=True)}")
    return (f"Cascade {run.grid.id}: {len(run.paths)} rows through {' → '.join(run.stages)}; "
            f"worst case (every row on every stage) "
            f"{'unknown' if worst is None else fmt.money(worst, estimated=True)}; "
            f"{run.last_model} alone on every row: {last} (its prices × the pre-flight counts, "
            f"input only … with max_tokens of output)")


def progress_line(shown: Progress) -> str:
    """Where the cascade is, what it settled and what it cost against the last model alone."""
    settled = sum(shown.settled)
    alone = ("unknown" if shown.alone is None else
             fmt.money(shown.alone, estimated=shown.alone_estimated))
    label = "estimate" if shown.alone_estimated else "measured"
    unsettled = f" · {shown.unsettled} not settled" if shown.unsettled else ""
    compared = (f" (the comparison itself {fmt.money(shown.compared)})" if shown.compared else "")
    against = (f" against {alone} for {shown.stages[-1]} alone on the {shown.alone_rows} rows "
               f"reached ({label})" if shown.alone_rows else "")
    return (f"Cascade {shown.phase} · {settled}/{shown.rows} rows settled: "
            f"{settled_text(shown.stages, shown.settled, shown.rows)}{unsettled} · "
            f"{fmt.money(shown.spent)} spent{against}{compared}"
            + (f" · {shown.note}" if shown.note else ""))


def _interval(value: Interval[Decimal] | None, estimated: bool = False) -> str:
    if value is None:
        return "–"
    return (f"{fmt.money(value.estimate, estimated=estimated)} "
            f"({fmt.money(value.low)}–{fmt.money(value.high)})")


def _side_cells(side: Side, label: str) -> tuple[str, ...]:
    rate = side.pass_rate
    return (label, str(side.rows),
            "not measured" if rate is None else
            f"{rate.estimate * 100:.0f} % ({rate.low * 100:.0f}–{rate.high * 100:.0f} %)",
            _interval(side.cost_per_row, side.estimated), _interval(side.cost_per_correct),
            fmt.money(side.total, estimated=side.estimated))


def summary_rows(summary: CascadeSummary) -> list[tuple[str, ...]]:
    cascade = " → ".join(summary.stages)
    return [SUMMARY_HEADINGS, _side_cells(summary.cascade, f"cascade {cascade}"),
            _side_cells(summary.alone, f"{summary.alone.name} alone"
                        + (" (estimate)" if summary.alone.estimated else ""))]


def summary_lines(summary: CascadeSummary) -> list[str]:
    """The settled shares, the verdict, and the rows left unsettled with why."""
    lines = [f"Settled at each stage: "
             f"{settled_text(summary.stages, summary.settled, summary.rows)}.", sentence(summary)]
    if summary.unsettled:
        lines.append(f"{len(summary.unsettled)} rows not settled (left out of the comparison): "
                     f"{unsettled_text(summary.unsettled)}. Run the cell again to continue them.")
    return lines


def unsettled_text(rows: Sequence[tuple[int, str]]) -> str:
    """Rows grouped by why, each reason once: 'rows 3, 4, 7: over the session budget (…)'."""
    groups: dict[str, tuple[str, list[int]]] = {}
    for row, why in rows:
        groups.setdefault(why.split(" (")[0], (why, []))[1].append(row)
    return "; ".join(
        f"row{'s' if len(shown) > 1 else ''} {', '.join(map(str, shown[:MAX_ROWS]))}"
        f"{f' and {len(shown) - MAX_ROWS} more' if len(shown) > MAX_ROWS else ''}: {why}"
        for why, shown in groups.values())


def path_rows(paths: Sequence[RowPath], texts: Sequence[str]) -> list[list[str]]:
    """Each row: its path, the answer that stands (or the latest), what the row cost."""
    table = [["row", "path", "answer", "cost"]]
    for path, text in zip(paths, texts):
        last = path.last
        answer = (last.record.text if last and last.record else "").replace("\n", " ").strip()
        short = answer[:PREVIEW] + ("…" if len(answer) > PREVIEW else "")
        table.append([str(path.row), text, short,
                      fmt.money(path.cost) if path.attempts else "–"])
    return table


def rendered(grid_id: str, summary: CascadeSummary, paths: Sequence[RowPath],
             texts: Sequence[str]) -> dict[str, str]:
    """The summary and the paths as text/plain, text/markdown and text/html."""
    head = fmt.text_table(summary_rows(summary))
    lines = summary_lines(summary)
    table = path_rows(paths, texts)
    plain = "\n\n".join([f"Cascade {grid_id}", head, "\n".join(lines),
                         fmt.text_table(table, left=(0, 1, 2))])

    def line(values: Sequence[str]) -> str:
        return "| " + " | ".join(v.replace("|", "\\|") for v in values) + " |"

    rows = summary_rows(summary)
    markdown = "\n".join([f"**Cascade {grid_id}**", "", line(rows[0]),
                          line(["---"] * len(rows[0])), *(line(r) for r in rows[1:]), "",
                          *(f"{text}  " for text in lines), "", line(table[0]),
                          line(["---"] * len(table[0])), *(line(r) for r in table[1:])])
    return {"text/plain": plain, "text/markdown": markdown,
            "text/html": f"<b>Cascade {grid_id}</b>" + summary_html(summary) + table_html(table)}


def readable(run: CascadeRun) -> dict[str, str]:
    """A cascade run as it ended (or stands now)."""
    return rendered(run.grid.id, of_run(run), run.paths, row_texts(run))


def from_history(grid_id: str, recorded: Recorded, info: ModelInfo | None) -> Rendered:
    """`%opus grid ID` for a cascade: its summary and each row's path, from the history."""
    bundle = rendered(grid_id, recorded.summary(info), recorded.paths,
                      [path.text() for path in recorded.paths])
    return Rendered(bundle["text/html"], bundle["text/plain"])


def summary_html(summary: CascadeSummary) -> str:
    rows = summary_rows(summary)
    body = "".join("<tr>" + "".join(f"<{'th' if i == 0 else 'td'} style='padding:0 0.6em'>"
                                    f"{html.escape(c)}</{'th' if i == 0 else 'td'}>" for c in row)
                   + "</tr>" for i, row in enumerate(rows))
    lines = "".join(f"<div class='opus-cascade-line'>{html.escape(text)}</div>"
                    for text in summary_lines(summary))
    return f"<table class='opus-cascade-summary'>{body}</table>{lines}"


def table_html(paths: Sequence[Sequence[str]]) -> str:
    body = "".join("<tr>" + "".join(f"<td style='padding:0 0.5em'>{html.escape(c)}</td>"
                                    for c in row) + "</tr>" for row in paths[1:])
    head = "".join(f"<th style='padding:0 0.5em'>{html.escape(c)}</th>" for c in paths[0])
    return f"<table class='opus-cascade-paths'><tr>{head}</tr>{body}</table>"


class CascadeTextView(CascadeObserver):
    """Prints a progress line as each stage starts and ends, then the summary and each row's
    path."""

    def __init__(self, out: TextIO | None = None) -> None:
        self.out = out or sys.stdout
        self._phase = ""
        self._lock = threading.Lock()

    def started(self, run: CascadeRun) -> None:
        self.out.write(opening(run) + ".\n")
        for note in run.grid.notes():
            self.out.write(f"! {note}\n")

    def changed(self, run: CascadeRun) -> None:
        with self._lock:
            now = phase(run)
            if now != self._phase:  # a stage began: where the previous one left things
                self._phase = now
                self.out.write(progress_line(progress(run)) + "\n")
                self.out.flush()

    def finished(self, run: CascadeRun) -> None:
        self.out.write(f"{progress_line(progress(run))}\n\n{readable(run)['text/plain']}\n")
        self.out.flush()
