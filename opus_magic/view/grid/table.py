"""A grid's cells as a table: each cell's short text (status, the answer's start, checks,
cost), rows × variant/model columns, and where a table cut at `END_ROWS` has the rest."""
from __future__ import annotations

from collections.abc import Sequence

from opus_magic.core.ab.agreement import by_cell
from opus_magic.core.grid.summary import CellResult
from opus_magic.view import format as fmt
from opus_magic.wording import plural

MARKS = {"ok": "", "reused": "", "error": "✗ error", "interrupted": "✗ interrupted",
         "stopped": "■ stopped", "skipped": "– skipped", "not run": "– not run",
         "pending": "…", "running": "▸"}
PREVIEW = 40
END_ROWS = 1_000  # rows a finished grid's table shows; -o and %opus grid have them all


def cell_text(result: CellResult) -> str:
    """A table cell: the answer's start, check marks and cost, or the status."""
    mark = MARKS.get(result.status, result.status)
    answer = (result.record.text if result.record else "").replace("\n", " ").strip()
    if not answer and result.status == "error":  # nothing arrived: why is what to show
        answer = (result.record.error if result.record else None) or result.reason or ""
    short = answer[:PREVIEW] + ("…" if len(answer) > PREVIEW else "")
    erred = result.check_error
    checks = (f" {erred[:PREVIEW]}" if erred else "" if result.passed is None
              else (" ✓" if result.passed else " ✗"))
    paid = result.record is not None and result.status != "reused"
    cost = f" {fmt.money(result.record.cost)}" if paid and result.record else ""
    return f"{mark} {short}{checks}{cost}".strip()


def columns_of(cells: Sequence[CellResult]) -> list[tuple[str, str]]:
    return list(dict.fromkeys((c.variant, c.model) for c in cells))


def cell_rows(cells: Sequence[CellResult], limit: int | None = None) -> list[list[str]]:
    """Rows × (variant/model) columns of cell texts, headed by the column names; a cell sampled
    several times shows its first sample and how many samples agree; at most `limit` rows."""
    columns = columns_of(cells)
    rows = sorted({c.row for c in cells})
    shown = rows if limit is None else rows[:limit]
    if len(shown) < len(rows):
        drawn = set(shown)
        cells = [c for c in cells if c.row in drawn]
    by, agreed = first_samples(cells), by_cell(cells)
    table = [["row", *(f"{v}/{m}" for v, m in columns)]]
    for row in shown:
        table.append([str(row), *(cell_text(by[(row, v, m)]) + (
            f" · {agreed[(row, v, m)].label()}" if (row, v, m) in agreed else "")
            if (row, v, m) in by else "" for v, m in columns)])
    return table


def more_rows(cells: Sequence[CellResult], limit: int = END_ROWS) -> list[str]:
    """The line under a table cut at `limit` rows: how many more, and where they all are."""
    beyond = len({c.row for c in cells}) - limit
    return [f"… {plural(beyond, 'more row')}: -o NAME keeps every cell, and %opus grid shows "
            f"them all."] if beyond > 0 else []


def first_samples(cells: Sequence[CellResult]) -> dict[tuple[int, str, str], CellResult]:
    """Each (row, variant, model)'s first sample: the one a table shows."""
    by: dict[tuple[int, str, str], CellResult] = {}
    for cell in cells:
        by.setdefault((cell.row, cell.variant, cell.model), cell)
    return by
