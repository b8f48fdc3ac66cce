"""Running a grid: reuse what history has, admit cells under the budget, pace them per endpoint,
retry cells whose stream broke, check each answer, and keep every cell as an ordinary run."""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from opus_magic.core.grid.checks import all_passed
from opus_magic.core.grid.pacing import PacedRetrier, Pacer, Reservations, needs
from opus_magic.core.grid.spec import Grid, GridCell
from opus_magic.core.grid.summary import CellResult
from opus_magic.core.run.engine import Engine, LiveRun, Observer, new_run_id, now_iso
from opus_magic.core.run.plan import Plan
from opus_magic.core.session import Session
from opus_magic.core.tools.chain import combined
from opus_magic.core.tools.grid_cells import loop_cell, steps_before
from opus_magic.errors import OpusError
from opus_magic.records import RunRecord, Usage
from opus_magic.store.grids import reusable

GRID_RETRIES = 2  # extra attempts for a cell whose stream was cut, truncated or malformed
DEFAULT_CONCURRENCY = 4
FINAL = ("ok", "error", "interrupted", "stopped", "reused", "skipped", "not run")


@dataclass
class CellState:
    """What the views show of one cell."""

    status: str = "pending"
    live: LiveRun | None = None
    record: RunRecord | None = None
    checks: dict[str, bool | float | None] = field(default_factory=dict)
    attempts: int = 0
    reason: str | None = None
    steps: list[RunRecord] = field(default_factory=list)  # a tool loop's steps before `record`

    @property
    def shown(self) -> RunRecord | None:
        """The cell's run as shown and counted: a tool loop's steps together."""
        if self.record is None or not self.steps:
            return self.record
        return combined([*self.steps, self.record])

    @property
    def text(self) -> str:
        if self.record is not None:
            return self.record.text
        return self.live.state.text if self.live is not None else ""

    @property
    def passed(self) -> bool | None:
        return all_passed(self.checks) if self.checks else None


class GridObserver:
    """A view of a running grid: told when it starts, when a cell changed and when it finished;
    override what it needs."""

    def started(self, run: GridRun) -> None:
        """The grid begins."""

    def changed(self, run: GridRun, index: int) -> None:
        """Cell `index` changed (its status, its text so far, its record)."""

    def finished(self, run: GridRun) -> None:
        """Every cell ended, or Stop ended the grid."""


class GridRun:
    """One execution of a grid: cell states, counters, and Stop."""

    def __init__(self, session: Session, grid: Grid, concurrency: int,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.session, self.grid, self.clock = session, grid, clock
        self.concurrency = max(concurrency, 1)
        self.states = [CellState() for _ in grid.cells]
        self.cancel = threading.Event()
        self.started = clock()
        self.ended: float | None = None
        self.retries = 0  # responses retried: the sum of the cells' records' retry_count
        self.reruns = 0  # cells run again after their stream was cut (each a run of its own)
        self.pacers: dict[str, Pacer] = {}
        self._lock = threading.Lock()

    def count(self, *statuses: str) -> int:
        return sum(1 for s in self.states if s.status in statuses)

    @property
    def spent(self) -> Decimal:
        """What the cells run (not reused) cost, finished ones exactly, running ones so far."""
        total = Decimal(0)
        for state in self.states:
            if state.status == "reused":
                continue
            shown = state.shown
            if shown is not None and shown.cost is not None:
                total += shown.cost
            elif state.live is not None and state.status == "running":
                total += state.live.costs()[2] or Decimal(0)
        return total

    def count_retry(self) -> None:
        with self._lock:
            self.retries += 1

    def count_rerun(self) -> None:
        with self._lock:
            self.reruns += 1

    @property
    def throttled(self) -> int:
        return sum(p.throttled for p in self.pacers.values())

    def stop(self) -> None:
        """Stop scheduling and abort the streams in flight; everything finished is kept."""
        self.cancel.set()
        for pacer in self.pacers.values():
            pacer.wake()
        for state in self.states:
            if state.live is not None and state.status == "running":
                state.live.stop()

    def run(self, observer: GridObserver) -> None:
        """Run every cell to its end (or Stop); returns when the grid is over."""
        observer.started(self)
        try:
            self.reuse(observer)
            self._run_pending(observer)
        finally:
            self.ended = self.clock()
            observer.finished(self)

    def _run_pending(self, observer: GridObserver) -> None:
        """Workers take the cells not reused, at most `concurrency` per endpoint at a time."""
        pending = [c for c in self.grid.cells if self.states[c.index].status == "pending"]
        admission = Reservations(self.session.budget, self.grid.settings.budget)
        for cell in pending:
            assert cell.plan is not None
            self.pacers.setdefault(cell.plan.endpoint.base_url, Pacer(self.concurrency))
        queue = list(reversed(pending))
        workers = [threading.Thread(target=self._work, args=(queue, admission, observer),
                                    daemon=True, name="opus-grid")
                   for _ in range(min(len(pending), self.concurrency * max(len(self.pacers), 1)))]
        for worker in workers:
            worker.start()
        try:
            for worker in workers:
                worker.join()
        except KeyboardInterrupt:
            self.stop()
            for worker in workers:
                worker.join()

    def reuse(self, observer: GridObserver) -> None:
        """Mark refused cells, and take finished answers from history unless --fresh."""
        store = self.session.store(self.grid.settings)
        keys = [c.key for c in self.grid.cells if c.key and not c.refused]
        found = {} if self.grid.spec.fresh else reusable(store, keys)
        for cell in self.grid.cells:
            state = self.states[cell.index]
            if cell.refused or cell.plan is None:
                state.status, state.reason = "skipped", cell.refused
            elif cell.key in found:
                state.record = self._finish(cell, _reused(found[cell.key], self.grid, cell))
                state.steps, state.status = steps_before(store, state.record), "reused"
            else:
                continue
            observer.changed(self, cell.index)

    def _work(self, queue: list[GridCell], admission: Reservations,
              observer: GridObserver) -> None:
        while True:
            with self._lock:
                if not queue:
                    return
                cell = queue.pop()
            state = self.states[cell.index]
            try:
                if self.cancel.is_set():
                    state.status = "not run"
                else:
                    self._admitted(cell, admission, observer)
            except OpusError as exc:  # e.g. the history cannot be written: this cell fails
                state.status, state.reason = "error", str(exc)
            observer.changed(self, cell.index)

    def _admitted(self, cell: GridCell, admission: Reservations, observer: GridObserver) -> None:
        assert cell.plan is not None
        state, worst = self.states[cell.index], cell.plan.worst_case_cost
        refusal = admission.admit(worst, self.cancel)
        if refusal is not None:
            state.status, state.reason = ("not run", None) if refusal == "stopped" else (
                "skipped", refusal)
            return
        try:
            self._attempts(cell, observer)
        finally:
            admission.release(worst)

    def _attempts(self, cell: GridCell, observer: GridObserver) -> None:
        """Run the cell, again while its stream breaks (bounded); the last attempt counts."""
        assert cell.plan is not None
        state = self.states[cell.index]
        pacer = self.pacers[cell.plan.endpoint.base_url]
        with pacer.slot(self.cancel) as entered:
            if not entered:
                state.status = "not run"
                return
            while True:
                state.attempts += 1
                record = self._execute(cell, pacer, observer)
                if (record.status != "interrupted" or state.attempts > GRID_RETRIES
                        or self.cancel.is_set()):
                    break
                self.count_rerun()
                state.record = self._finish(cell, record)
        state.record = self.session.last_run = self._finish(cell, record)
        state.status, state.live = record.status, None  # the record holds what the view needs

    def _execute(self, cell: GridCell, pacer: Pacer, observer: GridObserver) -> RunRecord:
        assert cell.plan is not None
        session, plan = self.session, cell.plan
        retrier = PacedRetrier(session.retrier(plan), pacer,
                               needs(plan.input_tokens, plan.max_tokens), self.count_retry)
        engine = Engine(session.store_at(plan.policy.store), guard=session.budget,
                        retrier=retrier)
        events = _CellObserver(self, cell.index, observer, pacer.clock)

        def execute(step: Plan, hearing: Observer, cancel: threading.Event) -> RunRecord:
            """One request of the cell (a tool loop sends several), ended at the pacer."""
            record: RunRecord | None = None
            try:
                record = engine.execute(step, hearing, cancel)
            finally:  # what the answer used tells the pacer what the server gave back, and when
                pacer.ended(retrier.take_ticket(), None if record is None else record.usage,
                            step.max_tokens, events.closed_at)
            notes = [note for note in retrier.notes if note not in record.notes]
            return record.replace(notes=[*record.notes, *notes]) if notes else record

        if self.grid.spec.cell.loops:
            record, self.states[cell.index].steps = loop_cell(
                session, self.grid, cell, execute, events, self.cancel)
        else:
            record = execute(plan, events, self.cancel)
        return record

    def _finish(self, cell: GridCell, record: RunRecord) -> RunRecord:
        """Check the answer and save the cell with its grid fields."""
        state = self.states[cell.index]
        row = self.grid.spec.rows[cell.row]
        if record.status == "ok":
            state.checks = {check.name: check.run(record.text, row)
                            for check in self.grid.spec.checks}
        record = record.replace(grid_id=self.grid.id, variant=cell.variant, row=cell.row,
                                checks=dict(state.checks) if record.status == "ok" else None,
                                cell_key=cell.key)
        self.session.store(self.grid.settings).save(record)
        return record


class _CellObserver(Observer):
    """Hears one cell's engine events and passes them on as changes of that cell."""

    def __init__(self, run: GridRun, index: int, observer: GridObserver,
                 clock: Callable[[], float]) -> None:
        self.run, self.index, self.observer, self.clock = run, index, observer, clock
        self.closed_at: float | None = None  # when the answer's stream ended, on the pacer's clock

    def stream_closed(self, live: LiveRun) -> None:
        self.closed_at = self.clock()

    def started(self, live: LiveRun) -> None:
        state = self.run.states[self.index]
        state.live, state.status = live, "running"
        self.observer.changed(self.run, self.index)

    def delta(self, live: LiveRun, text: str) -> None:
        self.observer.changed(self.run, self.index)

    def waiting(self, live: LiveRun, seconds: float, reason: str) -> None:
        self.observer.changed(self.run, self.index)

    def finished(self, live: LiveRun, record: RunRecord) -> None:
        """The grid records the cell itself once its checks are known."""


def _reused(records: list[RunRecord], grid: Grid, cell: GridCell) -> RunRecord:
    """A finished answer from history as this grid's cell: its own run, or a free copy of the
    latest run with the same key."""
    own = [r for r in records
           if r.grid_id == grid.id and r.variant == cell.variant and r.row == cell.row]
    if own:
        return own[-1]
    record = records[-1]
    return record.replace(id=new_run_id(), created_at=now_iso(), usage=Usage(), cost=Decimal(0),
                          cost_exact=True, cost_source="reused", tag=cell.plan.request.tag
                          if cell.plan else record.tag,
                          reused_from=record.id, rate_limits=None, chain_id=None, step=None)


def results(run: GridRun) -> list[CellResult]:
    """Every cell of a run as shown: status, record, checks, and why it did not run."""
    return [CellResult(c.variant, c.model, c.row, s.status, s.shown, s.checks, s.reason)
            for c, s in zip(run.grid.cells, run.states)]
