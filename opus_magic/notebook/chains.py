"""A `%%opus` cell that runs a tool loop: shown as text in a terminal (approval asked at a
prompt), as live widgets in a notebook (approval by a button while the kernel is free, at a
prompt otherwise); `-o` gets the loop's answer."""
from __future__ import annotations

import threading

from opus_magic.core.run.plan import Plan
from opus_magic.core.run.request import CellInput
from opus_magic.core.session import Session
from opus_magic.core.tools.chain import Chain
from opus_magic.core.tools.loop import Approver, ToolLoop
from opus_magic.core.tools.runner import ToolCall
from opus_magic.core.tools.toolbox import Toolbox
from opus_magic.errors import OpusError
from opus_magic.notebook.lines import report
from opus_magic.notebook.present import LIVE, TEXT, answer_value, deliver, presentation
from opus_magic.notebook.state import STATE
from opus_magic.records import RunRecord

YES = ("y", "yes")


def ask_at_prompt(call: ToolCall) -> bool:
    """Ask in the terminal (or the notebook's input box) whether to run a call; a frontend that
    cannot ask declines, saying so."""
    try:
        answer = input(f"Run {call.shown()}? [y/N] ")
    except (EOFError, NotImplementedError):  # no stdin here (a headless kernel)
        report(f"cannot ask whether to run {call.name} here (no input): declined.")
        return False
    return answer.strip().lower() in YES


class ChainController:
    """One loop in a live view: runs it on the caller's thread, Stop ends it."""

    def __init__(self, session: Session, cell: CellInput, handover: bool) -> None:
        from opus_magic.view.run.chain_widget import ChainView

        self.cancel = threading.Event()
        self.view = ChainView(self.stop, handover)
        approver: Approver = self.view.ask if handover else ask_at_prompt
        self.loop = ToolLoop(session, cell.tools or Toolbox(()), cell.loop, approver)

    def run(self, plan: Plan) -> Chain | None:
        """The loop to its end; a loop that cannot start says why in the view."""
        try:
            return self.loop.run(plan, self.view, self.cancel)
        except OpusError as exc:
            self.view.problem(str(exc))
            return None

    def stop(self) -> None:
        self.cancel.set()
        live = self.view.live
        if live is not None:
            live.stop()


def present_chain(session: Session, plan: Plan, cell: CellInput) -> list[RunRecord]:
    """Run a cell's tool loop in the view its frontend takes; the records of its model calls
    (none yet when it runs on in the background)."""
    mode = presentation(plan.policy.view)

    def done(chain: Chain | None) -> list[RunRecord]:
        if chain is not None:
            deliver(cell.output, answer_value(chain.final, cell.schema))
        return chain.records if chain is not None else []

    if mode == TEXT:
        return done(run_in_text(session, plan, cell))
    controller = ChainController(session, cell, handover=mode == LIVE)
    STATE.remember(controller.view, live=mode == LIVE)
    controller.view.show()
    if mode == LIVE:
        STATE.background.launcher()(lambda: done(controller.run(plan)), controller.stop)
        return []
    return done(controller.run(plan))


def run_in_text(session: Session, plan: Plan, cell: CellInput) -> Chain | None:
    """The loop printed as it runs; approval asked at the prompt."""
    from opus_magic.view.run.chain_text import ChainTextView

    loop = ToolLoop(session, cell.tools or Toolbox(()), cell.loop, ask_at_prompt)
    try:
        return loop.run(plan, ChainTextView(), threading.Event())
    except OpusError as exc:
        report(str(exc))
        return None
