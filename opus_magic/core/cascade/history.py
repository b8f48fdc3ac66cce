"""A cascade read back from the history (`%opus grid ID`): each row's attempts by stage, the last
model alone where it answered, and the summary. The threshold a run used for score-valued checks
is not recorded: answers are taken as accepted at the checks' own 0.5."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from opus_magic.core.cascade.alone import answer_tokens
from opus_magic.core.cascade.policy import Attempt, RowPath, accepted, step
from opus_magic.core.cascade.summary import CascadeSummary, summarize
from opus_magic.core.grid.checks import all_passed
from opus_magic.cost.model_info import ModelInfo
from opus_magic.cost.pricing import usage_cost
from opus_magic.records import RunRecord, Usage
from opus_magic.store.base import HistoryStore
from opus_magic.store.grids import grid_cells


@dataclass(frozen=True)
class Recorded:
    """A cascade as its runs in the history have it."""

    stages: tuple[str, ...]
    paths: list[RowPath]
    alone: dict[int, Attempt]
    compared: bool

    @property
    def last_model(self) -> str:
        return self.stages[-1]

    def summary(self, info: ModelInfo | None) -> CascadeSummary:
        """Priced with the last model's catalog entry where it did not answer (an estimate from
        the row's input on its first stage and the length of its answer)."""
        def estimate(path: RowPath) -> Decimal | None:
            first = path.attempts[0].record if path.attempts else None
            if first is None:
                return None
            usage = Usage(input_tokens=first.usage.input_tokens,
                          output_tokens=answer_tokens(path))
            return usage_cost(usage, info)

        return summarize(self.stages, self.paths, self.alone, self.compared, estimate)


def _attempt(record: RunRecord, stage: int) -> Attempt:
    status = "reused" if record.cost_source == "reused" else record.status
    answered = status in ("ok", "reused")
    checks = record.checks or {}
    return Attempt(stage=stage, model=record.model, status=status,
                   accepted=accepted(checks) if answered else None,
                   passed=all_passed(checks) if answered else None, cost=record.cost,
                   record=record, reason=record.error)


def find(store: HistoryStore, grid_id: str) -> Recorded | None:
    """The cascade recorded under `grid_id`; None when it is a plain grid."""
    return recorded(grid_cells(store, grid_id))


def recorded(records: Sequence[RunRecord]) -> Recorded | None:
    """The cascade whose runs these are (oldest first); None when they are a plain grid's."""
    staged = [r for r in records if r.stage is not None]
    if not staged:
        return None
    latest = {(r.row or 0, int(r.stage or 0)): r for r in staged}  # the latest run wins
    models = {stage: r.model for (_, stage), r in sorted(latest.items())}
    compare = [r for r in records if r.stage is None]
    stages = [models[s] for s in sorted(models)]
    if compare and compare[-1].model != stages[-1]:
        stages.append(compare[-1].model)
    paths = []
    for row in sorted({row for row, _ in latest}):
        path = RowPath(row)
        for stage in sorted(s for r, s in latest if r == row):
            step(path, _attempt(latest[(row, stage)], stage), len(stages))
        if path.onward:
            path.onward, path.unsettled = False, "its next stage is not in the history"
        paths.append(path)
    alone = {r.row or 0: _attempt(r, len(stages)) for r in records
             if r.model == stages[-1] and r.status == "ok"}
    return Recorded(tuple(stages), paths, alone, bool(compare))
