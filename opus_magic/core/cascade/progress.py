"""A running cascade as its views show it: each row's path so far (the stage in flight
included), the rows settled at each stage, and the cost so far beside the last model alone on
the same rows (measured where it answered them, else estimated)."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from opus_magic.core.cascade import alone
from opus_magic.core.cascade.policy import accepted, settled_shares
from opus_magic.core.cascade.run import CascadeRun
from opus_magic.core.grid.cell_state import CellState
from opus_magic.core.grid.run import FINAL

IN_FLIGHT = {"pending": "…", "running": "▸"}


@dataclass(frozen=True, kw_only=True)
class Progress:
    """What the progress line says."""

    phase: str  # "stage 2/3 (sonnet)", "comparison (opus alone)" or "done"
    stages: tuple[str, ...]
    rows: int
    settled: tuple[int, ...]
    unsettled: int
    spent: Decimal  # the cascade's stages, every billed attempt
    compared: Decimal  # the comparison run's own spending
    alone: Decimal | None  # the last model alone on the rows reached so far
    alone_rows: int
    alone_estimated: bool
    note: str | None = None  # what the stage running said as it began


def _mark(state: CellState, accept: float) -> str:
    if state.status in IN_FLIGHT:
        return IN_FLIGHT[state.status]
    if state.status in ("ok", "reused"):
        verdict = accepted(state.checks, accept)
        return "✓" if verdict else "?" if verdict is None else "✗"
    return "✗ error" if state.status in ("error", "interrupted") else f"– {state.status}"


def row_texts(run: CascadeRun) -> list[str]:
    """Each row's path: `haiku ✗ → sonnet ▸` while sonnet answers it."""
    texts = [path.text() for path in run.paths]
    current = run.current
    if current is None or current[0] is None:
        return texts
    stage, grid_run = current
    for cell, state in zip(grid_run.grid.cells, grid_run.states):
        path = run.paths[cell.row]
        if all(a.stage != stage for a in path.attempts):
            step = f"{cell.model} {_mark(state, run.accept)}"
            texts[cell.row] = f"{texts[cell.row]} → {step}" if path.attempts else step
    return texts


def progress(run: CascadeRun) -> Progress:
    """The counts and costs of the progress line."""
    with_runs = list(run.runs)
    spent = sum((r.spent for s, r in with_runs if s is not None), Decimal(0))
    compared = sum((r.spent for s, r in with_runs if s is None), Decimal(0))
    reached = {p.row: alone.answer_tokens(p) for p in run.paths if p.attempts}
    current = with_runs[-1] if with_runs else None
    if current is not None and current[0] is not None:
        for cell, state in zip(current[1].grid.cells, current[1].states):
            if state.status in FINAL and state.record is not None:
                reached[cell.row] = state.record.usage.output_tokens
    amounts, estimated = [], False
    for row, tokens in reached.items():
        measured = run.alone.get(row)
        amounts.append(measured.cost if measured is not None else alone.estimate(
            run.last_plans.get(row), tokens, run.price_mode))
        estimated = estimated or measured is None
    priced = [amount for amount in amounts if amount is not None]
    total = sum(priced, Decimal(0)) if len(priced) == len(amounts) else None
    return Progress(
        phase=phase(run),
        stages=tuple(run.stages), rows=len(run.paths),
        settled=tuple(settled_shares(run.paths, len(run.stages))),
        unsettled=sum(1 for p in run.paths if p.unsettled is not None),
        spent=spent, compared=compared, alone=total, alone_rows=len(reached),
        alone_estimated=estimated, note=run.notes[-1] if run.notes and not run.over else None)


def phase(run: CascadeRun) -> str:
    """Where the cascade is: 'stage 2/3 (sonnet)', 'comparison (opus alone)' or 'done'."""
    current = run.current
    stage = current[0] if current is not None else 0
    if run.over:
        return "done"
    if stage is None:
        return f"comparison ({run.last_model} alone)"
    stage = max(stage, 1)
    return f"stage {stage}/{len(run.stages)} ({run.stages[stage - 1]})"
