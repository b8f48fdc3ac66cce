"""What the last model alone costs on a cascade's rows: measured where it answered them (its
stage, or the comparison), else estimated from its prices, the row's pre-flight input count and
the length of the answer the row got."""
from __future__ import annotations

from decimal import Decimal

from opus_magic.core.cascade.policy import RowPath
from opus_magic.core.grid.spec import Grid
from opus_magic.core.run.plan import Plan
from opus_magic.cost.pricing import STANDARD, PriceMode, usage_cost
from opus_magic.records import Usage


def before(grid: Grid, model: str, mode: PriceMode = STANDARD
           ) -> tuple[Decimal, Decimal] | None:
    """The last model alone on every row, priced before anything runs: its pre-flight input
    only … input and max_tokens of output (None when a price is unknown)."""
    plans = [c.plan for c in grid.cells if c.model == model and c.plan is not None]
    low = [usage_cost(Usage(input_tokens=p.input_tokens), p.info, mode) for p in plans]
    high = [usage_cost(Usage(input_tokens=p.input_tokens, output_tokens=p.max_tokens), p.info,
                       mode) for p in plans]
    known = [(a, b) for a, b in zip(low, high) if a is not None and b is not None]
    if not plans or len(known) < len(plans):
        return None
    return sum((a for a, _ in known), Decimal(0)), sum((b for _, b in known), Decimal(0))


def estimate(plan: Plan | None, output_tokens: int, mode: PriceMode = STANDARD
             ) -> Decimal | None:
    """The last model's price of the row's pre-flight input (its `plan`) and `output_tokens` of
    answer."""
    if plan is None:
        return None
    return usage_cost(Usage(input_tokens=plan.input_tokens, output_tokens=output_tokens),
                      plan.info, mode)


def answer_tokens(path: RowPath) -> int:
    """The output tokens of the row's latest answer (an answer to the same prompt), else 0."""
    for attempt in reversed(path.attempts):
        if attempt.record is not None and attempt.answered:
            return attempt.record.usage.output_tokens
    return 0
