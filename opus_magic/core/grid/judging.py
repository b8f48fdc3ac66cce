"""Judging a grid's answers: each answer sent to the judge model as an ordinary run of the same
engine (recorded as a judge run with its grid id, row and sample, under the session budget and
the endpoint's pacing), its reply read as the `judge` check. A judgement of the same answer by
the same judge is reused from history, as grid cells are."""
from __future__ import annotations

import threading
from collections.abc import Callable
from decimal import Decimal

from opus_magic.core.grid.cell_state import ClosedAt
from opus_magic.core.grid.checks import CHECK_ERROR, Result
from opus_magic.core.grid.judge import (
    JUDGE_MAX_TOKENS,
    JUDGE_SYSTEM,
    Judge,
    parse_verdict,
    unreadable,
)
from opus_magic.core.grid.pacing import PacedRetrier, Pacer, needs
from opus_magic.core.grid.spec import Grid, GridCell, cell_key
from opus_magic.core.run.engine import Engine, new_run_id, now_iso, save
from opus_magic.core.run.plan import Plan
from opus_magic.core.run.planner import Planner
from opus_magic.core.run.request import CellInput
from opus_magic.core.session import Session
from opus_magic.cost.lineup import cheapest_current
from opus_magic.cost.pricing import format_usd, input_cost
from opus_magic.errors import OpusError, UsageError
from opus_magic.records import RunRecord, Usage
from opus_magic.store.grids import reusable


def judge_planner(session: Session, grid: Grid) -> Planner:
    """Plans the judge's runs: its own system prompt and output cap, the grid's profile."""
    return Planner(session, {"max_tokens": JUDGE_MAX_TOKENS, "concise": "off",
                             "profile": grid.spec.cell.profile, "system": JUDGE_SYSTEM},
                   sending=not grid.spec.cell.dry_run)


def judge_model(judge: Judge, planner: Planner) -> str:
    """The judge's model: as given (an alias resolved), else the catalog's cheapest current."""
    catalog = planner.catalog(planner.settings())
    if judge.model:
        return catalog.resolve(judge.model)
    found = cheapest_current(catalog.models.values())
    if found is None:
        raise UsageError("--judge: no current model has a known price; name one with "
                         "--judge-model MODEL.")
    return found.id


class Judging:
    """Scores a grid's answers with its judge; one per grid run, shared by its workers."""

    def __init__(self, session: Session, grid: Grid, pacers: dict[str, Pacer], concurrency: int,
                 cancel: threading.Event, on_retry: Callable[[], None]) -> None:
        assert grid.spec.judge is not None
        self.session, self.grid, self.judge = session, grid, grid.spec.judge
        self.pacers, self.concurrency, self.cancel, self.on_retry = (
            pacers, concurrency, cancel, on_retry)
        self.planner = judge_planner(session, grid)
        self.model = judge_model(self.judge, self.planner)
        self._lock = threading.Lock()

    def plan(self, cell: GridCell, answer: str) -> Plan:
        """The judge's run for one answer to the cell's prompt (one planner for the grid's
        workers, so one at a time)."""
        question = self.grid.spec.prompts[(cell.variant, cell.row)]
        request = CellInput(prompt=self.judge.prompt(question, answer), models=(self.model,),
                            tag=self.grid.spec.cell.tag)
        with self._lock:
            return self.planner.plan_model(request, self.model)

    def score(self, cell: GridCell, answer: RunRecord) -> tuple[Result, RunRecord | None]:
        """The `judge` check of an answer (a score, or "check error: …") and the judge's run."""
        if self.cancel.is_set():
            return CHECK_ERROR + "stopped with the grid", None
        try:
            plan = self.plan(cell, answer.text)
            record = self._reused(cell, answer, plan) or self._run(cell, answer, plan)
        except OpusError as exc:
            return CHECK_ERROR + f"the judge could not run: {exc}", None
        if record.status != "ok":
            return CHECK_ERROR + f"the judge's run ended {record.status}: {record.error}", record
        verdict = parse_verdict(record.text)
        if verdict is None:
            return CHECK_ERROR + unreadable(record.text), record
        return verdict.score, record

    def _fields(self, cell: GridCell, answer: RunRecord, key: str) -> dict[str, object]:
        return {**cell.fields(self.grid.id), "judge_of": answer.id, "cell_key": key}

    def _reused(self, cell: GridCell, answer: RunRecord, plan: Plan) -> RunRecord | None:
        """This answer's judgement from history: its own, else a free copy of the same judge's
        reply to the same text; nothing under --fresh."""
        if self.grid.spec.fresh:
            return None
        key = cell_key(plan)
        found = reusable(self.session.store(self.grid.settings), [key]).get(key, [])
        own = [r for r in found if r.judge_of == answer.id]
        if own or not found:
            return own[-1] if own else None
        copy = found[-1].replace(
            id=new_run_id(), created_at=now_iso(), usage=Usage(), cost=Decimal(0),
            cost_exact=True, cost_source="reused", reused_from=found[-1].id, rate_limits=None,
            **self._fields(cell, answer, key))
        return save(self.session.store(self.grid.settings), copy)

    def _run(self, cell: GridCell, answer: RunRecord, plan: Plan) -> RunRecord:
        session = self.session
        with self._lock:
            pacer = self.pacers.setdefault(plan.endpoint.base_url, Pacer(self.concurrency))
        retrier = PacedRetrier(session.retrier(plan), pacer,
                               needs(plan.input_tokens, plan.max_tokens), self.on_retry)
        engine = Engine(session.store_at(plan.policy.store), guard=session.budget,
                        retrier=retrier, fields=self._fields(cell, answer, cell_key(plan)))
        heard = ClosedAt(pacer.clock)
        with pacer.slot(self.cancel) as entered:
            if not entered:
                raise UsageError("stopped with the grid")
            return retrier.execute(lambda: engine.execute(plan, heard, self.cancel),
                                   plan.max_tokens, lambda: heard.closed_at)


def judge_lines(session: Session, grid: Grid) -> list[str]:
    """What a dry run says of the judge: its model, its worst case over the runnable cells
    (its prompt with each answer at its max_tokens, plus its own output cap), and the prompt
    it is sent for the first cell, `<the answer>` where each answer goes; nothing without
    --judge."""
    judge = grid.spec.judge
    if judge is None:
        return []
    planner = judge_planner(session, grid)
    model = judge_model(judge, planner)
    first = grid.cells[0]
    prompt = judge.prompt(grid.spec.prompts[(first.variant, first.row)], "<the answer>")
    answers = [c.plan.max_tokens for c in grid.cells if c.plan is not None and not c.refused]
    try:
        plan = planner.plan_model(CellInput(prompt=prompt, models=(model,)), model)
    except OpusError as exc:
        worst = f"unknown ({exc})"
    else:
        costs = [plan.worst_case_cost, input_cost(sum(answers), plan.info)]
        worst = ("unknown" if None in costs else format_usd(
            plan.worst_case_cost * len(answers) + costs[1], estimated=True))
    return [f"Judge: {model} scores each answer (one run per answer, at most "
            f"{JUDGE_MAX_TOKENS} output tokens), worst case {worst} over {len(answers)} "
            f"answers, shown apart from theirs. It is sent, for row {first.row}:",
            *(f"  | {line}" for line in prompt.splitlines())]
