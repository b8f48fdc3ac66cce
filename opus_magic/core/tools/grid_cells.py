"""Tool loops as grid cells: a cell whose cell has functions to run is a loop, its steps paced
and recorded like any cell's run (each step with the grid's fields), the cell shown and counted
as the whole chain, once."""
from __future__ import annotations

import threading
from collections.abc import Callable

from opus_magic.core.grid.spec import Grid, GridCell
from opus_magic.core.run.engine import LiveRun, Observer
from opus_magic.core.run.plan import Plan
from opus_magic.core.session import Session
from opus_magic.core.tools.chain import Chain, Step
from opus_magic.core.tools.loop import ChainObserver, ToolLoop
from opus_magic.core.tools.toolbox import Toolbox
from opus_magic.records import RunRecord
from opus_magic.store.base import HistoryStore
from opus_magic.store.queries import runs_of_chain

Execute = Callable[[Plan, Observer, threading.Event], RunRecord]


class StepEvents(ChainObserver):
    """A loop's run events passed on to an ordinary run observer (a grid cell's)."""

    def __init__(self, to: Observer) -> None:
        self.to = to

    def started(self, live: LiveRun) -> None:
        self.to.started(live)

    def delta(self, live: LiveRun, text: str) -> None:
        self.to.delta(live, text)

    def waiting(self, live: LiveRun, seconds: float, reason: str) -> None:
        self.to.waiting(live, seconds, reason)

    def finished(self, live: LiveRun, record: RunRecord) -> None:
        self.to.finished(live, record)


def loop_cell(session: Session, grid: Grid, cell: GridCell, execute: Execute,
              observer: Observer, cancel: threading.Event) -> tuple[RunRecord, list[RunRecord]]:
    """Run one cell's loop: its last step's record (the grid checks and keeps it as the cell's)
    and the steps before it (saved with the grid's fields)."""
    assert cell.plan is not None
    spec = grid.spec.cell
    labels = cell.fields(grid.id)

    def finish(step: Step, record: RunRecord) -> RunRecord:
        record = record.replace(**labels)
        session.store_at(step.plan.policy.store).save(record)
        return record

    loop = ToolLoop(session, spec.tools or Toolbox(()), spec.loop, execute=execute, finish=finish)
    chain: Chain = loop.run(cell.plan, StepEvents(observer), cancel)
    records = chain.records
    return records[-1], records[:-1]


def steps_before(store: HistoryStore, record: RunRecord) -> list[RunRecord]:
    """The steps of `record`'s loop before it (none outside a loop)."""
    if record.chain_id is None:
        return []
    return [step for step in runs_of_chain(store, record.chain_id) if step.id != record.id
            and (step.step or 0) < (record.step or 0)]


def continue_loops(session: Session, grid: Grid, records: list[RunRecord]) -> int:
    """Each loop whose first step a provider batch ran, run on to its end here (this kernel has
    the functions); its last step becomes the cell, checked. How many loops went on."""
    spec = grid.spec.cell
    cells = {cell.key: cell for cell in grid.cells if cell.plan is not None}
    pending = [r for r in records if r.tool_calls and r.chain_id is None and r.batch_id
               and r.cell_key in cells and r.status == "ok"]
    if not spec.loops or not pending:
        return 0
    for first in pending:
        cell = cells[first.cell_key]
        labels = cell.fields(grid.id)

        def finish(step: Step, record: RunRecord) -> RunRecord:
            record = record.replace(**labels, cell_key=None, checks=None)
            session.store_at(step.plan.policy.store).save(record)
            return record

        loop = ToolLoop(session, spec.tools or Toolbox(()), spec.loop, finish=finish)
        assert cell.plan is not None
        final = loop.run(cell.plan, ChainObserver(), threading.Event(), first=first).final
        if final is not None and final.id != first.id:
            row = grid.spec.rows[cell.row]
            checks = {c.name: c.run(final.text, row) for c in grid.spec.checks}
            session.store_at(cell.plan.policy.store).save(final.replace(
                **labels, cell_key=cell.key, checks=checks if final.status == "ok" else None))
    return len(pending)
