"""A cascade through the providers' batch engines: each stage's open rows submitted as a batch
at the batch price, the next stage submitted once the previous one is collected. Cells history
already has are reused; the collected runs carry the grid id, row and stage like any cell."""
from __future__ import annotations

import threading

from opus_magic.core.batch.submit import cancel, watch, worst_cases
from opus_magic.core.cascade.run import CascadeObserver, CascadeRun
from opus_magic.core.grid import batch as gridbatch
from opus_magic.core.grid.run import GridObserver, GridRun
from opus_magic.core.grid.spec import Grid
from opus_magic.core.session import Session
from opus_magic.cost.pricing import BATCH
from opus_magic.errors import OpusError, UsageError
from opus_magic.records import BatchRow
from opus_magic.store.grids import grid_cells

NOT_RETURNED = "the batch returned no result for it"
STOPPED = "stopped waiting for its batch, which keeps running: %opus batches collect records it"


class BatchCascadeRun(CascadeRun):
    """A cascade whose stages run as provider batches, polled every `poll_s` (first, longest)."""

    price_mode = BATCH

    def __init__(self, session: Session, grid: Grid, accept: float, compare: bool,
                 poll_s: tuple[float, float]) -> None:
        super().__init__(session, grid, accept, compare, 1)
        self.poll_s = poll_s
        self.batches: list[BatchRow] = []
        self.errors: list[str] = []
        self.quit = threading.Event()  # stop waiting for the batches (Ctrl-C)
        self.running: list[BatchRow] = []  # the batches of the stage being waited for

    def stop(self) -> None:
        """Start no other stage and cancel the stage's batches: their requests not run yet end
        canceled (not billed); what ran is collected and kept as usual."""
        super().stop()
        self._cancel_running()

    def _cancel_running(self) -> None:
        for row in list(self.running):
            try:
                cancel(self.session, row.id)
            except OpusError as exc:  # it had ended meanwhile, or the provider is unreachable
                self.errors.append(str(exc))

    def execute(self, stage: int | None, grid: Grid, observer: CascadeObserver) -> GridRun:
        """Reuse what history has, submit the rest as a batch, wait until it is collected, and
        take its runs as the stage's cells."""
        run = self.begin(stage, grid)
        run.reuse(GridObserver())
        cells = [c for c, s in zip(grid.cells, run.states) if s.status == "pending"]
        interactive, batch = worst_cases([c.plan for c in cells if c.plan is not None])
        plan = gridbatch.BatchPlan(grid, cells, run.count("reused"), interactive, batch)
        self.notes.append(f"{'Comparison' if stage is None else f'Stage {stage}'}: {plan.line()}")
        observer.changed(self)
        try:
            gridbatch.admit(self.session, plan)
        except UsageError as exc:
            for cell in cells:
                run.states[cell.index].status, run.states[cell.index].reason = "skipped", str(exc)
            return run
        rows = gridbatch.submit(self.session, plan)
        self.batches += rows
        self.running = rows
        if self.cancel.is_set():  # Stop came while the stage was being submitted
            self._cancel_running()
        observer.changed(self)
        self._wait(rows)
        self.running = []
        self._take(run, {row.id for row in rows})
        observer.changed(self)
        return run

    def _wait(self, rows: list[BatchRow]) -> None:
        first, longest = self.poll_s
        threads = [watch(self.session, row.id, first, None, self.quit, longest,
                         self.errors.append) for row in rows]
        try:
            for thread in threads:
                thread.join()
        except KeyboardInterrupt:  # stop waiting; the batches stay in the history to collect
            self.cancel.set()
            self.quit.set()
            for thread in threads:
                thread.join()

    def _take(self, run: GridRun, batch_ids: set[str]) -> None:
        """The collected runs as the stage's cells (counted against the session budget)."""
        store = self.session.store(self.grid.settings)
        found = {r.row: r for r in grid_cells(store, self.grid.id) if r.batch_id in batch_ids}
        for cell, state in zip(run.grid.cells, run.states):
            if state.status != "pending":
                continue
            record = found.get(cell.row)
            if record is None:
                stopped = self.quit.is_set()
                state.status = "not run" if stopped else "error"
                state.reason = STOPPED if stopped else (self.errors[-1] if self.errors
                                                        else NOT_RETURNED)
                continue
            self.session.budget.count(record)
            state.record, state.status = record, record.status
            state.checks = dict(record.checks or {})
