"""One grid cell as the views see it while a grid runs, and a finished answer from history
taken as a cell."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from opus_magic.core.grid.checks import Result, all_passed
from opus_magic.core.grid.spec import Grid, GridCell
from opus_magic.core.run.engine import LiveRun, Observer, new_run_id, now_iso
from opus_magic.core.tools.chain import combined
from opus_magic.records import RunRecord, Usage

ZERO = Decimal(0)


@dataclass(slots=True)
class CellState:
    """What the views show of one cell."""

    status: str = "pending"
    live: LiveRun | None = None
    record: RunRecord | None = None
    checks: dict[str, Result] = field(default_factory=dict)
    attempts: int = 0
    reason: str | None = None
    retried: list[RunRecord] = field(default_factory=list)  # attempts billed, then run again
    deferred: bool = False  # found claimed by another run once; waited for the second time
    elsewhere: bool = False  # another run of this grid answered it meanwhile: reused
    steps: list[RunRecord] = field(default_factory=list)  # a tool loop's steps before `record`
    judge: RunRecord | None = None  # the judge's run that scored the answer (--judge)
    source_cost: Decimal | None = None  # a reused copy: what the run it copies cost

    @property
    def shown(self) -> RunRecord | None:
        """The cell's run as shown and counted: a tool loop's steps together."""
        if self.record is None or not self.steps:
            return self.record
        return combined([*self.steps, self.record])

    @property
    def retried_cost(self) -> Decimal:
        """What the attempts run again cost."""
        if not self.retried:
            return ZERO
        return sum((r.cost for r in self.retried if r.cost is not None), ZERO)

    @property
    def spent(self) -> Decimal:
        """What this cell cost in this run: retried attempts, then the last (so far)."""
        total = self.retried_cost
        if self.status == "reused":
            return total
        shown = self.shown
        if shown is not None and shown.cost is not None:
            return total + shown.cost
        if self.live is not None and self.status == "running":
            return total + (self.live.costs()[2] or Decimal(0))
        return total

    @property
    def text(self) -> str:
        if self.record is not None:
            return self.record.text
        return self.live.state.text if self.live is not None else ""

    @property
    def passed(self) -> bool | None:
        return all_passed(self.checks) if self.checks else None


def reused_copy(records: list[RunRecord], grid: Grid, cell: GridCell) -> RunRecord:
    """A finished answer from history as this grid's cell: its own run, or a free copy of the
    latest run with the same key."""
    own = [r for r in records
           if r.grid_id == grid.id and r.variant == cell.variant and r.row == cell.row
           and (r.repeat or 0) == cell.repeat]
    if own:
        return own[-1]
    record = records[-1]
    return record.replace(id=new_run_id(), created_at=now_iso(), usage=Usage(), cost=Decimal(0),
                          cost_exact=True, cost_source="reused", tag=cell.plan.request.tag
                          if cell.plan else record.tag,
                          reused_from=record.id, rate_limits=None, chain_id=None, step=None)


class ClosedAt(Observer):
    """Hears when a run's stream ended, on the pacer's clock (the pacer wants to know)."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.closed_at: float | None = None

    def stream_closed(self, live: LiveRun) -> None:
        self.closed_at = self.clock()


class CellEvents(ClosedAt):
    """Hears one cell's engine events and passes them on as changes of that cell."""

    def __init__(self, state: CellState, changed: Callable[[], None],
                 clock: Callable[[], float]) -> None:
        super().__init__(clock)
        self.state, self.changed = state, changed

    def started(self, live: LiveRun) -> None:
        self.state.live, self.state.status = live, "running"
        self.changed()

    def delta(self, live: LiveRun, text: str) -> None:
        self.changed()

    def waiting(self, live: LiveRun, seconds: float, reason: str) -> None:
        self.changed()

    def finished(self, live: LiveRun, record: RunRecord) -> None:
        """The grid records the cell itself once its checks are known."""
def source_cost(records: list[RunRecord], copy: RunRecord) -> Decimal | None:
    """What the run a reused copy was taken from cost (None for a cell's own run)."""
    return next((r.cost for r in records if copy.reused_from and r.id == copy.reused_from), None)
