"""What a tool loop can cost and what its tools cost it.

Every step sends the whole conversation again, with the tool definitions and the tool-use
system prompt the API adds: so the worst case of `--max-steps N` is N calls, step k's input
the first's plus k − 1 answers of max_tokens (what the tools return comes on top and cannot be
known before). The session budget admits a loop on that worst case, and stops it between
steps when the next could cross the cap.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from opus_magic.core.budget import RAISE_HINT, Budget
from opus_magic.core.run.plan import Plan
from opus_magic.core.tools.chain import total_cost
from opus_magic.cost.model_info import ModelInfo
from opus_magic.cost.pricing import format_usd, input_cost, usage_cost
from opus_magic.errors import PlanRefused
from opus_magic.records import RunRecord, Usage


def step_worst_case(plan: Plan, step: int) -> Decimal | None:
    """The most step `step` (from 1) of a loop starting with `plan` can cost."""
    if step == 1:
        return plan.worst_case_cost
    usage = Usage(input_tokens=plan.input_tokens + (step - 1) * plan.max_tokens,
                  output_tokens=plan.max_tokens)
    searches = sum(t.max_uses or 0 for t in plan.request.server_tools if t.name == "web_search")
    return usage_cost(dataclasses.replace(usage, web_search_requests=searches), plan.info)


def worst_case(plan: Plan, steps: int) -> Decimal | None:
    """The most `steps` steps can cost (tool results not counted); None when a price is unknown."""
    costs = [step_worst_case(plan, k) for k in range(1, steps + 1)]
    return None if None in costs else sum(costs, Decimal(0))  # type: ignore[arg-type]


def worst_case_line(plan: Plan, steps: int) -> str:
    """`Tool loop: up to 5 steps, each sending the conversation again: worst case ≈$0.21 …`."""
    return (f"Tool loop: up to {steps} model calls (--max-steps), each sending the whole "
            f"conversation, the tool definitions and the tool-use system prompt again: worst case "
            f"{format_usd(worst_case(plan, steps), estimated=True)} (input + max_tokens a step; "
            f"what the tools return comes on top).")


def admit(budget: Budget, plan: Plan, steps: int) -> None:
    """Refuse a loop whose worst case of `steps` steps could cross the session budget."""
    cap = plan.policy.budget
    if cap is None:
        return
    worst = worst_case(plan, steps)
    committed = budget.committed()
    if worst is not None and committed + worst <= cap:
        return
    remaining = max(cap - committed, Decimal(0))
    fitting = 0
    while fitting < steps and (worst_case(plan, fitting + 1) or remaining + 1) <= remaining:
        fitting += 1
    fix = (f"lower --max-steps to {fitting}, or {RAISE_HINT}" if fitting else
           f"lower --max-tokens, or {RAISE_HINT}")
    raise PlanRefused(
        f"Over the session budget: a loop of {steps} steps could cost up to "
        f"{format_usd(worst)} and {format_usd(remaining)} of {format_usd(cap)} remains. "
        f"Nothing was sent: {fix}.", plan)


@dataclass(frozen=True)
class Overhead:
    """What the tool definitions and the tool-use system prompt cost across a loop's calls."""

    calls: int
    tokens: int  # a call's worth
    cost: Decimal | None
    share: float | None  # of everything the loop cost

    def line(self) -> str:
        """`tools overhead: 3 × 612 tokens, $0.0092, 41 % of this cell`."""
        share = "" if self.share is None else f", {self.share:.0%} of this cell".replace("%", " %")
        return (f"tools overhead: {self.calls} × {self.tokens:,} tokens, "
                f"{format_usd(self.cost, estimated=True)}{share}")


def overhead(steps: Sequence[tuple[int, ModelInfo | None, RunRecord]]) -> Overhead | None:
    """The tools' share of a loop's calls, from each call's tool tokens (definitions and the
    tool-use system prompt), model and record; None when no call carried tools. Each call's
    tool tokens are priced at what its input cost a token (cache reads included), so the share
    never exceeds the input's."""
    sent = [(tokens, info, record) for tokens, info, record in steps if tokens]
    if not sent:
        return None
    costs = [_tools_cost(tokens, info, record) for tokens, info, record in sent]
    cost = None if None in costs else sum(costs, Decimal(0))  # type: ignore[arg-type]
    spent = total_cost([record for _, _, record in steps])
    share = float(cost / spent) if cost is not None and spent else None
    return Overhead(len(sent), sent[0][0], cost, share)


def _tools_cost(tokens: int, info: ModelInfo | None, record: RunRecord) -> Decimal | None:
    """`tokens` of a call's input at that input's average price a token."""
    usage = record.usage
    if not usage.input_tokens:
        return input_cost(tokens, info)
    paid = usage_cost(dataclasses.replace(usage, output_tokens=0, web_search_requests=0,
                                          web_fetch_requests=0), info)
    return None if paid is None else paid * min(tokens, usage.input_tokens) / usage.input_tokens
