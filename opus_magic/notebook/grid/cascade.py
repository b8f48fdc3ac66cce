"""`%%opus --each … --cascade A,B,C`: the grid's rows on A first, the rows whose answer is not
accepted on B, and so on; run in a view, handed back as a DataFrame (one row per dataset row).

The controller: it checks the flags, plans and starts the cascade and stops it; the views only
observe it.
"""
from __future__ import annotations

import dataclasses
from typing import Any

from opus_magic.core.cascade.batch import BatchCascadeRun
from opus_magic.core.cascade.policy import ACCEPT_SCORE
from opus_magic.core.cascade.run import CascadeRun
from opus_magic.core.cascade.summary import as_rows, of_run, sentence
from opus_magic.core.grid.batch import refuse_twice
from opus_magic.core.grid.spec import Grid, GridSpec, dry_run_lines, plan_grid
from opus_magic.core.session import Session
from opus_magic.errors import UsageError
from opus_magic.notebook.grid.batch import poll_intervals
from opus_magic.notebook.grid.run import launch, remaining_budget
from opus_magic.notebook.present import LIVE, TEXT, deliver, presentation
from opus_magic.notebook.state import STATE


def stages_of(value: str) -> tuple[str, ...]:
    """`--cascade haiku,sonnet,opus` as its models in order: two or more, each once."""
    stages = tuple(m.strip() for m in value.split(",") if m.strip())
    if len(stages) < 2 or len(set(stages)) != len(stages):
        raise UsageError(f"--cascade {value}: name two or more different models, cheapest "
                         f"first, e.g. --cascade haiku,sonnet,opus.")
    return stages


def accept_of(value: str | None) -> float:
    """`--accept SCORE`: the score (0 to 1) a score-valued check must reach to accept."""
    if value is None:
        return ACCEPT_SCORE
    try:
        score = float(value)
    except ValueError:
        score = -1.0
    if not 0 <= score <= 1:
        raise UsageError(f"--accept {value}: use a score from 0 to 1, e.g. --accept 0.7.")
    return score


def cascade_spec(spec: GridSpec, stages: tuple[str, ...], models: tuple[str, ...]) -> GridSpec:
    """The grid a cascade plans: every stage's model on every row (only some will run)."""
    if models:
        raise UsageError("--cascade names the models itself: drop -m (e.g. --cascade "
                         "haiku,sonnet,opus).")
    if not spec.checks and spec.judge is None:
        raise UsageError("--cascade needs a --check (or --judge) to decide which answers to "
                         "accept (e.g. --check equals:label).")
    if spec.repeats > 1:
        raise UsageError("--cascade sends each row to a stage once: drop --repeat.")
    if spec.sample is not None:
        raise UsageError("--sample projects a grid's cost from some rows; a cascade's depends on "
                         "which rows go on: drop --sample, or run the cascade on a smaller "
                         "dataset.")
    if len(spec.variants) > 1:
        raise UsageError("--cascade runs one prompt: drop --variants, or run one cascade per "
                         "variant.")
    return dataclasses.replace(spec, cell=dataclasses.replace(spec.cell, models=stages))


def run_cascade(session: Session, spec: GridSpec, output: str | None, accept: float,
                compare: bool, batch: bool = False) -> CascadeRun | None:
    """Plan the cascade (or only describe it for --dry-run) and run it in the frontend's view;
    with `batch` each stage goes as a provider batch, the next once the previous is collected."""
    grid = plan_grid(session, spec)
    if spec.cell.dry_run:
        first = grid.models[0]
        print("\n".join([*dry_run_lines(grid, remaining_budget(session)),
                         f"A cascade sends every row to {first} and only the rows it does not "
                         f"settle onward: it costs at least the {first} line, at most the whole "
                         f"grid" + (" (--compare adds the rest of the last model's line)"
                                    if compare else "")
                         + (", each stage at the batch price (half)." if batch else ".")]))
        return None
    if batch:
        run: CascadeRun = BatchCascadeRun(session, grid, accept, compare,
                                          poll_intervals(_endpoint(grid)))
        refuse_twice(session, run.grid)
    else:
        run = CascadeRun(session, grid, accept, compare,
                         spec.concurrency or grid.settings.concurrency)
    mode = presentation(grid.settings.view)

    def finish() -> None:
        deliver(output, to_frame(run))

    if mode == TEXT:
        from opus_magic.view.grid.cascade_text import CascadeTextView

        launch(run, CascadeTextView(), finish, live=False)
        return run
    from opus_magic.view.grid.cascade_widget import CascadeView

    view = CascadeView(run, on_stop=run.stop)
    STATE.remember(view)
    view.show()
    launch(run, view, finish, live=mode == LIVE)
    return run


def _endpoint(grid: Grid) -> str:
    """Where the cascade's batches go (one host: how often to poll it)."""
    return next((c.plan.endpoint.base_url for c in grid.cells if c.plan is not None), "")


def to_frame(run: CascadeRun) -> Any:
    """One row per dataset row: its fields, path, the stage and model whose answer stands, the
    answer, whether it passed, what the row cost; with --compare the last model's own answer,
    verdict and cost. `frame.attrs["summary"]` holds the verdict sentence, `attrs["sides"]` the
    cascade and the last model alone as rows (pass rate, cost per row and per correct answer,
    each with its interval, and the saving), `attrs["settled"]` the rows settled per stage."""
    import pandas as pd

    last = run.last_model
    rows = []
    for path in run.paths:
        final = path.last if path.settled_at is not None else None
        alone = run.alone.get(path.row)
        rows.append({
            **run.grid.spec.rows[path.row], "row": path.row, "path": path.text(),
            "stage": path.settled_at, "model": final.model if final else None,
            "answer": final.record.text if final and final.record else None,
            "passed": path.passed, "cost": path.cost, "attempts": len(path.attempts),
            "settled": path.settled_at is not None, "why not settled": path.unsettled,
            "run_id": final.record.id if final and final.record else None,
            **({f"{last} alone answer": alone.record.text if alone and alone.record else None,
                f"{last} alone passed": None if alone is None else bool(alone.passed),
                f"{last} alone cost": alone.cost if alone else None} if run.compare else {})})
    frame = pd.DataFrame(rows)
    summary = of_run(run)
    frame.attrs["summary"], frame.attrs["sides"] = sentence(summary), as_rows(summary)
    frame.attrs["settled"] = dict(zip(summary.stages, summary.settled))
    return frame
