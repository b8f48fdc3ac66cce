"""Grids from history as tables: `%opus grid [GRID_ID]` and `%opus compare --tag A --tag B`."""
from __future__ import annotations

import dataclasses
import html
from collections.abc import Sequence

from opus_magic.core.ab.verdict import summarize
from opus_magic.core.grid.summary import CellResult
from opus_magic.view import format as fmt
from opus_magic.view.grid.table import cell_rows, cell_text
from opus_magic.view.grid.text import judged_cost_line, summary_html, summary_text
from opus_magic.view.tables import Rendered


def grid_view(grid_id: str, cells: Sequence[CellResult]) -> Rendered:
    """A grid re-shown from history: its summary with intervals and verdict, and the cells (and
    what a judge cost, apart)."""
    summary = summarize(cells)
    judged = "".join(f"\n\n{line}" for line in judged_cost_line(summary.rows))
    text = (f"Grid {grid_id}\n\n{summary_text(summary)}\n\n{fmt.text_table(cell_rows(cells))}"
            f"{judged}")
    table = "".join("<tr>" + "".join(f"<td style='padding:0 0.5em'>{html.escape(c)}</td>"
                                     for c in row) + "</tr>" for row in cell_rows(cells))
    shown = f"<b>Grid {grid_id}</b>{summary_html(summary)}<table>{table}</table>"
    if judged:
        shown += f"<pre>{html.escape(judged.strip())}</pre>"
    return Rendered(shown, text)


def compare_tags(grids: Sequence[tuple[str, str, Sequence[CellResult]]]) -> Rendered:
    """Two grids (tag, grid id, cells) compared arm by arm on the rows they share (each arm is
    named 'tag: variant'), then aligned row by row."""
    tags = [tag for tag, _, _ in grids]
    cells = [found for _, _, found in grids]
    named = [dataclasses.replace(cell, variant=f"{tag}: {cell.variant}")
             for tag, _, found in grids for cell in found]
    summary = summarize(named)
    ids = " · ".join(f"{tag}: grid {grid_id}" for tag, grid_id, _ in grids)
    by_row: list[dict[int, list[CellResult]]] = [{} for _ in cells]
    for index, found in enumerate(cells):
        for cell in found:
            by_row[index].setdefault(cell.row, []).append(cell)
    aligned = [("row", *tags)]
    for row in sorted(set(by_row[0]) | set(by_row[1])):
        aligned.append((str(row), *(" | ".join(cell_text(c) for c in side.get(row, [])) or "–"
                                    for side in by_row)))
    text = f"{ids}\n\n{summary_text(summary)}\n\n{fmt.text_table(aligned)}"
    table = "".join("<tr>" + "".join(f"<td style='padding:0 0.5em'>{html.escape(c)}</td>"
                                     for c in row) + "</tr>" for row in aligned)
    return Rendered(f"<div class='opus-grid-compare'><b>{html.escape(ids)}</b>"
                    f"{summary_html(summary)}<table>{table}</table></div>", text)
