"""A grid through the providers' batch engines: the cells history cannot reuse, submitted at the
batch price with the labels that make their collected runs cells of the grid (grid id, variant,
row, reuse key, and what its checks need)."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from opus_magic.core.batch import checks as batchchecks
from opus_magic.core.batch.split import LIMITS, BatchLimits
from opus_magic.core.batch.submit import submit_grid, worst_cases
from opus_magic.core.grid.run import GridObserver, GridRun
from opus_magic.core.grid.spec import Grid, GridCell
from opus_magic.core.session import Session
from opus_magic.cost.pricing import format_usd
from opus_magic.errors import UsageError
from opus_magic.records import BatchRow
from opus_magic.store.batches import list_batches
from opus_magic.store.grids import reusable
from opus_magic.wording import plural


@dataclass(frozen=True)
class BatchPlan:
    """The cells a grid sends as a batch, how many history gives, and both worst cases."""

    grid: Grid
    cells: list[GridCell]
    reused: int
    interactive: Decimal | None
    batch: Decimal | None

    def line(self) -> str:
        """`Batch: 12 cells to submit (3 reused) · worst case $0.01 at the batch price …`."""
        def usd(value: Decimal | None) -> str:
            return "unknown" if value is None else format_usd(value, estimated=True)

        loops = (f" Each cell's tool loop runs its first step in the batch; the loop goes on "
                 f"interactively when this kernel collects it." if self.grid.spec.cell.loops
                 and self.cells else "")
        return (f"Batch: {plural(len(self.cells), 'cell')} to submit "
                f"({self.reused} reused from history) · "
                f"worst case {usd(self.batch)} at the batch price, {usd(self.interactive)} "
                f"interactively.{loops}")


def plan_batch(session: Session, grid: Grid, record_reused: bool) -> BatchPlan:
    """The runnable cells history cannot reuse (all of them with --fresh); `record_reused`
    saves the reused ones as cells of this grid, as an interactive run of the grid does."""
    if record_reused:
        run = GridRun(session, grid, 1)
        run.reuse(GridObserver())  # hears nothing: reused cells are taken before anything shows
        reused = run.count("reused")
        cells = [c for c, s in zip(grid.cells, run.states) if s.status == "pending"]
    else:
        runnable = [c for c in grid.cells if c.plan is not None and not c.refused]
        found = {} if grid.spec.fresh else reusable(
            session.store(grid.settings), [str(c.key) for c in runnable])
        cells = [c for c in runnable if c.key not in found]
        reused = len(runnable) - len(cells)
    interactive, batch = worst_cases([c.plan for c in cells if c.plan is not None])
    if not cells:
        interactive = batch = Decimal(0)
    return BatchPlan(grid, cells, reused, interactive, batch)


def admit(session: Session, plan: BatchPlan, pending: Decimal = Decimal(0)) -> None:
    """Refuse the whole batch when its worst case at the batch price, with the worst cases of
    the batches still `pending` in this session, could cross the budget."""
    cap = plan.grid.settings.budget
    if cap is None or not plan.cells:
        return
    if plan.batch is None:
        raise UsageError(f"A price in this grid is unknown, so the {format_usd(cap)} session "
                         f"budget cannot be kept. Nothing was submitted: add the price in the "
                         f"config file, or turn the budget off with %opus budget off.")
    committed = session.budget.committed() + pending
    if committed + plan.batch > cap:
        remaining = max(cap - committed, Decimal(0))
        raise UsageError(f"Over the session budget: the batch could cost up to "
                         f"{format_usd(plan.batch)} at the batch price and {format_usd(remaining)} "
                         f"of {format_usd(cap)} remains (batches still running count at their "
                         f"worst case). Nothing was submitted: lower --max-tokens, use fewer "
                         f"rows, or raise the cap with %opus budget USD.")


def refuse_twice(session: Session, grid: Grid) -> None:
    """A grid already in a batch not collected yet is not submitted again (and paid twice)."""
    store = session.store(grid.settings)
    running = [row.id for row in list_batches(store, uncollected=True) if row.grid_id == grid.id]
    if running:
        raise UsageError(f"Grid {grid.id} is already in batch {', '.join(running)}, not "
                         f"collected yet: `%opus batches` shows its state. Collect it with "
                         f"`%opus batches collect {running[0]}` (or cancel it with `%opus "
                         f"batches cancel {running[0]}`) before submitting the grid again.")


def submit(session: Session, plan: BatchPlan, api: str | None = None,
           limits: Mapping[str, BatchLimits] = LIMITS) -> list[BatchRow]:
    """Send the plan's cells as one batch per endpoint (several where one would pass the API's
    `limits`); nothing when history gave every cell."""
    if not plan.cells:
        return []
    grid = plan.grid
    session.grid_checks[grid.id] = list(grid.spec.checks)  # for the results this kernel collects
    cells = [(f"g{c.index}", c.plan) for c in plan.cells if c.plan is not None]
    labels = {f"g{c.index}": _labels(grid, c) for c in plan.cells}
    return submit_grid(session, cells, grid.id, labels, api, limits)


def _labels(grid: Grid, cell: GridCell) -> dict[str, Any]:
    return {**cell.fields(grid.id), "cell_key": cell.key,
            **batchchecks.labels(grid.spec.checks, grid.spec.rows[cell.row])}


class BatchObserver:
    """A view of a grid's batches: told when one changed and when all are over."""

    def changed(self, rows: Sequence[BatchRow], errors: Sequence[str]) -> None:
        """A batch's state or counts changed, or a poll failed (`errors`)."""

    def finished(self, rows: Sequence[BatchRow], errors: Sequence[str],
                 grid: Any) -> None:
        """Every batch ended; `grid` is the collected grid as shown, when there is one."""
