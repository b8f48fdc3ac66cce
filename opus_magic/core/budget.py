"""The session budget: refuse a run whose worst case would cross it, stop a stream crossing it."""
from __future__ import annotations

import threading
from decimal import Decimal

from opus_magic.core.run.engine import LiveRun
from opus_magic.core.run.plan import Plan
from opus_magic.cost.pricing import format_usd, output_tokens_for
from opus_magic.errors import BudgetStopped, PlanRefused
from opus_magic.records import RunRecord

RAISE_HINT = "raise the cap with %opus budget USD, or turn it off with %opus budget off"


class Budget:
    """What every run of the session spent, against an optional cap; safe across threads.

    Committed money is what finished runs cost plus the running estimate of the runs in flight,
    so side-by-side runs count against the same cap. A run stops once that crosses the cap.
    """

    def __init__(self) -> None:
        self.cap: Decimal | None = None
        self.spent = Decimal(0)
        self.runs = 0
        self.estimated = False
        self.unknown = 0
        self._running: dict[str, LiveRun] = {}
        self._lock = threading.Lock()

    def running(self) -> list[LiveRun]:
        """The runs in flight now (their running cost counts against the cap)."""
        with self._lock:
            return list(self._running.values())

    def committed(self) -> Decimal:
        with self._lock:
            return self._committed()

    def _committed(self) -> Decimal:
        running = (live.costs()[2] for live in self._running.values())
        return self.spent + sum((cost for cost in running if cost is not None), Decimal(0))

    def admit(self, plan: Plan) -> None:
        """Take the cap in force when `plan` was made and refuse it if its worst case could
        cross it."""
        self.cap = cap = plan.policy.budget
        if cap is None:
            return
        worst = plan.worst_case_cost
        if worst is None:
            raise PlanRefused(
                f"The price of {plan.model_id} is unknown, so the {format_usd(cap)} session budget "
                f"cannot be kept. Nothing was sent: add its price under "
                f"[models.\"{plan.model_id}\"] in the config file, or turn the budget off with "
                "%opus budget off.", plan)
        committed = self.committed()
        if committed + worst <= cap:
            return
        remaining = max(cap - committed, Decimal(0))
        raise PlanRefused(
            f"Over the session budget: this run could cost up to {format_usd(worst)} "
            f"({plan.input_tokens:,} input + {plan.max_tokens:,} max_tokens on {plan.model_id}) "
            f"and {format_usd(remaining)} of {format_usd(cap)} remains "
            f"({format_usd(committed)} spent). Nothing was sent: {self._fix(plan, remaining)}.",
            plan)

    def _fix(self, plan: Plan, remaining: Decimal) -> str:
        minimum = plan.min_cost or Decimal(0)
        fitting = output_tokens_for(remaining - minimum, plan.info, plan.input_tokens)
        if minimum < remaining and fitting:
            return f"lower --max-tokens to {fitting:,} or less, or {RAISE_HINT}"
        return f"shorten the prompt, or {RAISE_HINT}"

    def enter(self, live: LiveRun) -> None:
        """Count a starting run as in flight and set when to look at the running cost."""
        with self._lock:
            self._running[live.id] = live
            self._share_out(live)

    def limit(self, live: LiveRun) -> None:
        """Stop the run if the session crossed the cap, else share out what remains again."""
        with self._lock:
            self._share_out(live)

    def _share_out(self, live: LiveRun) -> None:
        """Every run in flight may spend an equal share of what remains before it looks again.

        Shares are recomputed for all runs at each look, so together they never exceed what
        remains: the cap is crossed by at most a chunk per run, and the first look after that stops.
        """
        if self.cap is None or not live.plan.request.stream:
            return
        committed = self._committed()
        if committed > self.cap:
            raise BudgetStopped(
                f"Stopped by the session budget: {format_usd(committed, estimated=True)} committed "
                f"against the {format_usd(self.cap)} cap. The text that arrived is kept; "
                f"{RAISE_HINT}.")
        share = (self.cap - committed) / len(self._running)
        for run in self._running.values():
            if run is live or run.check_at is not None:
                run.check_at = _threshold(run, share)

    def leave(self, live: LiveRun, record: RunRecord) -> None:
        """A run ended: its cost moves from running to spent."""
        with self._lock:
            self._running.pop(live.id, None)
            self._count(record)

    def count(self, record: RunRecord) -> None:
        """A run that ran elsewhere (a provider's batch engine) counts as spent."""
        with self._lock:
            self._count(record)

    def _count(self, record: RunRecord) -> None:
        self.runs += 1
        if record.cost is None:
            self.unknown += 1
            return
        self.spent += record.cost
        self.estimated = self.estimated or not record.cost_exact

    def describe(self) -> str:
        """Spent and remaining, for `%opus budget`."""
        spent = f"{format_usd(self.spent, estimated=self.estimated)} spent over {_runs(self.runs)}"
        unknown = f"; {_runs(self.unknown)} at unknown prices not included" if self.unknown else ""
        if self.cap is None:
            return f"No session budget: {spent}{unknown}. Set one with %opus budget 2.50."
        remaining = max(self.cap - self.spent, Decimal(0))
        return (f"Session budget {format_usd(self.cap)}: {spent}, "
                f"{format_usd(remaining)} remaining{unknown}.")


def _threshold(live: LiveRun, share: Decimal) -> int | None:
    """The output token count (as counted, before calibration) at which `share` is used up."""
    plan = live.plan
    tokens = output_tokens_for(share, plan.info, plan.input_tokens)
    if tokens is None or not plan.request.stream:
        return None
    counted = int(tokens / plan.calibration.ratio) if plan.calibration else tokens
    return live.counter.tokens + max(counted, 1)


def _runs(count: int) -> str:
    return f"{count} run" if count == 1 else f"{count} runs"
