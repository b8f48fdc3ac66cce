"""The tool loop: call the model, run the tools it asks for, send the results back, until it
answers (or a limit, you, or the budget stops it).

Each step is an ordinary plan executed and recorded like any run, linked to the others by the
chain id and its step number; the next step's messages are the previous ones plus the model's
turn (with its calls) and the results. A turn paused by the server (`pause_turn`, web search)
is sent back as it is to go on. How approval is asked (a button, a prompt) is the notebook's
business: the loop gets an `Approver`.
"""
from __future__ import annotations

import dataclasses
import secrets
import threading
from collections.abc import Callable, Sequence
from typing import Any

from opus_magic.core.run.engine import LiveRun, Observer
from opus_magic.core.run.plan import Plan, plan_run
from opus_magic.core.session import Session
from opus_magic.core.tools.chain import Chain, Step
from opus_magic.core.tools.cost import admit
from opus_magic.core.tools.runner import ToolCall, ToolResult, calls_of, run_calls, unrun
from opus_magic.core.tools.toolbox import LoopSettings, Toolbox
from opus_magic.errors import PlanRefused
from opus_magic.records import RunRecord

Approver = Callable[[ToolCall], bool]
Execute = Callable[[Plan, Observer, threading.Event], RunRecord]
Finish = Callable[[Step, RunRecord], RunRecord]
CALLING = ("tool_use", "tool_calls")


class ChainObserver(Observer):
    """What a view hears of a loop, besides each step's own run events (started, delta, …,
    finished, as for any run): override what it needs."""

    def step(self, chain: Chain, step: Step) -> None:
        """A model call is about to be sent (its run events follow)."""

    def calls(self, chain: Chain, step: Step) -> None:
        """The step asked for these calls; they are asked about (with --approve), then run."""

    def result(self, chain: Chain, step: Step, result: ToolResult) -> None:
        """A call's result (also for calls declined or not run)."""

    def ended(self, chain: Chain) -> None:
        """The loop is over; `chain.stop` says why, when it stopped before an answer."""


class _Capture(Observer):
    """Passes a step's run events on and keeps its live run (the next step needs its turn)."""

    def __init__(self, step: Step, observer: ChainObserver) -> None:
        self.current, self.to = step, observer

    def started(self, live: LiveRun) -> None:
        self.current.live = live
        self.to.started(live)

    def delta(self, live: LiveRun, text: str) -> None:
        self.to.delta(live, text)

    def thinking(self, live: LiveRun, text: str) -> None:
        self.to.thinking(live, text)

    def waiting(self, live: LiveRun, seconds: float, reason: str) -> None:
        self.to.waiting(live, seconds, reason)

    def stream_closed(self, live: LiveRun) -> None:
        self.to.stream_closed(live)

    def finished(self, live: LiveRun, record: RunRecord) -> None:
        self.to.finished(live, record)


def new_chain_id() -> str:
    return "c" + secrets.token_hex(5)


class ToolLoop:
    """Runs one cell's loop: each step through `execute` (the session's, or a grid's paced
    one), each finished step through `finish` (saved again with its tool results)."""

    def __init__(self, session: Session, toolbox: Toolbox, settings: LoopSettings,
                 approver: Approver | None = None, execute: Execute | None = None,
                 finish: Finish | None = None) -> None:
        self.session, self.toolbox, self.settings = session, toolbox, settings
        self.approver = approver
        self.execute = execute or session.execute
        self.finish = finish or self._save

    def run(self, plan: Plan, observer: ChainObserver, cancel: threading.Event,
            first: RunRecord | None = None) -> Chain:
        """Run the loop from its first plan to the end; the chain holds every step. With
        `first`, the first step already ran elsewhere (a provider batch): the loop goes on
        from its record."""
        if first is None:
            admit(self.session.budget, plan, self.settings.max_steps)
        chain = Chain(new_chain_id(), self.settings)
        current: Plan | None = _linked(plan, chain.id, 1)
        try:
            while current is not None:
                step = Step(len(chain.steps) + 1, current)
                chain.steps.append(step)
                observer.step(chain, step)
                if first is not None and step.number == 1:
                    step.record = first.replace(chain_id=chain.id, step=1)
                else:
                    step.record = self.execute(current, _Capture(step, observer), cancel)
                current = self._after(chain, step, observer, cancel)
        finally:
            observer.ended(chain)
        return chain

    def _after(self, chain: Chain, step: Step, observer: ChainObserver,
               cancel: threading.Event) -> Plan | None:
        """The next step's plan, or None when the loop ends here (`chain.stop` says why)."""
        record = step.record
        assert record is not None
        if record.status != "ok":
            chain.stop = ended_early(record)
            return None
        turn = step.live.state.assistant_turn() if step.live is not None else answered(record)
        if record.finish_reason == "pause_turn":
            if step.number >= self.settings.max_steps:
                chain.stop = (f"--max-steps {self.settings.max_steps} reached while the server "
                              f"paused a long turn; --continue goes on")
                return None
            return self._next(chain, step, (turn,))
        step.calls = calls_of(record.tool_calls)
        if not step.calls or record.finish_reason not in CALLING:
            return None
        observer.calls(chain, step)
        step.results = self._results(chain, step, cancel)
        step.record = self.finish(step, record.replace(
            tool_results=[result.to_dict() for result in step.results]))
        for result in step.results:
            observer.result(chain, step, result)
        if chain.stop is not None:
            return None
        return self._next(chain, step, (turn, *(r.message() for r in step.results)))

    def _results(self, chain: Chain, step: Step, cancel: threading.Event) -> list[ToolResult]:
        """Run the step's calls, or say why they were not run (and stop the loop)."""
        calls, limit = step.calls, self.settings.max_steps
        shown = [call.name for call in calls if not self.toolbox.runs(call.name)]
        if shown:
            chain.stop = (f"{', '.join(dict.fromkeys(shown))} is only a definition here: the "
                          f"calls are shown, not run")
            return unrun(calls, "shown", "Not run: only its definition was given.")
        if step.number >= limit:
            chain.stop = (f"--max-steps {limit} reached: the model still asks for tools; run "
                          f"again with a higher --max-steps, or --continue")
            return unrun(calls, "not run", f"Not run: the loop's --max-steps {limit} was reached.")
        declined = self._declined(calls)
        if declined is not None:
            chain.stop = f"you declined {declined.shown()}"
            return [ToolResult(c.id, c.name, "The user declined this call.", "declined")
                    if c is declined else ToolResult(c.id, c.name, "Not run: another call of "
                                                     "this turn was declined.", "not run")
                    for c in calls]
        try:
            results = run_calls(self.toolbox, calls, self.settings.tool_timeout_s)
        except KeyboardInterrupt:
            chain.stop = "interrupted while the tools ran"
            return unrun(calls, "not run", "Not run: the loop was interrupted.")
        if cancel.is_set():
            chain.stop = "stopped by you"
        return results

    def _declined(self, calls: Sequence[ToolCall]) -> ToolCall | None:
        """With --approve, ask about each call in turn: the first one declined, else None."""
        if not self.settings.approve:
            return None
        for call in calls:
            if self.approver is None or not self.approver(call):
                return call
        return None

    def _next(self, chain: Chain, step: Step, turns: Sequence[dict]) -> Plan | None:
        """The next step's plan (admitted by the session budget), or None saying why not."""
        request = step.plan.request
        again = dataclasses.replace(request, turns=(*request.turns, *turns), step=step.number + 1)
        try:
            plan = plan_run(again, step.plan.target, step.plan.policy, self.session.exact_count)
            self.session.budget.admit(plan)
        except PlanRefused as refused:
            chain.stop = f"stopped before step {step.number + 1}: {refused}"
            return None
        return plan

    def _save(self, step: Step, record: RunRecord) -> RunRecord:
        """The step's record again, now with its tool results, in the history it went to."""
        self.session.store_at(step.plan.policy.store).save(record)
        return record


def answered(record: RunRecord) -> dict[str, Any]:
    """A recorded answer as the next request sends it back (its text and calls)."""
    turn: dict[str, Any] = {"role": "assistant", "content": record.text or None}
    if record.tool_calls:
        turn["tool_calls"] = list(record.tool_calls)
    return turn


def ended_early(record: RunRecord) -> str | None:
    """Why a step that did not end well ends the loop (an error says so in its own record)."""
    if record.status == "stopped":
        return "stopped by the session budget" if record.stop_reason == "budget" else (
            "stopped by you")
    if record.status == "interrupted":
        return "the step's stream was cut"
    return None


def _linked(plan: Plan, chain_id: str, number: int) -> Plan:
    """`plan` as step `number` of the chain."""
    request = dataclasses.replace(plan.request, chain_id=chain_id, step=number)
    return dataclasses.replace(plan, request=request)
