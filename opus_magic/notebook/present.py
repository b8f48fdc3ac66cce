"""Showing runs: plain text in a terminal, the live widget view in a Jupyter kernel.

In an interactive frontend (JupyterLab sends `allow_stdin`) a run streams on a background thread
and the cell returns at once, so the kernel is idle and handles Stop and Run again; the next cell
waits for it (`NotebookState.before_cell`, a pre_run_cell hook), so variables and `last_run()`
keep their order. Headless kernels (nbclient, nbconvert) run the widget view in the cell itself.
"""
from __future__ import annotations

import sys
import threading
from collections.abc import Sequence
from typing import Any, TextIO

from opus_magic.core.comparison import Comparison, execute_all, rank
from opus_magic.core.run.plan import Plan
from opus_magic.core.schema.spec import OutputSchema
from opus_magic.core.session import Session
from opus_magic.notebook.state import STATE
from opus_magic.records import RunRecord
from opus_magic.view.run.text import TextView

TEXT, LIVE, BLOCKING = "text", "live", "blocking"


def presentation(view: str) -> str:
    """TEXT, LIVE (background thread, the cell returns at once) or BLOCKING (widgets in the cell)."""
    from IPython import get_ipython

    kernel = getattr(get_ipython(), "kernel", None)
    if view == "text" or (view == "auto" and kernel is None):
        return TEXT
    if kernel is None:
        return BLOCKING
    parent = kernel.get_parent("shell") or {}
    return LIVE if parent.get("content", {}).get("allow_stdin") else BLOCKING


def last_view() -> Any:
    """The most recent widget view (to display it again or drive it from code), or None."""
    return STATE.latest_view


def deliver(output: str | None, value: Any) -> None:
    """Put a cell's answer in the notebook variable named by `-o`."""
    if output:
        from IPython import get_ipython

        get_ipython().user_ns[output] = value


def answer_value(record: RunRecord | None, schema: OutputSchema | None) -> Any:
    """What `-o` gets: the answer parsed when it matches its schema (the pydantic instance, or
    the JSON), else its text (None when nothing ran)."""
    if record is None:
        return None
    if schema is not None and record.schema_error is None and record.parsed is not None:
        return schema.value(record.parsed)
    return record.text


def present_run(session: Session, plan: Plan, output: str | None = None,
                line: str | None = None) -> list[RunRecord]:
    """Execute one plan, showing it as it streams; the records that ended before returning.
    `line` (the cell's %%opus line) lets the view write a rerun's flags back into the cell."""
    mode = presentation(plan.policy.view)
    schema = plan.request.output_schema
    if mode == TEXT:
        record = session.execute(plan, TextView())
        deliver(output, answer_value(record, schema))
        return [record]
    from opus_magic.notebook.controller import RunController

    launch = STATE.background.launcher()
    controller = RunController(session, plan, launch,
                               lambda record: deliver(output, answer_value(record, schema)),
                               handover=mode == LIVE,
                               line=line)
    STATE.remember(controller.view, live=mode == LIVE)
    controller.view.show()
    if mode == LIVE:
        launch(lambda: controller.run(plan), controller.stop)
        return []
    record = controller.run(plan)
    return [] if record is None else [record]


def present_comparison(session: Session, runs: Comparison,
                       output: str | None = None) -> list[RunRecord]:
    """Execute a fan-out side by side: text lines in a terminal, live columns in a notebook."""
    mode = presentation(runs[0].policy.view)

    def done(records: Sequence[RunRecord]) -> None:
        deliver(output, [answer_value(record, plan.request.output_schema)
                         for record, plan in zip(records, runs)])

    if mode == TEXT:
        records = present_comparison_text(session, runs)
        done(records)
        return records
    from opus_magic.notebook.controller import ComparisonController

    launch = STATE.background.launcher()
    controller = ComparisonController(session, runs, launch, done, handover=mode == LIVE)
    STATE.remember(controller.view, live=mode == LIVE)
    controller.view.show()
    if mode == LIVE:
        launch(controller.run, controller.stop)
        return []
    return controller.run()


def present_comparison_text(session: Session, runs: Comparison,
                            out: TextIO | None = None) -> list[RunRecord]:
    """Run a fan-out printing each model's progress and each answer as it ends, then a summary."""
    from opus_magic.view.run.comparison_text import ProgressLines, summary_table

    out = out or sys.stdout
    models = ", ".join(plan.request.model for plan in runs)
    out.write(f"Comparing {len(runs)} models at once (comparison {runs.comparison_id}): {models}\n")
    for line in runs.refused:
        out.write(f"! not run: {line}\n")
    lock = threading.Lock()
    records = execute_all(session, runs, [ProgressLines(out, lock) for _ in runs])
    out.write(summary_table(rank(records)) + "\n")
    out.flush()
    return records
