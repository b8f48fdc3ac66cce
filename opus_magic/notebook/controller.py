"""Controllers: they plan and execute a cell's runs for a view, and answer its Run again and Stop."""
from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

from opus_magic.core.comparison import Comparison, execute_all
from opus_magic.core.run.engine import Observer
from opus_magic.core.run.plan import Plan
from opus_magic.core.run.planner import replan
from opus_magic.core.session import Session
from opus_magic.errors import OpusError
from opus_magic.records import RunRecord

Launch = Callable[[Callable[[], Any], Callable[[], None]], None]  # launch(work, stop)


class RunController:
    """One cell's runs: the first, then each Run again with the view's max_tokens and mode."""

    def __init__(self, session: Session, plan: Plan, launch: Launch,
                 on_record: Callable[[RunRecord], None], handover: bool,
                 line: str | None = None) -> None:
        """`line` is the cell's `%%opus` line as it ran: the view offers to rewrite its flags."""
        from opus_magic.view.run.widget import RunView

        self.session, self.plan = session, plan
        self.launch, self.on_record, self.line = launch, on_record, line
        self.view = RunView(plan, self.again, self.stop, handover,
                            rewrite=None if line is None else self.first_line)
        self._cancel = threading.Event()

    def run(self, plan: Plan) -> RunRecord | None:
        """Stream one plan into the view until it ends; a refusal before sending shows in the view."""
        try:
            record = self.session.execute(plan, self.view, self._cancel)
        except OpusError as exc:
            self.view.problem(str(exc))
            return None
        self.on_record(record)
        return record

    def first_line(self, max_tokens: int, concise: str) -> str:
        """The cell's first line asking for these max_tokens and mode (what differs from the
        cell's own is written; the rest stays as the user wrote it)."""
        from opus_magic.notebook.cell_line import first_line

        return first_line(self.line or "",
                          None if max_tokens == self.plan.max_tokens else max_tokens,
                          None if concise == self.plan.request.concise else concise)

    def again(self, max_tokens: int, concise: str) -> None:
        """Run the cell again with other max_tokens and concise mode, into the same view."""
        if max_tokens < 1:
            self.view.problem(f"max_tokens {max_tokens} asks for no answer: use at least 1.")
            return
        try:
            plan = replan(self.session, self.plan, max_tokens=max_tokens, concise=concise)
        except OpusError as exc:
            self.view.problem(str(exc))
            return
        self.view.hold()
        self._cancel = threading.Event()
        self.launch(lambda: self.run(plan), self.stop)

    def stop(self) -> None:
        """Stop the run that is streaming; what arrived is kept and recorded as stopped."""
        self._cancel.set()
        live = self.view.live
        if live is not None:
            live.stop()


class ComparisonController:
    """A fan-out's runs into its columns; each column can be stopped and run again on its own."""

    def __init__(self, session: Session, runs: Comparison, launch: Launch,
                 on_done: Callable[[Sequence[RunRecord]], None], handover: bool) -> None:
        from opus_magic.view.run.comparison_widget import ComparisonView

        self.session, self.runs, self.launch, self.on_done = session, runs, launch, on_done
        self.view = ComparisonView(runs, self.again, self.stop, handover)

    def run(self) -> list[RunRecord]:
        """Run every model at once into its column; returns the records in the models' order."""
        self.view.begin()
        records = execute_all(self.session, self.runs, self.view.panels)  # a Stop per run
        self.view.end()
        self.on_done(records)
        return records

    def again(self, index: int) -> None:
        """Run one column's model again, as its cell asked, into that column."""
        plan = self.runs[index]
        observer: Observer = self.view.panels[index]

        def work() -> None:
            try:
                self.session.execute(plan, observer, threading.Event())
            except OpusError as exc:
                self.view.panels[index].show_problem(str(exc))
            self.view.end()

        self.view.begin(index)
        self.launch(work, lambda: self.stop(index))

    def stop(self, index: int | None = None) -> None:
        """Stop one column (or all): what arrived is kept and recorded as stopped."""
        for i, panel in enumerate(self.view.panels):
            if panel.live is not None and index in (None, i):
                panel.live.stop()
