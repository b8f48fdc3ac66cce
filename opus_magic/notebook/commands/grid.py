"""`%opus grid [GRID_ID]`: a grid shown again from the history; a cascade as its paths and
summary."""
from __future__ import annotations

from opus_magic.core.cascade import history as cascade_history
from opus_magic.core.history import grids
from opus_magic.core.session import Session
from opus_magic.errors import UsageError
from opus_magic.view.grid import history as grid_history
from opus_magic.view.grid.cascade_text import from_history
from opus_magic.view.tables import show


def cmd_grid(session: Session, args: list[str]) -> None:
    if len(args) > 1:
        raise UsageError("Use %opus grid [GRID_ID] (the last grid when no id is given).")
    settings = session.settings()
    store = session.store(settings)
    grid_id = grids.find_grid(store, args[0] if args else None)
    cascade = cascade_history.find(store, grid_id)
    if cascade is not None:
        show(from_history(grid_id, cascade, session.catalog(settings).get(cascade.last_model)))
        return
    show(grid_history.grid_view(grid_id, grids.grid_results(store, grid_id)))
