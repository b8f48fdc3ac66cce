"""Running a grid: reuse what history has, admit cells under the budget, pace them per endpoint,
retry cells whose stream broke, check each answer, and keep every cell as an ordinary run."""
from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from opus_magic.core.grid.admission import Reservations
from opus_magic.core.grid.cell_state import CellEvents, CellState, reused_copy, source_cost
from opus_magic.core.grid.claims import Claims
from opus_magic.core.grid.judge import JUDGE_CHECK
from opus_magic.core.grid.judging import Judging
from opus_magic.core.grid.pacing import PacedRetrier, Pacer, needs
from opus_magic.core.grid.spec import Grid, GridCell
from opus_magic.core.grid.summary import CellResult
from opus_magic.core.run.engine import Engine, Observer, now_iso, save
from opus_magic.core.run.plan import Plan
from opus_magic.core.session import Session
from opus_magic.core.tools.grid_cells import loop_cell, steps_before
from opus_magic.errors import OpusError
from opus_magic.records import RunRecord
from opus_magic.store.grids import reusable

GRID_RETRIES = 2  # extra attempts for a cell whose stream was cut, truncated or malformed
DEFAULT_CONCURRENCY = 4
FINAL = ("ok", "error", "interrupted", "stopped", "reused", "skipped", "not run")


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
        self.claims: Claims | None = None
        self.judging = None if grid.spec.judge is None else Judging(
            session, grid, self.pacers, self.concurrency, self.cancel, self.count_retry)
        self._lock = threading.Lock()

    def count(self, *statuses: str) -> int:
        return sum(1 for s in self.states if s.status in statuses)

    @property
    def spent(self) -> Decimal:
        """What the cells run (not reused) cost, every billed attempt included: finished ones
        exactly, running ones so far. The same sum as the grid's records in the history."""
        return sum((state.spent for state in self.states), Decimal(0))

    @property
    def judge_spent(self) -> Decimal:
        """What the judge's runs cost, apart from the answers'."""
        return sum((s.judge.cost for s in self.states if s.judge is not None
                    and s.judge.cost is not None), Decimal(0))

    @property
    def retried(self) -> tuple[int, Decimal]:
        """How many billed attempts were run again (cut, malformed, stalled), and their cost."""
        return (sum(len(state.retried) for state in self.states),
                sum((state.retried_cost for state in self.states), Decimal(0)))

    @property
    def unsaved(self) -> list[RunRecord]:
        """The cells' records the history could not write (kept in the session meanwhile)."""
        records = [r for s in self.states for r in (*s.retried, s.record) if r is not None]
        return [r for r in records if r.not_recorded]

    def count_retry(self) -> None:
        with self._lock:
            self.retries += 1

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
        """Workers take the cells not reused, at most `concurrency` per endpoint at a time, each
        claimed in the history first (so another kernel running this grid does not send it)."""
        pending = [c for c in self.grid.cells if self.states[c.index].status == "pending"]
        admission = Reservations(self.session.budget, self.grid.settings.budget)
        for url in dict.fromkeys(c.plan.endpoint.base_url for c in pending if c.plan):
            self.pacers.setdefault(url, Pacer(self.concurrency))
        self.claims = Claims(self.session.store(self.grid.settings), self.grid,
                             now_iso() if self.grid.spec.fresh else None)
        queue = list(reversed(pending))
        workers = [threading.Thread(target=self._work, args=(queue, admission, observer),
                                    daemon=True, name="opus-grid")
                   for _ in range(min(len(pending), self.concurrency * max(len(self.pacers), 1)))]
        self.claims.heartbeat()
        for worker in workers:
            worker.start()
        try:
            for worker in workers:
                worker.join()
        except KeyboardInterrupt:
            self.stop()
            for worker in workers:
                worker.join()
        finally:
            self.claims.stop()

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
                state.record = self._finish(cell, reused_copy(found[cell.key], self.grid, cell))
                state.steps, state.status = steps_before(store, state.record), "reused"
                state.source_cost = source_cost(found[cell.key], state.record)
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
                elif not self._claimed(cell, admission, observer):
                    with self._lock:  # another run holds it: taken up again after the rest
                        queue.insert(0, cell)
                    continue
            except OpusError as exc:  # e.g. the endpoint cannot be planned: this cell fails
                state.status, state.reason = "error", str(exc)
            except Exception as exc:  # noqa: BLE001 (a worker that died would hang its cell)
                state.status, state.reason = "error", f"The cell failed ({exc!r})."
            observer.changed(self, cell.index)

    def _claimed(self, cell: GridCell, admission: Reservations,
                 observer: GridObserver) -> bool:
        """Run the cell under this run's claim, or reuse the answer another run of this grid
        gave it meanwhile; False the first time another run is found holding it."""
        assert self.claims is not None
        state = self.states[cell.index]
        got = self.claims.acquire(cell, self.cancel, wait=state.deferred)
        if got is False and not state.deferred and not self.cancel.is_set():
            state.deferred = True
            return False
        if got is True:
            try:
                self._admitted(cell, admission, observer)
            finally:
                self.claims.release(cell)
        elif got is False:
            state.status = "not run"
        else:
            state.record = self._finish(cell, got)
            state.status, state.elsewhere = "reused", True
        return True

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
                with self._lock:
                    self.reruns += 1
                state.retried.append(self._finish(cell, record, saved=True))  # in the totals
        state.record = self.session.last_run = self._finish(cell, record, saved=True)
        state.status, state.live = record.status, None  # the record holds what the view needs

    def _execute(self, cell: GridCell, pacer: Pacer, observer: GridObserver) -> RunRecord:
        assert cell.plan is not None
        session, plan = self.session, cell.plan
        retrier = PacedRetrier(session.retrier(plan), pacer,
                               needs(plan.input_tokens, plan.max_tokens), self.count_retry)
        engine = Engine(session.store_at(plan.policy.store), guard=session.budget,
                        retrier=retrier, fields=self._fields(cell))
        events = CellEvents(self.states[cell.index], lambda: observer.changed(self, cell.index),
                            pacer.clock)

        def execute(step: Plan, hearing: Observer, cancel: threading.Event) -> RunRecord:
            return retrier.execute(lambda: engine.execute(step, hearing, cancel), step.max_tokens,
                                   lambda: events.closed_at)

        if not self.grid.spec.cell.loops:
            return execute(plan, events, self.cancel)
        record, self.states[cell.index].steps = loop_cell(
            session, self.grid, cell, execute, events, self.cancel)
        return record

    def _fields(self, cell: GridCell) -> dict[str, Any]:
        """What makes a run a cell of this grid: written with its record from the first write."""
        return {**cell.fields(self.grid.id), "cell_key": cell.key}

    def _finish(self, cell: GridCell, record: RunRecord, saved: bool = False) -> RunRecord:
        """Check the answer and save the cell with its grid fields (kept in the session when the
        history cannot be written), unless the engine `saved` it with them and there is nothing
        to add. Without --check, the stored check results stay."""
        state, spec = self.states[cell.index], self.grid.spec
        checks = None
        if record.status == "ok":
            checks = dict(record.checks or {})
            if spec.checks or self.judging is not None:
                row, timeout_s = spec.rows[cell.row], self.grid.settings.check_timeout_s
                checks = {check.name: check.run(record.text, row, timeout_s, self.cancel)
                          for check in spec.checks}
            if self.judging is not None:
                checks[JUDGE_CHECK], state.judge = self.judging.score(cell, record)
            state.checks = checks
        fields = self._fields(cell)
        if saved and not checks and not record.checks and all(
                getattr(record, name) == value for name, value in fields.items()):
            return record
        record = record.replace(**fields, checks=checks)
        return save(self.session.store(self.grid.settings), record)


def results(run: GridRun, indices: Sequence[int] | None = None) -> list[CellResult]:
    """The cells of a run as shown (all, or those at `indices`): status, record, checks, and
    why it did not run."""
    cells, states = run.grid.cells, run.states
    return [result(cells[i], states[i])
            for i in (range(len(cells)) if indices is None else indices)]


def result(cell: GridCell, state: CellState) -> CellResult:
    return CellResult(cell.variant, cell.model, cell.row, state.status, state.shown, state.checks,
                      state.reason, state.retried_cost, source_cost=state.source_cost,
                      repeat=cell.repeat, judge=state.judge)
