"""`%%opus --each … --batch`: the grid submitted as provider batches, and the controller that
watches them in the background (fast at first, backing off), cancels them, and shows the grid
once they are collected. The views only observe it."""
from __future__ import annotations

import threading
from collections.abc import Sequence
from decimal import Decimal
from urllib.parse import urlparse

from opus_magic.core.batch import submit as batch
from opus_magic.core.grid import batch as gridbatch
from opus_magic.core.grid.batch import BatchObserver
from opus_magic.core.grid.spec import Grid, GridSpec, dry_run_lines, plan_grid
from opus_magic.core.grid.summary import from_history
from opus_magic.core.session import Session
from opus_magic.core.tools.chain import combine_chains
from opus_magic.core.tools.grid_cells import continue_loops
from opus_magic.errors import OpusError
from opus_magic.notebook.grid.run import remaining_budget, to_frame
from opus_magic.notebook.present import BLOCKING, TEXT, deliver, presentation
from opus_magic.notebook.state import STATE
from opus_magic.records import BatchRow
from opus_magic.store.grids import grid_cells
from opus_magic.view.grid.batch_text import BatchTextView, next_steps
from opus_magic.view.grid.history import grid_view
from opus_magic.view.tables import Rendered, show

LOCAL_POLL_S = (0.05, 1.0)  # a server on this machine (the simulator) answers at once
PROVIDER_POLL_S = (2.0, 60.0)  # a provider: look soon, then back off to once a minute
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")



class BatchWatch:
    """The batches of one grid in this kernel: their latest state, Cancel, and the end."""

    def __init__(self, session: Session, spec: GridSpec, grid_id: str, rows: Sequence[BatchRow],
                 output: str | None, view: BatchObserver, worst: Decimal | None,
                 grid: Grid | None = None) -> None:
        """`grid`: the grid as planned in this kernel, so its tool loops go on here."""
        self.session, self.spec, self.grid_id, self.grid_planned = session, spec, grid_id, grid
        self.worst = worst  # held against the session budget until the batches are collected
        self.output, self.view = output, view
        self.rows = {row.id: row for row in rows}
        self.threads: list[threading.Thread] = []
        self.errors: list[str] = []
        self.stop = threading.Event()
        self.done = threading.Event()
        self.grid: Rendered | None = None
        self._lock = threading.Lock()
        self._ending = False

    def start(self) -> None:
        """Watch every batch until it is collected (or this kernel ends)."""
        for row in self.rows.values():
            first, longest = poll_intervals(row.endpoint)
            self.threads.append(batch.watch(self.session, row.id, first, self._update, self.stop,
                                            longest, self._failed))

    def cancel(self) -> None:
        """Ask the provider to cancel every batch still running; the watch collects what ran."""
        for row in list(self.rows.values()):
            if row.status == "ended":
                continue
            try:
                self._update(batch.cancel(self.session, row.id))
            except OpusError as exc:
                self._failed(str(exc))

    def _update(self, row: BatchRow) -> None:
        with self._lock:
            if self.rows[row.id].collected_at and not row.collected_at:
                return  # read before the batch was collected: older than what is shown
            self.rows[row.id] = row
            rows, errors = list(self.rows.values()), list(self.errors)
            over = all(r.collected_at for r in rows)
        self.view.changed(rows, errors)
        if over:
            self._finish()

    def _failed(self, message: str) -> None:
        with self._lock:
            self.errors.append(message)
        self._finish()

    def _finish(self) -> None:
        """Show the grid from history (and give `-o` its frame); once, however the end came."""
        with self._lock:
            if self._ending:  # a second end (a late poll, an error) does nothing
                return
            self._ending = True
        store = self.session.store(self.session.settings())
        if all(row.collected_at for row in self.rows.values()):
            records = grid_cells(store, self.grid_id)
            for record in records:
                if record.batch_id in self.rows:
                    self.session.budget.count(record)
            if self.grid_planned is not None and continue_loops(self.session, self.grid_planned,
                                                                records):
                records = grid_cells(store, self.grid_id)
            cells = from_history(combine_chains(records))
            self.grid = grid_view(self.grid_id, cells)
            deliver(self.output, to_frame(cells, self.spec.rows, self.spec.cell.schema))
        self.view.finished(list(self.rows.values()), list(self.errors), self.grid)
        self.done.set()


def poll_intervals(endpoint: str) -> tuple[float, float]:
    """The first wait between polls and the longest one it backs off to."""
    host = urlparse(endpoint).hostname or ""
    return LOCAL_POLL_S if host in LOCAL_HOSTS else PROVIDER_POLL_S


def stop_watching() -> None:
    """Stop watching this kernel's batches (they keep running: collect them later)."""
    for watch in STATE.watches:
        watch.stop.set()
    for watch in STATE.watches:
        for thread in watch.threads:
            thread.join()
    STATE.watches.clear()


def latest_watch() -> BatchWatch | None:
    """The batch grid this kernel submitted last (to cancel or wait for it from code), or None."""
    return STATE.watches[-1] if STATE.watches else None


def run_grid_batch(session: Session, spec: GridSpec, output: str | None) -> BatchWatch | None:
    """Submit the grid's cells that history cannot give as batches, at the batch price, and
    watch them; with --dry-run only show what that would cost, beside the interactive price."""
    grid = plan_grid(session, spec)
    if spec.cell.dry_run:
        plan = gridbatch.plan_batch(session, grid, record_reused=False)
        print("\n".join([*dry_run_lines(grid, remaining_budget(session)), plan.line()]))
        return None
    gridbatch.refuse_twice(session, grid)
    plan = gridbatch.plan_batch(session, grid, record_reused=True)
    gridbatch.admit(session, plan, sum((w.worst or Decimal(0) for w in STATE.watches
                                        if not w.done.is_set()), Decimal(0)))
    rows = gridbatch.submit(session, plan)
    store = session.store(grid.settings)
    if not rows:
        print(plan.line() + " Every cell came from history: nothing was submitted.")
        cells = from_history(grid_cells(store, grid.id))
        deliver(output, to_frame(cells, spec.rows, spec.cell.schema))
        show(grid_view(grid.id, cells))
        return None
    return _watch(session, spec, plan, rows, output)


def _watch(session: Session, spec: GridSpec, plan: gridbatch.BatchPlan, rows: list[BatchRow],
           output: str | None) -> BatchWatch:
    mode = presentation(plan.grid.settings.view)
    grid_id, preflight = plan.grid.id, plan.line()
    if mode == TEXT:
        text = BatchTextView()
        watch = BatchWatch(session, spec, grid_id, rows, output, text, plan.batch, plan.grid)
        text.submitted(preflight, rows, grid_id)
    else:
        from opus_magic.view.grid.batch_widget import BatchView

        widget = BatchView(grid_id, preflight, rows)
        watch = BatchWatch(session, spec, grid_id, rows, output, widget, plan.batch, plan.grid)
        widget.on_cancel(watch.cancel)
        STATE.remember(widget)
        widget.show()
    STATE.watches.append(watch)
    watch.start()
    if mode == BLOCKING:  # a headless kernel runs cells in order: the next one wants the results
        try:
            watch.done.wait()
        except KeyboardInterrupt:
            print(f"opus: stopped waiting; the batches keep running. {next_steps(rows, grid_id)}")
    return watch

