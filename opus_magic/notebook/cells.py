"""What a `%%opus` cell does, given its parsed input: kept apart from the subcommands, so a
first cell imports only what running a prompt needs."""
from __future__ import annotations

from opus_magic.core.comparison import plan_comparison
from opus_magic.core.run.planner import Planner, cell_flags
from opus_magic.core.run.request import CellInput
from opus_magic.core.session import Session
from opus_magic.errors import UsageError
from opus_magic.notebook.present import present_comparison, present_run
from opus_magic.records import RunRecord

__all__ = ["CellInput", "run_cell"]


def run_cell(session: Session, cell: CellInput, line: str | None = None) -> list[RunRecord]:
    """Dispatch a cell: one model, several models side by side, or a dry run (`line`: the
    cell's %%opus line, for writing a rerun's flags back)."""
    if cell.continue_from:
        from opus_magic.core.run.conversation import continue_cell

        cell = continue_cell(session, cell)
    if cell.dry_run:
        from opus_magic.core.run.preflight import dry_run

        print(dry_run(session, cell))
        return []
    if len(cell.models) > 1:
        if cell.loops:
            raise UsageError("A tool loop runs on one model at a time: name one with -m (a grid, "
                             "--each, runs loops on several).")
        return present_comparison(session, plan_comparison(session, cell, count_later=True),
                                  cell.output)
    plan = Planner(session, cell_flags(cell)).plan_model(
        cell, cell.models[0] if cell.models else None, count_later=not cell.loops)
    if cell.loops:
        from opus_magic.notebook.chains import present_chain

        return present_chain(session, plan, cell)
    return present_run(session, plan, cell.output, line)
