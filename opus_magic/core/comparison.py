"""One cell on several models: a plan per model, all run at once, then the cheapest and fastest."""
from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from opus_magic.core.run.engine import LiveRun, Observer, new_run_id
from opus_magic.core.run.plan import Plan
from opus_magic.core.run.planner import Planner, cell_flags
from opus_magic.core.run.request import CellInput
from opus_magic.core.session import Session
from opus_magic.errors import OpusError, UsageError
from opus_magic.records import RunRecord


class Comparison(list[Plan]):
    """The plans of one fan-out in the order the models were named, sharing one comparison id.

    `refused` holds one line per model that could not be planned (unknown profile, prompt too
    long): nothing was sent for those, and the others still run.
    """

    def __init__(self, plans: Iterable[Plan], comparison_id: str,
                 refused: Sequence[str] = ()) -> None:
        super().__init__(plans)
        self.comparison_id = comparison_id
        self.refused = tuple(refused)


def plan_comparison(session: Session, cell: CellInput, count_later: bool = False) -> Comparison:
    """Plan every model of the cell with its own settings and endpoint, under one comparison id."""
    comparison_id = new_run_id()
    planner = Planner(session, cell_flags(cell))
    runs: list[Plan] = []
    failures: list[tuple[str, OpusError]] = []
    for model in cell.models:
        try:
            runs.append(planner.plan_model(cell, model, comparison_id, count_later))
        except OpusError as exc:
            failures.append((model, exc))
    refused = [f"{model}: {exc}" for model, exc in failures]
    if not runs:
        if len({str(exc) for _, exc in failures}) == 1:
            raise failures[0][1]
        raise UsageError("No model of the comparison can run. " + " ".join(refused))
    return Comparison(runs, comparison_id, refused)


class _Tracked(Observer):
    """An observer passing everything on, remembering the run so an interrupt can stop it."""

    def __init__(self, observer: Observer, lives: list[LiveRun]) -> None:
        self.observer, self.lives = observer, lives

    def started(self, live: LiveRun) -> None:
        self.lives.append(live)
        self.observer.started(live)

    def delta(self, live: LiveRun, text: str) -> None:
        self.observer.delta(live, text)

    def thinking(self, live: LiveRun, text: str) -> None:
        self.observer.thinking(live, text)

    def stream_closed(self, live: LiveRun) -> None:
        self.observer.stream_closed(live)

    def waiting(self, live: LiveRun, seconds: float, reason: str) -> None:
        self.observer.waiting(live, seconds, reason)

    def finished(self, live: LiveRun, record: RunRecord) -> None:
        self.observer.finished(live, record)


def execute_all(session: Session, runs: Sequence[Plan],
                observers: Sequence[Observer],
                cancel: threading.Event | None = None) -> list[RunRecord]:
    """Execute every plan concurrently; wall time is the slowest run, not the sum.

    One run failing does not stop the others: each ends in its own record. Without a shared
    `cancel` each run has its own, so one can be stopped alone (`LiveRun.stop`). An interrupt
    (Ctrl-C) stops every run at once (streams aborted, what arrived kept) and still returns every
    record, all written before this returns.
    """
    cancels = [cancel or threading.Event() for _ in runs]
    records: list[RunRecord | None] = [None] * len(runs)
    lives: list[LiveRun] = []
    done = [threading.Event() for _ in runs]

    def work(index: int) -> None:
        try:
            records[index] = session.execute(runs[index], _Tracked(observers[index], lives),
                                             cancels[index])
        finally:
            done[index].set()

    for index in range(len(runs)):
        threading.Thread(target=work, args=(index,), daemon=True).start()
    _wait_all(done, cancels, lives)
    return [record for record in records if record is not None]


def _wait_all(done: Sequence[threading.Event], cancels: Sequence[threading.Event],
              lives: list[LiveRun]) -> None:
    """Wait on events, not `Thread.join` (which an interrupt can leave believing a thread ended);
    each interrupt stops every run again, and the wait goes on until all have recorded."""
    for event in done:
        while True:
            try:
                event.wait()
                break
            except KeyboardInterrupt:
                for cancel in cancels:
                    cancel.set()
                for live in list(lives):
                    live.stop()


@dataclass(frozen=True)
class RankedRun:
    """One model's line of a comparison summary: its run, and whether it was the cheapest or the fastest."""

    record: RunRecord
    cheapest: bool
    fastest: bool


def rank(records: Sequence[RunRecord]) -> list[RankedRun]:
    """Mark the cheapest and the fastest among the runs that answered (ties share the mark).

    Fastest is the highest speed, and only among runs whose speed means something (enough tokens
    over enough streaming, `records.tokens_per_s`): never a mark beside speeds shown as `–`.
    """
    answered = [r for r in records if r.status == "ok"]
    costs = [r.cost for r in answered if r.cost is not None]
    speeds = [r.tokens_per_s for r in answered if r.tokens_per_s is not None]
    cheapest = min(costs) if len(answered) > 1 and costs else None
    fastest = max(speeds) if len(speeds) > 1 else None
    return [RankedRun(r, r.status == "ok" and r.cost is not None and r.cost == cheapest,
                       r.status == "ok" and fastest is not None and r.tokens_per_s == fastest)
            for r in records]
