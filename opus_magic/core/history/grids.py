"""Grids from the history: one found by id, prefix or tag, and its cells as they ended."""
from __future__ import annotations

from collections.abc import Sequence

from opus_magic.core.grid.summary import CellResult, from_history
from opus_magic.core.tools.chain import combine_chains
from opus_magic.errors import UsageError
from opus_magic.store.base import HistoryStore
from opus_magic.store.grids import grid_cells, grid_id_like, last_grid_id


def find_grid(store: HistoryStore, given: str | None, tag: str | None = None) -> str:
    """A grid id from an id or prefix, else the latest grid (with `tag`)."""
    grid_id = grid_id_like(store, given) if given else last_grid_id(store, tag)
    if grid_id is None:
        what = (f"no grid '{given}'" if given else
                f"no grid tagged '{tag}'" if tag else "no grid yet")
        raise UsageError(f"History has {what}: run %%opus --each VAR ... first "
                         f"(grid ids are in %opus history).")
    return grid_id


def grid_results(store: HistoryStore, grid_id: str) -> list[CellResult]:
    """The latest run of each cell of a recorded grid, in row order (a tool loop's steps as
    one), each reused copy with what the run it copies cost."""
    records = combine_chains(grid_cells(store, grid_id))
    copied = {r.reused_from for r in records if r.reused_from}
    sources = {run_id: found.cost for run_id in copied
               if (found := store.get(run_id)) is not None}
    return from_history(records, sources)


def tagged_grids(store: HistoryStore,
                 tags: Sequence[str]) -> list[tuple[str, str, list[CellResult]]]:
    """The latest grid of each of two tags: (tag, grid id, its cells)."""
    if len(tags) != 2:
        raise UsageError("Use %opus compare --tag A --tag B (two tags of grid runs).")
    found = [(tag, find_grid(store, None, tag)) for tag in tags]
    return [(tag, grid_id, grid_results(store, grid_id)) for tag, grid_id in found]
