"""Two price sources side by side: where a pinned figure and genai-prices' differ, field by field."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from opus_magic.cost.model_info import ModelInfo
from opus_magic.cost.pricing import Rates, mode_rates

FIELD_NAMES = {"input": "input", "output": "output", "cache_read": "cache read",
               "cache_write": "5-minute cache write", "cache_write_1h": "1-hour cache write"}
UNPRICED = (None,) * len(Rates._fields)


@dataclass(frozen=True)
class Difference:
    """One price two sources give differently, in dollars per million tokens."""

    field: str  # a Rates field: input, output, cache_read, cache_write, cache_write_1h
    tier: int | None  # the long-context threshold the tier starts above; None: the base tier
    used: Decimal | None  # the figure opus_magic prices with
    other: Decimal | None  # the other source's

    @property
    def name(self) -> str:
        """`cache read`, or `output above 100,000 input tokens`."""
        above = f" above {self.tier:,} input tokens" if self.tier is not None else ""
        return FIELD_NAMES[self.field] + above


def differences(used: ModelInfo, other: ModelInfo) -> list[Difference]:
    """Every price, cache prices and long-context tiers included, on which the two entries
    differ; the cache prices compared are those charged (a multiple of input where an entry
    names none)."""
    tiers = sorted({t for t in (used.long_context_threshold, other.long_context_threshold)
                    if t is not None})
    found: list[Difference] = []
    for tier in (None, *tiers):
        size = 0 if tier is None else tier + 1
        mine, theirs = mode_rates(used, size) or UNPRICED, mode_rates(other, size) or UNPRICED
        found += [Difference(field, tier, a, b)
                  for field, a, b in zip(Rates._fields, mine, theirs) if a != b]
    return found
