"""Grid queries on the history: cells of a grid, the last grid, grids by tag, reusable answers."""
from __future__ import annotations

from collections.abc import Sequence

from opus_magic.records import RunRecord
from opus_magic.store.base import HistoryStore
from opus_magic.store.rows import SELECT, from_row

CHUNK = 500  # keys per IN (...) list, under SQLite's variable limit


def reusable(store: HistoryStore, keys: Sequence[str]) -> dict[str, list[RunRecord]]:
    """The finished (status ok) runs of each cell key that has some, oldest first; with those
    the store keeps until it can write them."""
    found: dict[str, list[RunRecord]] = {}
    unique = sorted(set(keys))
    for start in range(0, len(unique), CHUNK):
        part = unique[start:start + CHUNK]
        marks = ", ".join("?" for _ in part)
        rows = store._read(lambda s: s._rows(
            f"{SELECT} WHERE cell_key IN ({marks}) AND status = 'ok' ORDER BY created_at, rowid",
            part))
        for row in rows:
            record = from_row(row)
            found.setdefault(str(record.cell_key), []).append(record)
    wanted = set(unique)
    for record in store.unsaved:  # answered, but not written yet: reused all the same
        if record.cell_key in wanted and record.status == "ok":
            runs = found.setdefault(record.cell_key, [])
            if all(run.id != record.id for run in runs):
                runs.append(record)
    return found


def grid_cells(store: HistoryStore, grid_id: str) -> list[RunRecord]:
    """Every run of a grid (retries and re-runs included), oldest first."""
    rows = store._read(lambda s: s._rows(
        f"{SELECT} WHERE grid_id = ? ORDER BY created_at, rowid", (grid_id,)))
    return [from_row(row) for row in rows]


def last_grid_id(store: HistoryStore, tag: str | None = None) -> str | None:
    """The grid of the most recent grid run (with this tag, when given)."""
    sql = "SELECT grid_id FROM runs WHERE grid_id IS NOT NULL"
    args: tuple[str, ...] = ()
    if tag is not None:
        sql, args = sql + " AND tag = ?", (tag,)
    rows = store._read(lambda s: s._rows(sql + " ORDER BY created_at DESC, rowid DESC LIMIT 1",
                                         args))
    return rows[0][0] if rows else None


def grid_id_like(store: HistoryStore, prefix: str) -> str | None:
    """A grid id given whole or by a unique prefix."""
    rows = store._read(lambda s: s._rows(
        "SELECT DISTINCT grid_id FROM runs WHERE grid_id LIKE ? || '%' LIMIT 2", (prefix,)))
    return rows[0][0] if len(rows) == 1 else None
