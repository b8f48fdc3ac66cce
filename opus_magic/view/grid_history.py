"""Grids from history as tables: `%opus grid [GRID_ID]` and `%opus compare --tag A --tag B`."""
from __future__ import annotations

import html
from collections.abc import Sequence
from decimal import Decimal

from opus_magic.core.grid.summary import MEAN_DIGITS, CellResult, percentile, summarize
from opus_magic.view import format as fmt
from opus_magic.view.grid_text import (
    cell_rows,
    cell_text,
    judged_cost_line,
    summary_html,
    summary_text,
)
from opus_magic.view.tables import Rendered

AGGREGATE_HEADINGS = ("tag", "grid", "cells", "pass rate", "total cost", "mean cost", "p50", "p95")


def grid_view(grid_id: str, cells: Sequence[CellResult]) -> Rendered:
    """A grid re-shown from history: its summary and the table of cells."""
    rows = summarize(cells)
    judged = "".join(f"\n\n{line}" for line in judged_cost_line(rows))
    text = (f"Grid {grid_id}\n\n{summary_text(rows)}\n\n{fmt.text_table(cell_rows(cells))}"
            f"{judged}")
    table = "".join("<tr>" + "".join(f"<td style='padding:0 0.5em'>{html.escape(c)}</td>"
                                     for c in row) + "</tr>" for row in cell_rows(cells))
    shown = f"<b>Grid {grid_id}</b>{summary_html(rows)}<table>{table}</table>"
    if judged:
        shown += f"<pre>{html.escape(judged.strip())}</pre>"
    return Rendered(shown, text)


def _aggregate(tag: str, grid_id: str, cells: Sequence[CellResult]) -> tuple[str, ...]:
    checked = [c.passed for c in cells if c.passed is not None]
    costs = [c.record.cost for c in cells if c.record and c.record.cost is not None]
    latencies = [c.record.duration_s for c in cells if c.record and c.record.duration_s is not None]
    total = sum(costs, Decimal(0))
    return (tag, grid_id, str(len(cells)),
            f"{sum(checked) / len(checked):.0%}" if checked else "–", fmt.money(total),
            fmt.money((total / len(costs)).quantize(MEAN_DIGITS)) if costs else "–",
            fmt.seconds(percentile(latencies, 0.5)), fmt.seconds(percentile(latencies, 0.95)))


def compare_tags(grids: Sequence[tuple[str, str, Sequence[CellResult]]]) -> Rendered:
    """Two grids (tag, grid id, cells) aligned row by row, with their aggregates."""
    tags = [tag for tag, _, _ in grids]
    cells = [found for _, _, found in grids]
    aggregate = [AGGREGATE_HEADINGS, *(_aggregate(tag, grid_id, found)
                                       for tag, grid_id, found in grids)]
    by_row: list[dict[int, list[CellResult]]] = [{} for _ in cells]
    for index, found in enumerate(cells):
        for cell in found:
            by_row[index].setdefault(cell.row, []).append(cell)
    aligned = [("row", *tags)]
    for row in sorted(set(by_row[0]) | set(by_row[1])):
        aligned.append((str(row), *(" | ".join(cell_text(c) for c in side.get(row, [])) or "–"
                                    for side in by_row)))
    text = fmt.text_table(aggregate) + "\n\n" + fmt.text_table(aligned)
    table = "".join("<tr>" + "".join(f"<td style='padding:0 0.5em'>{html.escape(c)}</td>"
                                     for c in row) + "</tr>" for row in [*aggregate, [], *aligned])
    return Rendered(f"<table class='opus-grid-compare'>{table}</table>", text)
