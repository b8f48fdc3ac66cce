"""`%%opus --each`: build the grid from notebook values, run it in a view, hand back a DataFrame.

The controller: it plans, starts and stops the grid; the views only observe it.
"""
from __future__ import annotations

import collections
import dataclasses
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from opus_magic.core.ab.agreement import by_cell
from opus_magic.core.ab.forecast import over_budget, project, refuse_over_budget
from opus_magic.core.ab.sample import DEFAULT_SEED, RowSample, draw, full_run_key
from opus_magic.core.cascade.run import CascadeRun
from opus_magic.core.grid.checks import resolve
from opus_magic.core.grid.fields import field_check
from opus_magic.core.grid.judge import JUDGE_CHECK, Judge
from opus_magic.core.grid.judging import judge_lines
from opus_magic.core.grid.run import GridRun, results
from opus_magic.core.grid.spec import (
    Grid,
    GridSpec,
    dry_run_lines,
    plan_grid,
    rows_of,
    variants_of,
)
from opus_magic.core.grid.summary import CellResult, frame_rows
from opus_magic.core.run.planner import cell_flags
from opus_magic.core.run.request import CellInput
from opus_magic.core.schema.spec import OutputSchema
from opus_magic.core.session import Session
from opus_magic.errors import UsageError
from opus_magic.notebook.interpolate import interpolate
from opus_magic.notebook.present import LIVE, TEXT, deliver, presentation
from opus_magic.notebook.state import STATE

MAX_REPEATS = 100

if TYPE_CHECKING:
    from opus_magic.view.grid.text import GridTextView
    from opus_magic.view.grid.widget import GridView


def track(run: GridRun | CascadeRun, work: Callable[[], None]) -> Callable[[], None]:
    """`work`, with the grid counted as running in this kernel meanwhile (so Stop reaches it)."""
    def tracked() -> None:
        STATE.grids.append(run)
        try:
            work()
        finally:
            STATE.grids.remove(run)

    return tracked


def lookup(namespace: Mapping[str, Any], name: str, flag: str) -> Any:
    if name not in namespace:
        raise UsageError(f"{flag} {name}: no such variable in the notebook; define it first.")
    return namespace[name]


def repeat_and_judge(repeat: str | None, judge: str | None, judge_model: str | None
                     ) -> dict[str, Any]:
    """`--repeat N`, `--judge RUBRIC` and `--judge-model MODEL` as GridSpec fields, checked."""
    fields: dict[str, Any] = {}
    if repeat is not None:
        if not repeat.isdigit() or not 1 <= int(repeat) <= MAX_REPEATS:
            raise UsageError(f"--repeat {repeat}: use a whole number from 1 to {MAX_REPEATS}, "
                             f"e.g. --repeat 3.")
        fields["repeats"] = int(repeat)
    if judge_model is not None and judge is None:
        raise UsageError('--judge-model needs --judge "RUBRIC" (what the judge scores by).')
    if judge is not None:
        if not judge.strip():
            raise UsageError('--judge needs a rubric, e.g. --judge "Names the right department".')
        fields["judge"] = Judge(judge.strip(), (judge_model or "").strip() or None)
    return fields


def build_spec(cell: CellInput, namespace: Mapping[str, Any], each: str, variants: str | None,
               checks: list[str], concurrency: str | None, fresh: bool,
               interpolating: bool = True, sample: str | None = None,
               seed: str | None = None, repeat_judge: Mapping[str, Any] | None = None
               ) -> GridSpec:
    """Rows (all, or --sample's), variants, checks, and each (variant, row)'s prompt: row fields,
    then notebook names; `repeat_judge`: --repeat's and --judge's fields."""
    rows = rows_of(lookup(namespace, each, "--each"), each)
    if not rows:
        raise UsageError(f"--each {each}: it has no rows.")
    chosen = variants_of(lookup(namespace, variants, "--variants") if variants else None,
                         variants, cell.prompt)
    drawn = _sample(rows, sample, seed)
    full_run = ""  # keyed only when a projection is made or may apply: hashing rows costs time
    if drawn is not None or STATE.forecasts:
        full_run = full_run_key(rows, chosen, {"models": cell.models, "checks": checks,
                                               **cell_flags(cell)})
    if drawn is not None:
        rows = [rows[index] for index in drawn.rows]
    prompts, unresolved = _prompts(chosen, rows, namespace, interpolating)
    notes = list(cell.notes)
    body = cell.prompt.strip()
    if variants and body and not body.startswith("#"):
        notes.append(f"The cell body is not sent: the prompts come from --variants {variants}.")
    if unresolved:
        notes.append(f"Left as written (not a column nor defined in the notebook): "
                     f"{', '.join(sorted(unresolved))}")
    columns = sorted({key for row in rows for key in row})
    _fields_exist(checks, cell.schema)
    if (repeat_judge or {}).get("judge") is not None and JUDGE_CHECK in checks:
        raise UsageError(f"--check {JUDGE_CHECK} and --judge would both be the check "
                         f"'{JUDGE_CHECK}': rename your function.")
    return GridSpec(cell=dataclasses.replace(cell, notes=tuple(notes)), rows=rows,
                    variants=chosen, prompts=prompts, checks=resolve(checks, namespace, columns),
                    concurrency=_concurrency(concurrency), fresh=fresh, sample=drawn,
                    full_run=full_run, **(repeat_judge or {}))


def _sample(rows: list[dict[str, Any]], sample: str | None, seed: str | None) -> RowSample | None:
    """`--sample N [--seed S]`: N rows drawn at random (seed 0 unless given); None without it."""
    if sample is None:
        if seed is not None:
            raise UsageError("--seed draws the rows of --sample N: add --sample, e.g. --sample 50.")
        return None
    if not sample.isdigit() or int(sample) < 1:
        raise UsageError(f"--sample {sample}: use a whole number of rows, 1 or more, e.g. 50.")
    if seed is not None and not seed.isdigit():
        raise UsageError(f"--seed {seed}: use a whole number, 0 or more, e.g. --seed 7.")
    return draw(len(rows), int(sample), DEFAULT_SEED if seed is None else int(seed))


def _fields_exist(checks: list[str], schema: OutputSchema | None) -> None:
    """`--check field:NAME...` names a field of the schema (and needs one)."""
    for spec in (c for c in checks if c.startswith("field:")):
        name, _ = field_check(spec, spec.partition(":")[2])
        if schema is None:
            raise UsageError(f"--check {spec} tests a field of a structured answer: add --schema "
                             f"(e.g. --schema '{name} int').")
        if name.split(".")[0] not in schema.fields:
            raise UsageError(f"--check {spec}: schema {schema.name} has no field '{name}' (it "
                             f"has {', '.join(schema.fields)}).")


def _prompts(variants: list[tuple[str, str]], rows: list[dict[str, Any]],
             namespace: Mapping[str, Any], interpolating: bool
             ) -> tuple[dict[tuple[str, int], str], set[str]]:
    prompts: dict[tuple[str, int], str] = {}
    unresolved: set[str] = set()
    for index, row in enumerate(rows):
        names = collections.ChainMap(row, namespace)  # type: ignore[arg-type]
        for name, template in variants:
            prompt, missing = interpolate(template, names) if interpolating else (template, [])
            prompts[(name, index)] = prompt
            unresolved.update(missing)
    return prompts, unresolved


def _concurrency(value: str | None) -> int | None:
    if value is None:
        return None
    if not value.isdigit() or int(value) < 1:
        raise UsageError(f"--concurrency {value}: use a whole number of 1 or more, e.g. 4.")
    return int(value)


def run_grid(session: Session, spec: GridSpec, output: str | None) -> GridRun | None:
    """Plan and run the grid (or only describe it for --dry-run) in the view the frontend takes."""
    if spec.sample is None and not spec.cell.dry_run:  # before planning a grid of any size
        refuse_over_budget(STATE.forecasts.get(spec.full_run), session.budget.committed(),
                           session.settings(**cell_flags(spec.cell)).budget)
    grid = plan_grid(session, spec)
    if spec.cell.dry_run:
        return _dry_run(session, grid)
    settings = grid.settings
    run = GridRun(session, grid, spec.concurrency or settings.concurrency)
    mode = presentation(settings.view)

    def finish(view: GridTextView | GridView) -> None:
        deliver(output, to_frame(results(run), spec.rows, spec.cell.schema))
        if spec.sample is None:
            return
        projection = project(run)
        if projection is not None:
            STATE.forecasts[spec.full_run] = projection
        view.projected(projection, over_budget(projection, session.budget.committed(),
                                               settings.budget))

    if mode == TEXT:
        from opus_magic.view.grid.text import GridTextView

        text_view = GridTextView()
        launch(run, text_view, lambda: finish(text_view), live=False)
        return run
    from opus_magic.view.grid.widget import GridView

    view = GridView(run, on_stop=run.stop)
    STATE.remember(view)
    view.show()
    launch(run, view, lambda: finish(view), live=mode == LIVE)
    return run


def launch(run: GridRun | CascadeRun, view: Any, finish: Callable[[], None],
           live: bool) -> None:
    """Run the grid (or cascade) in its view, then `finish`: in the background when `live`."""
    work = track(run, lambda: (run.run(view), finish()))
    if live:
        STATE.background.launcher()(work, run.stop)
    else:
        work()


def _dry_run(session: Session, grid: Grid) -> None:
    """What the grid would send and cost, and what its judge would be asked; nothing is sent."""
    lines = dry_run_lines(grid, remaining_budget(session)) + judge_lines(session, grid)
    print("\n".join(lines))


def remaining_budget(session: Session) -> Decimal | None:
    """What remains of the session budget, None without a cap."""
    budget = session.budget
    return None if budget.cap is None else max(budget.cap - budget.committed(), Decimal(0))


def to_frame(cells: list[CellResult], rows: list[dict[str, Any]],
             schema: OutputSchema | None = None) -> Any:
    """The grid as a pandas DataFrame, one row per cell (per sample under --repeat, with the
    share of its cell's samples that agree); with a schema, each of its fields is a column
    `answer.FIELD` (empty where the answer did not match it) and `schema_error` says why."""
    import pandas as pd

    frame = frame_rows(cells, rows)
    agreed = by_cell(cells)
    if agreed:  # --repeat: how many of each cell's samples gave its most common answer
        for shown, cell in zip(frame, cells):
            found = agreed.get((cell.row, cell.variant, cell.model))
            shown["agreement"] = found.agreeing / found.samples if found and found.samples else None
    if schema is not None:
        for shown, cell in zip(frame, cells):
            record = cell.record
            parsed = record.parsed if record is not None and isinstance(record.parsed, dict) else {}
            shown.update({f"answer.{name}": parsed.get(name) for name in schema.fields})
            shown["schema_error"] = record.schema_error if record is not None else None
    return pd.DataFrame(frame)
