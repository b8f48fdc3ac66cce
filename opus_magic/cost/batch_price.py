"""Prices of requests served by a provider's batch engine."""
from __future__ import annotations

from decimal import Decimal

from opus_magic.cost.catalog import ModelInfo
from opus_magic.cost.pricing import usage_cost
from opus_magic.records import Usage

# Anthropic's Message Batches and OpenAI's Batch API both charge half of every token price,
# cache reads and writes included (FACTS.md).
BATCH_DISCOUNT = Decimal("0.5")


def batch_cost(usage: Usage, info: ModelInfo | None) -> Decimal | None:
    """What a batch request costs: its usage at the batch price; None when the price is unknown."""
    cost = usage_cost(usage, info)
    return None if cost is None else cost * BATCH_DISCOUNT
