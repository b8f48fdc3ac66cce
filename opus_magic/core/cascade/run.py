"""Running a cascade: the grid's rows on the first model, the rows it did not settle on the next,
and so on, each stage an ordinary grid run (reuse, claims, budget, pacing, retries), then (with
`compare`) the last model alone on every row it has not answered yet."""
from __future__ import annotations

import dataclasses
import hashlib
import json
import threading
from collections.abc import Sequence
from decimal import Decimal

from opus_magic.core.cascade.policy import Attempt, RowPath, accepted, step
from opus_magic.core.grid.cell_state import CellState
from opus_magic.core.grid.checks import all_passed
from opus_magic.core.grid.run import GridObserver, GridRun
from opus_magic.core.grid.spec import Grid, GridCell
from opus_magic.core.session import Session
from opus_magic.cost.pricing import STANDARD
from opus_magic.records import RunRecord


class CascadeObserver:
    """A view of a running cascade: told when it starts, when anything changed (a stage began,
    a cell moved) and when it is over; override what it needs."""

    def started(self, run: CascadeRun) -> None:
        """The cascade begins."""

    def changed(self, run: CascadeRun) -> None:
        """A stage began or one of its cells changed."""

    def finished(self, run: CascadeRun) -> None:
        """Every stage ended (and the comparison, if asked), or Stop ended the cascade."""


def cascade_id(grid: Grid, stages: Sequence[str]) -> str:
    """A cascade's own grid id: its stages in order and the cells they may run."""
    keys = sorted(c.key or f"refused:{c.index}" for c in grid.cells)
    raw = json.dumps(["cascade", list(stages), grid.spec.cell.tag, keys])
    return hashlib.sha256(raw.encode()).hexdigest()[:12]


class CascadeRun:
    """One execution of a cascade over a grid planned on every stage's model."""

    price_mode = STANDARD  # how the stages are priced: interactively here

    def __init__(self, session: Session, grid: Grid, accept: float, compare: bool,
                 concurrency: int) -> None:
        self.session, self.accept, self.compare = session, accept, compare
        self.grid = dataclasses.replace(grid, id=cascade_id(grid, grid.models))
        self.stages = list(self.grid.models)
        self.concurrency = concurrency
        self.paths = [RowPath(row) for row in range(len(grid.spec.rows))]
        self.last_plans = {c.row: c.plan for c in self.grid.cells if c.model == self.stages[-1]}
        self.alone: dict[int, Attempt] = {}  # the last model's answer per row, when known
        self.runs: list[tuple[int | None, GridRun]] = []  # each stage's run; None: the comparison
        self.notes: list[str] = []  # what each stage said as it began (a batch's pre-flight)
        self.cancel = threading.Event()
        self.over = False
        self._lock = threading.Lock()

    @property
    def last_model(self) -> str:
        return self.stages[-1]

    @property
    def current(self) -> tuple[int | None, GridRun] | None:
        with self._lock:
            return self.runs[-1] if self.runs else None

    @property
    def spent(self) -> Decimal:
        """Every billed attempt this run made, the comparison included."""
        with self._lock:
            runs = [run for _, run in self.runs]
        return sum((run.spent for run in runs), Decimal(0))

    def stop(self) -> None:
        """Stop the stage running and start no other; everything finished is kept."""
        self.cancel.set()
        current = self.current
        if current is not None:
            current[1].stop()

    def run(self, observer: CascadeObserver) -> None:
        observer.started(self)
        try:
            open_rows = list(range(len(self.paths)))
            for stage, model in enumerate(self.stages, 1):
                if not open_rows or self.cancel.is_set():
                    break
                open_rows = self._stage(stage, model, open_rows, observer)
            self._close(open_rows)
            if self.compare and not self.cancel.is_set():
                self._comparison(observer)
        finally:
            self.over = True
            observer.finished(self)

    def stage_grid(self, model: str, rows: Sequence[int], stage: int | None) -> Grid:
        """The cells of `model` for `rows`, numbered from 0, as a grid of their own."""
        wanted = set(rows)
        cells = [c for c in self.grid.cells if c.model == model and c.row in wanted]
        renumbered = [dataclasses.replace(c, index=i, stage=stage) for i, c in enumerate(cells)]
        return dataclasses.replace(self.grid, models=[model], cells=renumbered)

    def begin(self, stage: int | None, grid: Grid) -> GridRun:
        """A stage's grid run, known to the views from now on."""
        run = GridRun(self.session, grid, self.concurrency)
        with self._lock:
            self.runs.append((stage, run))
        if self.cancel.is_set():  # Stop came as the stage was being set up
            run.stop()
        return run

    def execute(self, stage: int | None, grid: Grid, observer: CascadeObserver) -> GridRun:
        """Run one stage's cells (None: the comparison's) to their end: here, interactively."""
        run = self.begin(stage, grid)
        observer.changed(self)
        run.run(_Forward(self, observer))
        if run.cancel.is_set():  # stopped from within (Ctrl-C): no stage starts after it
            self.cancel.set()
        return run

    def _stage(self, stage: int, model: str, rows: Sequence[int],
               observer: CascadeObserver) -> list[int]:
        """Run `rows` on the stage's model; the rows that go on to the next stage."""
        grid = self.stage_grid(model, rows, stage)
        run = self.execute(stage, grid, observer)
        onward = []
        for cell, state in zip(grid.cells, run.states):
            attempt = self.attempt(stage, model, cell, state)
            if stage == len(self.stages) and attempt.answered:
                self.alone[cell.row] = attempt
            if step(self.paths[cell.row], attempt, len(self.stages)):
                onward.append(cell.row)
        observer.changed(self)
        return onward

    def _close(self, open_rows: Sequence[int]) -> None:
        """Rows Stop kept from their next stage stay unsettled."""
        for row in open_rows:
            path = self.paths[row]
            if path.onward:
                path.onward, path.unsettled = False, "stopped before its next stage"

    def _comparison(self, observer: CascadeObserver) -> None:
        """The last model on every row it has not answered (reused where history has it)."""
        rows = [p.row for p in self.paths if p.row not in self.alone]
        if not rows:
            return
        grid = self.stage_grid(self.last_model, rows, None)
        run = self.execute(None, grid, observer)
        for cell, state in zip(grid.cells, run.states):
            attempt = self.attempt(len(self.stages), self.last_model, cell, state)
            if attempt.answered:
                self.alone[cell.row] = attempt
        observer.changed(self)

    def attempt(self, stage: int, model: str, cell: GridCell, state: CellState) -> Attempt:
        """A cell's outcome as a step of its row's path; an answer reused from another grid is
        priced at what it cost when it was answered, so the policy is measured, not the cache."""
        record = state.shown
        answered = record is not None and state.status in ("ok", "reused")
        return Attempt(stage=stage, model=model, status=state.status,
                       accepted=accepted(state.checks, self.accept) if answered else None,
                       passed=all_passed(state.checks) if answered else None,
                       cost=self._cost(state, record), record=record,
                       reason=state.reason or (record.error if record else None))

    def _cost(self, state: CellState, record: RunRecord | None) -> Decimal | None:
        if record is None:
            return state.retried_cost
        cost = record.cost
        if record.cost_source == "reused" and record.reused_from:
            original = self.session.store(self.grid.settings).get(record.reused_from)
            cost = original.cost if original is not None else None
        return None if cost is None else cost + state.retried_cost


class _Forward(GridObserver):
    """Passes a stage's grid events on as changes of the cascade."""

    def __init__(self, cascade: CascadeRun, observer: CascadeObserver) -> None:
        self.cascade, self.observer = cascade, observer

    def changed(self, run: GridRun, index: int) -> None:
        self.observer.changed(self.cascade)
