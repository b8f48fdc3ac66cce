"""Planning a grid: prompt variants × models × rows, one plan per cell, each with a reuse key."""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from opus_magic.config import SIMULATOR, Settings
from opus_magic.core.ab.sample import RowSample
from opus_magic.core.grid.checks import Check
from opus_magic.core.grid.judge import Judge
from opus_magic.core.run.attach.report import attachments_brief
from opus_magic.core.run.plan import Plan
from opus_magic.core.run.planner import Planner, cell_flags
from opus_magic.core.run.request import CellInput
from opus_magic.core.session import Session
from opus_magic.cost.pricing import format_usd
from opus_magic.errors import OpusError, PlanRefused, UsageError
from opus_magic.media import Attachment
from opus_magic.wording import plural

CELL_VARIANT = "cell"  # the variant name of the cell body when --variants is not given
KEY_IGNORES = ("stream", "stream_options")  # how an answer arrives does not change it


def rows_of(value: Any, name: str) -> list[dict[str, Any]]:
    """`--each` rows: a DataFrame's records, a list of dicts, or a list of strings as `{item}`."""
    if hasattr(value, "to_dict") and hasattr(value, "columns"):
        names = [str(column) for column in value.columns]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise UsageError(f"--each {name}: the DataFrame has more than one column named "
                             f"{', '.join(repr(n) for n in twice)}; rename them so each row field "
                             f"has one value (e.g. {name}.columns = [...]).")
        return [{str(k): v for k, v in row.items()} for row in value.to_dict("records")]
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Sequence):
        raise UsageError(f"--each {name}: use a pandas DataFrame, a list of dicts or a list of "
                         f"strings (got {type(value).__name__}).")
    if all(isinstance(item, Mapping) for item in value):
        return [{str(k): v for k, v in item.items()} for item in value]
    if all(isinstance(item, str) for item in value):
        return [{"item": item} for item in value]
    raise UsageError(f"--each {name}: every item must be a dict, or every item a string.")


def variants_of(value: Any, name: str | None, body: str) -> list[tuple[str, str]]:
    """`--variants`: a dict {name: template} or a list of templates (v1, v2, …); else the cell."""
    if name is None:
        return [(CELL_VARIANT, body)]
    if isinstance(value, Mapping):
        variants = [(str(k), v) for k, v in value.items()]
    elif isinstance(value, Sequence) and not isinstance(value, str):
        variants = [(f"v{i + 1}", v) for i, v in enumerate(value)]
    else:
        raise UsageError(f"--variants {name}: use a dict {{name: prompt}} or a list of prompts.")
    if not variants or not all(isinstance(t, str) and t.strip() for _, t in variants):
        raise UsageError(f"--variants {name}: every variant must be a non-empty prompt string.")
    return variants


@dataclass(frozen=True)
class GridSpec:
    """A parsed grid cell: the flags, the rows, the variants and each (variant, row)'s prompt."""

    cell: CellInput
    rows: list[dict[str, Any]]
    variants: list[tuple[str, str]]
    prompts: Mapping[tuple[str, int], str]
    checks: list[Check] = field(default_factory=list)
    concurrency: int | None = None
    fresh: bool = False
    row_attachments: tuple[tuple[Attachment, ...], ...] = ()  # each row's, when they differ
    repeats: int = 1  # samples of each cell (--repeat)
    judge: Judge | None = None  # --judge: a model scores each answer by a rubric
    sample: RowSample | None = None  # --sample: the rows drawn from a larger dataset
    full_run: str = ""  # the key of this grid over its whole dataset (`sample.full_run_key`)


@dataclass(slots=True)
class GridCell:
    """One cell: which variant, model and row, its plan and reuse key, or why it cannot run."""

    index: int
    variant: str
    model: str
    row: int
    plan: Plan | None
    key: str | None
    refused: str | None = None
    repeat: int = 0  # which sample of the (variant, model, row) cell, from 0
    stage: int | None = None  # its stage when the grid runs as a cascade
    column: int = 0  # its (variant, model) column, in the order the table shows them

    def fields(self, grid_id: str) -> dict[str, Any]:
        """What makes a run a cell of a grid, written with every record of it from the first."""
        return {"grid_id": grid_id, "variant": self.variant, "row": self.row,
                "repeat": self.repeat, "stage": self.stage, "column": self.column}


@dataclass
class Grid:
    """Every cell of a grid, in row order, under one grid id, with the settings it runs under
    (settled once for the whole grid)."""

    id: str
    spec: GridSpec
    models: list[str]
    cells: list[GridCell]
    settings: Settings

    @functools.cached_property
    def worst_case(self) -> Decimal | None:
        """What the runnable cells can cost at most (None when a price is unknown); worked out
        once, since a grid's plans do not change (the views show it on every redraw)."""
        total = Decimal(0)
        for cell in self.cells:
            if cell.plan is None or cell.refused:
                continue
            worst = cell.plan.worst_case_cost
            if worst is None:
                return None
            total += worst
        return total

    def notes(self) -> list[str]:
        """Every distinct warning of the cells' plans (unfilled braces, who answers), once, and
        what the cells attach, in brief."""
        plans = [c.plan for c in self.cells if c.plan]
        brief = attachments_brief(plans)
        return list(dict.fromkeys(w for plan in plans for w in plan.warnings)) + (
            [brief] if brief else [])

    def columns(self) -> list[tuple[str, str]]:
        """(variant, model) pairs, in the order the table shows them."""
        return [(v, m) for v, _ in self.spec.variants for m in self.models]


def cell_key(plan: Plan) -> str:
    """(endpoint, model, messages, parameters) as a hash: the same key, the same answer.

    The simulator counts as one endpoint wherever it listens (its port changes per process).
    """
    endpoint = SIMULATOR if plan.endpoint.name == SIMULATOR else plan.endpoint.base_url
    body = {k: v for k, v in plan.body.items() if k not in KEY_IGNORES}
    raw = json.dumps([endpoint, body], sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


def sample_key(key: str, repeat: int) -> str:
    """The reuse key of a cell's sample: the first sample keeps the cell's own key (so a grid
    run before --repeat is reused), every further one a key of its own."""
    if repeat == 0:
        return key
    return hashlib.sha256(f"{key}:repeat:{repeat}".encode()).hexdigest()[:32]


def plan_grid(session: Session, spec: GridSpec) -> Grid:
    """Plan every cell; a cell that cannot be planned keeps the one-line reason. Settings and
    each model's endpoint are settled once for the whole grid (`Planner`)."""
    planner = Planner(session, cell_flags(spec.cell), sending=not spec.cell.dry_run)
    models = list(spec.cell.models) or [planner.settings().model]
    cells: list[GridCell] = []
    for row in range(len(spec.rows)):
        for v, (variant, _) in enumerate(spec.variants):
            for m, model in enumerate(models):
                first = _plan_one(planner, spec, len(cells), variant, model, row,
                                  v * len(models) + m)
                cells.append(first)
                cells += [dataclasses.replace(first, index=len(cells) + n, repeat=n + 1,
                                              key=first.key and sample_key(first.key, n + 1))
                          for n in range(spec.repeats - 1)]
    if not any(c.plan is not None for c in cells):
        raise UsageError(f"No cell of the grid can be planned: {cells[0].refused}")
    keys = sorted(c.key or f"refused:{c.index}" for c in cells)
    raw = json.dumps([spec.cell.tag, keys])
    return Grid(hashlib.sha256(raw.encode()).hexdigest()[:12], spec, models, cells,
                planner.settings())


def _plan_one(planner: Planner, spec: GridSpec, index: int, variant: str, model: str,
              row: int, column: int) -> GridCell:
    cell = spec.cell
    if spec.row_attachments:
        cell = dataclasses.replace(cell, attachments=spec.row_attachments[row])
    try:
        plan = planner.plan_model(cell, model, prompt=spec.prompts[(variant, row)])
    except PlanRefused as exc:
        return GridCell(index, variant, model, row, exc.plan, cell_key(exc.plan), str(exc),
                        column=column)
    except OpusError as exc:
        return GridCell(index, variant, model, row, None, None, str(exc), column=column)
    return GridCell(index, variant, model, row, plan, cell_key(plan), column=column)


def dry_run_lines(grid: Grid, remaining: Decimal | None = None) -> list[str]:
    """Cells, input tokens and the cost range of the whole grid per model, and whether the
    worst case fits what remains of the session budget; nothing is sent."""
    spec = grid.spec
    repeats = f" × {spec.repeats} samples" if spec.repeats > 1 else ""
    lines = [f"Grid dry run: {plural(len(grid.cells), 'cell')} ({len(spec.variants)} variants × "
             f"{len(grid.models)} models × {len(spec.rows)} rows{repeats}); nothing was sent."]
    for model in grid.models:
        plans = [c.plan for c in grid.cells if c.model == model and c.plan and not c.refused]
        low = [p.min_cost for p in plans]
        high = [p.worst_case_cost for p in plans]
        tokens = sum(p.input_tokens for p in plans)
        cost = ("cost unknown (no price for this model)" if None in low or None in high else
                f"{format_usd(sum(low, Decimal(0)), estimated=True)} … "
                f"{format_usd(sum(high, Decimal(0)), estimated=True)}")
        lines.append(f"  {model}: {plural(len(plans), 'cell')} · "
                     f"{tokens:,} input tokens · {cost}")
    brief = attachments_brief([c.plan for c in grid.cells if c.plan and not c.refused])
    if brief:
        lines.append(f"  {brief}")
    refused = [c for c in grid.cells if c.refused]
    if refused:
        lines.append(f"  {plural(len(refused), 'cell')} cannot run: {refused[0].refused}")
    worst = grid.worst_case
    lines.append(f"Worst case of the whole grid: "
                 f"{'unknown' if worst is None else format_usd(worst, estimated=True)}.")
    if remaining is not None:
        fits = worst is not None and worst <= remaining
        lines.append(f"Session budget: {format_usd(remaining)} remains; " + (
            "the whole grid fits even in the worst case." if fits else
            "cells start only while their worst cases fit, so some may not run."))
    return lines
